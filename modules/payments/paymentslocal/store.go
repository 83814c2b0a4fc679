package paymentslocal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/money"
)

// The payments module's tables: payments, the idempotency keys that made
// them, and the refunds booking events asked for. Amounts are minor units.

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

// gormStore is the store on the module's GORM database; bound to a
// transaction, it is a storeTx. Text is clipped to its column's size here.
type gormStore struct {
	db     *gorm.DB
	outbox *events.Outbox // runs writing transactions on db, then wakes the relay
}

func (s *gormStore) write(ctx context.Context, fn func(tx storeTx) error) error {
	return s.outbox.Transaction(ctx, func(tx *gorm.DB) error { return fn(&gormStore{db: tx}) })
}

// inTx is the store bound to tx, a transaction someone else opened (the
// event consumer's).
func inTx(tx *gorm.DB) storeTx { return &gormStore{db: tx} }

func (s *gormStore) payment(ctx context.Context, id string) (paymentRow, error) {
	return db.TakeByID[paymentRow](ctx, s.db, "payment", id, payments.ErrNotFound)
}

func (s *gormStore) idempotencyKey(ctx context.Context, guestID, key string) (idempotencyRow, bool, error) {
	var rec idempotencyRow
	err := s.db.WithContext(ctx).Where("guest_id = ? AND idem_key = ?", guestID, key).Take(&rec).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return idempotencyRow{}, false, nil
	case err != nil:
		return idempotencyRow{}, false, apperr.Internal(fmt.Errorf("read idempotency key: %w", err))
	}
	return rec, true, nil
}

// listFilter selects a page of payments, newest (highest id: ids are
// ULIDs) first.
type listFilter struct {
	GuestID   string // "": every guest's
	BookingID string
	Status    string
	AfterID   string // the page after this id ("": the first page)
	Limit     int
}

func (s *gormStore) list(ctx context.Context, f listFilter) ([]paymentRow, error) {
	q := db.Filter(s.db.WithContext(ctx).Model(&paymentRow{}),
		db.IfSet("id < ?", f.AfterID), db.IfSet("guest_id = ?", f.GuestID),
		db.IfSet("booking_id = ?", f.BookingID), db.IfSet("status = ?", f.Status))
	var rows []paymentRow
	if err := q.Order("id DESC").Limit(f.Limit).Find(&rows).Error; err != nil {
		return nil, apperr.Internal(fmt.Errorf("list payments: %w", err))
	}
	return rows, nil
}

func (s *gormStore) unsettled(ctx context.Context, staleBefore time.Time, limit int) ([]paymentRow, error) {
	var rows []paymentRow
	err := s.db.WithContext(ctx).
		Where("status = ? OR (status = ? AND updated_at < ?)", payments.StatusUnknown, payments.StatusProcessing, staleBefore).
		Order("updated_at, id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("read unsettled payments: %w", err)
	}
	return rows, nil
}

func (s *gormStore) dueRefunds(ctx context.Context, now time.Time, limit int) ([]refundRow, error) {
	var due []refundRow
	if err := s.db.WithContext(ctx).Where("status = ? AND next_attempt_at <= ?", refundPending, now).
		Order("created_at, id").Limit(limit).Find(&due).Error; err != nil {
		return nil, fmt.Errorf("read due refunds: %w", err)
	}
	return due, nil
}

func (s *gormStore) livePayment(ctx context.Context, bookingID, paymentID string) (paymentRow, bool, error) {
	var live paymentRow
	q := s.db.WithContext(ctx).Where("booking_id = ? AND status <> ?", bookingID, payments.StatusFailed)
	if paymentID != "" {
		q = q.Where("id = ?", paymentID)
	}
	err := q.Take(&live).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return paymentRow{}, false, nil
	case err != nil:
		return paymentRow{}, false, err
	}
	return live, true, nil
}

func (s *gormStore) insertPayment(ctx context.Context, row paymentRow) error {
	return s.db.WithContext(ctx).Create(&row).Error
}

func (s *gormStore) insertIdempotencyKey(ctx context.Context, rec idempotencyRow) error {
	return s.db.WithContext(ctx).Create(&rec).Error
}

func (s *gormStore) deleteIdempotencyKey(ctx context.Context, guestID, key, paymentID string) error {
	q := s.db.WithContext(ctx).Where("guest_id = ? AND idem_key = ?", guestID, key)
	if paymentID != "" {
		q = q.Where("payment_id = ?", paymentID)
	}
	return q.Delete(&idempotencyRow{}).Error
}

