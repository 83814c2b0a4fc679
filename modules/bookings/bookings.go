// Package bookings is the contract of the bookings module: holding a room
// for a stay, confirming it when it is paid, expiring unpaid holds, and
// cancelling under the hotel's policy. Bookings keeps only the rooms taken
// per room type and night, and checks them against the room type's
// rooms_total (from search.Quote) atomically.
package bookings

import (
	"context"
	"time"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/money"
)

// Module is the module's name: its database file, metrics label and config key.
const Module = "bookings"

// ScopeRead lets a service (payments) read any booking through Get.
const ScopeRead = "bookings:read"

// Statuses of a booking: pending → confirmed | expired | rejected | cancelled,
// and confirmed → cancelled. A payment that succeeds once the hold has
// expired (whether or not the expiry job has marked it expired yet) makes
// the booking rejected, pending → rejected or expired → rejected, and
// payments refunds it: an expired hold's rooms are never taken again.
// Pending and confirmed bookings hold their rooms; the others do not.
const (
	StatusPending   = "pending"
	StatusConfirmed = "confirmed"
	StatusExpired   = "expired"
	StatusRejected  = "rejected"
	StatusCancelled = "cancelled"
)

// Errors returned by Service methods; errors.Is works after an HTTP hop.
var (
	ErrInvalidRequest       = apperr.Invalid("bookings.invalid_request", "the request has invalid values")
	ErrNotFound             = apperr.NotFound("bookings.not_found", "no booking has that id")
	ErrSoldOut              = apperr.Conflict("bookings.sold_out", "no room of this type is free for those nights")
	ErrNotCancellable       = apperr.Conflict("bookings.not_cancellable", "the booking cannot be cancelled in its current status")
	ErrTooManyHolds         = apperr.Conflict("bookings.too_many_holds", "you already hold as many unpaid rooms as a guest may; pay for or cancel one first")
	ErrIdempotencyKeyReused = apperr.Invalid("bookings.idempotency_key_reused", "the idempotency key was used with a different request")
)

// Service is the bookings module. Guests see and cancel only their own
// bookings (another guest's is ErrNotFound); staff (users with the role
// "staff" or "admin") see and cancel all; a service with ScopeRead may Get
// and List any booking. Every method needs a principal in the context
// (else authn.ErrUnauthenticated).
type Service interface {
	// Hold takes one room of the type for every night of the stay and keeps
	// it as a pending booking until HoldExpiresAt. The caller is the guest.
	// A guest holds at most a configured number of pending bookings at once
	// (ErrTooManyHolds), and a stay may start at most a configured horizon
	// ahead (ErrInvalidRequest naming check_in).
	// Errors: ErrInvalidRequest, ErrSoldOut, ErrTooManyHolds, ErrIdempotencyKeyReused, search's
	// errors (unknown room type, invalid stay, too many guests), authn errors.
	Hold(ctx context.Context, req HoldRequest) (Booking, error)
	// Get returns a booking. Errors: ErrNotFound (also for another guest's
	// booking), ErrInvalidRequest, authn errors (a service without ScopeRead).
	Get(ctx context.Context, req GetRequest) (Booking, error)
	// List returns the caller's bookings (staff: all, filtered), newest first.
	// Errors: ErrInvalidRequest (also for a cursor List did not return),
	// authn errors.
	List(ctx context.Context, req ListRequest) (BookingList, error)
	// Cancel cancels a pending or confirmed booking under the cancellation
	// policy and releases its rooms. A pending (unpaid) booking costs
	// nothing and refunds nothing; a confirmed one is refunded in full before
	// FreeCancellationUntil, less LateCancellationFee after it. A stay that
	// has ended cannot be cancelled. Errors: ErrNotFound, ErrNotCancellable,
	// ErrInvalidRequest, authn errors (services may not cancel).
	Cancel(ctx context.Context, req CancelRequest) (Booking, error)
}

// HoldRequest asks for a room for a stay. IdempotencyKey (optional, from the
// Idempotency-Key header) makes a retried request return the first booking.
type HoldRequest struct {
	IdempotencyKey string     `json:"-" validate:"max=255"`
	RoomTypeID     string     `json:"room_type_id" validate:"notblank,max=64"`
	CheckIn        civil.Date `json:"check_in" validate:"required"`
	CheckOut       civil.Date `json:"check_out" validate:"required"`
	Guests         int        `json:"guests" validate:"min=1,max=16"`
}

// GetRequest names a booking.
type GetRequest struct {
	ID string `param:"id" json:"id" validate:"notblank,max=64"`
}

