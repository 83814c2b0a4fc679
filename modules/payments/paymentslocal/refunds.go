package paymentslocal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/payments/provider"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/ids"
	"github.com/bellhop/bellhop/platform/money"
)

// refundSubjects are the booking events that ask for money back.
var refundSubjects = []string{
	events.Subject(bookings.Module, bookings.EventRejected),
	events.Subject(bookings.Module, bookings.EventCancelled),
	events.Subject(bookings.Module, bookings.EventPaymentRefused),
}

// applyBookingEvent turns a rejected booking (refund in full), a cancelled
// one (refund its Refund amount, if any) or a payment the booking refused
// (it was cancelled or paid meanwhile: refund that payment in full) into a
// pending refund of the booking's payment. It runs in the consumer's transaction after the
// event's id was recorded in the inbox, so a redelivered event asks for
// nothing more; the refund itself is sent by the refund worker, outside any
// transaction (see sendRefunds).
func (s *Service) applyBookingEvent(ctx context.Context, tx *gorm.DB, evt events.Event) error {
	var reason string
	switch evt.Type {
	case bookings.EventRejected:
		reason = reasonRejected
	case bookings.EventCancelled:
		reason = reasonCancelled
	case bookings.EventPaymentRefused:
		reason = reasonRefused
	default:
		return nil
	}
	var p bookings.BookingEvent
	if err := evt.Decode(&p); err != nil {
		return err
	}
	b := p.Booking
	if reason == reasonCancelled && b.Refund.Amount <= 0 {
		return nil // cancelled with nothing to pay back
	}
	// The booking's payment that did not fail: at most one (a unique index).
	var pay paymentRow
	q := tx.Where("booking_id = ? AND status <> ?", b.ID, payments.StatusFailed)
	if p.PaymentID != "" {
		q = q.Where("id = ?", p.PaymentID)
	}
	err := q.Take(&pay).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		s.log.InfoContext(ctx, "booking ended with no payment to refund", "booking_id", b.ID, "event", evt.Type)
		return nil
	}
	if err != nil {
		return err
	}
	var amount int64 // 0: all that is left when the refund is sent
	if reason == reasonCancelled {
		if b.Refund.Currency != pay.Currency {
			return events.Permanent(fmt.Errorf("booking %s: refund in %s of a payment in %s", b.ID, b.Refund.Currency, pay.Currency))
		}
		amount = b.Refund.Amount
	}
	now := s.now()
	row := refundRow{
		ID: ids.New("ref"), PaymentID: pay.ID, BookingID: b.ID, Reason: reason, EventID: evt.ID,
		Amount: amount, Currency: pay.Currency, Status: refundPending, NextAttemptAt: &now,
		CreatedAt: now, UpdatedAt: now,
	}
	// Once per booking and reason, even if bookings published the event twice.
	return tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "booking_id"}, {Name: "reason"}},
		DoNothing: true,
	}).Create(&row).Error
}

// sendRefunds sends the refunds that are due, oldest first, and reports
// how many it settled. A refund waits while its payment's outcome is not
// known; it is cancelled if the payment failed (nothing was taken).
func (s *Service) sendRefunds(ctx context.Context) (int, error) {
	var due []refundRow
	if err := s.db.WithContext(ctx).Where("status = ? AND next_attempt_at <= ?", refundPending, s.now()).
		Order("created_at, id").Limit(100).Find(&due).Error; err != nil {
		return 0, fmt.Errorf("read due refunds: %w", err)
	}
	settled := 0
	for _, r := range due {
		if ctx.Err() != nil {
			return settled, nil
		}
		if s.prov.BreakerOpen() {
			return settled, nil // later: the breaker will let a probe through
		}
		ok, err := s.sendRefund(ctx, r)
		if err != nil {
			s.log.ErrorContext(ctx, "refund failed to be recorded", "refund_id", r.ID, "err", err)
			continue
		}
		if ok {
			settled++
		}
	}
	return settled, nil
}

