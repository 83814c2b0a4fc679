package paymentslocal

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/payments/provider"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/ids"
	"github.com/bellhop/bellhop/platform/validation"
)

// Service is the in-process payments.Service.
type Service struct {
	db       *db.DB
	log      *slog.Logger
	validate *validation.Validator
	bookings bookings.Service
	prov     *provider.Guarded
	now      func() time.Time
	cfg      config
	// outbox is where writes that record events go: it commits, then wakes the relay.
	outbox *events.Outbox
	// inflight holds, per payment being charged by this process, a channel
	// closed when the charge has ended: requests replaying its key wait on
	// it (requests in other processes poll the database).
	inflight sync.Map // payment id → chan struct{}
}

type config struct {
	idempotencyTTL time.Duration // how long a key is kept
	notFoundGrace  time.Duration // "not found at the provider" settles as not charged after this
	staleAfter     time.Duration // a payment processing this long lost its caller (a crash)
	maxWait        time.Duration // how long a replay waits for the first request
	reconcileEvery time.Duration
}

var _ payments.Service = (*Service)(nil)

// servicePrincipal is who payments is when it reads a booking: a service
// allowed to read any booking. Over HTTP, the composition root's service
// token says the same.
var servicePrincipal = authn.Principal{Subject: payments.Module, Kind: authn.KindService, Scopes: []string{bookings.ScopeRead}}

// tokenRE is the shape of a payment method token: Stripe's "pm_..." ids and
// test tokens. Anything else (a card number above all) is refused before it
// goes anywhere.
var tokenRE = regexp.MustCompile(`^pm_[A-Za-z0-9_]{1,250}$`)

// Pay implements payments.Service.
func (s *Service) Pay(ctx context.Context, req payments.PayRequest) (payments.Payment, error) {
	caller, err := authn.RequireUser(ctx)
	if err != nil {
		return payments.Payment{}, err
	}
	if strings.TrimSpace(req.IdempotencyKey) == "" {
		return payments.Payment{}, payments.ErrIdempotencyKeyRequired
	}
	if err := s.validate.Struct(payments.ErrInvalidRequest.Reason, req); err != nil {
		return payments.Payment{}, err
	}
	if !tokenRE.MatchString(req.PaymentMethod) {
		return payments.Payment{}, payments.ErrInvalidRequest.WithFields(apperr.FieldError{
			Field: "payment_method", Reason: "token", Detail: "must be a payment method token such as pm_card_visa (never a card number)",
		})
	}
	fp := fingerprint(req)
	// A few rounds at most: a claim lost to a concurrent request (or a
	// first request that released its key) sends us back to the replay.
	for range 5 {
		// A key already used: its first result, waited for if still running.
		if p, found, err := s.replay(ctx, caller.Subject, req.IdempotencyKey, fp); found || err != nil {
			return p, err
		}
		if s.prov.BreakerOpen() {
			return payments.Payment{}, s.unavailable()
		}
		b, err := s.bookings.Get(authn.WithPrincipal(ctx, servicePrincipal), bookings.GetRequest{ID: req.BookingID})
		if err != nil {
			return payments.Payment{}, err
		}
		if b.GuestID != caller.Subject {
			return payments.Payment{}, bookings.ErrNotFound // not yours: as if it did not exist
		}
		if err := s.payable(b); err != nil {
			// A concurrent request with this very key may have paid the
			// booking (and had it confirmed) since the replay above: its
			// answer is ours too.
			if p, found, rerr := s.replay(ctx, caller.Subject, req.IdempotencyKey, fp); found || rerr != nil {
				return p, rerr
			}
			return payments.Payment{}, err
		}
		now := s.now()
		row := paymentRow{
			ID: ids.New("pay"), BookingID: b.ID, GuestID: caller.Subject,
			Amount: b.Total.Amount, Currency: b.Total.Currency, // never from the client
			Status: payments.StatusProcessing, Provider: s.prov.Name(), CreatedAt: now, UpdatedAt: now,
		}
		done := make(chan struct{})
		s.inflight.Store(row.ID, done)
		err = s.claim(ctx, row, idempotencyRow{
			GuestID: caller.Subject, IdemKey: req.IdempotencyKey, Fingerprint: fp, PaymentID: row.ID,
			CreatedAt: now, ExpiresAt: now.Add(s.cfg.idempotencyTTL),
		})
		if err != nil {
			s.inflight.Delete(row.ID)
			close(done)
			if errors.Is(err, errClaimed) {
				continue
			}
			return payments.Payment{}, err
		}
		p, err := s.charge(ctx, row, req.IdempotencyKey, req.PaymentMethod)
		s.inflight.Delete(row.ID)
		close(done)
		return p, err
	}
	return payments.Payment{}, apperr.Internal(errors.New("pay: the idempotency key kept changing hands"))
}