// ListRequest filters bookings. Guests always see only their own; the
// filters by hotel apply to staff.
type ListRequest struct {
	HotelID string     `query:"hotel_id" json:"hotel_id" validate:"max=64"`
	Status  string     `query:"status" json:"status" validate:"omitempty,oneof=pending confirmed expired rejected cancelled"`
	From    civil.Date `query:"from" json:"from"`                            // check-in on or after
	To      civil.Date `query:"to" json:"to"`                                // check-in before
	Limit   int        `query:"limit" json:"limit" validate:"gte=0,lte=100"` // 0: 20
	Cursor  string     `query:"cursor" json:"cursor" validate:"max=512"`
}

// BookingList is a page of bookings.
type BookingList struct {
	Bookings   []Booking `json:"bookings"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

// CancelRequest cancels a booking.
type CancelRequest struct {
	ID string `param:"id" json:"id" validate:"notblank,max=64"`
}

// Booking is a stay held, confirmed or ended.
type Booking struct {
	ID            string       `json:"id"`
	Status        string       `json:"status"`
	GuestID       string       `json:"guest_id"`
	GuestEmail    string       `json:"guest_email"`
	GuestName     string       `json:"guest_name"`
	HotelID       string       `json:"hotel_id"`
	HotelName     string       `json:"hotel_name"`
	RoomTypeID    string       `json:"room_type_id"`
	RoomTypeName  string       `json:"room_type_name"`
	Address       string       `json:"address"`
	City          string       `json:"city"`
	Country       string       `json:"country"`
	TimeZone      string       `json:"time_zone"`
	CheckIn       civil.Date   `json:"check_in"`
	CheckOut      civil.Date   `json:"check_out"`
	Guests        int          `json:"guests"`
	Nights        []NightPrice `json:"nights"`
	Total         money.Money  `json:"total"`
	HoldExpiresAt time.Time    `json:"hold_expires_at"`
	// FreeCancellationUntil and LateCancellationFee are the cancellation
	// terms the booking was made under: cancelling a paid booking before
	// FreeCancellationUntil is free; after it, LateCancellationFee is kept.
	FreeCancellationUntil time.Time   `json:"free_cancellation_until"`
	LateCancellationFee   money.Money `json:"late_cancellation_fee"`
	// PaymentID is the payment that confirmed the booking (empty until then)
	// or, for a rejected booking, the payment it could not take.
	PaymentID string `json:"payment_id,omitempty"`
	// CancellationFee is what the guest keeps paying after a cancellation
	// (zero when free), and Refund what is paid back.
	CancellationFee money.Money `json:"cancellation_fee"`
	Refund          money.Money `json:"refund"`
	CreatedAt       time.Time   `json:"created_at"`
	UpdatedAt       time.Time   `json:"updated_at"`
}

// NightPrice is the price of one night of the stay.
type NightPrice struct {
	Date  civil.Date  `json:"date"`
	Price money.Money `json:"price"`
}

// Event types bookings publishes, each with a BookingEvent payload.
const (
	EventHeld      = "bellhop.booking.held.v1"
	EventConfirmed = "bellhop.booking.confirmed.v1"
	EventExpired   = "bellhop.booking.expired.v1"
	EventRejected  = "bellhop.booking.rejected.v1"
	EventCancelled = "bellhop.booking.cancelled.v1"
	// EventPaymentRefused says a payment succeeded that the booking cannot
	// take (it was cancelled, or already confirmed or rejected with another
	// payment, or the amount differs): the booking is unchanged and keeps or
	// frees its rooms as before; payments refunds PaymentID in full. It is
	// not a transition, so search and the like ignore it.
	EventPaymentRefused = "bellhop.booking.payment_refused.v1"
)

// BookingEvent is the payload of every booking event: the booking as it is
// after the transition, with what consumers need (search: the room type and
// nights to take or release; payments: the amount to refund — Booking.Refund
// of a cancellation, the whole PaymentID of a rejection or refused payment;
// reporting: the guest and the stay for the receipt).
type BookingEvent struct {
	Booking Booking `json:"booking"`
	// PaymentID is the payment that confirmed (or, for a rejection or a
	// refused payment, could not confirm) the booking, if any; for a
	// cancellation, the payment to refund Booking.Refund of.
	PaymentID string `json:"payment_id,omitempty"`
	// Payment describes that payment as payments reported it, on the events
	// a payment causes (confirmed, rejected, payment_refused): what a receipt
	// or credit note shows without calling payments.
	Payment *EventPayment `json:"payment,omitempty"`
}

// EventPayment is the payment a booking event is about: the amount, the
// card (brand and last four, never the number) and when it was paid.
type EventPayment struct {
	ID     string      `json:"id"`
	Amount money.Money `json:"amount"`
	Brand  string      `json:"brand,omitempty"`
	Last4  string      `json:"last4,omitempty"`
	PaidAt time.Time   `json:"paid_at"`
}
