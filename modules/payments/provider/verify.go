package provider

import (
	"errors"
	"fmt"

	"github.com/bellhop/bellhop/platform/money"
)

// ErrMismatch: the provider's answer is not about the charge that was asked
// for.
var ErrMismatch = errors.New("payment provider answered for another charge")

// CheckAnswer reports whether a succeeded answer is about req: the amount,
// the currency and the reference (the idempotency key) it echoes must be the
// charge's. A provider answering "succeeded, 1 USD" for a 124 EUR charge, or
// with another charge's key, has not confirmed this one. Failed answers are
// not checked: nothing is confirmed by them.
func CheckAnswer(req ChargeRequest, res ChargeResult) error {
	if res.Status != StatusSucceeded {
		return nil
	}
	switch {
	case res.Amount.Amount != req.Amount.Amount || res.Amount.Currency != req.Amount.Currency:
		return fmt.Errorf("%w: charged %d %s, asked %d %s", ErrMismatch,
			res.Amount.Amount, res.Amount.Currency, req.Amount.Amount, req.Amount.Currency)
	case res.Reference != req.IdempotencyKey:
		return fmt.Errorf("%w: reference %.64q, asked %q", ErrMismatch, res.Reference, req.IdempotencyKey)
	}
	return nil
}

// ErrRefundRefused: the provider answered a refund with a failed or
// unrecognised status: no money is known to have gone back.
var ErrRefundRefused = errors.New("payment provider did not accept the refund")

// CheckRefund reports whether a refund answer (already [NormalizeRefund]d)
// confirms the refund of amount from the charge chargeRef: an accepted
// status, a refund id, and the amount, currency and charge it echoes
// matching. A provider answering "refunded 1 USD" for a 124 EUR refund, or
// for another charge, has not confirmed this one.
func CheckRefund(chargeRef string, amount money.Money, res RefundResult) error {
	switch {
	case res.Status != RefundSucceeded && res.Status != RefundPending:
		return fmt.Errorf("%w: status %q", ErrRefundRefused, res.Status)
	case res.ProviderRef == "":
		return fmt.Errorf("%w: the refund has no usable id", ErrMismatch)
	case res.Amount != amount:
		return fmt.Errorf("%w: refunded %d %s, asked %d %s", ErrMismatch,
			res.Amount.Amount, res.Amount.Currency, amount.Amount, amount.Currency)
	case res.Charge != chargeRef:
		return fmt.Errorf("%w: refund of charge %.64q, asked %q", ErrMismatch, res.Charge, chargeRef)
	}
	return nil
}
