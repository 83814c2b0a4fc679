package observability

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"caller", "callee", "method", "location"}),
	}
	reg.MustRegister(m.calls, m.duration)
	return m
}

// Edge is one caller→callee edge at a location; it is cheap to copy.
type Edge struct {
	Metrics  *EdgeMetrics
	Caller   string
	Callee   string
	Location string
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
	e.Metrics.calls.WithLabelValues(e.Caller, e.Callee, method, e.Location, code).Inc()
	e.Metrics.duration.WithLabelValues(e.Caller, e.Callee, method, e.Location).Observe(time.Since(start).Seconds())
}
