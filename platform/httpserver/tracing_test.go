package httpserver_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/httpserver"
	"github.com/bellhop/bellhop/platform/observability"
)

// Each request is a server span named by its route template, child of the
// caller's traceparent; nothing of the path's ids, the query or the headers
// is recorded; a 5xx marks it failed; the probes make none.
func TestTracing_ServerSpans(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tr := observability.NewTracingWith(observability.TracingConfig{SampleRatio: 1}, sdktrace.WithSyncer(exp))
	srv := httpserver.New(httpserver.Config{}, httpserver.Deps{Tracing: tr.Provider()})
	var handlerTrace trace.SpanContext
	srv.Echo().GET("/api/v1/hotels/:id", func(c echo.Context) error {
		handlerTrace = trace.SpanContextFromContext(c.Request().Context())
		return c.JSON(200, map[string]string{"id": c.Param("id")})
	})
	srv.Echo().GET("/api/v1/broken", func(c echo.Context) error { return apperr.Internal(nil) })

	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	send := func(path, traceparent string) int {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer secret-token-value")
		if traceparent != "" {
			req.Header.Set("traceparent", traceparent)
		}
		rec := httptest.NewRecorder()
		srv.Echo().ServeHTTP(rec, req)
		return rec.Code
	}
	if code := send("/api/v1/hotels/htl_secret42?card=4242424242424242", parent); code != 200 {
		t.Fatalf("GET hotel: %d", code)
	}
	if code := send("/api/v1/broken", ""); code != 500 {
		t.Fatalf("GET broken: %d", code)
	}
	send(httpserver.PathHealthz, parent)
	send("/no/such/route", "")

	spans := exp.GetSpans()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 3 (none for /healthz): %v", len(spans), spans)
	}
	hotel, broken, unmatched := spans[0], spans[1], spans[2]
	if hotel.Name != "GET /api/v1/hotels/:id" || hotel.SpanKind != trace.SpanKindServer ||
		hotel.SpanContext.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || hotel.Parent.SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("hotel span = %s %v trace %s parent %s", hotel.Name, hotel.SpanKind, hotel.SpanContext.TraceID(), hotel.Parent.SpanID())
	}
	if handlerTrace.SpanID() != hotel.SpanContext.SpanID() {
		t.Error("the handler did not run in the request's span")
	}
	for _, s := range spans {
		for _, kv := range s.Attributes {
			if v := kv.Value.String(); strings.Contains(v, "secret") || strings.Contains(v, "4242") {
				t.Errorf("span %s records %s=%s", s.Name, kv.Key, v)
			}
		}
	}
	if got := attr(hotel, "http.response.status_code"); got != "200" || attr(hotel, "http.route") != "/api/v1/hotels/:id" || attr(hotel, "bellhop.request_id") == "" {
		t.Errorf("hotel span attributes = %v", hotel.Attributes)
	}
	if broken.Status.Code != codes.Error || broken.Parent.IsValid() || attr(broken, "http.response.status_code") != "500" {
		t.Errorf("broken span = %v parent %v attrs %v", broken.Status, broken.Parent, broken.Attributes)
	}
	if unmatched.Name != "GET unmatched" || unmatched.Status.Code == codes.Error {
		t.Errorf("unmatched span = %s %v", unmatched.Name, unmatched.Status)
	}
}

func attr(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}
