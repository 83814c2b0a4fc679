// Package sandbox is Bellhop's embedded payment provider: a simulated
// third-party bank with a ledger of its own, in a database of its own (a
// SQLite file separate from the payments module's), so a charge survives a
// crash of the caller and "charged once" can be checked against the bank's
// books rather than against Bellhop's.
//
// It accepts Stripe's test payment method tokens:
//
//	pm_card_visa, pm_card_mastercard, pm_card_amex   succeed
//	pm_card_chargeDeclined                           fail: card_declined
//	pm_card_insufficientFunds                        fail: insufficient_funds
//	pm_card_expired                                  fail: expired_card
//	pm_card_processingError                          fail: processing_error
//	anything else                                    fail: invalid_payment_method
//
// Every call is idempotent by its key: the same key names the same charge
// (or refund), recorded once however many times and however concurrently it
// is sent; the same key with other parameters is refused (ErrRejected).
//
// For fault tests it has a configurable latency (fixed or a random range)
// and failure rate, and can be taken down altogether (every call is refused
// at once); Inject changes them while it runs. A failing
// call fails like a network does: the request is lost before it reaches the
// bank, or the bank records the charge and the answer is lost, or the answer
// never comes (the call hangs until the caller's deadline). The last two are
// what leave a payment's outcome unknown.
//
// There are no card numbers anywhere: tokens only.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/payments/provider"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/ids"
	"github.com/bellhop/bellhop/platform/money"
)

// Name is the provider's name in payments.
const Name = "sandbox"

// DBName is the bank's database name: <data_dir>/sandbox-bank.db by default.
const DBName = "sandbox-bank"

// Charge is one charge in the bank's ledger, failed ones included.
type Charge struct {
	ID             string `gorm:"primaryKey;size:64"`
	IdempotencyKey string `gorm:"size:255;not null;uniqueIndex:ux_sandbox_charges_key"`
	Amount         int64  `gorm:"not null"`
	Currency       string `gorm:"size:3;not null"`
	PaymentMethod  string `gorm:"size:255;not null"` // the token, e.g. pm_card_visa
	Description    string `gorm:"size:500;not null"`
	Status         string `gorm:"size:16;not null"` // succeeded or failed
	FailureCode    string `gorm:"size:64;not null"`
	FailureMessage string `gorm:"size:255;not null"`
	CardBrand      string `gorm:"size:32;not null"`
	CardLast4      string `gorm:"size:4;not null"`
	CardExpMonth   int    `gorm:"not null"`
	CardExpYear    int    `gorm:"not null"`
	CreatedAt      time.Time
}

// TableName is the ledger's charges table.
func (Charge) TableName() string { return "sandbox_charges" }

// Refund is one refund in the bank's ledger.
type Refund struct {
	ID             string `gorm:"primaryKey;size:64"`
	IdempotencyKey string `gorm:"size:255;not null;uniqueIndex:ux_sandbox_refunds_key"`
	ChargeID       string `gorm:"size:64;not null;index"`
	Amount         int64  `gorm:"not null"`
	Currency       string `gorm:"size:3;not null"`
	CreatedAt      time.Time
}

// TableName is the ledger's refunds table.
func (Refund) TableName() string { return "sandbox_refunds" }

// Migrations create the bank's ledger.
var Migrations = []db.Migration{
	{ID: "0001_ledger", Up: func(tx *gorm.DB) error { return tx.Migrator().CreateTable(&Charge{}, &Refund{}) }},
}

// Options configure the bank.
type Options struct {
	// Latency is added to every call (a real bank is not instant); with
	// LatencyMax above it, each call waits a uniformly random time between
	// the two.
	Latency, LatencyMax time.Duration
	// FailureRate (0 to 1) is the share of calls that fail like a network
	// does (see the package doc).
	FailureRate float64
	// Seed makes the failures reproducible (0: random).
	Seed uint64
	// MaxHang bounds a call whose answer never comes when the caller has no
	// deadline (default 30s).
	MaxHang time.Duration
}

// Bank is the sandbox provider. It is safe for concurrent use.
type Bank struct {
	db      *db.DB
	maxHang time.Duration
	// writing serialises the ledger's writes in-process (SQLite has one
	// writer at a time anyway; waiting here rather than in SQLite's busy
	// handler keeps the connection pool free for readers).
	writing sync.Mutex

	mu     sync.Mutex // guards the fields below
	faults Faults
	rng    *rand.Rand
}

