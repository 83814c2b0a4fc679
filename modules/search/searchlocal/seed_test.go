package searchlocal_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/modules/search/internal/searchfixture"
	"github.com/bellhop/bellhop/modules/search/searchlocal"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/db/dbtest"
	"github.com/bellhop/bellhop/platform/events"
)

func TestModule_Seed(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t, search.Module, searchlocal.Migrations)
	m := searchfixture.NewModule(t, searchlocal.Deps{DB: d})
	start := time.Now()
	st, err := m.Seed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %+v in %s", st, time.Since(start))
	if st.Cities < 50 || st.Hotels < 2000 || st.RoomTypes < st.Hotels*2 || st.Rates == 0 {
		t.Fatalf("catalog too small: %+v", st)
	}
	// Every room type's creation is in the outbox, naming its hotel and
	// time zone, as the API would have recorded it.
	var created []struct{ Payload []byte }
	if err := d.Table("events_outbox").Select("payload").Where("subject LIKE ?", "%room_type.changed%").Find(&created).Error; err != nil {
		t.Fatal(err)
	}
	if len(created) != st.RoomTypes {
		t.Fatalf("%d room_type.changed events for %d room types", len(created), st.RoomTypes)
	}
	var evt events.Event
	var rtc search.RoomTypeChanged
	if err := json.Unmarshal(created[0].Payload, &evt); err != nil {
		t.Fatal(err)
	}
	if err := evt.Decode(&rtc); err != nil {
		t.Fatal(err)
	}
	if rtc.Change != search.ChangeCreated || rtc.HotelName == "" || rtc.TimeZone == "" || len(rtc.Country) != 2 || rtc.RoomsTotal == 0 {
		t.Fatalf("seeded event %+v: want a creation naming the hotel, its country and time zone", rtc)
	}
	again, err := m.Seed(ctx)
	if err != nil || !again.AlreadySeeded {
		t.Fatalf("second seed = %+v, %v; want skipped", again, err)
	}

	// Same ids and names on every run: a second, fresh database gets the same catalog.
	d2 := dbtest.Open(t, search.Module, searchlocal.Migrations)
	m2 := searchfixture.NewModule(t, searchlocal.Deps{DB: d2})
	if _, err := m2.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	var a, b []string
	d.Table("hotels").Order("id").Limit(50).Pluck("id || name", &a)
	d2.Table("hotels").Order("id").Limit(50).Pluck("id || name", &b)
	if len(a) != 50 || len(a) != len(b) {
		t.Fatalf("got %d and %d hotels", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("seed is not deterministic: %q vs %q", a[i], b[i])
		}
	}

	// The seeded catalog is searchable.
	in := civil.Today(time.UTC).AddDays(7)
	res, err := m.Service().SearchHotels(ctx, search.SearchRequest{City: "Lisbon", CheckIn: in, CheckOut: in.AddDays(2), Guests: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hotels) != search.DefaultLimit || res.NextCursor == "" || res.City.ID != "lisbon-pt" {
		t.Fatalf("search Lisbon: %d hotels, cursor %q, city %+v", len(res.Hotels), res.NextCursor, res.City)
	}
}
