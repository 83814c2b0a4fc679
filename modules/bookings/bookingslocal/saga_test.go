package bookingslocal_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/bookings/bookingslocal"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/payments/paymentstest"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/events/eventstest"
)

func setRate(rt string, d civil.Date, amount int64) search.SetRatesRequest {
	return search.SetRatesRequest{RoomTypeID: rt, Rates: []search.Rate{{Date: d, Amount: amount}}}
}

// payment.succeeded, through a real embedded bus, confirms a pending hold;
// the same event delivered again (after JetStream's duplicate window, with a
// new message id) and the same payment in a new event change nothing.
func TestPayment_ConfirmsOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	bus, err := events.StartEmbedded(context.Background(), events.EmbeddedOptions{StoreDir: t.TempDir(), Listen: true, Options: events.Options{Registerer: reg}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bus.Close() })
	e := newEnv(t, false, bookingslocal.Deps{})
	m, err := bookingslocal.New(bookingslocal.Deps{DB: e.db, Search: e.catalog, Bus: bus, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.mod, e.svc = m, m.Service()
	eventstest.Run(t, m)
	pays := paymentstest.NewEvents(t, bus)

	rt := e.roomType(t, 2, 10000)
	b := e.hold(t, guest, rt, lisbonToday(t).AddDays(7), 2)

	// A failed payment changes nothing: the guest may try again.
	failed := pays.Fail(t, b)
	evtFailed := pays.Publish(t, payments.EventFailed, failed)
	eventually(t, "payment.failed to be handled", func() bool { return e.inInbox(t, evtFailed.ID) })
	if got := e.get(t, b.ID); got.Status != bookings.StatusPending || got.PaymentID != "" {
		t.Fatalf("after a failed payment: %+v", got)
	}

	pay := pays.Payment(b, payments.StatusSucceeded)
	evt := pays.Publish(t, payments.EventSucceeded, pay)
	confirmed := e.statusBecomes(t, b.ID, bookings.StatusPending)
	if confirmed.Status != bookings.StatusConfirmed || confirmed.PaymentID != pay.ID {
		t.Fatalf("after payment: %+v", confirmed)
	}
	if got := e.taken(t, rt, b.CheckIn); got != 1 {
		t.Fatalf("%d rooms taken, want the 1 held", got)
	}

	// The same envelope again under a new message id: JetStream delivers it,
	// the inbox skips it.
	nc, err := nats.Connect(bus.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(evt)
	msg := nats.NewMsg(events.Subject(payments.Module, evt.Type))
	msg.Data = raw
	msg.Header.Set(jetstream.MsgIDHeader, evt.ID+"-late-copy")
	if _, err := js.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the copy to be skipped", func() bool { return counter(t, reg, "bellhop_events_duplicates_total") == 1 })

	// The same payment in another event: applied already, nothing recorded.
	again := pays.Publish(t, payments.EventSucceeded, pay)
	eventually(t, "the repeated payment to be handled", func() bool { return e.inInbox(t, again.ID) })

	if got := e.get(t, b.ID); got.Status != bookings.StatusConfirmed || got.PaymentID != pay.ID || !got.UpdatedAt.Equal(confirmed.UpdatedAt) {
		t.Fatalf("after duplicates: %+v", got)
	}
	if got := e.eventsOf(t, b.ID); !slices.Equal(got, []string{bookings.EventHeld, bookings.EventConfirmed}) {
		t.Fatalf("events = %v", got)
	}
	out := e.outbox(t)
	if last := out[len(out)-1]; last.PaymentID != pay.ID || last.Booking.Status != bookings.StatusConfirmed {
		t.Fatalf("booking.confirmed = %+v", last.BookingEvent)
	}
}

// counter sums a counter of reg over its labels.
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// A payment that lands once the hold has expired is rejected, so payments
// refunds it: whether the expiry job already released the rooms (expired →
// rejected) or not yet (pending → rejected, releasing them then).
func TestPayment_AfterExpiryIsRejected(t *testing.T) {
	e := newEnv(t, true, bookingslocal.Deps{HoldTTL: 15 * time.Minute, ExpiryInterval: time.Hour})
	rt := e.roomType(t, 1, 10000)
	in := lisbonToday(t).AddDays(9)

	t.Run("AfterTheJob", func(t *testing.T) {
		e.clock.Set(time.Now())
		b := e.hold(t, guest, rt, in, 2)
		e.clock.Advance(16 * time.Minute)
		if n, err := e.mod.ExpireHolds(context.Background()); n != 1 || err != nil {
			t.Fatalf("expired %d, %v", n, err)
		}
		// Someone else takes the room meanwhile.
		other := e.hold(t, as("usr_quick"), rt, in, 1)
		pay := e.pays.Succeed(t, b)
		got := e.statusBecomes(t, b.ID, bookings.StatusExpired)
		if got.Status != bookings.StatusRejected || got.PaymentID != pay.ID {
			t.Fatalf("after a late payment: %+v", got)
		}
		if ev := e.eventsOf(t, b.ID); !slices.Equal(ev, []string{bookings.EventHeld, bookings.EventExpired, bookings.EventRejected}) {
			t.Fatalf("events = %v", ev)
		}
		out := e.outbox(t)
		if last := out[len(out)-1]; last.Type != bookings.EventRejected || last.PaymentID != pay.ID {
			t.Fatalf("last event = %s %+v", last.Type, last.BookingEvent)
		}
		if n := e.taken(t, rt, in); n != 1 {
			t.Fatalf("%d rooms taken, want the other guest's 1", n)
		}
		if _, err := e.svc.Cancel(as("usr_quick"), bookings.CancelRequest{ID: other.ID}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("BeforeTheJob", func(t *testing.T) {
		e.clock.Set(time.Now())
		b := e.hold(t, guest, rt, in, 2)
		e.clock.Advance(15 * time.Minute)
		pay := e.pays.Succeed(t, b)
		got := e.statusBecomes(t, b.ID, bookings.StatusPending)
		if got.Status != bookings.StatusRejected || got.PaymentID != pay.ID {
			t.Fatalf("after a late payment: %+v", got)
		}
		if n := e.taken(t, rt, in); n != 0 {
			t.Fatalf("%d rooms still taken", n)
		}
		if ev := e.eventsOf(t, b.ID); !slices.Equal(ev, []string{bookings.EventHeld, bookings.EventRejected}) {
			t.Fatalf("events = %v", ev)
		}
	})
}

// A payment the booking cannot take (it was cancelled meanwhile, or is
// already paid by another payment) leaves it unchanged and is published as
// booking.payment_refused, so payments refunds it.
func TestPayment_Refused(t *testing.T) {
	e := newEnv(t, true, bookingslocal.Deps{})
	rt := e.roomType(t, 2, 10000)
	in := lisbonToday(t).AddDays(8)

	cancelled := e.hold(t, guest, rt, in, 1)
	if _, err := e.svc.Cancel(guest, bookings.CancelRequest{ID: cancelled.ID}); err != nil {
		t.Fatal(err)
	}
	late := e.pays.Succeed(t, cancelled)

	paid := e.hold(t, guest, rt, in, 1)
	first := e.pays.Succeed(t, paid)
	e.statusBecomes(t, paid.ID, bookings.StatusPending)
	second := e.pays.Succeed(t, paid)

	eventually(t, "two refused payments", func() bool {
		var refused []string
		for _, p := range e.outbox(t) {
			if p.Type == bookings.EventPaymentRefused {
				refused = append(refused, p.PaymentID)
			}
		}
		return slices.Equal(refused, []string{late.ID, second.ID})
	})
	if got := e.get(t, cancelled.ID); got.Status != bookings.StatusCancelled || got.PaymentID != "" {
		t.Fatalf("cancelled booking = %+v", got)
	}
	if got := e.get(t, paid.ID); got.Status != bookings.StatusConfirmed || got.PaymentID != first.ID {
		t.Fatalf("paid booking = %+v", got)
	}
}
