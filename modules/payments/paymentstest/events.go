package paymentstest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/events/eventstest"
)

// Events stands in for the payments module on a real event bus, for tests
// of bookings' side of the saga: it publishes payment events the way
// payments does (recorded in an outbox of its own, published by a relay).
type Events struct {
	publisher *eventstest.Publisher
	seq       atomic.Int64
}

// NewEvents starts the stand-in's outbox and relay on bus until t ends.
func NewEvents(t testing.TB, bus *events.Bus) *Events {
	t.Helper()
	return &Events{publisher: eventstest.NewPublisher(t, bus, payments.Module)}
}

// Publish publishes an event of type typ (payments.EventSucceeded, ...)
// about pay and returns it.
func (e *Events) Publish(t testing.TB, typ string, pay payments.Payment) events.Event {
	t.Helper()
	evt, err := events.New(context.Background(), payments.Module, typ, payments.PaymentEvent{Payment: pay})
	if err != nil {
		t.Fatal(err)
	}
	e.publisher.Publish(t, evt)
	return evt
}

// Payment is a payment of b's total with a fresh id, in status.
func (e *Events) Payment(b bookings.Booking, status string) payments.Payment {
	now := time.Now().UTC()
	return payments.Payment{
		ID: fmt.Sprintf("pay_test%06d", e.seq.Add(1)), BookingID: b.ID, GuestID: b.GuestID,
		Amount: b.Total, Refunded: b.Total.Mul(0), Status: status, Provider: "sandbox",
		Card:      &payments.Card{Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: now.Year() + 3},
		CreatedAt: now, UpdatedAt: now,
	}
}

// Succeed publishes payment.succeeded for a new payment of b's total and returns the payment.
func (e *Events) Succeed(t testing.TB, b bookings.Booking) payments.Payment {
	t.Helper()
	pay := e.Payment(b, payments.StatusSucceeded)
	e.Publish(t, payments.EventSucceeded, pay)
	return pay
}

// Fail publishes payment.failed (card declined) for a new payment of b's total and returns the payment.
func (e *Events) Fail(t testing.TB, b bookings.Booking) payments.Payment {
	t.Helper()
	pay := e.Payment(b, payments.StatusFailed)
	pay.FailureCode, pay.FailureMessage = "card_declined", "Your card was declined."
	e.Publish(t, payments.EventFailed, pay)
	return pay
}
