package searchhttp_test

import (
	"context"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/modules/search/internal/searchfixture"
	"github.com/bellhop/bellhop/modules/search/searchhttp"
	"github.com/bellhop/bellhop/platform/httpclient"
	"github.com/bellhop/bellhop/platform/httpserver/httpservertest"
)

// The two benchmarks below run the same queries on the same seeded catalog,
// once calling searchlocal in-process and once through searchhttp.Client →
// loopback HTTP (keep-alive) → httpserver + searchhttp.Register(searchlocal):
// their ns/op ratio is the cost of the hop (encode, transport, middleware,
// decode) for a 20-result search.

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
	svc := searchfixture.Seeded(b)
	runSearches(b, svc, searchfixture.Searches(b, svc))
}

// BenchmarkSearchHotels_HTTPClient is the same queries through the HTTP hop.
// Allocations count both ends (client and server run in this process).
func BenchmarkSearchHotels_HTTPClient(b *testing.B) {
	local := searchfixture.Seeded(b)
	url := httpservertest.Serve(b, nil, func(e *echo.Echo) {
		if err := searchhttp.Register(e.Group(""), local, searchhttp.Options{}); err != nil {
			b.Fatal(err)
		}
	})
	c, err := searchhttp.NewClient(url, httpclient.Options{Caller: "bench", Timeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	runSearches(b, c, searchfixture.Searches(b, local))
}
