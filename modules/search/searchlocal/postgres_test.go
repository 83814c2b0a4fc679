package searchlocal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/modules/search/internal/searchfixture"
	"github.com/bellhop/bellhop/modules/search/searchlocal"
	"github.com/bellhop/bellhop/modules/search/searchtest"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/db/pgtest"
)

// TestMain stops the PostgreSQL cluster (started by the first test that
// needs it) when the package's tests are done.
func TestMain(m *testing.M) { pgtest.Main(m) }

// openPostgres returns the search module's database, migrated, in a fresh
// PostgreSQL database.
func openPostgres(t *testing.T) *db.DB {
	t.Helper()
	return pgtest.Open(t, search.Module, searchlocal.Migrations)
}

// TestService_Postgres runs the search contract in-process on PostgreSQL.
func TestService_Postgres(t *testing.T) {
	searchtest.RunContract(t, func(t *testing.T, _ *authntest.Issuer) searchtest.Target {
		return searchtest.Target{Service: searchfixture.NewModule(t, searchlocal.Deps{DB: openPostgres(t)}).Service()}
	})
}

// TestSeed_Postgres seeds the demo catalog into PostgreSQL and searches it,
// then checks PostgreSQL answers every read exactly as SQLite does on the same
// catalog: the same cities, hotels, prices and order, to the byte of JSON.
func TestSeed_Postgres(t *testing.T) {
	ctx := context.Background()
	pg := searchfixture.NewModule(t, searchlocal.Deps{DB: openPostgres(t)})
	start := time.Now()
	st, err := pg.Seed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %+v in %s", st, time.Since(start))
	if st.Cities < 50 || st.Hotels < 2000 || st.RoomTypes < st.Hotels*2 || st.Rates == 0 {
		t.Fatalf("catalog too small: %+v", st)
	}
	if again, err := pg.Seed(ctx); err != nil || !again.AlreadySeeded {
		t.Fatalf("second seed = %+v, %v; want skipped", again, err)
	}
	in := civil.Today(time.UTC).AddDays(7)
	res, err := pg.Service().SearchHotels(ctx, search.SearchRequest{City: "Lisbon", CheckIn: in, CheckOut: in.AddDays(2), Guests: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hotels) != search.DefaultLimit || res.NextCursor == "" || res.City.ID != "lisbon-pt" {
		t.Fatalf("search Lisbon: %d hotels, cursor %q, city %+v", len(res.Hotels), res.NextCursor, res.City)
	}
	// The same catalog in SQLite, to compare answers with.
	sq := searchfixture.NewModule(t, searchlocal.Deps{})
	if _, err := sq.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	same := func(what string, call func(search.Service) (any, error)) {
		t.Helper()
		want, wantErr := call(sq.Service())
		got, gotErr := call(pg.Service())
		w, _ := json.Marshal(want)
		g, _ := json.Marshal(got)
		if !bytes.Equal(w, g) || fmt.Sprint(wantErr) != fmt.Sprint(gotErr) {
			t.Fatalf("%s differs:\nSQLite:     %s (err %v)\nPostgreSQL: %s (err %v)", what, w, wantErr, g, gotErr)
		}
	}
	cities, err := sq.Service().ListCities(ctx, search.ListCitiesRequest{Limit: 100})
	if err != nil || len(cities.Cities) != st.Cities {
		t.Fatalf("list cities: %d, %v", len(cities.Cities), err)
	}
	same("ListCities", func(s search.Service) (any, error) { return s.ListCities(ctx, search.ListCitiesRequest{Limit: 100}) })
	for _, p := range []string{"s", "São", "new y", "%", "_"} {
		same("ListCities prefix "+p, func(s search.Service) (any, error) {
			return s.ListCities(ctx, search.ListCitiesRequest{Prefix: p, Limit: 100})
		})
	}
	booking := authntest.NewIssuer(t, searchtest.IssuerName, searchtest.Audience).Context(t, ctx, searchtest.Booking)
	for _, c := range cities.Cities {
		for _, sort := range []string{search.SortPrice, search.SortRating, search.SortStars} {
			q := search.SearchRequest{City: c.Name, CheckIn: in, CheckOut: in.AddDays(3), Guests: 2, Sort: sort, Limit: 100}
			same("SearchHotels "+c.ID+" by "+sort, func(s search.Service) (any, error) { return s.SearchHotels(ctx, q) })
		}
		first, err := sq.Service().SearchHotels(ctx, search.SearchRequest{City: c.ID, CheckIn: in, CheckOut: in.AddDays(1), Guests: 1, Limit: 1})
		if err != nil || len(first.Hotels) != 1 {
			t.Fatalf("search %s: %+v, %v", c.ID, first.Hotels, err)
		}
		h := first.Hotels[0]
		if got, err := pg.Service().GetHotel(ctx, search.GetHotelRequest{ID: h.ID}); err != nil || got.CreatedAt.Location() != time.UTC {
			// Not just the same instant: in another zone the JSON would differ whenever TZ is not UTC.
			t.Fatalf("GetHotel %s: created_at %v in %v, want UTC (err %v)", h.ID, got.CreatedAt, got.CreatedAt.Location(), err)
		}
		same("GetHotel "+h.ID, func(s search.Service) (any, error) { return s.GetHotel(ctx, search.GetHotelRequest{ID: h.ID}) })
		rt := h.RoomTypes[0]
		same("Quote "+rt.ID, func(s search.Service) (any, error) {
			return s.Quote(booking, search.QuoteRequest{RoomTypeID: rt.ID, CheckIn: in, CheckOut: in.AddDays(search.MaxNights), Guests: 1})
		})
	}
}
