package reportinglocal_test

import (
	"testing"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/modules/reporting/reportinglocal"
	"github.com/bellhop/bellhop/modules/reporting/reportingtest"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/db/dbtest"
)

// newModule builds the module on a fresh SQLite database in t.TempDir().
func newModule(tb testing.TB, d reportinglocal.Deps) *reportinglocal.Module {
	tb.Helper()
	if d.DB == nil {
		d.DB = dbtest.Open(tb, reporting.Module, reportinglocal.Migrations)
	}
	m, err := reportinglocal.New(d)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func target(m *reportinglocal.Module) reportingtest.Target {
	return reportingtest.Target{Service: m.Service(), Apply: m.Apply}
}

// TestService runs the reporting contract in-process on SQLite.
func TestService(t *testing.T) {
	t.Parallel()
	reportingtest.RunContract(t, func(t *testing.T, _ *authntest.Issuer) reportingtest.Target {
		return target(newModule(t, reportinglocal.Deps{}))
	})
}
