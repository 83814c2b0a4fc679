package events

import (
	"context"
	"fmt"
	"sync"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
)

// Seen is an event as the [Monitor] saw it go by: the envelope's attributes,
// without the data (which may hold personal details operators need not see).
type Seen struct {
	ID            string    `json:"id"`
	Source        string    `json:"source"`
	Type          string    `json:"type"`
	Subject       string    `json:"subject"`
	Time          time.Time `json:"time"`
	CorrelationID string    `json:"correlation_id,omitempty"`
	CausationID   string    `json:"causation_id,omitempty"`
	SeenAt        time.Time `json:"seen_at"`
}

// Monitor follows every event on the backbone, whichever process published
// it, for operators: the most recent ones (GET /api/v1/admin/events/recent)
// and a count per source and type. It reads the live subject space with a
// plain NATS subscription, so it takes nothing from any durable consumer and
// keeps no state worth persisting.
type Monitor struct {
	bus     *Bus
	size    int
	seen    *prometheus.CounterVec
	mu      sync.Mutex
	ring    []Seen // the last size events, oldest first once full
	next    int
	wrapped bool
}

// NewMonitor builds a monitor keeping the last size events (default 200);
// reg (may be nil) receives bellhop_events_observed_total{source,type}.
func NewMonitor(b *Bus, size int, reg prometheus.Registerer) (*Monitor, error) {
	if size <= 0 {
		size = 200
	}
	m := &Monitor{bus: b, size: size, ring: make([]Seen, size), seen: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bellhop_events_observed_total",
		Help: "Events seen on the backbone by this process's monitor, by source module and type.",
	}, []string{"source", "type"})}
	if reg != nil {
		if err := reg.Register(m.seen); err != nil {
			return nil, fmt.Errorf("events: monitor metrics: %w", err)
		}
	}
	return m, nil
}

// Run follows events until ctx is done.
func (m *Monitor) Run(ctx context.Context) error {
	sub, err := m.bus.nc.Subscribe("bellhop.>", func(msg *nats.Msg) { m.observe(msg) })
	if err != nil {
		return fmt.Errorf("events: monitor: %w", err)
	}
	<-ctx.Done()
	return sub.Unsubscribe()
}

func (m *Monitor) observe(msg *nats.Msg) {
	var e Event
	if err := gojson.Unmarshal(msg.Data, &e); err != nil || e.validate() != nil {
		return // not an event of ours (a stray publish); nothing to show
	}
	m.seen.WithLabelValues(e.Source, e.Type).Inc()
	s := Seen{ID: e.ID, Source: e.Source, Type: e.Type, Subject: msg.Subject, Time: e.Time,
		CorrelationID: e.CorrelationID, CausationID: e.CausationID, SeenAt: time.Now().UTC()}
	m.mu.Lock()
	m.ring[m.next] = s
	m.next = (m.next + 1) % m.size
	if m.next == 0 {
		m.wrapped = true
	}
	m.mu.Unlock()
}

// Recent returns up to limit of the most recent events, newest first.
func (m *Monitor) Recent(limit int) []Seen {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.next
	if m.wrapped {
		n = m.size
	}
	limit = min(max(limit, 0), n)
	out := make([]Seen, 0, limit)
	for i := 1; i <= limit; i++ {
		out = append(out, m.ring[(m.next-i+m.size)%m.size])
	}
	return out
}
