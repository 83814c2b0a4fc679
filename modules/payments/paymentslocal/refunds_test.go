package paymentslocal_test

import (
	"context"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/bookings/bookingstest"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/payments/paymentstest"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/events/eventstest"
	"github.com/bellhop/bellhop/platform/money"
)

// waitPayment polls until the payment satisfies ok.
func waitPayment(t *testing.T, svc payments.Service, id string, ok func(payments.Payment) bool) payments.Payment {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, err := svc.Get(as(guest), payments.GetRequest{ID: id})
		if err != nil {
			t.Fatal(err)
		}
		if ok(p) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("payment stays %+v", p)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A booking rejected after its payment succeeded (the hold had expired and
// the room was gone) is refunded in full, once: a redelivered event, and
// even a second rejection event for the booking, refund nothing more.
func TestRefund_BookingRejected(t *testing.T) {
	// A short duplicate window, so a copy of an event gets past JetStream
	// and meets the consumer's inbox.
	bus, err := events.StartEmbedded(context.Background(), events.EmbeddedOptions{
		StoreDir: t.TempDir(), Options: events.Options{DuplicateWindow: 200 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bus.Close() })
	e := newEnv(t, envOptions{bus: bus})
	eventstest.Run(t, e.m)
	got := collect(t, bus)
	bk := bookingstest.NewEvents(t, bus)

	b := paymentstest.Pending("bkg_rejected", guest.Subject)
	e.bk.Put(b)
	p, err := e.svc.Pay(as(guest), payments.PayRequest{IdempotencyKey: "k", BookingID: b.ID, PaymentMethod: "pm_card_visa"})
	if err != nil || p.Status != payments.StatusSucceeded {
		t.Fatalf("%+v %v", p, err)
	}
	b.Status = bookings.StatusRejected
	rejected := bk.Event(t, bookings.EventRejected, b, p.ID)
	bk.Publish(t, rejected)
	refunded := waitPayment(t, e.svc, p.ID, func(p payments.Payment) bool { return p.Status == payments.StatusRefunded })
	if refunded.Refunded != b.Total {
		t.Fatalf("refunded %v, want %v", refunded.Refunded, b.Total)
	}
	evs := got.wait(t, payments.EventRefunded, p.ID, 1)
	if evs[0].RefundAmount != b.Total || evs[0].Payment.Status != payments.StatusRefunded {
		t.Fatalf("event = %+v", evs[0])
	}

	// Redelivery: the same event again, past JetStream's duplicate window
	// (so it reaches the inbox), and a second rejection of the booking.
	time.Sleep(400 * time.Millisecond)
	bookingstest.NewEvents(t, bus).Publish(t, rejected) // another outbox: the same event id
	bk.Publish(t, bk.Event(t, bookings.EventRejected, b, p.ID))
	if err := e.m.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Both rejections were handled (the copy of the first found its inbox row).
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var handled int64
		if err := e.db.Table("events_inbox").Where("consumer = ?", "payments.refunds").Count(&handled).Error; err != nil {
			t.Fatal(err)
		}
		if handled == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d booking events handled, want 2", handled)
		}
	}
	if err := e.m.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	refunds, err := e.bank.Refunds(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(refunds) != 1 || refunds[0].Amount != b.Total.Amount || refunds[0].ChargeID == "" {
		t.Fatalf("bank refunds = %+v, want one of %v", refunds, b.Total)
	}
	got.wait(t, payments.EventRefunded, p.ID, 1)
	if after, _ := e.svc.Get(as(guest), payments.GetRequest{ID: p.ID}); after.Refunded != b.Total {
		t.Fatalf("refunded %v after redelivery", after.Refunded)
	}
}

// A cancellation refunds the booking's Refund amount (here the first night
// is kept), and nothing when there is nothing to refund.
func TestRefund_BookingCancelled(t *testing.T) {
	bus := eventstest.Bus(t)
	e := newEnv(t, envOptions{bus: bus})
	eventstest.Run(t, e.m)
	got := collect(t, bus)
	bk := bookingstest.NewEvents(t, bus)

	b := paymentstest.Pending("bkg_cancelled", guest.Subject)
	e.bk.Put(b)
	p, err := e.svc.Pay(as(guest), payments.PayRequest{IdempotencyKey: "k", BookingID: b.ID, PaymentMethod: "pm_card_visa"})
	if err != nil {
		t.Fatal(err)
	}
	b.Status = bookings.StatusCancelled
	b.CancellationFee, b.Refund = money.New(18000, "EUR"), money.New(18000, "EUR")
	bk.Publish(t, bk.Event(t, bookings.EventCancelled, b, ""))
	partly := waitPayment(t, e.svc, p.ID, func(p payments.Payment) bool { return p.Status == payments.StatusPartiallyRefunded })
	if partly.Refunded != money.New(18000, "EUR") {
		t.Fatalf("refunded %v", partly.Refunded)
	}
	if evs := got.wait(t, payments.EventRefunded, p.ID, 1); evs[0].RefundAmount != money.New(18000, "EUR") {
		t.Fatalf("event = %+v", evs[0])
	}

	// Cancelled without a refund (inside the policy's last days): nothing.
	b2 := paymentstest.Pending("bkg_kept", guest.Subject)
	e.bk.Put(b2)
	p2, err := e.svc.Pay(as(guest), payments.PayRequest{IdempotencyKey: "k2", BookingID: b2.ID, PaymentMethod: "pm_card_visa"})
	if err != nil {
		t.Fatal(err)
	}
	b2.Status, b2.CancellationFee, b2.Refund = bookings.StatusCancelled, b2.Total, money.New(0, "EUR")
	bk.Publish(t, bk.Event(t, bookings.EventCancelled, b2, ""))
	time.Sleep(300 * time.Millisecond)
	if p2, _ = e.svc.Get(as(guest), payments.GetRequest{ID: p2.ID}); p2.Status != payments.StatusSucceeded || p2.Refunded.Amount != 0 {
		t.Fatalf("payment = %+v", p2)
	}
	if refunds, _ := e.bank.Refunds(context.Background()); len(refunds) != 1 {
		t.Fatalf("bank refunds = %+v", refunds)
	}
}

// A refund asked for while the payment's outcome is unknown waits for it:
// sent once the reconciler finds the charge succeeded.
func TestRefund_WaitsForUnknownPayment(t *testing.T) {
	bus := eventstest.Bus(t)
	pol := fastPolicy()
	pol.Attempts, pol.AttemptTimeout = 1, 50*time.Millisecond
	e := newEnv(t, envOptions{bus: bus, policy: pol})
	bk := bookingstest.NewEvents(t, bus)
	b := paymentstest.Pending("bkg_late", guest.Subject)
	e.bk.Put(b)
	// The bank records the charge, but its answer never arrives.
	e.bank.SetFaults(0, 1)
	var p payments.Payment
	for i := 0; ; i++ {
		var err error
		p, err = e.svc.Pay(as(guest), payments.PayRequest{IdempotencyKey: b.ID, BookingID: b.ID, PaymentMethod: "pm_card_visa"})
		if err != nil || p.Status != payments.StatusUnknown {
			t.Fatalf("%+v %v", p, err)
		}
		if _, charged := ledgerByKey(t, e.bank)[p.ID]; charged {
			break
		}
		// This attempt never reached the bank: settle it and try again.
		e.bank.SetFaults(0, 0)
		if err := e.m.Reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.bank.SetFaults(0, 1)
		if i > 20 {
			t.Fatal("the bank never recorded a charge")
		}
		b.ID = b.ID + "x"
		e.bk.Put(b)
	}
	b.Status = bookings.StatusRejected
	eventstest.Run(t, e.m)
	bk.Publish(t, bk.Event(t, bookings.EventRejected, b, p.ID))
	time.Sleep(300 * time.Millisecond) // the refund is asked for, and waits
	if refunds, _ := e.bank.Refunds(context.Background()); len(refunds) != 0 {
		t.Fatalf("refunded before the payment settled: %+v", refunds)
	}
	e.bank.SetFaults(0, 0)
	waitPayment(t, e.svc, p.ID, func(p payments.Payment) bool { return p.Status == payments.StatusRefunded })
}

// A payment the booking refused (it was cancelled, or paid otherwise,
// meanwhile) is refunded in full.
func TestRefund_PaymentRefused(t *testing.T) {
	bus := eventstest.Bus(t)
	e := newEnv(t, envOptions{bus: bus})
	eventstest.Run(t, e.m)
	bk := bookingstest.NewEvents(t, bus)

	b := paymentstest.Pending("bkg_refused", guest.Subject)
	e.bk.Put(b)
	p, err := e.svc.Pay(as(guest), payments.PayRequest{IdempotencyKey: "k", BookingID: b.ID, PaymentMethod: "pm_card_visa"})
	if err != nil || p.Status != payments.StatusSucceeded {
		t.Fatalf("%+v %v", p, err)
	}
	b.Status = bookings.StatusCancelled
	bk.Publish(t, bk.Event(t, bookings.EventPaymentRefused, b, p.ID))
	refunded := waitPayment(t, e.svc, p.ID, func(p payments.Payment) bool { return p.Status == payments.StatusRefunded })
	if refunded.Refunded != b.Total {
		t.Fatalf("refunded %v, want %v", refunded.Refunded, b.Total)
	}
}
