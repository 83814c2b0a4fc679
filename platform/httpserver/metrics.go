package httpserver

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// routeUnmatched is the route label of requests no route matched.
const routeUnmatched = "unmatched"

// httpMetrics are the server's Prometheus collectors. Labels are bounded:
// route is the route template (or "unmatched"), method one of the standard
// methods (or "OTHER"), status a three-digit code.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
	statuses [600]string // label values for 0..599, built once
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bellhop_http_requests_total",
			Help: "HTTP requests served, by route template, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bellhop_http_request_duration_seconds",
			Help:    "Time from the request reaching the middleware stack to the response being written, by route template and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bellhop_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
	}
	for i := range m.statuses {
		m.statuses[i] = strconv.Itoa(i)
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight)
	return m
}

func (m *httpMetrics) observe(route, method string, status int, elapsed time.Duration) {
	method = methodLabel(method)
	st := "other"
	if status >= 0 && status < len(m.statuses) {
		st = m.statuses[status]
	}
	m.requests.WithLabelValues(route, method, st).Inc()
	m.duration.WithLabelValues(route, method).Observe(elapsed.Seconds())
}

func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}
