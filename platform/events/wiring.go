package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"
	"gorm.io/gorm"
)

// Declaration is what a module says about its events: the types it
// publishes and the subscriptions it consumes. [Wire] builds the rest.
type Declaration struct {
	// Module is the publishing and consuming module, e.g. "bookings".
	Module string
	// Publishes are the event types the module records, e.g.
	// "bellhop.booking.confirmed.v1". A module that publishes nothing runs no
	// relay.
	Publishes []string
	// Consumes are the module's durable subscriptions.
	Consumes []Subscription
}

// Subscription is one durable subscription of a consuming module (see
// [Bus.Subscribe]).
type Subscription struct {
	// Name is the subscription's name within the module, e.g. "payments".
	Name string
	// Subjects name the source modules literally, e.g.
	// events.Subject("payments", "bellhop.payment.>").
	Subjects []string
	Handler  Handler
	// Committed, if set, is called with the events whose effects have just
	// committed (see [SubscribeOptions].Committed).
	Committed func(ctx context.Context, applied []Event)
}

// Wiring is what the host gives a module's events.
type Wiring struct {
	// DB is the module's database, migrated with [Migrations].
	DB *gorm.DB
	// Bus is the backbone; nil (tests, seeding) builds no relay and no
	// consumer: events stay in the outbox and nothing is consumed.
	Bus *Bus
	// OutboxRetention is how long published events stay in the outbox (0:
	// the relay's default).
	OutboxRetention time.Duration
	Log             *slog.Logger
}

// ModuleEvents are a module's events wired to the backbone: the [Outbox] its
// writes go through, and the relay and consumers Run runs.
type ModuleEvents struct {
	decl      Declaration
	outbox    *Outbox
	relay     *Relay
	consumers []*Consumer
}

// Wire checks d and builds the module's outbox and, given a bus, its relay
// (if it publishes) and consumers. It starts nothing: Run does.
func Wire(d Declaration, w Wiring) (*ModuleEvents, error) {
	if !moduleRE.MatchString(d.Module) {
		return nil, fmt.Errorf("events: wire: invalid module name %q", d.Module)
	}
	if w.DB == nil {
		return nil, fmt.Errorf("events: wire %s: no database", d.Module)
	}
	for _, typ := range d.Publishes {
		if !typeRE.MatchString(typ) {
			return nil, fmt.Errorf("events: wire %s: published type %q: want \"bellhop.<what>.<happened>.v<N>\" in lower case", d.Module, typ)
		}
	}
	seen := map[string]bool{}
	for _, s := range d.Consumes {
		switch {
		case !subscriptionRE.MatchString(s.Name):
			return nil, fmt.Errorf("events: wire %s: invalid subscription name %q", d.Module, s.Name)
		case seen[s.Name]:
			return nil, fmt.Errorf("events: wire %s: subscription %q is declared twice", d.Module, s.Name)
		case s.Handler == nil || len(s.Subjects) == 0:
			return nil, fmt.Errorf("events: wire %s.%s: a handler and subjects are required", d.Module, s.Name)
		}
		seen[s.Name] = true
		for _, subj := range s.Subjects {
			if _, err := subjectSource(subj); err != nil {
				return nil, fmt.Errorf("events: wire %s.%s: %w", d.Module, s.Name, err)
			}
		}
	}
	me := &ModuleEvents{decl: d, outbox: NewOutbox(w.DB, nil)}
	if w.Bus == nil {
		return me, nil
	}
	if len(d.Publishes) > 0 {
		relay, err := NewRelay(w.Bus, RelayOptions{Module: d.Module, DB: w.DB, Retention: w.OutboxRetention, Log: w.Log})
		if err != nil {
			return nil, err
		}
		me.relay = relay
		me.outbox = NewOutbox(w.DB, relay)
	}
	for _, s := range d.Consumes {
		c, err := w.Bus.Subscribe(d.Module, s.Name, s.Subjects, s.Handler, SubscribeOptions{
			DB: w.DB, Relay: me.relay, Committed: s.Committed, Log: w.Log,
		})
		if err != nil {
			return nil, err
		}
		me.consumers = append(me.consumers, c)
	}
	return me, nil
}

// Outbox is where the module's writes that record events go.
func (m *ModuleEvents) Outbox() *Outbox { return m.outbox }

// Declaration is what the module declared.
func (m *ModuleEvents) Declaration() Declaration { return m.decl }

// Consumers are the module's consumers (none without a bus).
func (m *ModuleEvents) Consumers() []*Consumer { return m.consumers }

// Run runs the relay and the consumers until ctx is done, then returns nil.
// Without a bus it only waits for ctx.
func (m *ModuleEvents) Run(ctx context.Context) error {
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

// Outbox is the one way a module changes state and records its events:
//
//	err := outbox.Transaction(ctx, func(tx *gorm.DB) error {
//		// ... write the state through tx ...
//		return events.Record(tx, evt)
//	})
//
// Transaction begins a transaction of the module's database (platform/db
// makes SQLite's writing transactions IMMEDIATE and has them take turns),
// runs fn, commits, and then wakes the relay so it publishes at once. With no
// relay (no bus: tests, seeding) it only commits, and the events wait in the
// outbox for a relay to come.
type Outbox struct {
	db    *gorm.DB
	relay *Relay
}

// NewOutbox is the outbox of the module database db, published by relay
// (nil: none in this process). Modules get theirs from [Wire].
func NewOutbox(db *gorm.DB, relay *Relay) *Outbox {
	return &Outbox{db: db, relay: relay}
}

// Transaction runs fn in a transaction and, once it has committed, wakes the
// relay. If fn fails (or the commit does), it rolls back and the relay is not
// woken.
func (o *Outbox) Transaction(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if o == nil || o.db == nil {
		return errors.New("events: outbox without a database")
	}
	if err := o.db.WithContext(ctx).Transaction(fn); err != nil {
		return err
	}
	if o.relay != nil {
		o.relay.Notify()
	}
	return nil
}
