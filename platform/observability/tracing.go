package observability

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/bellhop/bellhop/platform/apperr"
)

// Exporters a tracing configuration may name.
const (
	ExporterOff  = "off"
	ExporterOTLP = "otlp"
)

// TracingConfig says whether and where this process sends its spans: the
// configuration's tracing section.
type TracingConfig struct {
	// Exporter is ExporterOff (no tracer at all: nothing is recorded or
	// propagated, and nothing costs anything) or ExporterOTLP.
	Exporter string `mapstructure:"exporter"`
	// Endpoint is the OTLP/HTTP receiver, e.g. http://127.0.0.1:4318 (a
	// collector, Jaeger, Tempo); "/v1/traces" is added when it has no path.
	Endpoint string `mapstructure:"endpoint"`
	// SampleRatio is the share of new traces recorded (0..1). A request that
	// arrives with a traceparent follows its caller's decision, so a trace
	// is kept or dropped whole across processes.
	SampleRatio float64 `mapstructure:"sample_ratio"`
	// ServiceName names this process in the traces; empty: "bellhop", or
	// "bellhop-<modules>" for a process hosting only some modules.
	ServiceName string `mapstructure:"service_name"`
	// SlowThreshold: a request or event handled here that took at least this
	// long is kept among the recent slow traces (see [SlowTraces]). 0: 500ms.
	SlowThreshold time.Duration `mapstructure:"slow_threshold"`
	// TraceURL, if set, links a trace in a trace viewer: "{trace_id}" is
	// replaced, e.g. http://127.0.0.1:16686/trace/{trace_id} (Jaeger).
	TraceURL string `mapstructure:"trace_url"`
}

// Check calls bad for every key of c that is wrong (keys relative to the
// section: "exporter", "endpoint", ...).
func (c TracingConfig) Check(bad func(key, format string, args ...any)) {
	switch c.Exporter {
	case ExporterOff:
	case ExporterOTLP:
		if err := checkEndpoint(c.Endpoint); err != nil {
			bad("endpoint", "%q %v (required with exporter otlp)", c.Endpoint, err)
		}
	default:
		bad("exporter", "%q is not one of %s, %s", c.Exporter, ExporterOff, ExporterOTLP)
	}
	if !(c.SampleRatio >= 0 && c.SampleRatio <= 1) {
		bad("sample_ratio", "must be between 0 and 1 (got %v)", c.SampleRatio)
	}
	if c.SlowThreshold < 0 {
		bad("slow_threshold", "must not be negative (got %s)", c.SlowThreshold)
	}
	if c.TraceURL != "" {
		if u, err := url.Parse(c.TraceURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || !strings.Contains(c.TraceURL, "{trace_id}") {
			bad("trace_url", "%q is not an http(s) URL with {trace_id} in it", c.TraceURL)
		}
	}
}

func checkEndpoint(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("is not an http(s) URL such as http://127.0.0.1:4318")
	}
	return nil
}

// Tracing is this process's OpenTelemetry tracing: a tracer provider (a
// no-op one when tracing is off), W3C trace context propagation, and the
// recent slow traces. Packages take the provider explicitly (no global).
type Tracing struct {
	provider trace.TracerProvider
	sdk      *sdktrace.TracerProvider // nil when off
	slow     *SlowTraces
}

// NewTracing sets tracing up from cfg. It connects to nothing yet: the OTLP
// exporter sends batches in the background and drops them (logging through
// OpenTelemetry's handler) while the receiver is away.
func NewTracing(cfg TracingConfig) (*Tracing, error) {
	if cfg.Exporter == "" {
		cfg.Exporter = ExporterOff
	}
	var errs []error
	cfg.Check(func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("tracing.%s: %s", key, fmt.Sprintf(format, args...)))
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Exporter == ExporterOff {
		return &Tracing{}, nil
	}
	endpoint, _ := url.Parse(cfg.Endpoint)
	if endpoint.Path == "" || endpoint.Path == "/" {
		endpoint.Path = "/v1/traces"
	}
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(endpoint.String()))
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	return NewTracingWith(cfg, sdktrace.WithBatcher(exp)), nil
}

