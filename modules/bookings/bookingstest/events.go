package bookingstest

import (
	"context"
	"testing"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/events/eventstest"
)

// Events stands in for the bookings module on a real event bus, for tests
// of payments' refunds: it publishes booking events the way bookings does
// (recorded in an outbox of its own, published by a relay).
type Events struct {
	publisher *eventstest.Publisher
}

// NewEvents starts the stand-in's outbox and relay on bus until t ends.
func NewEvents(t testing.TB, bus *events.Bus) *Events {
	t.Helper()
	return &Events{publisher: eventstest.NewPublisher(t, bus, bookings.Module)}
}

// Event is a booking event of type typ (bookings.EventRejected, ...) about
// b, naming paymentID, to Publish (once or more: a redelivery).
func (e *Events) Event(t testing.TB, typ string, b bookings.Booking, paymentID string) events.Event {
	t.Helper()
	evt, err := events.New(context.Background(), bookings.Module, typ, bookings.BookingEvent{Booking: b, PaymentID: paymentID})
	if err != nil {
		t.Fatal(err)
	}
	return evt
}

// Publish publishes evt.
func (e *Events) Publish(t testing.TB, evt events.Event) {
	t.Helper()
	e.publisher.Publish(t, evt)
}