// Faults are what the bank does wrong: its latency (a fixed Latency, or a
// uniformly random one between Latency and LatencyMax), the share of calls
// that fail like a network does, and whether it is down altogether.
type Faults struct {
	Latency, LatencyMax time.Duration
	FailureRate         float64
	Down                bool
}

// Validate reports the first thing wrong with f.
func (f Faults) Validate() error {
	switch {
	case f.FailureRate < 0 || f.FailureRate > 1:
		return fmt.Errorf("sandbox: failure rate %v is not between 0 and 1", f.FailureRate)
	case f.Latency < 0:
		return errors.New("sandbox: negative latency")
	case f.LatencyMax != 0 && f.LatencyMax < f.Latency:
		return fmt.Errorf("sandbox: the latency range %s–%s is upside down", f.Latency, f.LatencyMax)
	}
	return nil
}

var _ provider.Provider = (*Bank)(nil)

// New opens the bank on its own database d, migrated with Migrations.
func New(d *db.DB, o Options) (*Bank, error) {
	if d == nil {
		return nil, errors.New("sandbox: a database is required")
	}
	faults := Faults{Latency: o.Latency, LatencyMax: o.LatencyMax, FailureRate: o.FailureRate}
	if err := faults.Validate(); err != nil {
		return nil, err
	}
	seed := o.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	if o.MaxHang <= 0 {
		o.MaxHang = 30 * time.Second
	}
	return &Bank{
		db: d, maxHang: o.MaxHang, faults: faults,
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}, nil
}

// Faults returns what the bank does wrong now.
func (b *Bank) Faults() Faults {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.faults
}

// Inject changes what the bank does wrong from the next call on (calls in
// flight keep the faults they started with).
func (b *Bank) Inject(f Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.faults = f
	return nil
}

// SetFaults changes the latency (fixed) and failure rate (for fault tests).
func (b *Bank) SetFaults(latency time.Duration, failureRate float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.faults.Latency, b.faults.LatencyMax, b.faults.FailureRate = latency, 0, min(max(failureRate, 0), 1)
}

// SetDown takes the bank off the network (true) or puts it back: while it
// is down every call fails at once, before reaching the bank, as a refused
// connection does.
func (b *Bank) SetDown(down bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.faults.Down = down
}

// Name implements provider.Provider.
func (b *Bank) Name() string { return Name }

// card is what the bank knows about a test token.
type card struct {
	brand, last4      string
	expMonth, expYear int
	failCode, failMsg string
}

// cards are the test tokens, as Stripe documents them.
var cards = map[string]card{
	"pm_card_visa":              {brand: "visa", last4: "4242", expMonth: 12, expYear: 2034},
	"pm_card_mastercard":        {brand: "mastercard", last4: "4444", expMonth: 12, expYear: 2034},
	"pm_card_amex":              {brand: "amex", last4: "8431", expMonth: 12, expYear: 2034},
	"pm_card_chargeDeclined":    {brand: "visa", last4: "0002", expMonth: 12, expYear: 2034, failCode: provider.CodeCardDeclined, failMsg: "Your card was declined."},
	"pm_card_insufficientFunds": {brand: "visa", last4: "9995", expMonth: 12, expYear: 2034, failCode: provider.CodeInsufficientFunds, failMsg: "Your card has insufficient funds."},
	"pm_card_expired":           {brand: "visa", last4: "0069", expMonth: 1, expYear: 2020, failCode: provider.CodeExpiredCard, failMsg: "Your card has expired."},
	"pm_card_processingError":   {brand: "visa", last4: "0119", expMonth: 12, expYear: 2034, failCode: provider.CodeProcessingError, failMsg: "An error occurred while processing your card. Try again in a little bit."},
}

// Tokens lists the test tokens the bank knows.
func Tokens() []string {
	out := make([]string, 0, len(cards))
	for t := range cards {
		out = append(out, t)
	}
	return out
}

// fault is what goes wrong with one call.
type fault int

const (
	faultNone       fault = iota
	faultLostBefore       // the request never reaches the bank
	faultLostAfter        // the bank acts, the answer is lost
	faultHang             // the bank acts, the answer never comes
)

