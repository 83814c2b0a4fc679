// Package searchfixture builds search modules for the search module's own
// tests and benchmarks: on a fresh SQLite file, empty or with the demo catalog.
package searchfixture

import (
	"context"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/modules/search/searchlocal"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/db/dbtest"
)

// NewModule builds the module from d, on a fresh SQLite file when d.DB is nil.
func NewModule(tb testing.TB, d searchlocal.Deps) *searchlocal.Module {
	tb.Helper()
	if d.DB == nil {
		d.DB = dbtest.Open(tb, search.Module, searchlocal.Migrations)
	}
	m, err := searchlocal.New(d)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// Seeded is the in-process service on a fresh SQLite file seeded with the
// demo catalog (60 cities, 2,400 hotels), whose index Seed has already loaded.
func Seeded(tb testing.TB) search.Service {
	tb.Helper()
	m := NewModule(tb, searchlocal.Deps{})
	if _, err := m.Seed(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return m.Service()
}

// stays are the date windows the benchmarks rotate through: check-in 2 to 44
// days ahead (so "today" in any zone is never after it, and the holiday rate
// overrides of late December are sometimes inside), 1 to 7 nights.
func stays() [][2]civil.Date {
	today := civil.Today(time.UTC)
	var out [][2]civil.Date
	for i := range 24 {
		in := today.AddDays(2 + (i*11)%43)
		out = append(out, [2]civil.Date{in, in.AddDays(1 + i%7)})
	}
	return out
}

// Searches are the queries the benchmarks rotate through on the demo
// catalog: every city crossed with the date windows, interleaved so
// consecutive queries hit different cities and dates. Each is checked on svc
// to return a full page.
func Searches(tb testing.TB, svc search.Service) []search.SearchRequest {
	tb.Helper()
	ctx := context.Background()
	cities, err := svc.ListCities(ctx, search.ListCitiesRequest{Limit: search.MaxLimit})
	if err != nil {
		tb.Fatal(err)
	}
	if len(cities.Cities) < 50 {
		tb.Fatalf("only %d cities seeded", len(cities.Cities))
	}
	windows := stays()
	var reqs []search.SearchRequest
	for i := range len(cities.Cities) * len(windows) {
		c := cities.Cities[i%len(cities.Cities)]
		s := windows[(i/len(cities.Cities)+i)%len(windows)]
		req := search.SearchRequest{City: c.ID, CheckIn: s[0], CheckOut: s[1], Guests: 2, Limit: search.DefaultLimit}
		res, err := svc.SearchHotels(ctx, req)
		if err != nil {
			tb.Fatalf("search %s %s..%s: %v", c.ID, s[0], s[1], err)
		}
		if len(res.Hotels) != search.DefaultLimit {
			tb.Fatalf("search %s %s..%s: %d hotels, want %d", c.ID, s[0], s[1], len(res.Hotels), search.DefaultLimit)
		}
		reqs = append(reqs, req)
	}
	return reqs
}