// NewTracingWith is tracing on, recording into the given span processors
// (sdktrace.WithBatcher(exporter), or sdktrace.WithSyncer of an in-memory
// exporter in tests), with cfg's sampling, service name and slow traces.
func NewTracingWith(cfg TracingConfig, processors ...sdktrace.TracerProviderOption) *Tracing {
	name := cfg.ServiceName
	if name == "" {
		name = "bellhop"
	}
	slow := NewSlowTraces(DefaultSlowTraces, cfg.SlowThreshold, cfg.TraceURL)
	res := resource.NewSchemaless(attribute.String("service.name", name))
	opts := append([]sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))),
		sdktrace.WithSpanProcessor(slow),
	}, processors...)
	tp := sdktrace.NewTracerProvider(opts...)
	return &Tracing{provider: tp, sdk: tp, slow: slow}
}

// Enabled reports whether spans are recorded and propagated.
func (t *Tracing) Enabled() bool { return t != nil && t.sdk != nil }

// Provider is the tracer provider to hand to the packages that make spans;
// nil when tracing is off (they then make none and propagate nothing).
func (t *Tracing) Provider() trace.TracerProvider {
	if !t.Enabled() {
		return nil
	}
	return t.provider
}

// Slow is the ring of recent slow traces (empty when tracing is off).
func (t *Tracing) Slow() *SlowTraces {
	if t == nil {
		return nil
	}
	return t.slow
}

// Shutdown sends the spans still buffered and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	return t.sdk.Shutdown(ctx)
}

// Tracer is tp's tracer for the named instrumentation (a Bellhop package),
// or nil without a provider.
func Tracer(tp trace.TracerProvider, name string) trace.Tracer {
	if tp == nil {
		return nil
	}
	return tp.Tracer(name)
}

// TraceHeader is the W3C Trace Context header carried on every hop.
const TraceHeader = "traceparent"

// traceContext is the one propagator: W3C Trace Context, stateless.
var traceContext propagation.TraceContext

// InjectTrace writes the traceparent (and tracestate) of the span in ctx into
// h; it writes nothing when ctx has no span.
func InjectTrace(ctx context.Context, h http.Header) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	traceContext.Inject(ctx, propagation.HeaderCarrier(h))
}

// ExtractTrace returns ctx with the remote span context that h carries, if it
// carries a valid traceparent.
func ExtractTrace(ctx context.Context, h http.Header) context.Context {
	if h.Get(TraceHeader) == "" {
		return ctx
	}
	return traceContext.Extract(ctx, propagation.HeaderCarrier(h))
}

// Traceparent is the W3C traceparent of the span in ctx ("" without one): what
// an event records so its consumers continue the trace.
func Traceparent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	c := propagation.MapCarrier{}
	traceContext.Inject(ctx, c)
	return c[TraceHeader]
}

// WithTraceparent returns ctx with the remote span context a traceparent
// names (ctx unchanged if tp is empty or malformed).
func WithTraceparent(ctx context.Context, tp string) context.Context {
	if tp == "" {
		return ctx
	}
	return traceContext.Extract(ctx, propagation.MapCarrier{TraceHeader: tp})
}

// EndSpan ends span with the outcome err: any error is recorded on it, and
// one of the 5xx class (the callee or the transport failed; see
// [EdgeTotals].Failures) marks it failed. A nil span is ignored.
func EndSpan(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		code := apperr.CodeInternal
		var ae *apperr.Error
		if errors.As(err, &ae) {
			code = ae.Code
		}
		span.SetAttributes(attribute.String("bellhop.error.code", string(code)))
		if code.Status() >= 500 {
			span.SetStatus(codes.Error, string(code))
		}
	}
	span.End()
}
