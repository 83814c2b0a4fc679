package searchlocal_test

import (
	"context"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/modules/search/searchlocal"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/db/dbtest"
)

// benchStays are the date windows the benchmarks rotate through: check-in
// 2 to 44 days ahead (so "today" in any zone is never after it, and the
// holiday rate overrides of late December are sometimes inside), 1 to 7 nights.
func benchStays() [][2]civil.Date {
	today := civil.Today(time.UTC)
	var out [][2]civil.Date
	for i := range 24 {
		in := today.AddDays(2 + (i*11)%43)
		out = append(out, [2]civil.Date{in, in.AddDays(1 + i%7)})
	}
	return out
}

// seededService opens a temp SQLite database, seeds the demo catalog into it
// (60 cities, 2,400 hotels) and returns the in-process service, whose index
// Seed has already loaded.
func seededService(b *testing.B) search.Service {
	b.Helper()
	d := dbtest.Open(b, search.Module, searchlocal.Migrations)
	m := newModule(b, searchlocal.Deps{DB: d})
	if _, err := m.Seed(context.Background()); err != nil {
		b.Fatal(err)
	}
	return m.Service()
}

// benchSearches are the queries BenchmarkSearchHotels rotates through: every
// demo city crossed with the date windows, interleaved so consecutive queries
// hit different cities and dates. Each is checked to return a full page.
func benchSearches(b *testing.B, svc search.Service) []search.SearchRequest {
	b.Helper()
	ctx := context.Background()
	cities, err := svc.ListCities(ctx, search.ListCitiesRequest{Limit: search.MaxLimit})
	if err != nil {
		b.Fatal(err)
	}
	if len(cities.Cities) < 50 {
		b.Fatalf("only %d cities seeded", len(cities.Cities))
	}
	stays := benchStays()
	var reqs []search.SearchRequest
	for i := range len(cities.Cities) * len(stays) {
		c := cities.Cities[i%len(cities.Cities)]
		s := stays[(i/len(cities.Cities)+i)%len(stays)]
		req := search.SearchRequest{City: c.ID, CheckIn: s[0], CheckOut: s[1], Guests: 2, Limit: search.DefaultLimit}
		res, err := svc.SearchHotels(ctx, req)
		if err != nil {
			b.Fatalf("search %s %s..%s: %v", c.ID, s[0], s[1], err)
		}
		if len(res.Hotels) != search.DefaultLimit {
			b.Fatalf("search %s %s..%s: %d hotels, want %d", c.ID, s[0], s[1], len(res.Hotels), search.DefaultLimit)
		}
		reqs = append(reqs, req)
	}
	return reqs
}

// BenchmarkSearchHotels is one search of 20 results on the in-memory index,
// rotating over 60 cities × 24 date windows (1,440 distinct queries).
func BenchmarkSearchHotels(b *testing.B) {
	svc := seededService(b)
	reqs := benchSearches(b, svc)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		res, err := svc.SearchHotels(ctx, reqs[i%len(reqs)])
		if err != nil || len(res.Hotels) != search.DefaultLimit {
			b.Fatalf("search: %d hotels, %v", len(res.Hotels), err)
		}
		i++
	}
}

// BenchmarkQuote prices a stay for bookings (database reads: room type with
// hotel and city, then the rate overrides), rotating over room types in every
// city and the date windows.
func BenchmarkQuote(b *testing.B) {
	svc := seededService(b)
	reqs := benchSearches(b, svc)
	var quotes []search.QuoteRequest
	ctx := context.Background()
	for i, r := range reqs[:min(len(reqs), 240)] {
		res, err := svc.SearchHotels(ctx, r)
		if err != nil {
			b.Fatal(err)
		}
		h := res.Hotels[i%len(res.Hotels)]
		rt := h.RoomTypes[i%len(h.RoomTypes)]
		quotes = append(quotes, search.QuoteRequest{RoomTypeID: rt.ID, CheckIn: r.CheckIn, CheckOut: r.CheckOut, Guests: 2})
	}
	booking := authn.WithPrincipal(ctx, authn.Principal{
		Subject: "svc_bookings", Kind: authn.KindService, Scopes: []string{search.ScopeQuote},
	})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		q, err := svc.Quote(booking, quotes[i%len(quotes)])
		if err != nil || len(q.Nights) == 0 {
			b.Fatalf("quote: %+v, %v", q, err)
		}
		i++
	}
}

// BenchmarkGetHotel loads one hotel with its room types and upcoming rate
// overrides from the database, rotating over hotels in every city.
func BenchmarkGetHotel(b *testing.B) {
	svc := seededService(b)
	reqs := benchSearches(b, svc)
	var ids []string
	ctx := context.Background()
	for i, r := range reqs[:min(len(reqs), 240)] {
		res, err := svc.SearchHotels(ctx, r)
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, res.Hotels[i%len(res.Hotels)].ID)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		h, err := svc.GetHotel(ctx, search.GetHotelRequest{ID: ids[i%len(ids)]})
		if err != nil || len(h.RoomTypes) == 0 {
			b.Fatalf("get hotel: %+v, %v", h, err)
		}
		i++
	}
}
