package bookingslocal

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/platform/events"
)

// paymentSubjects are the payment events bookings consumes.
var paymentSubjects = []string{events.Subject(payments.Module, "bellhop.payment.>")}

// applyPaymentEvent is the consumer's handler: it applies the event in the
// consumer's transaction (see onPayment).
func (s *Service) applyPaymentEvent(ctx context.Context, tx *gorm.DB, evt events.Event) error {
	return s.onPayment(ctx, inTx(tx), evt)
}

// onPayment is the bookings side of the saga, run by the consumer in its
// transaction (after the event's id was recorded in the inbox, so it
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
func (s *Service) onPayment(ctx context.Context, tx storeTx, evt events.Event) error {
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
	row, err := tx.booking(ctx, pay.BookingID)
	if err != nil {
		// Payments read the booking before charging it, so it exists: keep
		// retrying (and dead-letter it in the end) rather than drop a payment.
		return fmt.Errorf("payment %s for booking %s: %w", pay.ID, pay.BookingID, err)
	}
	log := s.log.With("booking", row.ID, "payment", pay.ID, "status", row.Status)
	now := s.now()
	paid := &bookings.EventPayment{ID: pay.ID, Amount: pay.Amount, PaidAt: pay.UpdatedAt}
	if pay.Card != nil {
		paid.Brand, paid.Last4 = pay.Card.Brand, pay.Card.Last4
	}
	row.payment = paid
	setPayment := func(r *bookingRow) { r.PaymentID, r.payment = pay.ID, paid }
	switch {
	case row.PaymentID == pay.ID:
		return nil // this payment was applied already
	case pay.Amount.Amount != row.Total || pay.Amount.Currency != row.Currency:
		log.Warn("payment amount differs from the booking's total; refused", "amount", pay.Amount, "total", row.Total)
		return refuse(ctx, tx, row, pay.ID)
	case row.Status == bookings.StatusPending && now.Before(row.HoldExpiresAt):
		return transition(ctx, tx, &row, bookings.StatusConfirmed, now, setPayment)
	case row.Status == bookings.StatusPending || row.Status == bookings.StatusExpired:
		log.Info("paid after the hold expired; rejected", "hold_expires_at", row.HoldExpiresAt)
		return transition(ctx, tx, &row, bookings.StatusRejected, now, setPayment)
	default:
		log.Warn("payment for a booking that cannot take it; refused")
		return refuse(ctx, tx, row, pay.ID)
	}
}

// refuse records booking.payment_refused: the booking is unchanged and
// payments refunds the payment.
func refuse(ctx context.Context, tx storeTx, r bookingRow, paymentID string) error {
	return tx.record(ctx, bookings.EventPaymentRefused, r, paymentID)
}
