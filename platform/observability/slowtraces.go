package observability

import (
	"context"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// DefaultSlowTraces is how many recent slow traces a process keeps.
const DefaultSlowTraces = 50

// DefaultSlowThreshold is the duration from which a request or handled
// event counts as slow when the configuration names none.
const DefaultSlowThreshold = 500 * time.Millisecond

// SlowTrace is one request or event that took long in this process: the
// span with which the process entered the trace (its server span, or the
// consumer span of an event), not each span below it.
type SlowTrace struct {
	TraceID  string        `json:"trace_id"`
	SpanID   string        `json:"span_id"`
	Name     string        `json:"name"`    // e.g. "POST /api/v1/bookings", "consume bellhop.payment.succeeded.v1"
	Service  string        `json:"service"` // the process's service name
	Kind     string        `json:"kind"`    // "server", "consumer", ...
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration_ns"`
	// Root: the trace began here (no caller sent a traceparent); false: it
	// continues a trace another process (or client) began.
	Root bool `json:"root"`
	// Failed: the span ended with an error status (a 5xx, a failed handler).
	Failed bool `json:"failed"`
	// URL opens the trace in the configured trace viewer ("" without one).
	URL string `json:"url,omitempty"`
}

// SlowTraces keeps the most recent slow entry spans of this process in a
// bounded ring, for the dashboard's System page. It is an OpenTelemetry span
// processor, so it sees only sampled spans, and costs a comparison per span
// ended. The nil *SlowTraces holds nothing.
type SlowTraces struct {
	threshold time.Duration
	traceURL  string

	mu    sync.Mutex
	ring  []SlowTrace
	next  int // where the next one goes
	count int
}

var _ sdktrace.SpanProcessor = (*SlowTraces)(nil)

// NewSlowTraces keeps up to capacity entry spans of at least threshold
// (DefaultSlowThreshold if 0), linked with traceURL ("{trace_id}" replaced;
// "" for no links).
func NewSlowTraces(capacity int, threshold time.Duration, traceURL string) *SlowTraces {
	if capacity <= 0 {
		capacity = DefaultSlowTraces
	}
	if threshold <= 0 {
		threshold = DefaultSlowThreshold
	}
	return &SlowTraces{threshold: threshold, traceURL: traceURL, ring: make([]SlowTrace, capacity)}
}

// Threshold is the duration from which an entry span is kept.
func (s *SlowTraces) Threshold() time.Duration {
	if s == nil {
		return 0
	}
	return s.threshold
}

// Recent returns the slow traces kept, newest first.
func (s *SlowTraces) Recent() []SlowTrace {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SlowTrace, 0, s.count)
	for i := 1; i <= s.count; i++ {
		out = append(out, s.ring[(s.next-i+len(s.ring))%len(s.ring)])
	}
	return out
}

// OnEnd keeps span if it is an entry span of this process (no parent, or a
// parent in another process) and took at least the threshold.
func (s *SlowTraces) OnEnd(span sdktrace.ReadOnlySpan) {
	parent := span.Parent()
	if parent.IsValid() && !parent.IsRemote() {
		return
	}
	took := span.EndTime().Sub(span.StartTime())
	if took < s.threshold {
		return
	}
	sc := span.SpanContext()
	t := SlowTrace{
		TraceID:  sc.TraceID().String(),
		SpanID:   sc.SpanID().String(),
		Name:     span.Name(),
		Kind:     span.SpanKind().String(),
		Start:    span.StartTime(),
		Duration: took,
		Root:     !parent.IsValid(),
		Failed:   span.Status().Code == codes.Error,
	}
	if r := span.Resource(); r != nil {
		if v, ok := r.Set().Value("service.name"); ok {
			t.Service = v.AsString()
		}
	}
	if s.traceURL != "" {
		t.URL = strings.ReplaceAll(s.traceURL, "{trace_id}", t.TraceID)
	}
	s.mu.Lock()
	s.ring[s.next] = t
	s.next = (s.next + 1) % len(s.ring)
	s.count = min(s.count+1, len(s.ring))
	s.mu.Unlock()
}

// OnStart does nothing: only ended spans have a duration.
func (s *SlowTraces) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// Shutdown does nothing: the ring holds no resources.
func (s *SlowTraces) Shutdown(context.Context) error { return nil }

// ForceFlush does nothing: nothing is buffered.
func (s *SlowTraces) ForceFlush(context.Context) error { return nil }
