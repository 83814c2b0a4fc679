package httpclient_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/bellhop/bellhop/platform/httpclient"
	"github.com/bellhop/bellhop/platform/observability"
)

// Every call is a client span named after the callee and the operation, and
// the request carries its traceparent, so the callee's span is its child.
// Without a tracer of its own the client still passes the caller's trace on.
func TestTracing_ClientSpanAndTraceparent(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("traceparent"))
		mu.Unlock()
		writeJSON(w, 200, hotel{ID: "htl_1"})
	})
	exp := tracetest.NewInMemoryExporter()
	tr := observability.NewTracingWith(observability.TracingConfig{SampleRatio: 1}, sdktrace.WithSyncer(exp))
	traced := newClient(t, srv.URL, httpclient.Options{Caller: "bookings", Callee: "search", Tracing: tr.Provider()})
	plain := newClient(t, srv.URL, httpclient.Options{Caller: "bookings", Callee: "search"})

	ctx, root := observability.Tracer(tr.Provider(), "test").Start(context.Background(), "POST /api/v1/bookings")
	var h hotel
	if err := traced.Do(ctx, httpclient.Call{Op: "GetHotel", Path: "/api/v1/hotels/htl_1", Out: &h}); err != nil {
		t.Fatal(err)
	}
	if err := plain.Do(ctx, httpclient.Call{Op: "GetHotel", Path: "/api/v1/hotels/htl_1", Out: &h}); err != nil {
		t.Fatal(err)
	}
	if err := plain.Do(context.Background(), httpclient.Call{Op: "GetHotel", Path: "/api/v1/hotels/htl_1", Out: &h}); err != nil {
		t.Fatal(err)
	}
	root.End()

	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want the call's and the root: %v", len(spans), spans)
	}
	call := spans[0]
	if call.Name != "search.GetHotel" || call.SpanKind != trace.SpanKindClient || call.Parent.SpanID() != root.SpanContext().SpanID() {
		t.Fatalf("client span = %s %v parent %s", call.Name, call.SpanKind, call.Parent.SpanID())
	}
	want := []string{
		"00-" + call.SpanContext.TraceID().String() + "-" + call.SpanContext.SpanID().String() + "-01",
		"00-" + root.SpanContext().TraceID().String() + "-" + root.SpanContext().SpanID().String() + "-01",
		"",
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range want {
		if seen[i] != want[i] {
			t.Errorf("call %d sent traceparent %q, want %q", i, seen[i], want[i])
		}
	}
}