// payable checks the booking can be paid now.
func (s *Service) payable(b bookings.Booking) error {
	switch {
	case b.Status != bookings.StatusPending:
		return payments.ErrNotPayable.With("the booking is %s; only a pending booking can be paid", b.Status)
	case !b.HoldExpiresAt.IsZero() && !s.now().Before(b.HoldExpiresAt):
		return payments.ErrNotPayable.With("the booking's hold has expired; book again")
	case b.Total.Amount <= 0:
		return payments.ErrNotPayable.With("the booking has nothing to pay")
	}
	return nil
}

// errClaimed: another request holds the key (or the booking) now; replay.
var errClaimed = errors.New("idempotency key claimed by another request")

// claim stores the processing payment and its idempotency key in one
// transaction, unless the key is taken (errClaimed) or the booking has a
// payment that is not failed (ErrAlreadyPaid, ErrPaymentInProgress).
func (s *Service) claim(ctx context.Context, row paymentRow, key idempotencyRow) error {
	err := s.write(ctx, func(tx *gorm.DB) error {
		var rec idempotencyRow
		err := tx.Where("guest_id = ? AND idem_key = ?", key.GuestID, key.IdemKey).Take(&rec).Error
		switch {
		case err == nil && rec.ExpiresAt.After(key.CreatedAt):
			return errClaimed
		case err == nil: // expired, not yet pruned
			if err := tx.Where("guest_id = ? AND idem_key = ?", key.GuestID, key.IdemKey).Delete(&idempotencyRow{}).Error; err != nil {
				return err
			}
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return err
		}
		var live paymentRow
		err = tx.Where("booking_id = ? AND status <> ?", row.BookingID, payments.StatusFailed).Take(&live).Error
		switch {
		case err == nil && (live.Status == payments.StatusProcessing || live.Status == payments.StatusUnknown):
			return payments.ErrPaymentInProgress
		case err == nil:
			return payments.ErrAlreadyPaid
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return err
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return tx.Create(&key).Error
	})
	switch {
	case err == nil, errors.Is(err, errClaimed):
		return err
	case db.IsUniqueViolation(err):
		// PostgreSQL: a concurrent request won the key or the booking.
		return errClaimed
	}
	return apperr.OrInternal(err, "claim payment")
}

// replay returns the payment a used key made (waiting while it is still
// processing here or elsewhere), or found=false if the key is unused.
func (s *Service) replay(ctx context.Context, guest, key, fp string) (payments.Payment, bool, error) {
	var rec idempotencyRow
	err := s.db.WithContext(ctx).Where("guest_id = ? AND idem_key = ? AND expires_at > ?", guest, key, s.now()).Take(&rec).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return payments.Payment{}, false, nil
	}
	if err != nil {
		return payments.Payment{}, false, apperr.Internal(fmt.Errorf("read idempotency key: %w", err))
	}
	if rec.Fingerprint != fp {
		return payments.Payment{}, false, payments.ErrIdempotencyKeyReused
	}
	row, err := s.waitSettled(ctx, rec.PaymentID)
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return payments.Payment{}, false, nil // released (nothing was charged): start again
	}
	if err != nil {
		return payments.Payment{}, false, err
	}
	return row.toPayment(), true, nil
}

// waitSettled loads a payment, waiting while it is processing: on the
// in-process charge if there is one, else by polling (the charge runs in
// another process). After maxWait it returns the payment as it is.
func (s *Service) waitSettled(ctx context.Context, id string) (paymentRow, error) {
	deadline := time.Now().Add(s.cfg.maxWait)
	poll := 10 * time.Millisecond
	for {
		var row paymentRow
		if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return row, err
			}
			return row, apperr.Internal(fmt.Errorf("read payment %s: %w", id, err))
		}
		if row.Status != payments.StatusProcessing || time.Now().After(deadline) {
			return row, nil
		}
		var done <-chan struct{}
		if ch, ok := s.inflight.Load(id); ok {
			done = ch.(chan struct{})
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return row, apperr.Unavailable("payments.canceled", "the request was cancelled while the payment was processing").WithCause(ctx.Err())
		case <-done:
		case <-t.C:
		}
		t.Stop()
		poll = min(2*poll, 250*time.Millisecond)
	}
}