// sendRefund sends one refund: read, call the provider, then write with a
// guard that the refund is still pending.
func (s *Service) sendRefund(ctx context.Context, r refundRow) (bool, error) {
	var pay paymentRow
	if err := s.db.WithContext(ctx).Where("id = ?", r.PaymentID).Take(&pay).Error; err != nil {
		return false, err
	}
	switch pay.Status {
	case payments.StatusFailed:
		return true, s.endRefund(ctx, r.ID, refundCancelled, "the payment failed: nothing to refund")
	case payments.StatusProcessing, payments.StatusUnknown:
		return false, s.retryRefund(ctx, r, "the payment's outcome is not known yet", s.cfg.reconcileEvery)
	}
	left := pay.Amount - pay.Refunded
	if r.Amount == 0 || (r.Attempts == 0 && r.Amount > left) {
		// The amount is fixed before the first call and never changes after
		// it: the provider refuses a key reused with another amount.
		if left <= 0 {
			return true, s.endRefund(ctx, r.ID, refundCancelled, "nothing left to refund")
		}
		err := s.write(ctx, func(tx *gorm.DB) error {
			return tx.Model(&refundRow{}).Where("id = ? AND status = ?", r.ID, refundPending).
				Updates(map[string]any{"amount": left, "updated_at": s.now()}).Error
		})
		if err != nil {
			return false, err
		}
		r.Amount = left
	}
	amount := money.New(r.Amount, r.Currency)
	res, err := s.prov.Refund(ctx, r.ID, pay.ProviderRef, amount)
	switch {
	case errors.Is(err, provider.ErrRejected), errors.Is(err, provider.ErrNotFound):
		s.log.ErrorContext(ctx, "payment provider refused a refund; it needs an operator", "refund_id", r.ID, "payment_id", pay.ID, "err", err)
		return true, s.endRefund(ctx, r.ID, refundFailed, err.Error())
	case err != nil:
		r.Attempts++
		return false, s.retryRefund(ctx, r, err.Error(), refundBackoff(r.Attempts))
	}
	recorded := false
	err = s.write(ctx, func(tx *gorm.DB) error {
		now := s.now()
		upd := tx.Model(&refundRow{}).Where("id = ? AND status = ?", r.ID, refundPending).Updates(map[string]any{
			"status": refundSucceeded, "provider_ref": clip(res.ProviderRef, 128), "attempts": r.Attempts + 1,
			"last_error": "", "next_attempt_at": nil, "updated_at": now,
		})
		if upd.Error != nil || upd.RowsAffected == 0 {
			return upd.Error // applied already (another worker)
		}
		err := tx.Model(&paymentRow{}).Where("id = ?", pay.ID).Updates(map[string]any{
			"refunded": gorm.Expr("refunded + ?", r.Amount),
			"status": gorm.Expr("CASE WHEN refunded + ? >= amount THEN ? ELSE ? END",
				r.Amount, payments.StatusRefunded, payments.StatusPartiallyRefunded),
			"updated_at": now,
		}).Error
		if err != nil {
			return err
		}
		var out paymentRow
		if err := tx.Where("id = ?", pay.ID).Take(&out).Error; err != nil {
			return err
		}
		recorded = true
		return s.record(ctx, tx, payments.EventRefunded, payments.PaymentEvent{Payment: out.toPayment(), RefundAmount: amount})
	})
	if err != nil {
		return false, err
	}
	if recorded {
		s.log.InfoContext(ctx, "refund sent", "refund_id", r.ID, "payment_id", pay.ID, "booking_id", r.BookingID, "amount", amount.String())
	}
	return true, nil
}

func (s *Service) endRefund(ctx context.Context, id, status, why string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Model(&refundRow{}).Where("id = ? AND status = ?", id, refundPending).Updates(map[string]any{
			"status": status, "last_error": clip(why, 500), "next_attempt_at": nil, "updated_at": s.now(),
		}).Error
	})
}

func (s *Service) retryRefund(ctx context.Context, r refundRow, why string, after time.Duration) error {
	next := s.now().Add(after)
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Model(&refundRow{}).Where("id = ? AND status = ?", r.ID, refundPending).Updates(map[string]any{
			"attempts": r.Attempts, "last_error": clip(why, 500), "next_attempt_at": next, "updated_at": s.now(),
		}).Error
	})
}

// refundBackoff spaces a refund's attempts: 1s doubling, up to 10 minutes.
func refundBackoff(attempts int) time.Duration {
	d := time.Second << min(attempts-1, 10)
	return min(d, 10*time.Minute)
}
