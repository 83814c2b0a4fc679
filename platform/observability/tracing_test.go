package observability_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/observability"
	"github.com/bellhop/bellhop/platform/observability/otlptest"
)

// inMemory is tracing on, every span kept in an in-memory exporter.
func inMemory(t *testing.T, cfg observability.TracingConfig) (*observability.Tracing, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	if cfg.SampleRatio == 0 {
		cfg.SampleRatio = 1
	}
	tr := observability.NewTracingWith(cfg, sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr, exp
}

func attr(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

func TestCall_SpanPerEdgeCall(t *testing.T) {
	t.Parallel()
	tr, exp := inMemory(t, observability.TracingConfig{ServiceName: "bellhop-bookings"})
	tracer := observability.Tracer(tr.Provider(), "test")
	local := observability.Edge{Caller: "bookings", Callee: "search", Location: observability.Local, Tracer: tracer}
	remote := observability.Edge{Caller: "payments", Callee: "bookings", Location: observability.Remote, Tracer: tracer}

	ctx, root := tracer.Start(context.Background(), "POST /api/v1/bookings")
	var inner trace.SpanContext
	_, err := observability.Call(ctx, local, "Quote", func(ctx context.Context) (int, error) {
		inner = trace.SpanContextFromContext(ctx)
		return 1, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = observability.CallErr(ctx, remote, "Get", func(context.Context) error { return apperr.NotFound("bookings.not_found", "no") })
	_ = observability.CallErr(ctx, remote, "Get", func(context.Context) error { return errors.New("connection refused") })
	root.End()

	spans := exp.GetSpans()
	if len(spans) != 4 {
		t.Fatalf("%d spans, want 4: %v", len(spans), spans)
	}
	quote, notFound, broken, top := spans[0], spans[1], spans[2], spans[3]
	if quote.Name != "search.Quote" || quote.SpanKind != trace.SpanKindInternal || quote.Parent.SpanID() != top.SpanContext.SpanID() ||
		attr(quote, "bellhop.caller") != "bookings" || attr(quote, "bellhop.location") != "local" {
		t.Errorf("in-process call span = %s %v parent %s attrs %v", quote.Name, quote.SpanKind, quote.Parent.SpanID(), quote.Attributes)
	}
	if inner.SpanID() != quote.SpanContext.SpanID() {
		t.Error("the callee did not run in the call's span")
	}
	if notFound.Name != "bookings.Get" || notFound.SpanKind != trace.SpanKindClient || notFound.Status.Code == codes.Error ||
		attr(notFound, "bellhop.error.code") != "not_found" {
		t.Errorf("a 404 from a remote callee: %s %v %v %v (a 4xx is the caller's, not a failure)", notFound.Name, notFound.SpanKind, notFound.Status, notFound.Attributes)
	}
	if broken.Status.Code != codes.Error || attr(broken, "bellhop.error.code") != "internal" {
		t.Errorf("a failed call: status %v attrs %v", broken.Status, broken.Attributes)
	}
	for _, s := range spans {
		if s.SpanContext.TraceID() != top.SpanContext.TraceID() {
			t.Errorf("span %s in another trace", s.Name)
		}
	}

	// Without a tracer the edge still counts and makes no span.
	plain := observability.Edge{Caller: "web", Callee: "search", Location: observability.Local}
	v, _ := observability.Call(context.Background(), plain, "GetHotel", func(ctx context.Context) (string, error) {
		if trace.SpanContextFromContext(ctx).IsValid() {
			t.Error("a span without a tracer")
		}
		return "ok", nil
	})
	if v != "ok" || len(exp.GetSpans()) != 4 {
		t.Errorf("untraced call: %q, %d spans", v, len(exp.GetSpans()))
	}
}

func TestTraceparent_RoundTrip(t *testing.T) {
	t.Parallel()
	tr, _ := inMemory(t, observability.TracingConfig{})
	ctx, span := observability.Tracer(tr.Provider(), "test").Start(context.Background(), "work")
	defer span.End()

	tp := observability.Traceparent(ctx)
	want := "00-" + span.SpanContext().TraceID().String() + "-" + span.SpanContext().SpanID().String() + "-01"
	if tp != want {
		t.Fatalf("Traceparent = %q, want %q", tp, want)
	}
	back := trace.SpanContextFromContext(observability.WithTraceparent(context.Background(), tp))
	if !back.IsRemote() || back.TraceID() != span.SpanContext().TraceID() || back.SpanID() != span.SpanContext().SpanID() || !back.IsSampled() {
		t.Fatalf("WithTraceparent = %+v", back)
	}

	h := http.Header{}
	observability.InjectTrace(ctx, h)
	if h.Get("traceparent") != want {
		t.Fatalf("header traceparent = %q", h.Get("traceparent"))
	}
	if got := trace.SpanContextFromContext(observability.ExtractTrace(context.Background(), h)); got.TraceID() != span.SpanContext().TraceID() {
		t.Fatalf("ExtractTrace = %+v", got)
	}

	// Nothing to carry: nothing written, nothing read.
	empty := http.Header{}
	observability.InjectTrace(context.Background(), empty)
	if len(empty) != 0 || observability.Traceparent(context.Background()) != "" {
		t.Fatalf("injected without a span: %v", empty)
	}
	for _, bad := range []string{"", "00-nonsense", "00-00000000000000000000000000000000-0000000000000000-01"} {
		if sc := trace.SpanContextFromContext(observability.WithTraceparent(context.Background(), bad)); sc.IsValid() {
			t.Errorf("WithTraceparent(%q) is valid: %+v", bad, sc)
		}
	}
}

func TestSlowTraces_KeepsSlowEntrySpans(t *testing.T) {
	t.Parallel()
	tr, _ := inMemory(t, observability.TracingConfig{ServiceName: "bellhop-search", SlowThreshold: 20 * time.Millisecond,
		TraceURL: "http://127.0.0.1:16686/trace/{trace_id}"})
	tracer := observability.Tracer(tr.Provider(), "test")
	at := time.Now()
	span := func(ctx context.Context, name string, kind trace.SpanKind, took time.Duration) trace.SpanContext {
		_, s := tracer.Start(ctx, name, trace.WithSpanKind(kind), trace.WithTimestamp(at))
		if strings.Contains(name, "fails") {
			s.SetStatus(codes.Error, "boom")
		}
		s.End(trace.WithTimestamp(at.Add(took)))
		return s.SpanContext()
	}
	span(context.Background(), "GET /api/v1/cities", trace.SpanKindServer, time.Millisecond)
	slowRoot := span(context.Background(), "GET /api/v1/hotels", trace.SpanKindServer, 30*time.Millisecond)
	remoteParent := observability.WithTraceparent(context.Background(), observability.Traceparent(trace.ContextWithSpanContext(context.Background(), slowRoot)))
	slowChildOfRemote := span(remoteParent, "consume bellhop.booking.held.v1 fails", trace.SpanKindConsumer, 40*time.Millisecond)
	localParent, parent := tracer.Start(context.Background(), "parent")
	span(localParent, "search.Quote", trace.SpanKindInternal, time.Second) // slow, but not where the process entered the trace
	parent.End()

	got := tr.Slow().Recent()
	if len(got) != 2 {
		t.Fatalf("%d slow traces, want 2: %+v", len(got), got)
	}
	newest, older := got[0], got[1]
	if newest.SpanID != slowChildOfRemote.SpanID().String() || newest.Root || !newest.Failed || newest.Kind != "consumer" ||
		newest.Duration != 40*time.Millisecond {
		t.Errorf("newest = %+v", newest)
	}
	if older.TraceID != slowRoot.TraceID().String() || !older.Root || older.Failed || older.Name != "GET /api/v1/hotels" ||
		older.Service != "bellhop-search" || older.URL != "http://127.0.0.1:16686/trace/"+slowRoot.TraceID().String() {
		t.Errorf("older = %+v", older)
	}
	if tr.Slow().Threshold() != 20*time.Millisecond {
		t.Errorf("threshold = %s", tr.Slow().Threshold())
	}
}

func TestSlowTraces_Bounded(t *testing.T) {
	t.Parallel()
	ring := observability.NewSlowTraces(3, time.Millisecond, "")
	tr := observability.NewTracingWith(observability.TracingConfig{SampleRatio: 1}, sdktrace.WithSpanProcessor(ring))
	tracer := observability.Tracer(tr.Provider(), "test")
	at := time.Now()
	for i := range 5 {
		_, s := tracer.Start(context.Background(), "GET /"+string(rune('a'+i)), trace.WithTimestamp(at))
		s.End(trace.WithTimestamp(at.Add(time.Second)))
	}
	var names []string
	for _, st := range ring.Recent() {
		names = append(names, st.Name)
	}
	if strings.Join(names, ",") != "GET /e,GET /d,GET /c" {
		t.Fatalf("ring = %v, want the 3 newest, newest first", names)
	}
	var none *observability.SlowTraces
	if none.Recent() != nil || (*observability.Tracing)(nil).Slow() != nil {
		t.Fatal("nil rings hold something")
	}
}

func TestNewTracing_Config(t *testing.T) {
	t.Parallel()
	off, err := observability.NewTracing(observability.TracingConfig{Exporter: "off"})
	if err != nil || off.Enabled() || off.Provider() != nil || len(off.Slow().Recent()) != 0 {
		t.Fatalf("off: %v %v", off, err)
	}
	if err := off.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cfg  observability.TracingConfig
		want string
	}{
		{observability.TracingConfig{Exporter: "jaeger"}, `tracing.exporter: "jaeger" is not one of off, otlp`},
		{observability.TracingConfig{Exporter: "otlp"}, "tracing.endpoint"},
		{observability.TracingConfig{Exporter: "otlp", Endpoint: "127.0.0.1:4318"}, "tracing.endpoint"},
		{observability.TracingConfig{Exporter: "off", SampleRatio: 1.5}, "tracing.sample_ratio: must be between 0 and 1"},
		{observability.TracingConfig{Exporter: "off", SlowThreshold: -time.Second}, "tracing.slow_threshold"},
		{observability.TracingConfig{Exporter: "off", TraceURL: "http://jaeger/trace/"}, "tracing.trace_url"},
	} {
		if _, err := observability.NewTracing(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// The OTLP exporter as configured sends real OTLP/HTTP to the endpoint's
// /v1/traces, with the service name as a resource attribute.
func TestNewTracing_ExportsOTLP(t *testing.T) {
	t.Parallel()
	recv := otlptest.NewReceiver(t)
	tr, err := observability.NewTracing(observability.TracingConfig{Exporter: "otlp", Endpoint: recv.URL, SampleRatio: 1, ServiceName: "bellhop-test"})
	if err != nil {
		t.Fatal(err)
	}
	_, span := observability.Tracer(tr.Provider(), "test").Start(context.Background(), "GET /api/v1/cities",
		trace.WithAttributes(attribute.String("http.route", "/api/v1/cities")))
	span.End()
	if err := tr.Shutdown(context.Background()); err != nil { // flushes the batch
		t.Fatal(err)
	}
	got := recv.Trace(span.SpanContext().TraceID().String())
	if len(got) != 1 || got[0].Name != "GET /api/v1/cities" || got[0].Service != "bellhop-test" || got[0].Kind != "internal" ||
		got[0].Attributes["http.route"] != "/api/v1/cities" || got[0].ParentSpanID != "" {
		t.Fatalf("received %+v", got)
	}
}

// Ratio 0 records no new trace, but a request that arrives sampled is
// recorded: the caller decided.
func TestNewTracing_SamplingFollowsTheParent(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tr := observability.NewTracingWith(observability.TracingConfig{SampleRatio: 0}, sdktrace.WithSyncer(exp))
	tracer := observability.Tracer(tr.Provider(), "test")
	_, fresh := tracer.Start(context.Background(), "new")
	fresh.End()
	ctx := observability.WithTraceparent(context.Background(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	_, cont := tracer.Start(ctx, "continued")
	cont.End()
	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].Name != "continued" || spans[0].SpanContext.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("spans = %v", spans)
	}
}
