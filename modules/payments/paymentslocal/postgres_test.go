package paymentslocal_test

import (
	"testing"

	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/payments/paymentslocal"
	"github.com/bellhop/bellhop/modules/payments/paymentstest"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/db/pgtest"
)

// TestMain stops the PostgreSQL cluster (started by the first test that
// needs it) when the package's tests are done.
func TestMain(m *testing.M) { pgtest.Main(m) }

// The contract, in-process on PostgreSQL (the sandbox bank, which is not
// the module's, stays on SQLite).
func TestContract_Postgres(t *testing.T) {
	paymentstest.RunContract(t, func(t *testing.T, _ *authntest.Issuer) paymentstest.Target {
		e := newEnv(t, envOptions{db: pgtest.Open(t, payments.Module, paymentslocal.Migrations)})
		return paymentstest.Target{Service: e.svc, Bookings: e.bk}
	})
}
