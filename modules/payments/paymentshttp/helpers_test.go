package paymentshttp_test

import (
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/payments/paymentshttp"
	"github.com/bellhop/bellhop/modules/payments/paymentslocal"
	"github.com/bellhop/bellhop/modules/payments/provider"
	"github.com/bellhop/bellhop/modules/payments/provider/sandbox"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/db/dbtest"
	"github.com/bellhop/bellhop/platform/httpclient"
	"github.com/bellhop/bellhop/platform/httpserver/httpservertest"
)

// local builds paymentslocal on SQLite with a sandbox bank of its own.
func local(t *testing.T, bk bookings.Service, policy provider.Policy) (*paymentslocal.Module, *sandbox.Bank) {
	t.Helper()
	bank, err := sandbox.New(dbtest.Open(t, sandbox.DBName, sandbox.Migrations), sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := paymentslocal.New(paymentslocal.Deps{
		DB: dbtest.Open(t, payments.Module, paymentslocal.Migrations), Bookings: bk, Provider: bank, ProviderPolicy: policy,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m, bank
}

// serve hosts svc's routes on a loopback port, verifying tokens from iss.
func serve(t *testing.T, svc payments.Service, iss *authntest.Issuer, opts paymentshttp.Options) string {
	t.Helper()
	return httpservertest.Serve(t, iss.Verifier().Middleware(), func(e *echo.Echo) {
		if err := paymentshttp.Register(e.Group(""), svc, opts); err != nil {
			t.Fatal(err)
		}
	})
}

func client(t *testing.T, url string) *paymentshttp.Client {
	t.Helper()
	c, err := paymentshttp.NewClient(url, httpclient.Options{Caller: "test", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
