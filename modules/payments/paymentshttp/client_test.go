package paymentshttp_test

import (
	"context"
	"testing"

	"github.com/bellhop/bellhop/modules/bookings/bookingstest"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/payments/paymentshttp"
	"github.com/bellhop/bellhop/modules/payments/paymentstest"
	"github.com/bellhop/bellhop/modules/payments/provider"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/httpclient/httpclienttest"
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

// A payments process that is not there is unavailable, quickly.
func TestClient_Unavailable(t *testing.T) {
	t.Parallel()
	httpclienttest.CheckUnreachable(t, paymentshttp.NewClient, map[string]func(context.Context, *paymentshttp.Client) error{
		"Get": func(ctx context.Context, c *paymentshttp.Client) error {
			_, err := c.Get(ctx, payments.GetRequest{ID: "pay_1"})
			return err
		},
	})
}
