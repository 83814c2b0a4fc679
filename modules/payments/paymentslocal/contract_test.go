package paymentslocal_test

import (
	"testing"

	"github.com/bellhop/bellhop/modules/payments/paymentstest"
	"github.com/bellhop/bellhop/platform/authn/authntest"
)

// TestContract runs the payments contract in-process: paymentslocal on a
// real SQLite file, charging the sandbox bank.
func TestContract(t *testing.T) {
	paymentstest.RunContract(t, func(t *testing.T, _ *authntest.Issuer) paymentstest.Target {
		e := newEnv(t, envOptions{})
		return paymentstest.Target{Service: e.svc, Bookings: e.bk}
	})
}
