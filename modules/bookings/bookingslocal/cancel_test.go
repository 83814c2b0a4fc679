package bookingslocal_test

import (
	"errors"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/bookings/bookingslocal"
	"github.com/bellhop/bellhop/platform/money"
)

// A paid booking cancelled before its deadline (48 hours before check-in at
// 15:00 in the hotel's zone) is refunded in full; a second later the first
// night is kept. Either way the rooms are released and booking.cancelled
// carries the refund and the payment to refund it from.
func TestCancel_Policy(t *testing.T) {
	e := newEnv(t, true, bookingslocal.Deps{})
	rt := e.roomType(t, 1, 10000)
	if _, err := e.catalog.SetRates(staffCatalog(), setRate(rt, lisbonToday(t).AddDays(12), 15000)); err != nil {
		t.Fatal(err)
	}
	in := lisbonToday(t).AddDays(12)
	loc, _ := time.LoadLocation("Europe/Lisbon")
	deadline := time.Date(in.Year, in.Month, in.Day, 15, 0, 0, 0, loc).Add(-48 * time.Hour)

	for _, tc := range []struct {
		name      string
		at        time.Time
		fee, back int64
	}{
		{"Free", deadline.Add(-time.Second), 0, 35000},
		{"FirstNightKept", deadline.Add(time.Second), 15000, 20000}, // the first night is the dear one
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.clock.Set(time.Now())
			b := e.hold(t, guest, rt, in, 3)
			if !b.FreeCancellationUntil.Equal(deadline) || b.LateCancellationFee != money.New(15000, "EUR") || b.Total != money.New(35000, "EUR") {
				t.Fatalf("terms = %s %v, total %v", b.FreeCancellationUntil, b.LateCancellationFee, b.Total)
			}
			pay := e.pays.Succeed(t, b)
			if got := e.statusBecomes(t, b.ID, bookings.StatusPending); got.Status != bookings.StatusConfirmed || got.PaymentID != pay.ID {
				t.Fatalf("after payment: %+v", got)
			}
			e.clock.Set(tc.at)
			c, err := e.svc.Cancel(guest, bookings.CancelRequest{ID: b.ID})
			if err != nil {
				t.Fatal(err)
			}
			if c.Status != bookings.StatusCancelled || c.CancellationFee != money.New(tc.fee, "EUR") || c.Refund != money.New(tc.back, "EUR") {
				t.Fatalf("cancelled = %s, fee %v, refund %v", c.Status, c.CancellationFee, c.Refund)
			}
			if got := e.taken(t, rt, in); got != 0 {
				t.Fatalf("%d rooms still taken", got)
			}
			out := e.outbox(t)
			last := out[len(out)-1]
			if last.Type != bookings.EventCancelled || last.PaymentID != pay.ID || last.Booking.Refund != c.Refund || last.Booking.CancellationFee != c.CancellationFee {
				t.Fatalf("last event = %s %+v", last.Type, last.BookingEvent)
			}
		})
	}

	t.Run("AfterTheStay", func(t *testing.T) {
		e.clock.Set(time.Now())
		b := e.hold(t, guest, rt, in, 1)
		e.clock.Set(in.AddDays(1).In(loc).Add(time.Hour))
		_, err := e.svc.Cancel(guest, bookings.CancelRequest{ID: b.ID})
		if !errors.Is(err, bookings.ErrNotCancellable) {
			t.Fatalf("cancel after check-out: %v", err)
		}
	})
}

// The policy is data: a host may set another.
func TestCancel_OtherPolicy(t *testing.T) {
	e := newEnv(t, true, bookingslocal.Deps{Policy: bookingslocal.Policy{CheckInTime: 14 * time.Hour, FreeBefore: 7 * 24 * time.Hour, LateFeeNights: 2}})
	rt := e.roomType(t, 1, 10000)
	in := lisbonToday(t).AddDays(5) // already inside the week before check-in
	b := e.hold(t, guest, rt, in, 3)
	if b.LateCancellationFee != money.New(20000, "EUR") || !b.FreeCancellationUntil.Before(time.Now()) {
		t.Fatalf("terms = %s %v", b.FreeCancellationUntil, b.LateCancellationFee)
	}
	e.pays.Succeed(t, b)
	e.statusBecomes(t, b.ID, bookings.StatusPending)
	c, err := e.svc.Cancel(staff, bookings.CancelRequest{ID: b.ID})
	if err != nil || c.CancellationFee != money.New(20000, "EUR") || c.Refund != money.New(10000, "EUR") {
		t.Fatalf("cancelled = %+v, %v", c, err)
	}
}
