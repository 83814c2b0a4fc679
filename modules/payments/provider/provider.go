// Package provider is how the payments module talks to a payment provider (a
// bank, or a payment service such as Stripe): one interface that the
// embedded sandbox bank and the Stripe adapter implement, and [Guard], the
// wrapper every call goes through in production (a timeout per attempt,
// retries with the same idempotency key, and a circuit breaker).
//
// Bellhop never sees a card number: a charge names a payment method token
// ("pm_card_visa"), and what is known about the card (brand, last four
// digits, expiry) comes back from the provider.
package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/platform/money"
)

// Outcomes of a charge the provider answered.
const (
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// Failure codes of a failed charge, as Stripe names them. Providers may
// report others.
const (
	CodeCardDeclined         = "card_declined"
	CodeInsufficientFunds    = "insufficient_funds"
	CodeExpiredCard          = "expired_card"
	CodeProcessingError      = "processing_error"
	CodeInvalidPaymentMethod = "invalid_payment_method"
	CodeAuthenticationNeeded = "authentication_required"
	// CodeProviderRejected: the provider refused the request (ErrRejected).
	CodeProviderRejected = "provider_rejected"
	// CodeNotCharged: the provider never recorded the charge (Lookup found
	// nothing after the outcome was unknown).
	CodeNotCharged = "not_charged"
	// CodeProviderMismatch: the provider said succeeded, but for another
	// amount, currency or charge than the one asked for (see [CheckAnswer]).
	CodeProviderMismatch = "provider_mismatch"
)

// ChargeRequest asks the provider to take Amount from PaymentMethod.
// IdempotencyKey makes the charge happen at most once: the same key always
// names the same charge, however often it is sent.
type ChargeRequest struct {
	IdempotencyKey string
	Amount         money.Money
	PaymentMethod  string // a token such as "pm_card_visa", never a card number
	Description    string // shown on the provider's side (the booking id)
}

// ChargeResult is the provider's definitive answer about a charge.
type ChargeResult struct {
	ProviderRef    string // the provider's id of the charge ("ch_...", "pi_...")
	Status         string // StatusSucceeded or StatusFailed
	FailureCode    string // for failed charges, e.g. CodeCardDeclined
	FailureMessage string // safe to show the guest
	// Card is what the provider reported about the card, if anything.
	Card *payments.Card
	// Amount is what the provider says it charged, and Reference the
	// idempotency key it says the charge was made with: a succeeded answer
	// is believed only if both match the charge (see [CheckAnswer]).
	Amount    money.Money
	Reference string
}

// RefundResult is the provider's answer to a refund it accepted.
type RefundResult struct {
	ProviderRef string // the provider's id of the refund ("re_...")
	Status      string // RefundSucceeded or RefundPending (accepted, settling); see [NormalizeRefund]
	// Amount is what the provider says it refunded, and Charge the charge
	// (its ProviderRef) it says it refunded: the answer is believed only if
	// both match the refund asked for (see [CheckRefund]).
	Amount money.Money
	Charge string
}

// Refund statuses after [NormalizeRefund]: anything a provider sends that
// is not one of the first three is RefundUnknown.
const (
	RefundSucceeded = "succeeded"
	RefundPending   = "pending"
	RefundFailed    = "failed"
	RefundUnknown   = "unknown"
)

// Provider is a payment provider. Every method is idempotent by its key.
//
// Errors are classified with errors.Is:
//   - [ErrUnavailable]: no answer (transport failure, timeout, 5xx). The
//     request may or may not have been processed: retry with the same key,
//     or ask [Provider.Lookup] later.
//   - [ErrRejected]: the provider refused the request itself (bad
//     parameters, a key reused with other parameters, bad credentials);
//     nothing happened and retrying will not help.
//   - [ErrNotFound]: no charge with that key (Lookup) or ref (Refund).
//   - [ErrNotAttempted] (from [Guard] only): the request was never sent
//     (the circuit breaker is open): certainly nothing happened.
//
// A declined card is not an error: it is a ChargeResult with StatusFailed.
type Provider interface {
	// Name is the provider's name as payments report it: "sandbox", "stripe".
	Name() string
	// Charge takes the amount from the payment method once per key.
	Charge(ctx context.Context, req ChargeRequest) (ChargeResult, error)
	// Refund pays amount of the charge providerRef back, once per key.
	Refund(ctx context.Context, idempotencyKey, providerRef string, amount money.Money) (RefundResult, error)
	// Lookup returns the outcome of the charge made with idempotencyKey, or
	// ErrNotFound if the provider never recorded one: the reconciler uses it
	// to settle payments whose outcome is unknown.
	Lookup(ctx context.Context, idempotencyKey string) (ChargeResult, error)
}

// Error classes; see [Provider].
var (
	ErrUnavailable  = errors.New("payment provider unavailable")
	ErrRejected     = errors.New("payment provider rejected the request")
	ErrNotFound     = errors.New("payment provider has no such charge")
	ErrNotAttempted = errors.New("payment provider not called: circuit breaker open")
)

// Unavailable wraps cause as an [ErrUnavailable] error.
func Unavailable(cause error) error { return fmt.Errorf("%w: %w", ErrUnavailable, cause) }

// Rejected wraps cause as an [ErrRejected] error.
func Rejected(cause error) error { return fmt.Errorf("%w: %w", ErrRejected, cause) }
