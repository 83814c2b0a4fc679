package paymentshttp_test

import (
	"testing"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/payments/paymentshttp"
	"github.com/bellhop/bellhop/modules/payments/paymentstest"
	"github.com/bellhop/bellhop/modules/payments/provider"
	"github.com/bellhop/bellhop/platform/authn/authntest"
)

// TestClient runs the payments contract through paymentshttp.Client talking
// to paymentshttp.Register(paymentslocal) over loopback: same assertions as
// in-process.
func TestClient(t *testing.T) {
	paymentstest.RunContract(t, func(t *testing.T, iss *authntest.Issuer, bk bookings.Service) payments.Service {
		m, _ := local(t, bk, provider.Policy{})
		return client(t, serve(t, m.Service(), iss, paymentshttp.Options{}))
	})
}
