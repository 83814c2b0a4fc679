package bookingslocal

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/platform/events"
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
func (s *Service) transition(ctx context.Context, tx *gorm.DB, r *bookingRow, to string, now time.Time, set func(*bookingRow)) error {
	if !allowed(r.Status, to) {
		return fmt.Errorf("booking %s: no transition from %s to %s", r.ID, r.Status, to)
	}
	next := *r
	next.Status, next.UpdatedAt = to, now
	if set != nil {
		set(&next)
	}
	res := tx.Model(&bookingRow{}).Where("id = ? AND status = ?", r.ID, r.Status).Updates(map[string]any{
		"status": next.Status, "updated_at": next.UpdatedAt, "payment_id": next.PaymentID,
		"cancellation_fee": next.CancellationFee, "refund": next.Refund,
	})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return errStale
	}
	if holdsRooms(r.Status) && !holdsRooms(to) {
		if err := release(tx, r.RoomTypeID, nightDates(*r)); err != nil {
			return err
		}
	}
	if err := record(ctx, tx, eventOf[to], next, next.PaymentID); err != nil {
		return err
	}
	*r = next
	return nil
}

// takeRoom takes a room on a night in one atomic statement: insert the night
// with one room taken, or add one to it, but only while fewer than
// rooms_total (that of the quote just made, which it also records) are
// taken. No row changed means the night is full.
const takeRoom = `INSERT INTO inventory (room_type_id, date, taken, rooms_total) VALUES (?, ?, 1, ?)
ON CONFLICT (room_type_id, date) DO UPDATE SET taken = inventory.taken + 1, rooms_total = excluded.rooms_total
WHERE inventory.taken < excluded.rooms_total`

// take takes one room of the type on each night in tx, or returns
// bookings.ErrSoldOut as soon as a night is full (the caller rolls back).
func take(tx *gorm.DB, roomTypeID string, nights []string, roomsTotal int) error {
	if roomsTotal < 1 {
		return bookings.ErrSoldOut
	}
	for _, night := range nights {
		res := tx.Exec(takeRoom, roomTypeID, night, roomsTotal)
		if res.Error != nil {
			return fmt.Errorf("take %s on %s: %w", roomTypeID, night, res.Error)
		}
		if res.RowsAffected == 0 {
			return bookings.ErrSoldOut
		}
	}
	return nil
}

// release gives back one room of the type on each night, in tx.
func release(tx *gorm.DB, roomTypeID string, nights []string) error {
	err := tx.Exec("UPDATE inventory SET taken = taken - 1 WHERE room_type_id = ? AND date IN ? AND taken > 0", roomTypeID, nights).Error
	if err != nil {
		return fmt.Errorf("release %s: %w", roomTypeID, err)
	}
	return nil
}

// paymentSubjects are the payment events bookings consumes.
var paymentSubjects = []string{events.Subject(payments.Module, "bellhop.payment.>")}

// applyPaymentEvent is the bookings side of the saga, run by the consumer in
// its transaction (after the event's id was recorded in the inbox, so it
// applies once):
//
//   - payment.succeeded for a pending booking whose hold has not expired
//     confirms it (booking.confirmed with the payment id).
//   - payment.succeeded once the hold has expired, whether the expiry job
//     has run (expired) or not yet (pending, past hold_expires_at), rejects
//     it: booking.rejected with the payment id, so payments refunds, and
//     the rooms released if they were still held. An expired hold's rooms
//     are never taken back, even when free: they may have been sold and
//     freed again meanwhile, and search's availability view counts a
//     release as final. The guest may book again.
//   - payment.succeeded that the booking cannot take (cancelled, already
//     confirmed or rejected with another payment, a different amount):
//     booking.payment_refused, the booking unchanged: payments refunds.
//   - payment.failed changes nothing: the booking stays pending until its
//     hold expires, and the guest may pay again. payment.refunded is
//     payments' own business.
func (s *Service) applyPaymentEvent(ctx context.Context, tx *gorm.DB, evt events.Event) error {
	if evt.Type != payments.EventSucceeded {
		return nil
	}
	var p payments.PaymentEvent
	if err := evt.Decode(&p); err != nil {
		return err
	}
	pay := p.Payment
	if pay.ID == "" || pay.BookingID == "" {
		return events.Permanent(fmt.Errorf("payment event %s names no payment or booking", evt.ID))
	}
	row, err := load(ctx, tx, pay.BookingID)
	if err != nil {
		// Payments read the booking before charging it, so it exists: keep
		// retrying (and dead-letter it in the end) rather than drop a payment.
		return fmt.Errorf("payment %s for booking %s: %w", pay.ID, pay.BookingID, err)
	}
	log := s.log.With("booking", row.ID, "payment", pay.ID, "status", row.Status)
	now := s.now()
	setPayment := func(r *bookingRow) { r.PaymentID = pay.ID }
	switch {
	case row.PaymentID == pay.ID:
		return nil // this payment was applied already
	case pay.Amount.Amount != row.Total || pay.Amount.Currency != row.Currency:
		log.Warn("payment amount differs from the booking's total; refused", "amount", pay.Amount, "total", row.Total)
		return refuse(ctx, tx, row, pay.ID)
	case row.Status == bookings.StatusPending && now.Before(row.HoldExpiresAt):
		return s.transition(ctx, tx, &row, bookings.StatusConfirmed, now, setPayment)
	case row.Status == bookings.StatusPending || row.Status == bookings.StatusExpired:
		log.Info("paid after the hold expired; rejected", "hold_expires_at", row.HoldExpiresAt)
		return s.transition(ctx, tx, &row, bookings.StatusRejected, now, setPayment)
	default:
		log.Warn("payment for a booking that cannot take it; refused")
		return refuse(ctx, tx, row, pay.ID)
	}
}

// refuse records booking.payment_refused: the booking is unchanged and
// payments refunds the payment.
func refuse(ctx context.Context, tx *gorm.DB, r bookingRow, paymentID string) error {
	return record(ctx, tx, bookings.EventPaymentRefused, r, paymentID)
}

// expiryBatch is how many expired holds one round of expireHolds reads.
const expiryBatch = 100

// expireHolds expires the pending bookings whose hold has run out, each in a
// transaction of its own (status expired, rooms released, booking.expired),
// and returns how many it expired.
func (s *Service) expireHolds(ctx context.Context) (int, error) {
	expired := 0
	for {
		now := s.now()
		var ids []string
		err := s.db.WithContext(ctx).Model(&bookingRow{}).
			Where("status = ? AND hold_expires_at <= ?", bookings.StatusPending, now).
			Order("hold_expires_at, id").Limit(expiryBatch).Pluck("id", &ids).Error
		if err != nil {
			return expired, fmt.Errorf("find expired holds: %w", err)
		}
		for _, id := range ids {
			done := false
			err := s.write(ctx, func(tx *gorm.DB) error {
				done = false
				row, err := load(ctx, tx, id)
				if err != nil {
					return err
				}
				if row.Status != bookings.StatusPending || row.HoldExpiresAt.After(now) {
					return nil // paid or cancelled meanwhile
				}
				done = true
				return s.transition(ctx, tx, &row, bookings.StatusExpired, now, nil)
			})
			if err != nil {
				return expired, fmt.Errorf("expire %s: %w", id, err)
			}
			if done {
				expired++
			}
		}
		if len(ids) < expiryBatch {
			return expired, nil
		}
	}
}
