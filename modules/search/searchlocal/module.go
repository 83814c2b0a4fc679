// Package searchlocal is the in-process search module: the catalog in its own
// database, the in-memory index searches run on, the demo catalog and the
// module's lifecycle. cmd/bellhop builds it with New and hosts it.
package searchlocal

import (
	"context"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/validation"
)

// Deps are what the module needs from its host.
type Deps struct {
	DB  *db.DB // the module's own database, migrated with Migrations
	Log *slog.Logger
	// Bus carries the module's events; nil in tests that need no backbone
	// (events then stay in the outbox).
	Bus *events.Bus
	// OutboxRetention is how long published events stay in the outbox (0: the relay's default).
	OutboxRetention time.Duration
}

// Module is the search module hosted in this process.
type Module struct {
	svc       *Service
	log       *slog.Logger
	relay     *events.Relay
	consumers []*events.Consumer
}

// New builds the module. It starts nothing: Run does.
func New(d Deps) (*Module, error) {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("module", search.Module)
	m := &Module{
		svc: &Service{db: d.DB, index: newIndex(d.DB), validate: validation.New()},
		log: log,
	}
	if d.Bus != nil {
		relay, err := events.NewRelay(d.Bus, events.RelayOptions{
			Module: search.Module, DB: d.DB.DB, Retention: d.OutboxRetention, Log: log,
		})
		if err != nil {
			return nil, err
		}
		m.relay = relay
		c, err := d.Bus.Subscribe(search.Module, "availability", availabilitySubjects, m.svc.applyBookingEvent, events.SubscribeOptions{
			DB: d.DB.DB, Relay: relay, Committed: m.svc.bookingsCommitted, Log: log,
		})
		if err != nil {
			return nil, err
		}
		m.consumers = append(m.consumers, c)
	}
	m.svc.store = store{db: d.DB, outbox: events.NewOutbox(d.DB.DB, m.relay)}
	return m, nil
}

// Service is the module's search.Service.
func (m *Module) Service() search.Service { return m.svc }

// Run runs the module's background work until ctx is done: the relay that
// publishes its outbox, and the consumer that keeps the availability view
// up to date from booking events.
func (m *Module) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	if m.relay != nil {
		g.Go(func() error { return m.relay.Run(ctx) })
	}
	for _, c := range m.consumers {
		g.Go(func() error { return c.Run(ctx) })
	}
	g.Go(func() error { <-ctx.Done(); return nil })
	return g.Wait()
}