// charge asks the provider and records the outcome. The call does not
// depend on the caller staying: once asked, the bank's answer is recorded.
func (s *Service) charge(ctx context.Context, row paymentRow, key, paymentMethod string) (payments.Payment, error) {
	cctx := context.WithoutCancel(ctx)
	res, err := s.prov.Charge(cctx, provider.ChargeRequest{
		IdempotencyKey: row.ID, Amount: row.toPayment().Amount, PaymentMethod: paymentMethod,
		Description: "Bellhop booking " + row.BookingID,
	})
	switch {
	case err == nil:
		return s.settle(cctx, row.ID, res)
	case errors.Is(err, provider.ErrNotAttempted):
		// Never sent: nothing was charged. Forget the payment and the key, so
		// the same request can be sent again later.
		if rerr := s.release(cctx, row, key); rerr != nil {
			s.log.ErrorContext(ctx, "cannot release a payment the provider never saw", "payment_id", row.ID, "err", rerr)
			if _, uerr := s.markUnknown(cctx, row.ID); uerr != nil {
				s.log.ErrorContext(ctx, "cannot mark payment unknown", "payment_id", row.ID, "err", uerr)
			}
		}
		return payments.Payment{}, s.unavailable()
	case errors.Is(err, provider.ErrUnavailable):
		s.log.WarnContext(ctx, "payment outcome unknown; the reconciler will settle it", "payment_id", row.ID, "booking_id", row.BookingID, "err", err)
		return s.markUnknown(cctx, row.ID)
	default: // ErrRejected (or anything else): the provider refused; nothing was charged
		s.log.ErrorContext(ctx, "payment provider refused the charge", "payment_id", row.ID, "booking_id", row.BookingID, "err", err)
		return s.settle(cctx, row.ID, provider.ChargeResult{
			Status: provider.StatusFailed, FailureCode: provider.CodeProviderRejected,
			FailureMessage: "The payment could not be processed; no money was taken.",
		})
	}
}

func (s *Service) unavailable() error {
	return payments.ErrProviderUnavailable.WithRetryAfter(s.prov.Policy().BreakerOpen)
}

// settle records a provider's answer on a payment still processing or
// unknown, with its event; a payment already settled (by the reconciler,
// say) is returned as it is.
func (s *Service) settle(ctx context.Context, id string, res provider.ChargeResult) (payments.Payment, error) {
	status, typ := payments.StatusFailed, payments.EventFailed
	if res.Status == provider.StatusSucceeded {
		status, typ = payments.StatusSucceeded, payments.EventSucceeded
	}
	changes := map[string]any{
		"status": status, "provider_ref": clip(res.ProviderRef, 128),
		"failure_code": clip(res.FailureCode, 64), "failure_message": clip(res.FailureMessage, 255),
		"updated_at": s.now(),
	}
	if status == payments.StatusSucceeded {
		changes["failure_code"], changes["failure_message"] = "", ""
	}
	if c := res.Card; c != nil {
		changes["card_brand"], changes["card_last4"] = clip(c.Brand, 32), clip(c.Last4, 4)
		changes["card_exp_month"], changes["card_exp_year"] = c.ExpMonth, c.ExpYear
	}
	var out paymentRow
	recorded := false
	err := s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&paymentRow{}).
			Where("id = ? AND status IN ?", id, []string{payments.StatusProcessing, payments.StatusUnknown}).
			Updates(changes)
		if res.Error != nil {
			return res.Error
		}
		if err := tx.Where("id = ?", id).Take(&out).Error; err != nil {
			return err
		}
		if res.RowsAffected == 0 {
			return nil // settled already
		}
		recorded = true
		return s.record(ctx, tx, typ, payments.PaymentEvent{Payment: out.toPayment()})
	})
	if err != nil {
		return payments.Payment{}, apperr.Internal(fmt.Errorf("settle payment %s: %w", id, err))
	}
	if recorded {
		s.log.InfoContext(ctx, "payment settled", "payment_id", id, "booking_id", out.BookingID, "status", out.Status, "failure_code", out.FailureCode)
	}
	return out.toPayment(), nil
}

// markUnknown records that the provider did not answer.
func (s *Service) markUnknown(ctx context.Context, id string) (payments.Payment, error) {
	var out paymentRow
	err := s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&paymentRow{}).Where("id = ? AND status = ?", id, payments.StatusProcessing).
			Updates(map[string]any{"status": payments.StatusUnknown, "updated_at": s.now()}).Error; err != nil {
			return err
		}
		return tx.Where("id = ?", id).Take(&out).Error
	})
	if err != nil {
		return payments.Payment{}, apperr.Internal(fmt.Errorf("mark payment %s unknown: %w", id, err))
	}
	return out.toPayment(), nil
}

