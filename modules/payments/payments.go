// Package payments is the contract of the payments module: charging a
// booking through a payment provider with a payment method token (Bellhop
// never sees a card number), settling payments whose outcome is unknown,
// and refunding rejected and cancelled bookings.
package payments

import (
	"context"
	"time"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/money"
)

// Module is the module's name: its database file, metrics label and config key.
const Module = "payments"

// ScopeRead lets a service (reporting, say) read any payment with Get and List.
const ScopeRead = "payments:read"

// Statuses of a payment: processing → succeeded | failed | unknown; unknown
// is settled later by the reconciler; succeeded → refunded (in full or part).
const (
	StatusProcessing        = "processing"
	StatusSucceeded         = "succeeded"
	StatusFailed            = "failed"
	StatusUnknown           = "unknown"
	StatusRefunded          = "refunded"
	StatusPartiallyRefunded = "partially_refunded"
)

// Errors returned by Service methods; errors.Is works after an HTTP hop.
var (
	ErrInvalidRequest         = apperr.Invalid("payments.invalid_request", "the request has invalid values")
	ErrIdempotencyKeyRequired = apperr.Invalid("payments.idempotency_key_required", "an Idempotency-Key header is required")
	ErrIdempotencyKeyReused   = apperr.Invalid("payments.idempotency_key_reused", "the idempotency key was used with a different request")
	ErrNotFound               = apperr.NotFound("payments.not_found", "no payment has that id")
	ErrNotPayable             = apperr.Conflict("payments.not_payable", "the booking cannot be paid in its current status")
	ErrAlreadyPaid            = apperr.Conflict("payments.already_paid", "the booking is already paid")
	ErrProviderUnavailable    = apperr.Unavailable("payments.provider_unavailable", "the payment provider is unavailable; try again later")
	// ErrPaymentInProgress: another payment of the booking (another
	// idempotency key) is still processing or its outcome is not known yet;
	// paying again now could charge twice.
	ErrPaymentInProgress = apperr.Conflict("payments.payment_in_progress", "another payment of this booking is still being settled; try again shortly")
)

// Service is the payments module. Guests pay and see only their own
// bookings' payments (another guest's is ErrNotFound); staff see all.
type Service interface {
	// Pay charges the booking's total (from bookings.Get, never from the
	// client) to the payment method. The same IdempotencyKey and request
	// return the first result, also while the first call is still running.
	// A declined card is not an error: the payment is returned as failed.
	// A provider that did not answer (after retries) is not an error either:
	// the payment is returned as unknown and settled later by the reconciler.
	// A replay returns the payment as it is now (an unknown one may have
	// been settled since).
	// Errors: ErrIdempotencyKeyRequired, ErrIdempotencyKeyReused,
	// ErrInvalidRequest, ErrNotPayable, ErrAlreadyPaid, ErrPaymentInProgress,
	// ErrProviderUnavailable (nothing was charged: retry with the same key),
	// bookings.ErrNotFound, authn errors.
	Pay(ctx context.Context, req PayRequest) (Payment, error)
	// Get returns a payment. Errors: ErrNotFound, ErrInvalidRequest, authn errors.
	Get(ctx context.Context, req GetRequest) (Payment, error)
	// List returns payments, newest first: a guest's own, or (staff, or a
	// service with ScopeRead) all; the filters narrow either.
	// Errors: ErrInvalidRequest, authn errors.
	List(ctx context.Context, req ListRequest) (PaymentList, error)
}

// PayRequest pays a booking with a payment method token such as
// "pm_card_visa" (the sandbox's and Stripe's test tokens).
type PayRequest struct {
	IdempotencyKey string `json:"-" validate:"required,max=255"`
	BookingID      string `json:"booking_id" validate:"notblank,max=64"`
	PaymentMethod  string `json:"payment_method" validate:"notblank,max=255,safetext"`
}

// GetRequest names a payment.
type GetRequest struct {
	ID string `param:"id" json:"id" validate:"notblank,max=64"`
}

// ListRequest filters payments (the filters apply to staff).
type ListRequest struct {
	BookingID string `query:"booking_id" json:"booking_id" validate:"max=64"`
	Status    string `query:"status" json:"status" validate:"omitempty,oneof=processing succeeded failed unknown refunded partially_refunded"`
	Limit     int    `query:"limit" json:"limit" validate:"gte=0,lte=100"` // 0: 20
	Cursor    string `query:"cursor" json:"cursor" validate:"max=512"`
}

// PaymentList is a page of payments.
type PaymentList struct {
	Payments   []Payment `json:"payments"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

// Payment is one attempt to charge a booking.
type Payment struct {
	ID        string      `json:"id"`
	BookingID string      `json:"booking_id"`
	GuestID   string      `json:"guest_id"`
	Amount    money.Money `json:"amount"`
	Refunded  money.Money `json:"refunded"`
	Status    string      `json:"status"`
	Provider  string      `json:"provider"` // sandbox or stripe
	// Card is what the provider reported about the card (never its number).
	Card           *Card     `json:"card,omitempty"`
	FailureCode    string    `json:"failure_code,omitempty"`    // e.g. card_declined, insufficient_funds
	FailureMessage string    `json:"failure_message,omitempty"` // safe to show the guest
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Card describes the card charged, as the provider reported it.
type Card struct {
	Brand    string `json:"brand"`
	Last4    string `json:"last4"`
	ExpMonth int    `json:"exp_month"`
	ExpYear  int    `json:"exp_year"`
}

// Event types payments publishes, each with a PaymentEvent payload.
const (
	EventSucceeded = "bellhop.payment.succeeded.v1"
	EventFailed    = "bellhop.payment.failed.v1"
	EventRefunded  = "bellhop.payment.refunded.v1"
)

// PaymentEvent is the payload of every payment event.
type PaymentEvent struct {
	Payment Payment `json:"payment"`
	// RefundAmount is the amount of this refund (refunded events only).
	RefundAmount money.Money `json:"refund_amount,omitzero"`
}
