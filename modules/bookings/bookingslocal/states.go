package bookingslocal

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
)

// transitions lists, for each status, the statuses a booking may reach it
// from. Every change of status goes through transition, which checks this.
var transitions = map[string][]string{
	bookings.StatusConfirmed: {bookings.StatusPending},
	bookings.StatusExpired:   {bookings.StatusPending},
	bookings.StatusRejected:  {bookings.StatusPending, bookings.StatusExpired}, // paid too late
	bookings.StatusCancelled: {bookings.StatusPending, bookings.StatusConfirmed},
}

// eventOf is the event each transition publishes.
var eventOf = map[string]string{
	bookings.StatusConfirmed: bookings.EventConfirmed,
	bookings.StatusExpired:   bookings.EventExpired,
	bookings.StatusRejected:  bookings.EventRejected,
	bookings.StatusCancelled: bookings.EventCancelled,
}

func allowed(from, to string) bool { return slices.Contains(transitions[to], from) }

// holdsRooms: pending and confirmed bookings have their rooms taken.
func holdsRooms(status string) bool {
	return status == bookings.StatusPending || status == bookings.StatusConfirmed
}

// errStale: the booking's status changed between reading and updating it.
var errStale = errors.New("the booking changed concurrently")

// transition moves the booking r to status to inside tx: a guarded update
// (only from the status r was read in, and only along transitions), its
// rooms released if it stops holding them, and the transition's event
// recorded. set changes other columns.
func transition(ctx context.Context, tx storeTx, r *bookingRow, to string, now time.Time, set func(*bookingRow)) error {
	if !allowed(r.Status, to) {
		return fmt.Errorf("booking %s: no transition from %s to %s", r.ID, r.Status, to)
	}
	next := *r
	next.Status, next.UpdatedAt = to, now
	if set != nil {
		set(&next)
	}
	if err := tx.updateStatus(ctx, r.Status, next); err != nil {
		return err
	}
	if holdsRooms(r.Status) && !holdsRooms(to) {
		if err := tx.releaseRooms(ctx, r.RoomTypeID, nightDates(*r)); err != nil {
			return err
		}
	}
	if err := tx.record(ctx, eventOf[to], next, next.PaymentID); err != nil {
		return err
	}
	*r = next
	return nil
}
