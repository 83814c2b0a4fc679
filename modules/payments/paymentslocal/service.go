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

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/payments/provider"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/ids"
	"github.com/bellhop/bellhop/platform/validation"
)

// Service is the in-process payments.Service.
type Service struct {
	store    store
	log      *slog.Logger
	validate *validation.Validator
	bookings bookings.Service
	prov     *provider.Guarded
	clock    func() time.Time
	cfg      config
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

// store is what the service needs of its database (gormStore in store.go).
type store interface {
	reader
	// list reads a page of payments, newest first.
	list(ctx context.Context, f listFilter) ([]paymentRow, error)
	// unsettled are up to limit payments whose outcome is unknown, or that
	// were left processing before staleBefore, least recently changed first.
	unsettled(ctx context.Context, staleBefore time.Time, limit int) ([]paymentRow, error)
	// dueRefunds are up to limit pending refunds due by now, oldest first.
	dueRefunds(ctx context.Context, now time.Time, limit int) ([]refundRow, error)
	// write runs fn in one writing transaction and, once it has committed,
	// wakes the relay that publishes the events fn recorded.
	write(ctx context.Context, fn func(tx storeTx) error) error
}

// reader reads payments and keys, in a transaction or not.
type reader interface {
	// payment reads a payment; payments.ErrNotFound (wrapped) if none has that id.
	payment(ctx context.Context, id string) (paymentRow, error)
	// idempotencyKey reads the guest's key, expired or not.
	idempotencyKey(ctx context.Context, guestID, key string) (idempotencyRow, bool, error)
}

// storeTx is the store inside a writing transaction. Guarded writes change
// a row only in the status named, and say whether they did.
type storeTx interface {
	reader
	// livePayment is the booking's payment that did not fail (at most one:
	// a unique index), or with paymentID set, only if it is that one.
	livePayment(ctx context.Context, bookingID, paymentID string) (paymentRow, bool, error)
	insertPayment(ctx context.Context, row paymentRow) error
	insertIdempotencyKey(ctx context.Context, rec idempotencyRow) error
	// deleteIdempotencyKey forgets the guest's key (with paymentID set: only
	// if it made that payment).
	deleteIdempotencyKey(ctx context.Context, guestID, key, paymentID string) error
	// pruneIdempotencyKeys forgets the keys expired by now.
	pruneIdempotencyKeys(ctx context.Context, now time.Time) error
	// settlePayment records the provider's answer on a payment still
	// processing or unknown.
	settlePayment(ctx context.Context, id string, o settlement) (bool, error)
	// markUnknown marks a processing payment unknown.
	markUnknown(ctx context.Context, id string, now time.Time) error
	// deleteProcessing deletes a payment still processing.
	deleteProcessing(ctx context.Context, id string) (bool, error)
	// addRefunded adds amount to what was refunded of the payment, which is
	// refunded once all of it was, partially refunded before.
	addRefunded(ctx context.Context, paymentID string, amount int64, now time.Time) error
	// insertRefund asks for a refund, once per booking and reason (a second
	// is ignored).
	insertRefund(ctx context.Context, row refundRow) error
	// setRefundAmount fixes a pending refund's amount.
	setRefundAmount(ctx context.Context, id string, amount int64, now time.Time) error
	// refundSent marks a pending refund succeeded.
	refundSent(ctx context.Context, id, providerRef string, attempts int, now time.Time) (bool, error)
	// endRefund ends a pending refund in status (failed or cancelled), saying why.
	endRefund(ctx context.Context, id, status, why string, now time.Time) error
	// retryRefund has a pending refund tried again at next.
	retryRefund(ctx context.Context, id string, attempts int, why string, next, now time.Time) error
	// record adds a payment event to the outbox.
	record(ctx context.Context, typ string, payload payments.PaymentEvent) error
}

// now is the service's clock in UTC, at the precision the database keeps.
func (s *Service) now() time.Time { return s.clock().UTC().Truncate(time.Microsecond) }

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
			// On PostgreSQL each statement reads what was committed when it
			// began: a concurrent request with this very key may have
			// claimed the booking after our read of the key and before our
			// read of the booking's payments. Its answer is ours too.
			if errors.Is(err, payments.ErrPaymentInProgress) || errors.Is(err, payments.ErrAlreadyPaid) {
				if p, found, rerr := s.replay(ctx, caller.Subject, req.IdempotencyKey, fp); found || rerr != nil {
					return p, rerr
				}
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
	err := s.store.write(ctx, func(tx storeTx) error {
		rec, found, err := tx.idempotencyKey(ctx, key.GuestID, key.IdemKey)
		switch {
		case err != nil:
			return err
		case found && rec.ExpiresAt.After(key.CreatedAt):
			return errClaimed
		case found: // expired, not yet pruned
			if err := tx.deleteIdempotencyKey(ctx, key.GuestID, key.IdemKey, ""); err != nil {
				return err
			}
		}
		live, found, err := tx.livePayment(ctx, row.BookingID, "")
		switch {
		case err != nil:
			return err
		case found && (live.Status == payments.StatusProcessing || live.Status == payments.StatusUnknown):
			return payments.ErrPaymentInProgress
		case found:
			return payments.ErrAlreadyPaid
		}
		if err := tx.insertPayment(ctx, row); err != nil {
			return err
		}
		return tx.insertIdempotencyKey(ctx, key)
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
	rec, found, err := s.store.idempotencyKey(ctx, guest, key)
	if err != nil || !found || !rec.ExpiresAt.After(s.now()) {
		return payments.Payment{}, false, err
	}
	if rec.Fingerprint != fp {
		return payments.Payment{}, false, payments.ErrIdempotencyKeyReused
	}
	row, err := s.waitSettled(ctx, rec.PaymentID)
	if errors.Is(err, payments.ErrNotFound) {
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
		row, err := s.store.payment(ctx, id)
		if err != nil {
			return row, err
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
		return s.settle(cctx, row, res)
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
		return s.settle(cctx, row, provider.ChargeResult{
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
// say) is returned as it is. Every answer (the charge's, the reconciler's)
// passes here, so this is where a succeeded answer is checked against the
// charge: one for another amount, currency or key fails the payment.
func (s *Service) settle(ctx context.Context, row paymentRow, res provider.ChargeResult) (payments.Payment, error) {
	id := row.ID
	if err := provider.CheckAnswer(provider.ChargeRequest{IdempotencyKey: row.ID, Amount: row.toPayment().Amount}, res); err != nil {
		s.log.ErrorContext(ctx, "payment provider's answer does not match the charge; payment failed",
			"payment_id", id, "booking_id", row.BookingID, "provider_ref", res.ProviderRef, "err", err)
		res = provider.ChargeResult{
			ProviderRef: res.ProviderRef, Status: provider.StatusFailed, FailureCode: provider.CodeProviderMismatch,
			FailureMessage: "The payment could not be confirmed. Contact the hotel before trying again.",
		}
	}
	o := settlement{
		Status: payments.StatusFailed, ProviderRef: res.ProviderRef,
		FailureCode: res.FailureCode, FailureMessage: res.FailureMessage, Card: res.Card, At: s.now(),
	}
	typ := payments.EventFailed
	if res.Status == provider.StatusSucceeded {
		o.Status, o.FailureCode, o.FailureMessage = payments.StatusSucceeded, "", ""
		typ = payments.EventSucceeded
	}
	var out paymentRow
	recorded := false
	err := s.store.write(ctx, func(tx storeTx) error {
		changed, err := tx.settlePayment(ctx, id, o)
		if err != nil {
			return err
		}
		if out, err = tx.payment(ctx, id); err != nil {
			return err
		}
		if !changed {
			return nil // settled already
		}
		recorded = true
		return tx.record(ctx, typ, payments.PaymentEvent{Payment: out.toPayment()})
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
	err := s.store.write(ctx, func(tx storeTx) error {
		if err := tx.markUnknown(ctx, id, s.now()); err != nil {
			return err
		}
		var err error
		out, err = tx.payment(ctx, id)
		return err
	})
	if err != nil {
		return payments.Payment{}, apperr.Internal(fmt.Errorf("mark payment %s unknown: %w", id, err))
	}
	return out.toPayment(), nil
}

// release forgets a payment the provider never saw, and its key.
func (s *Service) release(ctx context.Context, row paymentRow, key string) error {
	return s.store.write(ctx, func(tx storeTx) error {
		deleted, err := tx.deleteProcessing(ctx, row.ID)
		if err != nil {
			return err
		}
		if !deleted {
			return errors.New("the payment is no longer processing")
		}
		return tx.deleteIdempotencyKey(ctx, row.GuestID, key, row.ID)
	})
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
	row, err := s.store.payment(ctx, req.ID)
	if err != nil {
		return payments.Payment{}, err
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
	f := listFilter{BookingID: req.BookingID, Status: req.Status, Limit: limit + 1}
	if req.Cursor != "" {
		if f.AfterID, err = decodeCursor(req.Cursor); err != nil {
			return payments.PaymentList{}, payments.ErrInvalidRequest.WithFields(apperr.FieldError{
				Field: "cursor", Reason: "invalid", Detail: "is not a cursor from an earlier page; start again without it",
			})
		}
	}
	if !readsAll(caller) {
		f.GuestID = caller.Subject
	}
	rows, err := s.store.list(ctx, f)
	if err != nil {
		return payments.PaymentList{}, err
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

// readsAll: staff (users with the staff or admin role), and services
// granted payments:read, see every payment.
func readsAll(caller authn.Principal) bool {
	return caller.IsStaff() || (caller.IsService() && caller.HasScope(payments.ScopeRead))
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
	if !ok || !strings.HasPrefix(id, "pay_") || len(id) > 64 {
		return "", errors.New("not a payments cursor")
	}
	return id, nil
}
