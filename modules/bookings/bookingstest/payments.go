package bookingstest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/platform/db/dbtest"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/events/eventstest"
)

// Payments stands in for the payments module on a real event bus, for tests
// of bookings' side of the saga: it publishes payment events the way
// payments does (recorded in an outbox of its own, published by a relay).
type Payments struct {
	relay *events.Relay
	seq   atomic.Int64
}

// NewPayments starts the stand-in's outbox and relay on bus until t ends.
func NewPayments(t testing.TB, bus *events.Bus) *Payments {
	t.Helper()
	d := dbtest.Open(t, payments.Module, events.Migrations)
	relay, err := events.NewRelay(bus, events.RelayOptions{Module: payments.Module, DB: d.DB})
	if err != nil {
		t.Fatal(err)
	}
	eventstest.Run(t, relay)
	return &Payments{relay: relay}
}

// Publish publishes an event of type typ (payments.EventSucceeded, ...)
// about pay and returns it.
func (p *Payments) Publish(t testing.TB, typ string, pay payments.Payment) events.Event {
	t.Helper()
	evt, err := events.New(context.Background(), payments.Module, typ, payments.PaymentEvent{Payment: pay})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.relay.Transaction(context.Background(), func(tx *gorm.DB) error { return events.Record(tx, evt) }); err != nil {
		t.Fatal(err)
	}
	return evt
}

// Payment is a payment of b's total with a fresh id, in status.
func (p *Payments) Payment(b bookings.Booking, status string) payments.Payment {
	now := time.Now().UTC()
	return payments.Payment{
		ID: fmt.Sprintf("pay_test%06d", p.seq.Add(1)), BookingID: b.ID, GuestID: b.GuestID,
		Amount: b.Total, Refunded: b.Total.Mul(0), Status: status, Provider: "sandbox",
		Card:      &payments.Card{Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: now.Year() + 3},
		CreatedAt: now, UpdatedAt: now,
	}
}

// Succeed publishes payment.succeeded for a new payment of b's total and returns the payment.
func (p *Payments) Succeed(t testing.TB, b bookings.Booking) payments.Payment {
	t.Helper()
	pay := p.Payment(b, payments.StatusSucceeded)
	p.Publish(t, payments.EventSucceeded, pay)
	return pay
}

// Fail publishes payment.failed (card declined) for a new payment of b's total and returns the payment.
func (p *Payments) Fail(t testing.TB, b bookings.Booking) payments.Payment {
	t.Helper()
	pay := p.Payment(b, payments.StatusFailed)
	pay.FailureCode, pay.FailureMessage = "card_declined", "Your card was declined."
	p.Publish(t, payments.EventFailed, pay)
	return pay
}
