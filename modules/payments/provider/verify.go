package provider

import (
	"errors"
	"fmt"
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
