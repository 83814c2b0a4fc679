package paymentshttp_test

import (
	"testing"

	"github.com/bellhop/bellhop/modules/bookings/bookingstest"
	"github.com/bellhop/bellhop/modules/payments/paymentshttp"
	"github.com/bellhop/bellhop/modules/payments/paymentstest"
	"github.com/bellhop/bellhop/modules/payments/provider"
	"github.com/bellhop/bellhop/platform/authn/authntest"
)

// TestClient runs the payments contract through paymentshttp.Client talking
// to paymentshttp.Register(paymentslocal) over loopback: same assertions as
// in-process.
func TestClient(t *testing.T) {
	paymentstest.RunContract(t, func(t *testing.T, iss *authntest.Issuer) paymentstest.Target {
		bk := bookingstest.NewFake()
		m, _ := local(t, bk, provider.Policy{})
		return paymentstest.Target{Service: client(t, serve(t, m.Service(), iss, paymentshttp.Options{})), Bookings: bk}
	})
}
