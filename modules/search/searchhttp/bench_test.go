package searchhttp_test

import (
	"context"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/modules/search/internal/searchfixture"
	"github.com/bellhop/bellhop/modules/search/searchhttp"
	"github.com/bellhop/bellhop/modules/search/searchmodule"
	"github.com/bellhop/bellhop/platform/httpclient"
	"github.com/bellhop/bellhop/platform/httpserver"
	"github.com/bellhop/bellhop/platform/httpserver/httpservertest"
	"github.com/bellhop/bellhop/platform/observability"
	"github.com/bellhop/bellhop/platform/observability/otlptest"
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

// BenchmarkSearchHotels_Tracing is the HTTP hop with tracing off and with it
// on as production runs it (every trace sampled, batches exported over
// OTLP/HTTP to a receiver on loopback): a client span, the traceparent
// header, the server's request span and the in-process edge span per
// search. Each iteration makes one search each way, alternating, so a busy
// machine slows both alike: it reports each one's time per search and the
// ratio on/off, tracing's overhead on a search request.
func BenchmarkSearchHotels_Tracing(b *testing.B) {
	local := searchfixture.Seeded(b)
	reqs := searchfixture.Searches(b, local)
	client := func(cfg observability.TracingConfig) search.Service {
		tr, err := observability.NewTracing(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
		edge := observability.Edge{Caller: "api", Callee: search.Module, Location: observability.Local,
			Tracer: observability.Tracer(tr.Provider(), "bench")}
		url := httpservertest.ServeWith(b, httpserver.Deps{Tracing: tr.Provider()}, func(e *echo.Echo) {
			if err := searchhttp.Register(e.Group(""), searchmodule.Instrument(local, edge), searchhttp.Options{}); err != nil {
				b.Fatal(err)
			}
		})
		c, err := searchhttp.NewClient(url, httpclient.Options{Caller: "bench", Timeout: 5 * time.Second, Tracing: tr.Provider()})
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	off := client(observability.TracingConfig{Exporter: observability.ExporterOff})
	on := client(observability.TracingConfig{Exporter: observability.ExporterOTLP, Endpoint: otlptest.NewReceiver(b).URL,
		SampleRatio: 1, ServiceName: "bench"})
	ctx := context.Background()
	search1 := func(svc search.Service, r search.SearchRequest) time.Duration {
		began := time.Now()
		res, err := svc.SearchHotels(ctx, r)
		if err != nil || len(res.Hotels) != search.DefaultLimit {
			b.Fatalf("search: %d hotels, %v", len(res.Hotels), err)
		}
		return time.Since(began)
	}
	for _, r := range reqs { // warm both connections and caches
		search1(off, r)
		search1(on, r)
	}
	b.ReportAllocs()
	var tookOff, tookOn time.Duration
	i := 0
	for b.Loop() {
		r := reqs[i%len(reqs)]
		if i%2 == 0 {
			tookOff += search1(off, r)
			tookOn += search1(on, r)
		} else {
			tookOn += search1(on, r)
			tookOff += search1(off, r)
		}
		i++
	}
	b.ReportMetric(float64(tookOff.Nanoseconds())/float64(i), "off-ns/search")
	b.ReportMetric(float64(tookOn.Nanoseconds())/float64(i), "on-ns/search")
	b.ReportMetric(float64(tookOn)/float64(tookOff), "on/off")
}
