package bookingslocal_test

import (
	"testing"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/bookings/bookingslocal"
	"github.com/bellhop/bellhop/modules/bookings/bookingstest"
	"github.com/bellhop/bellhop/modules/payments/paymentstest"
	"github.com/bellhop/bellhop/modules/search/searchtest"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/db/dbtest"
	"github.com/bellhop/bellhop/platform/events/eventstest"
)

// TestContract runs the bookings contract in-process: bookingslocal on a
// real SQLite file, quoting from a search Fake, paid through a real
// embedded event bus.
func TestContract(t *testing.T) {
	bookingstest.RunContract(t, func(t *testing.T, _ *authntest.Issuer) bookingstest.Target {
		catalog := searchtest.NewFake()
		bus := eventstest.Bus(t)
		m, err := bookingslocal.New(bookingslocal.Deps{DB: dbtest.Open(t, bookings.Module, bookingslocal.Migrations), Bus: bus, Search: catalog,
			// The suite's one guest holds rooms across all its cases; the
			// per-guest limit is tested in limits_test.go.
			MaxPendingHolds: 1000})
		if err != nil {
			t.Fatal(err)
		}
		eventstest.Run(t, m)
		pays := paymentstest.NewEvents(t, bus)
		return bookingstest.Target{
			Service: m.Service(),
			Catalog: catalog,
			Pay:     func(t *testing.T, b bookings.Booking) string { return pays.Succeed(t, b).ID },
		}
	})
}
