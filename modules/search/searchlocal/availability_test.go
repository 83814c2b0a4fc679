package searchlocal_test

import (
	"context"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/bookings/bookingstest"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/modules/search/internal/searchfixture"
	"github.com/bellhop/bellhop/modules/search/searchlocal"
	"github.com/bellhop/bellhop/modules/search/searchtest"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/db/dbtest"
	"github.com/bellhop/bellhop/platform/events/eventstest"
	"github.com/bellhop/bellhop/platform/money"
)

// Booking events feed search's availability view: a hold takes a room for
// each night, a cancellation gives it back, a copy changes nothing, and a
// release that overtakes its hold wins.
func TestModule_AvailabilityFollowsBookings(t *testing.T) {
	bus := eventstest.Bus(t)
	m := searchfixture.NewModule(t, searchlocal.Deps{DB: dbtest.Open(t, search.Module, searchlocal.Migrations), Bus: bus})
	eventstest.Run(t, m)
	svc := m.Service()
	staff := authn.WithPrincipal(context.Background(), searchtest.Staff)
	h, err := svc.CreateHotel(staff, search.CreateHotelRequest{Name: "View Inn", City: "Braga", Country: "PT",
		Address: "Rua 3", TimeZone: "Europe/Lisbon", Stars: 3, Rating: 4})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := svc.CreateRoomType(staff, search.CreateRoomTypeRequest{HotelID: h.ID, Name: "Double", MaxGuests: 2, RoomsTotal: 2, BaseRate: money.New(5000, "EUR")})
	if err != nil {
		t.Fatal(err)
	}

	bookingsEvents := bookingstest.NewEvents(t, bus) // bookings' side of the bus
	in := civil.Today(time.UTC).AddDays(40)
	publish := func(typ, bookingID string) {
		t.Helper()
		bookingsEvents.Publish(t, bookingsEvents.Event(t, typ, bookings.Booking{
			ID: bookingID, RoomTypeID: rt.ID, HotelID: h.ID, CheckIn: in, CheckOut: in.AddDays(2)}, ""))
	}
	freeRooms := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			res, err := svc.SearchHotels(context.Background(), search.SearchRequest{City: "Braga", CheckIn: in, CheckOut: in.AddDays(2), Guests: 1})
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			if len(res.Hotels) == 1 {
				got = res.Hotels[0].RoomTypes[0].RoomsFree
			}
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("rooms free = %d, want %d", got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	publish(bookings.EventHeld, "bkg_1")
	freeRooms(1)
	publish(bookings.EventHeld, "bkg_1") // a second event for the same hold
	publish(bookings.EventConfirmed, "bkg_1")
	publish(bookings.EventHeld, "bkg_2")
	freeRooms(0) // sold out: the hotel is not offered
	publish(bookings.EventCancelled, "bkg_2")
	freeRooms(1)
	publish(bookings.EventExpired, "bkg_3") // the release overtook its hold
	publish(bookings.EventHeld, "bkg_3")
	publish(bookings.EventCancelled, "bkg_1")
	freeRooms(2)
	publish(bookings.EventConfirmed, "bkg_marker") // processed after everything above
	time.Sleep(300 * time.Millisecond)
	freeRooms(2)
}
