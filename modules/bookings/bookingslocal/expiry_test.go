package bookingslocal_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/bookings/bookingslocal"
)

// An unpaid hold expires after HoldTTL: status expired, its rooms released
// (another guest can hold them), booking.expired published; holds that have
// not run out are left alone.
func TestExpireHolds_ReleasesRooms(t *testing.T) {
	e := newEnv(t, false, bookingslocal.Deps{HoldTTL: 10 * time.Minute})
	rt := e.roomType(t, 1, 9000)
	in := lisbonToday(t).AddDays(5)
	first := e.hold(t, guest, rt, in, 2)
	if want := e.clock.Now().Add(10 * time.Minute); !first.HoldExpiresAt.Equal(want.UTC().Truncate(time.Microsecond)) {
		t.Fatalf("hold expires at %s, want %s", first.HoldExpiresAt, want)
	}
	_, err := e.svc.Hold(as("usr_next"), bookings.HoldRequest{RoomTypeID: rt, CheckIn: in, CheckOut: in.AddDays(2), Guests: 1})
	if !errors.Is(err, bookings.ErrSoldOut) {
		t.Fatalf("second hold: %v, want sold out", err)
	}

	e.clock.Advance(9 * time.Minute)
	later := e.hold(t, guest, e.roomType(t, 1, 9000), in, 1) // expires 9 minutes after first
	if n, err := e.mod.ExpireHolds(context.Background()); n != 0 || err != nil {
		t.Fatalf("before the hold ran out: expired %d, %v", n, err)
	}
	e.clock.Advance(time.Minute)
	if n, err := e.mod.ExpireHolds(context.Background()); n != 1 || err != nil {
		t.Fatalf("expired %d, %v; want 1", n, err)
	}
	if b := e.get(t, first.ID); b.Status != bookings.StatusExpired {
		t.Fatalf("status = %s", b.Status)
	}
	if b := e.get(t, later.ID); b.Status != bookings.StatusPending {
		t.Fatalf("the later hold is %s", b.Status)
	}
	if got := e.taken(t, rt, in); got != 0 {
		t.Fatalf("%d rooms still taken", got)
	}
	if got := e.eventsOf(t, first.ID); !slices.Equal(got, []string{bookings.EventHeld, bookings.EventExpired}) {
		t.Fatalf("events = %v", got)
	}
	e.hold(t, as("usr_next"), rt, in, 2)

	// An expired booking is not cancellable, and expiring again does nothing.
	_, err = e.svc.Cancel(guest, bookings.CancelRequest{ID: first.ID})
	if !errors.Is(err, bookings.ErrNotCancellable) {
		t.Fatalf("cancel expired: %v", err)
	}
	if n, err := e.mod.ExpireHolds(context.Background()); n != 0 || err != nil {
		t.Fatalf("second round: expired %d, %v", n, err)
	}
}

// Run expires holds on its own, every ExpiryInterval.
func TestRun_ExpiresHolds(t *testing.T) {
	e := newEnv(t, true, bookingslocal.Deps{HoldTTL: time.Minute, ExpiryInterval: 20 * time.Millisecond})
	rt := e.roomType(t, 2, 9000)
	b := e.hold(t, guest, rt, lisbonToday(t).AddDays(3), 1)
	e.clock.Advance(2 * time.Minute)
	if got := e.statusBecomes(t, b.ID, bookings.StatusPending); got.Status != bookings.StatusExpired {
		t.Fatalf("status = %s", got.Status)
	}
}
