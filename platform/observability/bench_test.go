package observability_test

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/bellhop/bellhop/platform/observability"
)

// BenchmarkCall is what an edge call costs without a tracer and with one
// (the span made, sampled and handed to a batching processor): the
// absolute price of a span, which a request pays a few times.
func BenchmarkCall(b *testing.B) {
	tr := observability.NewTracingWith(observability.TracingConfig{SampleRatio: 1}, sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	b.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	for _, tc := range []struct {
		name string
		edge observability.Edge
	}{
		{"untraced", observability.Edge{Caller: "bookings", Callee: "search", Location: observability.Local}},
		{"traced", observability.Edge{Caller: "bookings", Callee: "search", Location: observability.Local, Tracer: observability.Tracer(tr.Provider(), "bench")}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				_, _ = observability.Call(ctx, tc.edge, "Quote", func(context.Context) (int, error) { return 1, nil })
			}
		})
	}
}
