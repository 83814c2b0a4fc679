package httpserver_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bellhop/bellhop/platform/httpserver"
	"github.com/bellhop/bellhop/platform/observability"
)

// BenchmarkMiddlewareStack measures the whole middleware stack on /healthz
// (request ID, recovery, metrics, security headers, body limit, rate limit),
// with access logging on but /healthz below the logger's level, as in production.
func BenchmarkMiddlewareStack(b *testing.B) {
	srv := httpserver.New(httpserver.Config{
		AccessLog: true,
		RateLimit: httpserver.RateLimitConfig{Enabled: true, RPS: 1e9, Burst: 1e9},
	}, httpserver.Deps{Log: observability.Discard(), Registry: prometheus.NewRegistry()})
	e := srv.Echo()
	req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			e.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
}

// BenchmarkRateLimitedRoute is the same path for a route that is rate
// limited (keyed by client IP), to show the limiter's cost.
func BenchmarkRateLimitedRoute(b *testing.B) {
	srv := httpserver.New(httpserver.Config{
		RateLimit: httpserver.RateLimitConfig{Enabled: true, RPS: 1e9, Burst: 1e9},
	}, httpserver.Deps{Log: observability.Discard(), Registry: prometheus.NewRegistry()})
	e := srv.Echo()
	e.GET("/x", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			e.ServeHTTP(w, req)
			if w.Code != http.StatusNoContent {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
}
