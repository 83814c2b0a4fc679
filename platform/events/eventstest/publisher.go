package eventstest

import (
	"context"
	"testing"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/platform/db/dbtest"
	"github.com/bellhop/bellhop/platform/events"
)

// Publisher publishes events as a module does, through an outbox of its own
// and a relay on the bus: what a test needs to stand in for a module that
// the module under test consumes.
type Publisher struct {
	outbox *events.Outbox
}

// NewPublisher starts module's outbox (in a database of its own) and relay
// on bus until tb ends.
func NewPublisher(tb testing.TB, bus *events.Bus, module string) *Publisher {
	tb.Helper()
	d := dbtest.Open(tb, module, events.Migrations)
	relay, err := events.NewRelay(bus, events.RelayOptions{Module: module, DB: d.DB})
	if err != nil {
		tb.Fatal(err)
	}
	Run(tb, relay)
	return &Publisher{outbox: events.NewOutbox(d.DB, relay)}
}

// Publish records evt in the outbox and wakes the relay, failing tb if it cannot.
func (p *Publisher) Publish(tb testing.TB, evt events.Event) {
	tb.Helper()
	if err := p.outbox.Transaction(context.Background(), func(tx *gorm.DB) error { return events.Record(tx, evt) }); err != nil {
		tb.Fatal(err)
	}
}
