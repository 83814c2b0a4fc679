package searchlocal_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/modules/search/internal/searchfixture"
	"github.com/bellhop/bellhop/modules/search/searchlocal"
	"github.com/bellhop/bellhop/modules/search/searchtest"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/db/dbtest"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/money"
)

// outbox returns the RoomTypeChanged events in the module's outbox, in order.
func outbox(t *testing.T, d *db.DB) []search.RoomTypeChanged {
	t.Helper()
	var payloads [][]byte
	if err := d.Raw("SELECT payload FROM events_outbox ORDER BY seq").Scan(&payloads).Error; err != nil {
		t.Fatal(err)
	}
	out := make([]search.RoomTypeChanged, 0, len(payloads))
	for _, p := range payloads {
		var evt events.Event
		if err := json.Unmarshal(p, &evt); err != nil {
			t.Fatal(err)
		}
		if evt.Type != search.EventRoomTypeChanged || evt.Source != search.Module {
			t.Fatalf("event %s from %s", evt.Type, evt.Source)
		}
		var c search.RoomTypeChanged
		if err := evt.Decode(&c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// Every change to a room type's rooms or rates records its event in the same
// transaction: a change that fails records nothing.
func TestService_RecordsRoomTypeChanged(t *testing.T) {
	d := dbtest.Open(t, search.Module, searchlocal.Migrations)
	svc := searchfixture.NewModule(t, searchlocal.Deps{DB: d}).Service()
	ctx := authn.WithPrincipal(context.Background(), searchtest.Staff)

	h, err := svc.CreateHotel(ctx, search.CreateHotelRequest{Name: "Outbox Inn", City: "Evora", Country: "PT",
		Address: "Praça 1", TimeZone: "Europe/Lisbon", Stars: 3, Rating: 4})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := svc.CreateRoomType(ctx, search.CreateRoomTypeRequest{HotelID: h.ID, Name: "Double", MaxGuests: 2, RoomsTotal: 4, BaseRate: money.New(8000, "EUR")})
	if err != nil {
		t.Fatal(err)
	}
	rooms := 6
	if _, err := svc.UpdateRoomType(ctx, search.UpdateRoomTypeRequest{ID: rt.ID, RoomsTotal: &rooms}); err != nil {
		t.Fatal(err)
	}
	day := civil.Today(time.UTC).AddDays(30)
	if _, err := svc.SetRates(ctx, search.SetRatesRequest{RoomTypeID: rt.ID, Rates: []search.Rate{{Date: day, Amount: 9000}}}); err != nil {
		t.Fatal(err)
	}
	// Failures roll their events back with them.
	if _, err := svc.CreateRoomType(ctx, search.CreateRoomTypeRequest{HotelID: h.ID, Name: "Double", MaxGuests: 2, RoomsTotal: 1, BaseRate: money.New(1, "EUR")}); err == nil {
		t.Fatal("duplicate room type accepted")
	}
	if err := svc.DeleteRate(ctx, search.DeleteRateRequest{RoomTypeID: rt.ID, Date: day.AddDays(1)}); err == nil {
		t.Fatal("deleting a missing rate succeeded")
	}
	if err := svc.DeleteHotel(ctx, search.DeleteHotelRequest{ID: h.ID}); err != nil {
		t.Fatal(err)
	}

	got := outbox(t, d)
	want := []struct {
		change string
		rooms  int
	}{{search.ChangeCreated, 4}, {search.ChangeUpdated, 6}, {search.ChangeRatesChanged, 6}, {search.ChangeDeleted, 6}}
	if len(got) != len(want) {
		t.Fatalf("outbox has %d events: %+v", len(got), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Change != w.change || g.RoomsTotal != w.rooms || g.RoomTypeID != rt.ID || g.HotelID != h.ID || g.CityID != "evora-pt" || g.City != "Evora" || g.BaseRate != money.New(8000, "EUR") {
			t.Errorf("event %d = %+v, want %s with %d rooms", i, g, w.change, w.rooms)
		}
	}
	if len(got[2].RateDates) != 1 || got[2].RateDates[0] != day {
		t.Errorf("rates_changed dates = %v", got[2].RateDates)
	}
}
