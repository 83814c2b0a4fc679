package paymentslocal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

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
	return s.onBookingEvent(ctx, inTx(tx), evt)
}

func (s *Service) onBookingEvent(ctx context.Context, tx storeTx, evt events.Event) error {
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
	pay, found, err := tx.livePayment(ctx, b.ID, p.PaymentID)
	if err != nil {
		return err
	}
	if !found {
		s.log.InfoContext(ctx, "booking ended with no payment to refund", "booking_id", b.ID, "event", evt.Type)
		return nil
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
	return tx.insertRefund(ctx, row)
}

// sendRefunds sends the refunds that are due, oldest first, and reports
// how many it settled. A refund waits while its payment's outcome is not
// known; it is cancelled if the payment failed (nothing was taken).
func (s *Service) sendRefunds(ctx context.Context) (int, error) {
	due, err := s.store.dueRefunds(ctx, s.now(), 100)
	if err != nil {
		return 0, err
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
	pay, err := s.store.payment(ctx, r.PaymentID)
	if err != nil {
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
		err := s.store.write(ctx, func(tx storeTx) error { return tx.setRefundAmount(ctx, r.ID, left, s.now()) })
		if err != nil {
			return false, err
		}
		r.Amount = left
	}
	amount := money.New(r.Amount, r.Currency)
	res, err := s.prov.Refund(ctx, r.ID, pay.ProviderRef, amount)
	if err == nil {
		// Nothing a provider says is believed unchecked: a refund of another
		// amount or charge, or a status that is not an acceptance, is not
		// recorded as money returned.
		err = provider.CheckRefund(pay.ProviderRef, amount, provider.NormalizeRefund(res))
	}
	switch {
	case errors.Is(err, provider.ErrRejected), errors.Is(err, provider.ErrNotFound),
		errors.Is(err, provider.ErrMismatch), errors.Is(err, provider.ErrRefundRefused):
		s.log.ErrorContext(ctx, "payment provider refused a refund; it needs an operator", "refund_id", r.ID, "payment_id", pay.ID, "err", err)
		return true, s.endRefund(ctx, r.ID, refundFailed, err.Error())
	case err != nil:
		r.Attempts++
		return false, s.retryRefund(ctx, r, err.Error(), refundBackoff(r.Attempts))
	}
	recorded := false
	err = s.store.write(ctx, func(tx storeTx) error {
		now := s.now()
		sent, err := tx.refundSent(ctx, r.ID, res.ProviderRef, r.Attempts+1, now)
		if err != nil || !sent {
			return err // !sent: applied already (another worker)
		}
		if err := tx.addRefunded(ctx, pay.ID, r.Amount, now); err != nil {
			return err
		}
		out, err := tx.payment(ctx, pay.ID)
		if err != nil {
			return err
		}
		recorded = true
		return tx.record(ctx, payments.EventRefunded, payments.PaymentEvent{Payment: out.toPayment(), RefundAmount: amount})
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
	return s.store.write(ctx, func(tx storeTx) error { return tx.endRefund(ctx, id, status, why, s.now()) })
}

func (s *Service) retryRefund(ctx context.Context, r refundRow, why string, after time.Duration) error {
	now := s.now()
	return s.store.write(ctx, func(tx storeTx) error {
		return tx.retryRefund(ctx, r.ID, r.Attempts, why, now.Add(after), now)
	})
}

// refundBackoff spaces a refund's attempts: 1s doubling, up to 10 minutes.
func refundBackoff(attempts int) time.Duration {
	d := time.Second << min(attempts-1, 10)
	return min(d, 10*time.Minute)
}
