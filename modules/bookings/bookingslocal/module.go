// Package bookingslocal is the in-process bookings module: reservations and
// the rooms taken per room type and night in its own database, the booking
// saga's consumer of payment events, the job that expires unpaid holds and
// the module's lifecycle. cmd/bellhop builds it with New and hosts it.
package bookingslocal

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/validation"
)

// Defaults of Deps.
const (
	DefaultHoldTTL        = 15 * time.Minute
	DefaultExpiryInterval = 30 * time.Second
	// DefaultMaxPendingHolds is how many unpaid holds a guest may have at once.
	DefaultMaxPendingHolds = 5
	// DefaultHorizonMonths is how many months ahead a stay may start (search
	// refuses stays beyond search.HorizonMonths anyway).
	DefaultHorizonMonths = search.HorizonMonths
)

// Deps are what the module needs from its host.
type Deps struct {
	DB  *db.DB // the module's own database, migrated with Migrations
	Log *slog.Logger
	// Bus carries the module's events and the payment events it consumes;
	// nil in tests that need no backbone (events then stay in the outbox and
	// no payment is ever seen).
	Bus *events.Bus
	// OutboxRetention is how long published events stay in the outbox (0: the relay's default).
	OutboxRetention time.Duration
	// Search quotes stays (in-process or over HTTP; bookings cannot tell).
	Search search.Service
	// HoldTTL is how long a pending booking holds its rooms unpaid (0: DefaultHoldTTL).
	HoldTTL time.Duration
	// ExpiryInterval is how often Run expires unpaid holds (0: DefaultExpiryInterval).
	ExpiryInterval time.Duration
	// MaxPendingHolds is how many pending bookings one guest may have at once
	// (0: DefaultMaxPendingHolds): one account cannot hold every room.
	MaxPendingHolds int
	// HorizonMonths is how many months ahead a stay may start (0:
	// DefaultHorizonMonths; more than search.HorizonMonths is pointless,
	// search refuses those stays).
	HorizonMonths int
	// Now is the clock (nil: time.Now); tests move it to expire holds and to
	// cancel late.
	Now func() time.Time
	// Policy is the cancellation policy (zero: DefaultPolicy).
	Policy Policy
}

// Module is the bookings module hosted in this process.
type Module struct {
	svc      *Service
	log      *slog.Logger
	events   *events.ModuleEvents
	interval time.Duration
}

// New builds the module. It starts nothing: Run does.
func New(d Deps) (*Module, error) {
	if d.DB == nil || d.Search == nil {
		return nil, errors.New("bookings: a database and a search service are required")
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("module", bookings.Module)
	svc := &Service{
		search: d.Search, validate: validation.New(), log: log,
		clock: d.Now, holdTTL: d.HoldTTL, policy: d.Policy,
		maxPendingHolds: cmp.Or(d.MaxPendingHolds, DefaultMaxPendingHolds),
		horizonMonths:   cmp.Or(d.HorizonMonths, DefaultHorizonMonths),
	}
	if svc.clock == nil {
		svc.clock = time.Now
	}
	if svc.holdTTL <= 0 {
		svc.holdTTL = DefaultHoldTTL
	}
	if svc.policy == (Policy{}) {
		svc.policy = DefaultPolicy
	}
	m := &Module{svc: svc, log: log, interval: d.ExpiryInterval}
	if m.interval <= 0 {
		m.interval = DefaultExpiryInterval
	}
	// Bookings publishes its bookings' life and moves them on the payments'
	// outcomes (the saga).
	wired, err := events.Wire(events.Declaration{
		Module: bookings.Module,
		Publishes: []string{
			bookings.EventHeld, bookings.EventConfirmed, bookings.EventExpired,
			bookings.EventRejected, bookings.EventCancelled, bookings.EventPaymentRefused,
		},
		Consumes: []events.Subscription{{Name: "payments", Subjects: paymentSubjects, Handler: svc.applyPaymentEvent}},
	}, events.Wiring{DB: d.DB.DB, Bus: d.Bus, OutboxRetention: d.OutboxRetention, Log: log})
	if err != nil {
		return nil, err
	}
	svc.store = &gormStore{db: d.DB.DB, outbox: wired.Outbox()}
	m.events = wired
	return m, nil
}

// Service is the module's bookings.Service.
func (m *Module) Service() bookings.Service { return m.svc }

// Run runs the module's background work until ctx is done: the relay that
// publishes its outbox, the consumer of payment events, and the job that
// expires unpaid holds every ExpiryInterval.
func (m *Module) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return m.events.Run(ctx) })
	g.Go(func() error {
		t := time.NewTicker(m.interval)
		defer t.Stop()
		for {
			m.expire(ctx)
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	})
	return g.Wait()
}

func (m *Module) expire(ctx context.Context) {
	n, err := m.svc.expireHolds(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		m.log.Error("expire holds", "err", err, "expired", n)
	case n > 0:
		m.log.Info("expired unpaid holds", "expired", n)
	}
}

// ExpireHolds expires every pending booking whose hold has run out (as of
// Deps.Now) now, rather than on Run's next round, and returns how many.
func (m *Module) ExpireHolds(ctx context.Context) (int, error) { return m.svc.expireHolds(ctx) }
