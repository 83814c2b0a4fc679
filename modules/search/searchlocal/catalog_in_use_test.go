package searchlocal_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/bookings/bookingstest"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/modules/search/internal/searchfixture"
	"github.com/bellhop/bellhop/modules/search/searchlocal"
	"github.com/bellhop/bellhop/modules/search/searchtest"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/db/dbtest"
	"github.com/bellhop/bellhop/platform/events/eventstest"
	"github.com/bellhop/bellhop/platform/money"
)

// Catalog changes cannot strand bookings: while the availability view shows
// rooms held or sold on future nights, the hotel and the room type cannot be
// deleted and rooms_total cannot drop below the rooms taken (409
// search.catalog_in_use); once the bookings are cancelled, they can.
func TestModule_CatalogChangesCannotStrandBookings(t *testing.T) {
	t.Parallel()
	bus := eventstest.Bus(t)
	m := searchfixture.NewModule(t, searchlocal.Deps{DB: dbtest.Open(t, search.Module, searchlocal.Migrations), Bus: bus})
	eventstest.Run(t, m)
	svc := m.Service()
	staff := authn.WithPrincipal(context.Background(), searchtest.Staff)
	h, err := svc.CreateHotel(staff, search.CreateHotelRequest{Name: "Busy Inn", City: "Guimaraes", Country: "PT",
		Address: "Rua 4", TimeZone: "Europe/Lisbon", Stars: 3, Rating: 4})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := svc.CreateRoomType(staff, search.CreateRoomTypeRequest{HotelID: h.ID, Name: "Double", MaxGuests: 2, RoomsTotal: 3, BaseRate: money.New(5000, "EUR")})
	if err != nil {
		t.Fatal(err)
	}

	bookingsEvents := bookingstest.NewEvents(t, bus) // bookings' side of the bus
	in := civil.Today(time.UTC).AddDays(30)
	publish := func(typ, bookingID string) {
		t.Helper()
		bookingsEvents.Publish(t, bookingsEvents.Event(t, typ, bookings.Booking{
			ID: bookingID, RoomTypeID: rt.ID, HotelID: h.ID, CheckIn: in, CheckOut: in.AddDays(2)}, ""))
	}
	roomsTotal := func(n int) error {
		_, err := svc.UpdateRoomType(staff, search.UpdateRoomTypeRequest{ID: rt.ID, RoomsTotal: &n})
		return err
	}
	publish(bookings.EventHeld, "bkg_1")
	publish(bookings.EventHeld, "bkg_2")
	publish(bookings.EventConfirmed, "bkg_2")
	// Wait until the view shows both rooms taken: lowering to 1 is refused.
	deadline := time.Now().Add(10 * time.Second)
	for err := roomsTotal(1); !errors.Is(err, search.ErrCatalogInUse); err = roomsTotal(1) {
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("rooms_total 1 under 2 taken rooms: err = %v, want ErrCatalogInUse", err)
		}
		if err := roomsTotal(3); err != nil { // undo the change the view did not stop yet
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := roomsTotal(2); err != nil {
		t.Fatalf("rooms_total 2 with 2 taken: %v", err)
	}
	for name, err := range map[string]error{
		"DeleteRoomType": svc.DeleteRoomType(staff, search.DeleteRoomTypeRequest{ID: rt.ID}),
		"DeleteHotel":    svc.DeleteHotel(staff, search.DeleteHotelRequest{ID: h.ID}),
	} {
		if !errors.Is(err, search.ErrCatalogInUse) || apperr.As(err).Status() != 409 {
			t.Fatalf("%s with taken rooms: err = %v, want 409 ErrCatalogInUse", name, err)
		}
	}
	if _, err := svc.GetHotel(context.Background(), search.GetHotelRequest{ID: h.ID}); err != nil {
		t.Fatalf("the refused deletion removed the hotel: %v", err)
	}

	publish(bookings.EventCancelled, "bkg_1")
	publish(bookings.EventCancelled, "bkg_2")
	deadline = time.Now().Add(10 * time.Second)
	for err := svc.DeleteHotel(staff, search.DeleteHotelRequest{ID: h.ID}); err != nil; err = svc.DeleteHotel(staff, search.DeleteHotelRequest{ID: h.ID}) {
		if !errors.Is(err, search.ErrCatalogInUse) || time.Now().After(deadline) {
			t.Fatalf("DeleteHotel once the bookings are cancelled: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
