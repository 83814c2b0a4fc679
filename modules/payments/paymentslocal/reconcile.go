package paymentslocal

import (
	"context"

	"errors"

	"github.com/bellhop/bellhop/modules/payments/provider"
)

// reconcile settles payments whose outcome is unknown (and payments left
// processing by a process that died mid-call) by asking the provider what
// became of their idempotency key. A charge the provider never recorded is
// settled as failed ("not charged") once it has been unknown for longer than
// the grace period (a provider's search may lag its writes). It reports how
// many it settled.
func (s *Service) reconcile(ctx context.Context) (int, error) {
	now := s.now()
	rows, err := s.store.unsettled(ctx, now.Add(-s.cfg.staleAfter), 100)
	if err != nil {
		return 0, err
	}
	settled := 0
	for _, r := range rows {
		if ctx.Err() != nil || s.prov.BreakerOpen() {
			break
		}
		res, err := s.prov.Lookup(ctx, r.ID)
		switch {
		case err == nil:
		case errors.Is(err, provider.ErrNotFound) && r.UpdatedAt.Before(s.now().Add(-s.cfg.notFoundGrace)):
			res = provider.ChargeResult{Status: provider.StatusFailed, FailureCode: provider.CodeNotCharged,
				FailureMessage: "The payment could not be completed; no money was taken. Try again."}
		case errors.Is(err, provider.ErrNotFound):
			continue // perhaps not searchable yet: next round
		default:
			s.log.WarnContext(ctx, "cannot look a payment up at the provider; will try again", "payment_id", r.ID, "err", err)
			continue
		}
		p, err := s.settle(ctx, r, res)
		if err != nil {
			return settled, err
		}
		if p.Status != r.Status {
			settled++
			s.log.InfoContext(ctx, "payment reconciled", "payment_id", r.ID, "booking_id", r.BookingID, "status", p.Status)
		}
	}
	return settled, nil
}

// pruneKeys forgets idempotency keys past their 24 hours.
func (s *Service) pruneKeys(ctx context.Context) error {
	return s.store.write(ctx, func(tx storeTx) error { return tx.pruneIdempotencyKeys(ctx, s.now()) })
}
