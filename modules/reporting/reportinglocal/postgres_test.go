package reportinglocal_test

import (
	"testing"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/modules/reporting/reportinglocal"
	"github.com/bellhop/bellhop/modules/reporting/reportingtest"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/db/pgtest"
)

// TestMain stops the PostgreSQL cluster (started by the first test that
// needs it) when the package's tests are done.
func TestMain(m *testing.M) { pgtest.Main(m) }

// TestService_Postgres runs the reporting contract in-process on PostgreSQL:
// the series' numbering (UPDATE ... RETURNING), the upserts and the report
// queries as PostgreSQL runs them.
func TestService_Postgres(t *testing.T) {
	reportingtest.RunContract(t, func(t *testing.T, _ *authntest.Issuer) reportingtest.Target {
		return target(newModule(t, reportinglocal.Deps{DB: pgtest.Open(t, reporting.Module, reportinglocal.Migrations)}))
	})
}

// TestReports_ScriptedMonth_Postgres is the scripted month on PostgreSQL.
func TestReports_ScriptedMonth_Postgres(t *testing.T) {
	scriptedMonth(t, newModule(t, reportinglocal.Deps{DB: pgtest.Open(t, reporting.Module, reportinglocal.Migrations)}))
}
