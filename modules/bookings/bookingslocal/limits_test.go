package bookingslocal_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/bookings/bookingslocal"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/civil"
)

// A guest holds at most MaxPendingHolds unpaid rooms at once, even when the
// holds race: the count is taken in the hold's own writing transaction.
// Another guest is not affected, and cancelling a hold frees a slot.
func TestHold_TooManyHolds(t *testing.T) {
	t.Parallel()
	const limit = 3
	e := newEnv(t, false, bookingslocal.Deps{MaxPendingHolds: limit})
	rt := e.roomType(t, 50, 10000)
	in := lisbonToday(t).AddDays(20)
	greedy := as("usr_greedy")

	const tries = 12
	var wg sync.WaitGroup
	errs := make([]error, tries)
	for i := range tries {
		wg.Go(func() {
			_, errs[i] = e.svc.Hold(greedy, bookings.HoldRequest{RoomTypeID: rt, CheckIn: in.AddDays(i % 3), CheckOut: in.AddDays(i%3 + 1), Guests: 1})
		})
	}
	wg.Wait()
	held, refused := 0, 0
	var last error
	for _, err := range errs {
		switch {
		case err == nil:
			held++
		case errors.Is(err, bookings.ErrTooManyHolds):
			refused++
			last = err
		default:
			t.Fatalf("Hold: %v", err)
		}
	}
	if held != limit || refused != tries-limit {
		t.Fatalf("held %d, refused %d; want %d and %d", held, refused, limit, tries-limit)
	}
	if ae := apperr.As(last); ae.Status() != 409 || ae.Reason != "bookings.too_many_holds" {
		t.Fatalf("refusal = %+v, want 409 bookings.too_many_holds", ae)
	}

	// Another guest still holds; a cancelled hold frees a slot.
	other := e.hold(t, as("usr_other"), rt, in, 1)
	if other.Status != bookings.StatusPending {
		t.Fatalf("other guest's hold = %+v", other)
	}
	list, err := e.svc.List(greedy, bookings.ListRequest{})
	if err != nil || len(list.Bookings) != limit {
		t.Fatalf("greedy's bookings = %d, %v", len(list.Bookings), err)
	}
	if _, err := e.svc.Cancel(greedy, bookings.CancelRequest{ID: list.Bookings[0].ID}); err != nil {
		t.Fatal(err)
	}
	e.hold(t, greedy, rt, in, 1)
}

// A stay starting past the configured horizon is refused naming check_in,
// and so is one in the year 9999 (search refuses it first).
func TestHold_Horizon(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, bookingslocal.Deps{HorizonMonths: 6})
	rt := e.roomType(t, 5, 10000)
	today := lisbonToday(t)
	for _, tc := range []struct {
		name   string
		in     civil.Date
		target *apperr.Error
	}{
		{"PastBookingsHorizon", search.Horizon(today, 6).AddDays(1), bookings.ErrInvalidRequest},
		{"Year9999", civil.MustParse("9999-12-01"), search.ErrInvalidStay},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.Hold(guest, bookings.HoldRequest{RoomTypeID: rt, CheckIn: tc.in, CheckOut: tc.in.AddDays(1), Guests: 1})
			if !errors.Is(err, tc.target) || !hasField(err, "check_in") || apperr.As(err).Status() != 422 {
				t.Fatalf("Hold on %s: err = %v, want %v naming check_in", tc.in, err, tc.target)
			}
		})
	}
	// The last day of the horizon is still open.
	e.hold(t, guest, rt, search.Horizon(today, 6), 1)
}

func hasField(err error, name string) bool {
	for _, f := range apperr.As(err).Fields {
		if f.Field == name {
			return true
		}
	}
	return false
}
