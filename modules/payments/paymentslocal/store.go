package paymentslocal

import (
	"time"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/money"
)

// paymentRow is one attempt to charge a booking. Its ID is also the
// idempotency key sent to the provider, so every retry of the charge, and
// the reconciler's lookup, name the same charge.
type paymentRow struct {
	ID          string `gorm:"primaryKey;size:64"`
	BookingID   string `gorm:"size:64;not null;index"`
	GuestID     string `gorm:"size:64;not null;index:ix_payments_guest,priority:1"`
	Amount      int64  `gorm:"not null"`
	Currency    string `gorm:"size:3;not null"`
	Refunded    int64  `gorm:"not null"`
	Status      string `gorm:"size:24;not null;index"`
	Provider    string `gorm:"size:32;not null"`
	ProviderRef string `gorm:"size:128;not null"`
	// Card: what the provider reported (never a number).
	CardBrand      string `gorm:"size:32;not null"`
	CardLast4      string `gorm:"size:4;not null"`
	CardExpMonth   int    `gorm:"not null"`
	CardExpYear    int    `gorm:"not null"`
	FailureCode    string `gorm:"size:64;not null"`
	FailureMessage string `gorm:"size:255;not null"`
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (paymentRow) TableName() string { return "payments" }

func (r paymentRow) toPayment() payments.Payment {
	p := payments.Payment{
		ID: r.ID, BookingID: r.BookingID, GuestID: r.GuestID,
		Amount:   money.New(r.Amount, r.Currency),
		Refunded: money.New(r.Refunded, r.Currency),
		Status:   r.Status, Provider: r.Provider,
		FailureCode: r.FailureCode, FailureMessage: r.FailureMessage,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if r.CardBrand != "" || r.CardLast4 != "" {
		p.Card = &payments.Card{Brand: r.CardBrand, Last4: r.CardLast4, ExpMonth: r.CardExpMonth, ExpYear: r.CardExpYear}
	}
	return p
}

// idempotencyRow remembers, per caller and key, which request the key was
// first used with (its fingerprint) and the payment it made. Rows are kept
// until ExpiresAt (24 hours).
type idempotencyRow struct {
	GuestID     string    `gorm:"primaryKey;size:64"`
	IdemKey     string    `gorm:"primaryKey;size:255"`
	Fingerprint string    `gorm:"size:64;not null"`
	PaymentID   string    `gorm:"size:64;not null"`
	CreatedAt   time.Time `gorm:"not null"`
	ExpiresAt   time.Time `gorm:"not null;index"`
}

func (idempotencyRow) TableName() string { return "payment_idempotency_keys" }

// Refund statuses.
const (
	refundPending   = "pending"   // to be sent to the provider
	refundSucceeded = "succeeded" // the provider accepted it
	refundFailed    = "failed"    // the provider refused it: an operator must look
	refundCancelled = "cancelled" // nothing to refund: the payment did not succeed
)

// Refund reasons: the booking event that asked for it.
const (
	reasonRejected  = "booking_rejected"
	reasonCancelled = "booking_cancelled"
	reasonRefused   = "payment_refused"
)

// refundRow is a refund asked for by a booking event, sent to the provider
// by the refund worker (never from the event handler: no provider call
// inside a transaction). Its ID is the provider's idempotency key. A booking
// is refunded at most once per reason.
type refundRow struct {
	ID            string     `gorm:"primaryKey;size:64"`
	PaymentID     string     `gorm:"size:64;not null;index"`
	BookingID     string     `gorm:"size:64;not null;uniqueIndex:ux_payment_refunds_booking_reason,priority:1"`
	Reason        string     `gorm:"size:32;not null;uniqueIndex:ux_payment_refunds_booking_reason,priority:2"`
	EventID       string     `gorm:"size:64;not null"`
	Amount        int64      `gorm:"not null"` // 0: the whole amount left when it is sent
	Currency      string     `gorm:"size:3;not null"`
	Status        string     `gorm:"size:16;not null;index:ix_payment_refunds_due,priority:1"`
	ProviderRef   string     `gorm:"size:128;not null"`
	Attempts      int        `gorm:"not null"`
	LastError     string     `gorm:"size:500;not null"`
	NextAttemptAt *time.Time `gorm:"index:ix_payment_refunds_due,priority:2"`
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (refundRow) TableName() string { return "payment_refunds" }

// Migrations are the payments module's schema steps: its own, then the
// event backbone's outbox, inbox and dead letters.
var Migrations = append([]db.Migration{
	{ID: "0001_payments", Up: func(tx *gorm.DB) error {
		if err := tx.Migrator().CreateTable(&paymentRow{}, &idempotencyRow{}, &refundRow{}); err != nil {
			return err
		}
		// At most one payment of a booking that is not failed: a second
		// attempt while one is in flight or unknown could charge twice.
		return tx.Exec(`CREATE UNIQUE INDEX ux_payments_booking_live ON payments (booking_id) WHERE status <> 'failed'`).Error
	}},
}, events.Migrations...)
