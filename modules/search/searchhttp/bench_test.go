package searchhttp_test

import (
	"context"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/modules/search/searchhttp"
	"github.com/bellhop/bellhop/modules/search/searchlocal"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/db/dbtest"
	"github.com/bellhop/bellhop/platform/httpclient"
	"github.com/bellhop/bellhop/platform/httpserver/httpservertest"
)

// The two benchmarks below run the same queries on the same seeded catalog,
// once calling searchlocal in-process and once through searchhttp.Client →
// loopback HTTP (keep-alive) → httpserver + searchhttp.Register(searchlocal):
// their ns/op ratio is the cost of the hop (encode, transport, middleware,
// decode) for a 20-result search.

// seededLocal opens a temp SQLite database with the demo catalog and returns
// the in-process service.
func seededLocal(b *testing.B) search.Service {
	b.Helper()
	d := dbtest.Open(b, search.Module, searchlocal.Migrations)
	m := newModule(b, searchlocal.Deps{DB: d})
	if _, err := m.Seed(context.Background()); err != nil {
		b.Fatal(err)
	}
	return m.Service()
}

// benchSearches rotates over every demo city crossed with 24 date windows
// (check-in 2 to 44 days ahead, 1 to 7 nights), interleaved so consecutive
// queries differ in city and dates.
func benchSearches(b *testing.B, svc search.Service) []search.SearchRequest {
	b.Helper()
	ctx := context.Background()
	cities, err := svc.ListCities(ctx, search.ListCitiesRequest{Limit: search.MaxLimit})
	if err != nil {
		b.Fatal(err)
	}
	today := civil.Today(time.UTC)
	var stays [][2]civil.Date
	for i := range 24 {
		in := today.AddDays(2 + (i*11)%43)
		stays = append(stays, [2]civil.Date{in, in.AddDays(1 + i%7)})
	}
	n := len(cities.Cities)
	reqs := make([]search.SearchRequest, 0, n*len(stays))
	for i := range n * len(stays) {
		s := stays[(i/n+i)%len(stays)]
		reqs = append(reqs, search.SearchRequest{City: cities.Cities[i%n].ID, CheckIn: s[0], CheckOut: s[1], Guests: 2, Limit: search.DefaultLimit})
	}
	return reqs
}

func runSearches(b *testing.B, svc search.Service, reqs []search.SearchRequest) {
	b.Helper()
	ctx := context.Background()
	// One pass first: every query must return a full page (and the
	// connection is warm before the timer starts).
	for _, r := range reqs {
		res, err := svc.SearchHotels(ctx, r)
		if err != nil || len(res.Hotels) != search.DefaultLimit {
			b.Fatalf("search %s %s..%s: %d hotels, %v", r.City, r.CheckIn, r.CheckOut, len(res.Hotels), err)
		}
	}
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

// BenchmarkSearchHotels_InProcess is the baseline: searchlocal called directly.
func BenchmarkSearchHotels_InProcess(b *testing.B) {
	svc := seededLocal(b)
	runSearches(b, svc, benchSearches(b, svc))
}

// BenchmarkSearchHotels_HTTPClient is the same queries through the HTTP hop.
// Allocations count both ends (client and server run in this process).
func BenchmarkSearchHotels_HTTPClient(b *testing.B) {
	local := seededLocal(b)
	url := httpservertest.Serve(b, nil, func(e *echo.Echo) { searchhttp.Register(e, local) })
	c, err := searchhttp.NewClient(url, httpclient.Options{Caller: "bench", Timeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	runSearches(b, c, benchSearches(b, local))
}
