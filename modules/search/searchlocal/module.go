// Package searchlocal is the in-process search module: the catalog in its own
// database, the in-memory index searches run on, the demo catalog and the
// module's lifecycle. cmd/bellhop builds it with New and hosts it.
package searchlocal

import (
	"context"
	"log/slog"
	"time"

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
	svc    *Service
	seeds  seedStore
	log    *slog.Logger
	events *events.ModuleEvents
}

// New builds the module. It starts nothing: Run does.
func New(d Deps) (*Module, error) {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("module", search.Module)
	svc := &Service{validate: validation.New()}
	// Search publishes its catalog's changes and keeps its availability
	// view from the bookings' events.
	wired, err := events.Wire(events.Declaration{
		Module:    search.Module,
		Publishes: []string{search.EventRoomTypeChanged},
		Consumes: []events.Subscription{{
			Name: "availability", Subjects: availabilitySubjects,
			Handler: svc.applyBookingEvent, Committed: svc.bookingsCommitted,
		}},
	}, events.Wiring{DB: d.DB.DB, Bus: d.Bus, OutboxRetention: d.OutboxRetention, Log: log})
	if err != nil {
		return nil, err
	}
	st := store{db: d.DB, outbox: wired.Outbox()}
	svc.store, svc.index = st, newIndex(st)
	return &Module{svc: svc, seeds: st, log: log, events: wired}, nil
}

// Service is the module's search.Service.
func (m *Module) Service() search.Service { return m.svc }

// Run runs the module's background work until ctx is done: the relay that
// publishes its outbox, and the consumer of booking events that feeds the
// availability view.
func (m *Module) Run(ctx context.Context) error { return m.events.Run(ctx) }
