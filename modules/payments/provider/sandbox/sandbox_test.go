package sandbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/payments/provider"
	"github.com/bellhop/bellhop/modules/payments/provider/sandbox"
	"github.com/bellhop/bellhop/platform/db/dbtest"
	"github.com/bellhop/bellhop/platform/money"
)

func newBank(t *testing.T, o sandbox.Options) *sandbox.Bank {
	t.Helper()
	b, err := sandbox.New(dbtest.Open(t, sandbox.DBName, sandbox.Migrations), o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var ctx = context.Background()

func charge(t *testing.T, b *sandbox.Bank, key, token string, amount int64) provider.ChargeResult {
	t.Helper()
	res, err := b.Charge(ctx, provider.ChargeRequest{IdempotencyKey: key, Amount: money.New(amount, "EUR"), PaymentMethod: token})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestTokens(t *testing.T) {
	b := newBank(t, sandbox.Options{})
	for token, want := range map[string]string{
		"pm_card_visa": "", "pm_card_mastercard": "", "pm_card_amex": "",
		"pm_card_chargeDeclined": "card_declined", "pm_card_insufficientFunds": "insufficient_funds",
		"pm_card_expired": "expired_card", "pm_card_processingError": "processing_error",
		"pm_card_whatever": "invalid_payment_method",
	} {
		res := charge(t, b, "k-"+token, token, 1000)
		if (want == "") != (res.Status == provider.StatusSucceeded) || res.FailureCode != want || res.ProviderRef == "" {
			t.Fatalf("%s: %+v", token, res)
		}
		got, err := b.Lookup(ctx, "k-"+token)
		if err != nil || got.ProviderRef != res.ProviderRef || got.Status != res.Status || got.FailureCode != res.FailureCode {
			t.Fatalf("lookup %s: %+v %v", token, got, err)
		}
	}
	if _, err := b.Lookup(ctx, "never"); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("lookup of nothing: %v", err)
	}
}

func TestRefunds(t *testing.T) {
	b := newBank(t, sandbox.Options{})
	ok := charge(t, b, "c1", "pm_card_visa", 1000)
	r1, err := b.Refund(ctx, "r1", ok.ProviderRef, money.New(600, "EUR"))
	if err != nil || r1.ProviderRef == "" {
		t.Fatalf("%+v %v", r1, err)
	}
	again, err := b.Refund(ctx, "r1", ok.ProviderRef, money.New(600, "EUR"))
	if err != nil || again != r1 {
		t.Fatalf("replay: %+v %v", again, err)
	}
	for name, call := range map[string]func() error{
		"TooMuch":       func() error { _, err := b.Refund(ctx, "r2", ok.ProviderRef, money.New(401, "EUR")); return err },
		"KeyReused":     func() error { _, err := b.Refund(ctx, "r1", ok.ProviderRef, money.New(100, "EUR")); return err },
		"OtherCurrency": func() error { _, err := b.Refund(ctx, "r3", ok.ProviderRef, money.New(100, "USD")); return err },
		"FailedCharge": func() error {
			failed := charge(t, b, "c2", "pm_card_chargeDeclined", 1000)
			_, err := b.Refund(ctx, "r4", failed.ProviderRef, money.New(100, "EUR"))
			return err
		},
	} {
		if err := call(); !errors.Is(err, provider.ErrRejected) {
			t.Fatalf("%s: err = %v", name, err)
		}
	}
	if _, err := b.Refund(ctx, "r5", "ch_nope", money.New(100, "EUR")); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("unknown charge: %v", err)
	}
	if _, err := b.Refund(ctx, "r6", ok.ProviderRef, money.New(400, "EUR")); err != nil {
		t.Fatalf("the rest: %v", err)
	}
	refunds, _ := b.Refunds(ctx)
	if len(refunds) != 2 {
		t.Fatalf("refunds = %+v", refunds)
	}
}

// Down: refused at once, nothing recorded. Failing: unavailable, and the
// charge recorded or not, as a network would have it.
func TestFaults(t *testing.T) {
	b := newBank(t, sandbox.Options{Seed: 1})
	b.SetDown(true)
	start := time.Now()
	_, err := b.Charge(ctx, provider.ChargeRequest{IdempotencyKey: "k", Amount: money.New(100, "EUR"), PaymentMethod: "pm_card_visa"})
	if !errors.Is(err, provider.ErrUnavailable) || time.Since(start) > time.Second {
		t.Fatalf("down: %v", err)
	}
	if charges, _ := b.Charges(ctx); len(charges) != 0 {
		t.Fatalf("recorded while down: %+v", charges)
	}
	b.SetDown(false)
	b.SetFaults(0, 1)
	recorded := 0
	for i := range 30 {
		key := string(rune('a' + i))
		cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		_, err := b.Charge(cctx, provider.ChargeRequest{IdempotencyKey: key, Amount: money.New(100, "EUR"), PaymentMethod: "pm_card_visa"})
		cancel()
		if !errors.Is(err, provider.ErrUnavailable) {
			t.Fatalf("failing: %v", err)
		}
		if _, err := (func() (provider.ChargeResult, error) {
			b.SetFaults(0, 0)
			defer b.SetFaults(0, 1)
			return b.Lookup(ctx, key)
		})(); err == nil {
			recorded++
		}
	}
	if recorded == 0 || recorded == 30 {
		t.Fatalf("%d of 30 failed calls recorded a charge: want some and not all", recorded)
	}
	b.SetFaults(30*time.Millisecond, 0)
	start = time.Now()
	charge(t, b, "slow", "pm_card_visa", 100)
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("latency not applied: %s", d)
	}
}