// enter waits the latency and rolls the dice for the call's fault.
func (b *Bank) enter(ctx context.Context) (fault, error) {
	b.mu.Lock()
	fs := b.faults
	latency, down := fs.Latency, fs.Down
	if fs.LatencyMax > fs.Latency {
		latency += time.Duration(b.rng.Int64N(int64(fs.LatencyMax-fs.Latency) + 1))
	}
	f := faultNone
	if fs.FailureRate > 0 && b.rng.Float64() < fs.FailureRate {
		f = fault(1 + b.rng.IntN(3))
	}
	b.mu.Unlock()
	if down {
		return f, provider.Unavailable(errors.New("sandbox: connection refused: the bank is down"))
	}
	if latency > 0 {
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return f, provider.Unavailable(fmt.Errorf("sandbox: %w", ctx.Err()))
		}
	}
	if f == faultLostBefore {
		return f, provider.Unavailable(errors.New("sandbox: connection reset before the request reached the bank"))
	}
	if err := ctx.Err(); err != nil {
		return f, provider.Unavailable(fmt.Errorf("sandbox: %w", err))
	}
	return f, nil
}

// leave turns a fault that strikes after the bank acted into its error.
func (b *Bank) leave(ctx context.Context, f fault) error {
	switch f {
	case faultLostAfter:
		return provider.Unavailable(errors.New("sandbox: connection reset before the answer arrived"))
	case faultHang:
		t := time.NewTimer(b.maxHang)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		return provider.Unavailable(errors.New("sandbox: the bank did not answer in time"))
	}
	return nil
}

// Charge implements provider.Provider.
func (b *Bank) Charge(ctx context.Context, req provider.ChargeRequest) (provider.ChargeResult, error) {
	if err := checkKey(req.IdempotencyKey); err != nil {
		return provider.ChargeResult{}, err
	}
	if req.Amount.Amount <= 0 || !money.IsCurrency(req.Amount.Currency) {
		return provider.ChargeResult{}, provider.Rejected(fmt.Errorf("sandbox: invalid amount %s", req.Amount))
	}
	f, err := b.enter(ctx)
	if err != nil {
		return provider.ChargeResult{}, err
	}
	c, ok := cards[req.PaymentMethod]
	row := Charge{
		ID: ids.New("ch"), IdempotencyKey: req.IdempotencyKey, Amount: req.Amount.Amount, Currency: req.Amount.Currency,
		PaymentMethod: clip(req.PaymentMethod, 255), Description: clip(req.Description, 500), Status: provider.StatusSucceeded,
		CardBrand: c.brand, CardLast4: c.last4, CardExpMonth: c.expMonth, CardExpYear: c.expYear,
		CreatedAt: time.Now().UTC(),
	}
	switch {
	case !ok:
		row.Status, row.FailureCode, row.FailureMessage = provider.StatusFailed, provider.CodeInvalidPaymentMethod, "The payment method is not valid."
	case c.failCode != "":
		row.Status, row.FailureCode, row.FailureMessage = provider.StatusFailed, c.failCode, c.failMsg
	}
	got, err := b.record(ctx, row)
	if err != nil {
		return provider.ChargeResult{}, err
	}
	if got.Amount != req.Amount.Amount || got.Currency != req.Amount.Currency || got.PaymentMethod != row.PaymentMethod {
		return provider.ChargeResult{}, provider.Rejected(errors.New("sandbox: idempotency key reused with different parameters"))
	}
	if err := b.leave(ctx, f); err != nil {
		return provider.ChargeResult{}, err
	}
	return result(got), nil
}

// record writes row unless a charge with its key exists, and returns the
// charge the key names. One statement: concurrent calls with one key record
// one charge. The caller's cancellation must not leave the ledger
// half-told, so the write ignores it; it is short.
func (b *Bank) record(ctx context.Context, row Charge) (Charge, error) {
	g := b.db.WithContext(context.WithoutCancel(ctx))
	b.writing.Lock()
	defer b.writing.Unlock()
	if err := g.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "idempotency_key"}}, DoNothing: true}).Create(&row).Error; err != nil {
		return Charge{}, provider.Unavailable(fmt.Errorf("sandbox: record charge: %w", err))
	}
	var got Charge
	if err := g.Where("idempotency_key = ?", row.IdempotencyKey).Take(&got).Error; err != nil {
		return Charge{}, provider.Unavailable(fmt.Errorf("sandbox: read charge: %w", err))
	}
	return got, nil
}

// Lookup implements provider.Provider.
func (b *Bank) Lookup(ctx context.Context, key string) (provider.ChargeResult, error) {
	if err := checkKey(key); err != nil {
		return provider.ChargeResult{}, err
	}
	f, err := b.enter(ctx)
	if err != nil {
		return provider.ChargeResult{}, err
	}
	var got Charge
	err = b.db.WithContext(ctx).Where("idempotency_key = ?", key).Take(&got).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		err = fmt.Errorf("sandbox: charge %q: %w", key, provider.ErrNotFound)
	case err != nil:
		err = provider.Unavailable(fmt.Errorf("sandbox: read charge: %w", err))
	}
	if lerr := b.leave(ctx, f); lerr != nil {
		return provider.ChargeResult{}, lerr
	}
	if err != nil {
		return provider.ChargeResult{}, err
	}
	return result(got), nil
}

