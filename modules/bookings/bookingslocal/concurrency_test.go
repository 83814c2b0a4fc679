package bookingslocal_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/bookings/bookingslocal"
	"github.com/bellhop/bellhop/platform/civil"
)

// 200 guests ask at once for the same nights of a room type with 3 rooms:
// exactly 3 get a booking, every other one ErrSoldOut, nothing else fails,
// and the inventory counts 3 rooms taken each night.
func TestHold_ConcurrentLastRooms(t *testing.T) {
	concurrentLastRooms(t, newEnv(t, false, bookingslocal.Deps{}), 200)
}

func concurrentLastRooms(t *testing.T, e *env, n int) {
	rt := e.roomType(t, 3, 12000)
	in := lisbonToday(t).AddDays(20)
	req := bookings.HoldRequest{RoomTypeID: rt, CheckIn: in, CheckOut: in.AddDays(3), Guests: 2}

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		won     []bookings.Booking
		soldOut int
		other   []error
		start   = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			ctx := as(fmt.Sprintf("usr_%03d", i))
			<-start
			b, err := e.svc.Hold(ctx, req)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, b)
			case errors.Is(err, bookings.ErrSoldOut):
				soldOut++
			default:
				other = append(other, err)
			}
		})
	}
	close(start)
	wg.Wait()

	if len(other) > 0 {
		t.Fatalf("%d holds failed otherwise than sold out, e.g. %v", len(other), other[0])
	}
	if len(won) != 3 || soldOut != n-3 {
		t.Fatalf("%d holds won, %d sold out; want 3 and %d", len(won), soldOut, n-3)
	}
	for _, night := range civil.Nights(req.CheckIn, req.CheckOut) {
		if got := e.taken(t, rt, night); got != 3 {
			t.Errorf("%s: %d rooms taken, want 3", night, got)
		}
	}
	held := 0
	for _, p := range e.outbox(t) {
		if p.Type == bookings.EventHeld && p.Booking.RoomTypeID == rt {
			held++
		}
	}
	if held != 3 {
		t.Errorf("%d booking.held events, want 3 (a sold-out hold must record nothing)", held)
	}
	// The losers left no trace: their bookings were rolled back too.
	list, err := e.svc.List(staff, bookings.ListRequest{Limit: 100})
	if err != nil || len(list.Bookings) != 3 {
		t.Fatalf("bookings stored = %d, %v", len(list.Bookings), err)
	}
}

// One guest's request retried 20 times at once with one idempotency key,
// the first still running: one booking, one room, 20 identical answers.
func TestHold_ConcurrentIdempotencyKey(t *testing.T) {
	concurrentIdempotencyKey(t, newEnv(t, false, bookingslocal.Deps{}))
}

func concurrentIdempotencyKey(t *testing.T, e *env) {
	rt := e.roomType(t, 5, 12000)
	in := lisbonToday(t).AddDays(20)
	req := bookings.HoldRequest{IdempotencyKey: "retry-me", RoomTypeID: rt, CheckIn: in, CheckOut: in.AddDays(2), Guests: 2}
	const n = 20
	results := make([]bookings.Booking, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			results[i], errs[i] = e.svc.Hold(guest, req)
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("hold %d: %v", i, errs[i])
		}
		if results[i].ID != results[0].ID || !results[i].CreatedAt.Equal(results[0].CreatedAt) {
			t.Fatalf("hold %d = %s, hold 0 = %s", i, results[i].ID, results[0].ID)
		}
	}
	if got := e.taken(t, rt, in); got != 1 {
		t.Fatalf("%d rooms taken, want 1", got)
	}
}
