// Package paymentslocal is the in-process payments module: payments,
// refunds and idempotency keys in its own database, charging through a
// payment provider (the sandbox bank or Stripe) with timeouts, retries under
// the same idempotency key and a circuit breaker, a reconciler that settles
// payments whose outcome is unknown, and refunds of rejected and cancelled
// bookings. cmd/bellhop builds it with New and hosts it.
//
// No transaction is ever open across a call to the provider or to bookings:
// a payment is read (and the booking asked for) first, the provider called,
// and the outcome written with a guard that re-checks the payment's state.
package paymentslocal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/payments/provider"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/validation"
)

// Defaults of Deps.
const (
	DefaultReconcileInterval = 30 * time.Second
	DefaultNotFoundGrace     = 2 * time.Minute
	DefaultIdempotencyTTL    = 24 * time.Hour
)

// Deps are what the module needs from its host.
type Deps struct {
	DB  *db.DB // the module's own database, migrated with Migrations
	Log *slog.Logger
	// Bus carries the module's events; nil in tests that need no backbone
	// (events then stay in the outbox, and no booking events are consumed).
	Bus *events.Bus
	// OutboxRetention is how long published events stay in the outbox (0: the relay's default).
	OutboxRetention time.Duration

	// Bookings is where amounts come from (Get, as the payments service).
	Bookings bookings.Service
	// Provider charges and refunds: sandbox.New or stripeprovider.New. New
	// wraps it with ProviderPolicy (provider.Guard) unless it is a
	// *provider.Guarded already.
	Provider       provider.Provider
	ProviderPolicy provider.Policy

	// ReconcileInterval is how often payments whose outcome is unknown are
	// settled, refunds due are sent and expired idempotency keys are
	// forgotten (0: 30s).
	ReconcileInterval time.Duration
	// NotFoundGrace is how long a payment must have been unknown before the
	// provider saying "no such charge" settles it as failed (0: 2 minutes;
	// Stripe's search lags its writes).
	NotFoundGrace time.Duration
	// StaleAfter is how long a payment may stay processing before the
	// reconciler takes it for one whose process died mid-call and asks the
	// provider (0: the longest provider call plus a minute). It must exceed
	// the longest provider call (ProviderPolicy.MaxDuration), or a call
	// still running could be settled under it.
	StaleAfter time.Duration
	// IdempotencyTTL is how long an idempotency key is kept (0: 24 hours).
	IdempotencyTTL time.Duration
	// Now is the clock (nil: time.Now), for tests.
	Now func() time.Time
}

// Module is the payments module hosted in this process.
type Module struct {
	svc    *Service
	log    *slog.Logger
	events *events.ModuleEvents
	every  time.Duration
	wake   chan struct{} // refunds were asked for
}

// New builds the module. It starts nothing: Run does.
func New(d Deps) (*Module, error) {
	switch {
	case d.DB == nil:
		return nil, errors.New("paymentslocal: Deps.DB is required")
	case d.Bookings == nil:
		return nil, errors.New("paymentslocal: Deps.Bookings is required")
	case d.Provider == nil:
		return nil, errors.New("paymentslocal: Deps.Provider is required")
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("module", payments.Module)
	now := d.Now
	if now == nil {
		now = time.Now
	}
	prov, ok := d.Provider.(*provider.Guarded)
	if !ok {
		pol := d.ProviderPolicy
		if pol.Log == nil {
			pol.Log = log
		}
		prov = provider.Guard(d.Provider, pol)
	}
	cfg := config{
		idempotencyTTL: orDefault(d.IdempotencyTTL, DefaultIdempotencyTTL),
		notFoundGrace:  orDefault(d.NotFoundGrace, DefaultNotFoundGrace),
		reconcileEvery: orDefault(d.ReconcileInterval, DefaultReconcileInterval),
	}
	maxCall := prov.Policy().MaxDuration()
	cfg.maxWait = maxCall + 5*time.Second
	cfg.staleAfter = maxCall + time.Minute
	if d.StaleAfter > 0 {
		if d.StaleAfter <= maxCall {
			return nil, fmt.Errorf("paymentslocal: StaleAfter %s must exceed the longest provider call, %s", d.StaleAfter, maxCall)
		}
		cfg.staleAfter = d.StaleAfter
	}
	m := &Module{
		svc: &Service{
			db: d.DB, log: log, validate: validation.New(), bookings: d.Bookings, prov: prov,
			now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }, cfg: cfg,
		},
		log:   log,
		every: cfg.reconcileEvery,
		wake:  make(chan struct{}, 1),
	}
	// Payments publishes the outcomes of charges and refunds, and refunds the
	// bookings that ask for money back.
	wired, err := events.Wire(events.Declaration{
		Module:    payments.Module,
		Publishes: []string{payments.EventSucceeded, payments.EventFailed, payments.EventRefunded},
		Consumes: []events.Subscription{{
			Name: "refunds", Subjects: refundSubjects, Handler: m.svc.applyBookingEvent,
			Committed: func(context.Context, []events.Event) { m.wakeRefunds() },
		}},
	}, events.Wiring{DB: d.DB.DB, Bus: d.Bus, OutboxRetention: d.OutboxRetention, Log: log})
	if err != nil {
		return nil, err
	}
	m.svc.outbox = wired.Outbox()
	m.events = wired
	return m, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Service is the module's payments.Service.
func (m *Module) Service() payments.Service { return m.svc }

// Provider is the guarded provider the module charges through.
func (m *Module) Provider() *provider.Guarded { return m.svc.prov }

// Run runs the module's background work until ctx is done: the relay that
// publishes its outbox, the consumer of booking events (refunds), the
// refund worker and the reconciler.
func (m *Module) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return m.events.Run(ctx) })
	g.Go(func() error { m.work(ctx); return nil })
	return g.Wait()
}

func (m *Module) wakeRefunds() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// work is the background loop: refunds as soon as they are asked for, and
// every interval a full round (Reconcile).
func (m *Module) work(ctx context.Context) {
	tick := time.NewTicker(m.every)
	defer tick.Stop()
	m.round(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
			if _, err := m.svc.sendRefunds(ctx); err != nil && ctx.Err() == nil {
				m.log.Error("sending refunds", "err", err)
			}
		case <-tick.C:
			m.round(ctx)
		}
	}
}

func (m *Module) round(ctx context.Context) {
	if err := m.Reconcile(ctx); err != nil && ctx.Err() == nil {
		m.log.Error("reconciling payments", "err", err)
	}
}

// Reconcile runs one round of the background work now: it settles payments
// whose outcome is unknown, sends the refunds that are due and forgets
// expired idempotency keys. Run calls it every ReconcileInterval.
func (m *Module) Reconcile(ctx context.Context) error {
	_, err1 := m.svc.reconcile(ctx)
	_, err2 := m.svc.sendRefunds(ctx)
	err3 := m.svc.pruneKeys(ctx)
	return errors.Join(err1, err2, err3)
}
