package events

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the backbone's Prometheus metrics, shared by every relay and
// consumer of one [Bus]. Relays label by module; consumers by the consuming
// module and subscription.
type metrics struct {
	backlog       *prometheus.GaugeVec
	oldestPending *prometheus.GaugeVec
	published     *prometheus.CounterVec
	publishErrors *prometheus.CounterVec

	handled      *prometheus.CounterVec
	duplicates   *prometheus.CounterVec
	retried      *prometheus.CounterVec
	deadLettered *prometheus.CounterVec
	lag          *prometheus.GaugeVec
	latency      *prometheus.HistogramVec
}

// newMetrics builds the metrics and registers them on reg (when not nil). A
// registerer that already holds them (a second Bus in one process) keeps its
// own collectors, which are then shared.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	consumer := []string{"module", "subscription"}
	m := &metrics{
		backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bellhop_events_outbox_backlog",
			Help: "Outbox rows of a module not yet published to JetStream.",
		}, []string{"module"}),
		oldestPending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bellhop_events_outbox_oldest_pending_seconds",
			Help: "Age of a module's oldest unpublished outbox row (0 when none).",
		}, []string{"module"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bellhop_events_published_total",
			Help: "Outbox rows published to JetStream and acknowledged (duplicates dropped by JetStream included).",
		}, []string{"module"}),
		publishErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bellhop_events_publish_errors_total",
			Help: "Failed relay rounds: publishes not acknowledged, or outbox reads and updates that failed.",
		}, []string{"module"}),
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bellhop_events_handled_total",
			Help: "Events a consumer applied (committed with their inbox row).",
		}, consumer),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bellhop_events_duplicates_total",
			Help: "Deliveries skipped because the consumer's inbox already held the event.",
		}, consumer),
		retried: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bellhop_events_retried_total",
			Help: "Failed deliveries handed back to JetStream for a later attempt.",
		}, consumer),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bellhop_events_dead_lettered_total",
			Help: "Events a consumer gave up on and recorded as dead letters.",
		}, consumer),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bellhop_events_consumer_pending",
			Help: "Messages in a stream matching a consumer's filter that it has not been delivered yet (consumer lag).",
		}, []string{"module", "subscription", "stream"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bellhop_events_delivery_latency_seconds",
			Help:    "Time from an event's creation to its handling committing.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5, 30, 300},
		}, consumer),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.backlog = register(reg, m.backlog, &err)
	m.oldestPending = register(reg, m.oldestPending, &err)
	m.published = register(reg, m.published, &err)
	m.publishErrors = register(reg, m.publishErrors, &err)
	m.handled = register(reg, m.handled, &err)
	m.duplicates = register(reg, m.duplicates, &err)
	m.retried = register(reg, m.retried, &err)
	m.deadLettered = register(reg, m.deadLettered, &err)
	m.lag = register(reg, m.lag, &err)
	m.latency = register(reg, m.latency, &err)
	if err != nil {
		return nil, fmt.Errorf("events: register metrics: %w", err)
	}
	return m, nil
}

// register registers c on reg, or returns the equal collector reg already
// holds. The first other failure is kept in *errp.
func register[T prometheus.Collector](reg prometheus.Registerer, c T, errp *error) T {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(T); ok {
			return existing
		}
	}
	if *errp == nil {
		*errp = err
	}
	return c
}