// A latency range spreads the calls over it; Inject validates what it is
// given and keeps the faults it had when refused.
func TestFaults_LatencyRangeAndInject(t *testing.T) {
	b := newBank(t, sandbox.Options{Seed: 3, Latency: 5 * time.Millisecond, LatencyMax: 40 * time.Millisecond})
	var fastest, slowest time.Duration = time.Hour, 0
	for i := range 12 {
		start := time.Now()
		charge(t, b, "range-"+string(rune('a'+i)), "pm_card_visa", 100)
		d := time.Since(start)
		fastest, slowest = min(fastest, d), max(slowest, d)
	}
	if fastest < 5*time.Millisecond {
		t.Fatalf("a call took %s, under the 5ms floor", fastest)
	}
	if slowest-fastest < 5*time.Millisecond {
		t.Fatalf("calls took %s to %s: the latency does not vary", fastest, slowest)
	}

	for _, bad := range []sandbox.Faults{
		{FailureRate: 1.5}, {FailureRate: -0.1}, {Latency: -time.Second},
		{Latency: time.Second, LatencyMax: time.Millisecond},
	} {
		if err := b.Inject(bad); err == nil {
			t.Errorf("Inject(%+v) accepted", bad)
		}
	}
	if got := b.Faults(); got.Latency != 5*time.Millisecond || got.LatencyMax != 40*time.Millisecond {
		t.Fatalf("a refused Inject changed the faults: %+v", got)
	}
	want := sandbox.Faults{FailureRate: 0.25, Down: true}
	if err := b.Inject(want); err != nil || b.Faults() != want {
		t.Fatalf("Inject(%+v): %v, faults now %+v", want, err, b.Faults())
	}
	if _, err := b.Charge(ctx, provider.ChargeRequest{IdempotencyKey: "down", Amount: money.New(100, "EUR"), PaymentMethod: "pm_card_visa"}); !errors.Is(err, provider.ErrUnavailable) {
		t.Fatalf("down after Inject: %v", err)
	}
	if _, err := sandbox.New(dbtest.Open(t, sandbox.DBName, sandbox.Migrations), sandbox.Options{Latency: time.Second, LatencyMax: time.Millisecond}); err == nil {
		t.Fatal("New accepted an upside-down latency range")
	}
}