func (s *gormStore) pruneIdempotencyKeys(ctx context.Context, now time.Time) error {
	return s.db.WithContext(ctx).Where("expires_at <= ?", now).Delete(&idempotencyRow{}).Error
}

// settlement is a provider's answer about a charge, as recorded.
type settlement struct {
	Status         string // payments.StatusSucceeded or StatusFailed
	ProviderRef    string
	FailureCode    string
	FailureMessage string
	Card           *payments.Card // nil: unchanged
	At             time.Time
}

func (s *gormStore) settlePayment(ctx context.Context, id string, o settlement) (bool, error) {
	changes := map[string]any{
		"status": o.Status, "provider_ref": clip(o.ProviderRef, 128),
		"failure_code": clip(o.FailureCode, 64), "failure_message": clip(o.FailureMessage, 255),
		"updated_at": o.At,
	}
	if c := o.Card; c != nil {
		changes["card_brand"], changes["card_last4"] = clip(c.Brand, 32), clip(c.Last4, 4)
		changes["card_exp_month"], changes["card_exp_year"] = c.ExpMonth, c.ExpYear
	}
	res := s.db.WithContext(ctx).Model(&paymentRow{}).
		Where("id = ? AND status IN ?", id, []string{payments.StatusProcessing, payments.StatusUnknown}).
		Updates(changes)
	return res.RowsAffected > 0, res.Error
}

func (s *gormStore) markUnknown(ctx context.Context, id string, now time.Time) error {
	return s.db.WithContext(ctx).Model(&paymentRow{}).Where("id = ? AND status = ?", id, payments.StatusProcessing).
		Updates(map[string]any{"status": payments.StatusUnknown, "updated_at": now}).Error
}

func (s *gormStore) deleteProcessing(ctx context.Context, id string) (bool, error) {
	res := s.db.WithContext(ctx).Where("id = ? AND status = ?", id, payments.StatusProcessing).Delete(&paymentRow{})
	return res.RowsAffected > 0, res.Error
}

func (s *gormStore) addRefunded(ctx context.Context, paymentID string, amount int64, now time.Time) error {
	return s.db.WithContext(ctx).Model(&paymentRow{}).Where("id = ?", paymentID).Updates(map[string]any{
		"refunded": gorm.Expr("refunded + ?", amount),
		"status": gorm.Expr("CASE WHEN refunded + ? >= amount THEN ? ELSE ? END",
			amount, payments.StatusRefunded, payments.StatusPartiallyRefunded),
		"updated_at": now,
	}).Error
}

func (s *gormStore) insertRefund(ctx context.Context, row refundRow) error {
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "booking_id"}, {Name: "reason"}},
		DoNothing: true,
	}).Create(&row).Error
}

func (s *gormStore) setRefundAmount(ctx context.Context, id string, amount int64, now time.Time) error {
	return s.db.WithContext(ctx).Model(&refundRow{}).Where("id = ? AND status = ?", id, refundPending).
		Updates(map[string]any{"amount": amount, "updated_at": now}).Error
}

func (s *gormStore) refundSent(ctx context.Context, id, providerRef string, attempts int, now time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&refundRow{}).Where("id = ? AND status = ?", id, refundPending).Updates(map[string]any{
		"status": refundSucceeded, "provider_ref": clip(providerRef, 128), "attempts": attempts,
		"last_error": "", "next_attempt_at": nil, "updated_at": now,
	})
	return res.RowsAffected > 0, res.Error
}

func (s *gormStore) endRefund(ctx context.Context, id, status, why string, now time.Time) error {
	return s.db.WithContext(ctx).Model(&refundRow{}).Where("id = ? AND status = ?", id, refundPending).Updates(map[string]any{
		"status": status, "last_error": clip(why, 500), "next_attempt_at": nil, "updated_at": now,
	}).Error
}

func (s *gormStore) retryRefund(ctx context.Context, id string, attempts int, why string, next, now time.Time) error {
	return s.db.WithContext(ctx).Model(&refundRow{}).Where("id = ? AND status = ?", id, refundPending).Updates(map[string]any{
		"attempts": attempts, "last_error": clip(why, 500), "next_attempt_at": next, "updated_at": now,
	}).Error
}

func (s *gormStore) record(ctx context.Context, typ string, payload payments.PaymentEvent) error {
	evt, err := events.New(ctx, payments.Module, typ, payload)
	if err != nil {
		return err
	}
	return events.Record(s.db.WithContext(ctx), evt)
}

// clip cuts s to its column's size.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