// Refund implements provider.Provider. The charge must have succeeded, and
// its refunds never add up to more than it.
func (b *Bank) Refund(ctx context.Context, key, chargeID string, amount money.Money) (provider.RefundResult, error) {
	if err := checkKey(key); err != nil {
		return provider.RefundResult{}, err
	}
	if amount.Amount <= 0 {
		return provider.RefundResult{}, provider.Rejected(fmt.Errorf("sandbox: invalid refund amount %s", amount))
	}
	f, err := b.enter(ctx)
	if err != nil {
		return provider.RefundResult{}, err
	}
	var out Refund
	b.writing.Lock()
	// A writing transaction (BEGIN IMMEDIATE on SQLite): the check of the
	// amount left and the insert are one step.
	err = b.db.WithContext(context.WithoutCancel(ctx)).Transaction(func(tx *gorm.DB) error {
		err := tx.Where("idempotency_key = ?", key).Take(&out).Error
		if err == nil {
			if out.ChargeID != chargeID || out.Amount != amount.Amount || out.Currency != amount.Currency {
				return provider.Rejected(errors.New("sandbox: idempotency key reused with different parameters"))
			}
			return nil
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		var ch Charge
		if err := tx.Where("id = ?", chargeID).Take(&ch).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("sandbox: charge %q: %w", chargeID, provider.ErrNotFound)
			}
			return err
		}
		if ch.Status != provider.StatusSucceeded {
			return provider.Rejected(fmt.Errorf("sandbox: charge %s did not succeed", chargeID))
		}
		if ch.Currency != amount.Currency {
			return provider.Rejected(fmt.Errorf("sandbox: refund in %s of a charge in %s", amount.Currency, ch.Currency))
		}
		var refunded int64
		if err := tx.Model(&Refund{}).Where("charge_id = ?", chargeID).Select("COALESCE(SUM(amount), 0)").Scan(&refunded).Error; err != nil {
			return err
		}
		if refunded+amount.Amount > ch.Amount {
			return provider.Rejected(fmt.Errorf("sandbox: refund of %s exceeds what is left of charge %s", amount, chargeID))
		}
		out = Refund{ID: ids.New("re"), IdempotencyKey: key, ChargeID: chargeID, Amount: amount.Amount, Currency: amount.Currency, CreatedAt: time.Now().UTC()}
		return tx.Create(&out).Error
	})
	b.writing.Unlock()
	if err != nil {
		if !errors.Is(err, provider.ErrRejected) && !errors.Is(err, provider.ErrNotFound) {
			err = provider.Unavailable(fmt.Errorf("sandbox: refund: %w", err))
		}
		return provider.RefundResult{}, err
	}
	if err := b.leave(ctx, f); err != nil {
		return provider.RefundResult{}, err
	}
	return provider.RefundResult{ProviderRef: out.ID, Status: provider.RefundSucceeded,
		Amount: money.New(out.Amount, out.Currency), Charge: out.ChargeID}, nil
}

// Charges returns the bank's ledger of charges, oldest first.
func (b *Bank) Charges(ctx context.Context) ([]Charge, error) {
	var out []Charge
	err := b.db.WithContext(ctx).Order("created_at, id").Find(&out).Error
	return out, err
}

// Refunds returns the bank's ledger of refunds, oldest first.
func (b *Bank) Refunds(ctx context.Context) ([]Refund, error) {
	var out []Refund
	err := b.db.WithContext(ctx).Order("created_at, id").Find(&out).Error
	return out, err
}

func result(c Charge) provider.ChargeResult {
	r := provider.ChargeResult{ProviderRef: c.ID, Status: c.Status, FailureCode: c.FailureCode, FailureMessage: c.FailureMessage,
		Amount: money.Money{Amount: c.Amount, Currency: c.Currency}, Reference: c.IdempotencyKey}
	if c.CardBrand != "" {
		r.Card = &payments.Card{Brand: c.CardBrand, Last4: c.CardLast4, ExpMonth: c.CardExpMonth, ExpYear: c.CardExpYear}
	}
	return r
}

func checkKey(key string) error {
	if strings.TrimSpace(key) == "" || len(key) > 255 {
		return provider.Rejected(errors.New("sandbox: an idempotency key of 1 to 255 characters is required"))
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
