package observability

import (
	"context"
	"errors"
	"math"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	json "github.com/goccy/go-json"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/bellhop/bellhop/platform/apperr"
)

// Location says whether a callee ran in this process or behind HTTP.
const (
	Local  = "local"
	Remote = "remote"
)

// EdgeMetrics records calls along one caller→callee edge of the module graph.
// The same metric names are used whether the callee is local (recorded by an
// instrumenting decorator) or remote (recorded by platform/httpclient).
type EdgeMetrics struct {
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// routeCalls and answerBytes feed the split advisor: which public
	// route made the call, and what its answer weighs as JSON.
	routeCalls  *prometheus.CounterVec
	answerBytes *prometheus.HistogramVec
	sampled     atomic.Uint64
	// totals mirror the Prometheus series per edge (without the method and
	// code labels) for Snapshot: reading them back out of client_golang
	// would mean gathering and parsing every series.
	totals sync.Map // edgeKey → *edgeTotals
}

// edgeBuckets are the upper bounds, in seconds, of the latency histogram.
var edgeBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

type edgeKey struct{ caller, callee, location string }

type edgeTotals struct {
	calls, failures atomic.Uint64
	buckets         [15]atomic.Uint64 // len(edgeBuckets)+1: the last one is +Inf
}

// NewEdgeMetrics registers the edge metrics on reg.
func NewEdgeMetrics(reg prometheus.Registerer) *EdgeMetrics {
	m := &EdgeMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bellhop_edge_calls_total",
			Help: "Calls from one module (or the public API) to another module's Service, by outcome code (ok or an apperr code).",
		}, []string{"caller", "callee", "method", "location", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bellhop_edge_call_duration_seconds",
			Help:    "Latency of calls from one module to another module's Service.",
			Buckets: edgeBuckets,
		}, []string{"caller", "callee", "method", "location"}),
	}
	m.routeCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bellhop_edge_route_calls_total",
		Help: "Calls from one module to another made while serving a public route (method and path template): which calls sit on which request's path.",
	}, []string{"route", "caller", "callee", "method"})
	m.answerBytes = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "bellhop_edge_answer_bytes",
		Help:    "Size as JSON of a sample (1 in " + strconv.Itoa(answerSampleEvery) + ") of in-process answers along an edge: what they would weigh over HTTP.",
		Buckets: prometheus.ExponentialBuckets(64, 4, 8),
	}, []string{"caller", "callee", "method"})
	reg.MustRegister(m.calls, m.duration, m.routeCalls, m.answerBytes)
	return m
}

// Edge is one caller→callee edge at a location; it is cheap to copy.
type Edge struct {
	Metrics  *EdgeMetrics
	Caller   string
	Callee   string
	Location string
	// Tracer, if set, makes each call a span (see StartSpan).
	Tracer trace.Tracer
}

// StartSpan starts the span of one call of method along e, named
// "<callee>.<method>" (a client span when the callee is remote), and returns
// ctx carrying it; end it with [EndSpan]. Without a tracer it returns ctx and
// a nil span. The span says who called whom, nothing of the arguments.
func (e Edge) StartSpan(ctx context.Context, method string) (context.Context, trace.Span) {
	if e.Tracer == nil {
		return ctx, nil
	}
	kind := trace.SpanKindInternal
	if e.Location == Remote {
		kind = trace.SpanKindClient
	}
	return e.Tracer.Start(ctx, e.Callee+"."+method, trace.WithSpanKind(kind), trace.WithAttributes(
		attribute.String("bellhop.caller", e.Caller),
		attribute.String("bellhop.callee", e.Callee),
		attribute.String("bellhop.location", e.Location),
	))
}

// answerSampleEvery: one in this many in-process answers is measured as
// JSON (encoding every answer would cost the call it measures). They are
// encoded with goccy/go-json, as the HTTP server writes them (the same bytes
// as encoding/json, in half the time: a search page's sampling took 3% of a
// search request's CPU with encoding/json).
const answerSampleEvery = 16

// observe is Observe plus the route ctx serves and, for a sample of answers
// that succeeded, their size as JSON.
func (e Edge) observe(ctx context.Context, method string, start time.Time, err error, answer any) {
	e.Observe(method, start, err)
	if e.Metrics == nil {
		return
	}
	if route := Route(ctx); route != "" {
		e.Metrics.routeCalls.WithLabelValues(route, e.Caller, e.Callee, method).Inc()
	}
	if err == nil && answer != nil && e.Metrics.sampled.Add(1)%answerSampleEvery == 1 {
		if b, jerr := json.Marshal(answer); jerr == nil {
			e.Metrics.answerBytes.WithLabelValues(e.Caller, e.Callee, method).Observe(float64(len(b)))
		}
	}
}

// Observe records one call of method that started at start and ended with err.
// A nil Edge.Metrics records nothing.
func (e Edge) Observe(method string, start time.Time, err error) {
	if e.Metrics == nil {
		return
	}
	code := "ok"
	if err != nil {
		var ae *apperr.Error
		if errors.As(err, &ae) {
			code = string(ae.Code)
		} else {
			code = string(apperr.CodeInternal)
		}
	}
	took := time.Since(start).Seconds()
	e.Metrics.calls.WithLabelValues(e.Caller, e.Callee, method, e.Location, code).Inc()
	e.Metrics.duration.WithLabelValues(e.Caller, e.Callee, method, e.Location).Observe(took)
	e.Metrics.total(edgeKey{e.Caller, e.Callee, e.Location}).observe(took, code)
}