// release forgets a payment the provider never saw, and its key.
func (s *Service) release(ctx context.Context, row paymentRow, key string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Where("id = ? AND status = ?", row.ID, payments.StatusProcessing).Delete(&paymentRow{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errors.New("the payment is no longer processing")
		}
		return tx.Where("guest_id = ? AND idem_key = ? AND payment_id = ?", row.GuestID, key, row.ID).Delete(&idempotencyRow{}).Error
	})
}

// write runs fn in a writing transaction. On SQLite, platform/db's write
// gate has the module's writers take turns in-process, holding no pooled
// connection while they wait (waiters in SQLite's busy handler each held
// one: a burst of payments ran the pool dry and stalled until the busy
// timeout).
func (s *Service) write(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.outbox.Transaction(ctx, fn)
}

// record adds a payment event to the outbox in tx.
func (s *Service) record(ctx context.Context, tx *gorm.DB, typ string, payload payments.PaymentEvent) error {
	evt, err := events.New(ctx, payments.Module, typ, payload)
	if err != nil {
		return err
	}
	return events.Record(tx, evt)
}

// Get implements payments.Service.
func (s *Service) Get(ctx context.Context, req payments.GetRequest) (payments.Payment, error) {
	caller, err := authn.Caller(ctx)
	if err != nil {
		return payments.Payment{}, err
	}
	if err := s.validate.Struct(payments.ErrInvalidRequest.Reason, req); err != nil {
		return payments.Payment{}, err
	}
	var row paymentRow
	if err := s.db.WithContext(ctx).Where("id = ?", req.ID).Take(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return payments.Payment{}, payments.ErrNotFound
		}
		return payments.Payment{}, apperr.Internal(fmt.Errorf("load payment: %w", err))
	}
	if !readsAll(caller) && row.GuestID != caller.Subject {
		return payments.Payment{}, payments.ErrNotFound
	}
	return row.toPayment(), nil
}

// List implements payments.Service.
func (s *Service) List(ctx context.Context, req payments.ListRequest) (payments.PaymentList, error) {
	caller, err := authn.Caller(ctx)
	if err != nil {
		return payments.PaymentList{}, err
	}
	if err := s.validate.Struct(payments.ErrInvalidRequest.Reason, req); err != nil {
		return payments.PaymentList{}, err
	}
	limit := req.Limit
	if limit == 0 {
		limit = 20
	}
	q := s.db.WithContext(ctx).Model(&paymentRow{})
	if req.Cursor != "" {
		after, err := decodeCursor(req.Cursor)
		if err != nil {
			return payments.PaymentList{}, payments.ErrInvalidRequest.WithFields(apperr.FieldError{
				Field: "cursor", Reason: "invalid", Detail: "is not a cursor from an earlier page; start again without it",
			})
		}
		q = q.Where("id < ?", after)
	}
	if !readsAll(caller) {
		q = q.Where("guest_id = ?", caller.Subject)
	}
	if req.BookingID != "" {
		q = q.Where("booking_id = ?", req.BookingID)
	}
	if req.Status != "" {
		q = q.Where("status = ?", req.Status)
	}
	var rows []paymentRow
	// IDs are ULIDs: newest first is id descending.
	if err := q.Order("id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return payments.PaymentList{}, apperr.Internal(fmt.Errorf("list payments: %w", err))
	}
	out := payments.PaymentList{Payments: make([]payments.Payment, 0, min(len(rows), limit))}
	for i, r := range rows {
		if i == limit {
			out.NextCursor = encodeCursor(rows[i-1].ID)
			break
		}
		out.Payments = append(out.Payments, r.toPayment())
	}
	return out, nil
}

// readsAll: staff and admins, and services allowed to read payments.
func readsAll(p authn.Principal) bool {
	if p.IsService() {
		return p.HasScope(payments.ScopeRead)
	}
	return p.IsStaff()
}

// fingerprint identifies a request's body for its idempotency key.
func fingerprint(req payments.PayRequest) string {
	sum := sha256.Sum256([]byte(req.BookingID + "\x00" + req.PaymentMethod))
	return hex.EncodeToString(sum[:])
}

const cursorPrefix = "p1:"

func encodeCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + id))
}

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", err
	}
	id, ok := strings.CutPrefix(string(b), cursorPrefix)
	if !ok || !strings.HasPrefix(id, "pay_") {
		return "", errors.New("not a payments cursor")
	}
	return id, nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
