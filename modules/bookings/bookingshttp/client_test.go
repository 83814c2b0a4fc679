package bookingshttp_test

import (
	"context"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/bookings/bookingshttp"
	"github.com/bellhop/bellhop/modules/bookings/bookingslocal"
	"github.com/bellhop/bellhop/modules/bookings/bookingstest"
	"github.com/bellhop/bellhop/modules/payments/paymentstest"
	"github.com/bellhop/bellhop/modules/search/searchtest"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/db/dbtest"
	"github.com/bellhop/bellhop/platform/events/eventstest"
	"github.com/bellhop/bellhop/platform/httpclient"
	"github.com/bellhop/bellhop/platform/httpclient/httpclienttest"
	"github.com/bellhop/bellhop/platform/httpserver/httpservertest"
)

// serve hosts svc's routes on a loopback port, verifying tokens from iss.
func serve(t *testing.T, svc bookings.Service, iss *authntest.Issuer) string {
	t.Helper()
	return httpservertest.Serve(t, iss.Verifier().Middleware(), func(e *echo.Echo) {
		if err := bookingshttp.Register(e.Group(""), svc, bookingshttp.Options{}); err != nil {
			t.Fatal(err)
		}
	})
}

// newLocal builds bookingslocal on a real SQLite file and event bus, quoting
// from a search Fake, running, with a payments stand-in on the bus.
func newLocal(t *testing.T) (*bookingslocal.Module, *searchtest.Fake, *paymentstest.Events) {
	t.Helper()
	catalog := searchtest.NewFake()
	bus := eventstest.Bus(t)
	m, err := bookingslocal.New(bookingslocal.Deps{DB: dbtest.Open(t, bookings.Module, bookingslocal.Migrations), Bus: bus, Search: catalog,
		MaxPendingHolds: 1000}) // the contract suite's one guest holds rooms across all its cases
	if err != nil {
		t.Fatal(err)
	}
	eventstest.Run(t, m)
	return m, catalog, paymentstest.NewEvents(t, bus)
}

func newClient(t *testing.T, url string) *bookingshttp.Client {
	t.Helper()
	c, err := bookingshttp.NewClient(url, httpclient.Options{Caller: "test", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestClient runs the bookings contract through bookingshttp.Client talking
// to bookingshttp.Register(bookingslocal) over loopback: the same assertions
// as in-process, errors.Is included.
func TestClient(t *testing.T) {
	bookingstest.RunContract(t, func(t *testing.T, iss *authntest.Issuer) bookingstest.Target {
		m, catalog, pays := newLocal(t)
		return bookingstest.Target{
			Service: newClient(t, serve(t, m.Service(), iss)),
			Catalog: catalog,
			Pay:     func(t *testing.T, b bookings.Booking) string { return pays.Succeed(t, b).ID },
		}
	})
}

// A bookings process that is not there is unavailable, quickly.
func TestClient_Unavailable(t *testing.T) {
	t.Parallel()
	httpclienttest.CheckUnreachable(t, bookingshttp.NewClient, map[string]func(context.Context, *bookingshttp.Client) error{
		"Get": func(ctx context.Context, c *bookingshttp.Client) error {
			_, err := c.Get(ctx, bookings.GetRequest{ID: "bk_1"})
			return err
		},
	})
}