func (m *EdgeMetrics) total(k edgeKey) *edgeTotals {
	if t, ok := m.totals.Load(k); ok {
		return t.(*edgeTotals)
	}
	t, _ := m.totals.LoadOrStore(k, &edgeTotals{})
	return t.(*edgeTotals)
}

func (t *edgeTotals) observe(seconds float64, code string) {
	t.calls.Add(1)
	// A failure is the callee's or the transport's fault (5xx); a 4xx is the
	// caller's and says nothing about the edge's health.
	if code != "ok" && apperr.Code(code).Status() >= 500 {
		t.failures.Add(1)
	}
	i := sort.SearchFloat64s(edgeBuckets, seconds)
	t.buckets[i].Add(1)
}

// EdgeTotals are the calls along one edge since the process started.
type EdgeTotals struct {
	Caller, Callee, Location string
	Calls                    uint64
	// Failures are calls that ended in a 5xx-class error (internal,
	// unavailable: the callee or the transport failed).
	Failures uint64
	// Buckets count calls by latency: Buckets[i] took at most
	// EdgeBucketBounds()[i] seconds (and more than the bound before); the
	// last one counts the slower rest.
	Buckets []uint64
}

// EdgeBucketBounds are the latency buckets' upper bounds in seconds.
func EdgeBucketBounds() []float64 { return append([]float64(nil), edgeBuckets...) }

// Snapshot returns the totals of every edge that has seen a call, sorted by
// caller, callee and location. A nil EdgeMetrics has none.
func (m *EdgeMetrics) Snapshot() []EdgeTotals {
	if m == nil {
		return nil
	}
	var out []EdgeTotals
	m.totals.Range(func(k, v any) bool {
		key, t := k.(edgeKey), v.(*edgeTotals)
		et := EdgeTotals{Caller: key.caller, Callee: key.callee, Location: key.location,
			Calls: t.calls.Load(), Failures: t.failures.Load(), Buckets: make([]uint64, len(edgeBuckets)+1)}
		for i := range et.Buckets {
			et.Buckets[i] = t.buckets[i].Load()
		}
		out = append(out, et)
		return true
	})
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Caller != b.Caller {
			return a.Caller < b.Caller
		}
		if a.Callee != b.Callee {
			return a.Callee < b.Callee
		}
		return a.Location < b.Location
	})
	return out
}

// EdgeRate is one edge's traffic over a window: the difference of two
// snapshots.
type EdgeRate struct {
	Caller, Callee, Location string
	Window                   time.Duration
	Calls                    uint64
	CallsPerSecond           float64
	// FailureRate is Failures/Calls over the window (0 without calls).
	FailureRate float64
	// P50 and P99 are estimated from the histogram buckets (the bucket's
	// upper bound, interpolated linearly inside it); 0 without calls.
	P50, P99 time.Duration
}

// EdgeRates is the traffic between two snapshots taken window apart (an edge
// missing from prev counts from zero).
func EdgeRates(prev, cur []EdgeTotals, window time.Duration) []EdgeRate {
	before := map[edgeKey]EdgeTotals{}
	for _, p := range prev {
		before[edgeKey{p.Caller, p.Callee, p.Location}] = p
	}
	out := make([]EdgeRate, 0, len(cur))
	for _, c := range cur {
		p := before[edgeKey{c.Caller, c.Callee, c.Location}]
		r := EdgeRate{Caller: c.Caller, Callee: c.Callee, Location: c.Location, Window: window, Calls: c.Calls - p.Calls}
		if window > 0 {
			r.CallsPerSecond = float64(r.Calls) / window.Seconds()
		}
		if r.Calls > 0 {
			r.FailureRate = float64(c.Failures-p.Failures) / float64(r.Calls)
			delta := make([]uint64, len(c.Buckets))
			for i := range c.Buckets {
				delta[i] = c.Buckets[i]
				if i < len(p.Buckets) {
					delta[i] -= p.Buckets[i]
				}
			}
			r.P50, r.P99 = quantile(delta, r.Calls, 0.5), quantile(delta, r.Calls, 0.99)
		}
		out = append(out, r)
	}
	return out
}

// quantile estimates the q-quantile of calls counted in buckets.
func quantile(buckets []uint64, total uint64, q float64) time.Duration {
	rank := q * float64(total)
	var seen float64
	for i, n := range buckets {
		if n == 0 {
			continue
		}
		if seen+float64(n) >= rank {
			lower := 0.0
			if i > 0 {
				lower = edgeBuckets[i-1]
			}
			if i >= len(edgeBuckets) { // +Inf: the last bound is all we know
				return time.Duration(edgeBuckets[len(edgeBuckets)-1] * float64(time.Second))
			}
			upper := edgeBuckets[i]
			frac := math.Max(0, math.Min(1, (rank-seen)/float64(n)))
			return time.Duration((lower + (upper-lower)*frac) * float64(time.Second))
		}
		seen += float64(n)
	}
	return 0
}
