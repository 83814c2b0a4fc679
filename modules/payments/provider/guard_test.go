package provider_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/payments/provider"
	"github.com/bellhop/bellhop/platform/money"
)

// fake answers from a script and records the keys it was called with.
type fake struct {
	mu     sync.Mutex
	keys   []string
	answer func(call int) error // nil error: succeeded
	hang   bool
}

func (f *fake) Name() string { return "fake" }

func (f *fake) call(ctx context.Context, key string) error {
	f.mu.Lock()
	f.keys = append(f.keys, key)
	n := len(f.keys)
	f.mu.Unlock()
	if f.hang {
		<-ctx.Done()
		return ctx.Err() // unclassified: the guard treats it as no answer
	}
	return f.answer(n)
}

func (f *fake) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.keys...)
}

func (f *fake) Charge(ctx context.Context, req provider.ChargeRequest) (provider.ChargeResult, error) {
	if err := f.call(ctx, req.IdempotencyKey); err != nil {
		return provider.ChargeResult{}, err
	}
	return provider.ChargeResult{ProviderRef: "ch_1", Status: provider.StatusSucceeded}, nil
}

func (f *fake) Refund(ctx context.Context, key, _ string, _ money.Money) (provider.RefundResult, error) {
	if err := f.call(ctx, key); err != nil {
		return provider.RefundResult{}, err
	}
	return provider.RefundResult{ProviderRef: "re_1", Status: "succeeded"}, nil
}

func (f *fake) Lookup(ctx context.Context, key string) (provider.ChargeResult, error) {
	if err := f.call(ctx, key); err != nil {
		return provider.ChargeResult{}, err
	}
	return provider.ChargeResult{ProviderRef: "ch_1", Status: provider.StatusSucceeded}, nil
}

var req = provider.ChargeRequest{IdempotencyKey: "pay_1", Amount: money.New(100, "EUR"), PaymentMethod: "pm_card_visa"}

func policy() provider.Policy {
	return provider.Policy{AttemptTimeout: 50 * time.Millisecond, Attempts: 3, Backoff: time.Millisecond, BreakerFailures: 5, BreakerOpen: 200 * time.Millisecond}
}

func TestGuard_RetriesWithTheSameKey(t *testing.T) {
	f := &fake{answer: func(n int) error {
		if n < 3 {
			return provider.Unavailable(errors.New("reset"))
		}
		return nil
	}}
	res, err := provider.Guard(f, policy()).Charge(context.Background(), req)
	if err != nil || res.Status != provider.StatusSucceeded {
		t.Fatalf("%+v %v", res, err)
	}
	if keys := f.calls(); len(keys) != 3 || keys[0] != "pay_1" || keys[1] != "pay_1" || keys[2] != "pay_1" {
		t.Fatalf("calls = %v", keys)
	}
}

func TestGuard_AnswersAreNotRetried(t *testing.T) {
	for _, answer := range []error{provider.Rejected(errors.New("bad")), provider.ErrNotFound} {
		f := &fake{answer: func(int) error { return answer }}
		if _, err := provider.Guard(f, policy()).Lookup(context.Background(), "k"); !errors.Is(err, answer) {
			t.Fatalf("err = %v", err)
		}
		if n := len(f.calls()); n != 1 {
			t.Fatalf("%d calls for %v", n, answer)
		}
	}
}

// A hanging provider is cut off at each attempt's timeout; after the
// attempts, the call reports no answer.
func TestGuard_AttemptTimeout(t *testing.T) {
	f := &fake{hang: true}
	start := time.Now()
	_, err := provider.Guard(f, policy()).Charge(context.Background(), req)
	if !errors.Is(err, provider.ErrUnavailable) || errors.Is(err, provider.ErrNotAttempted) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > time.Second || len(f.calls()) != 3 {
		t.Fatalf("%d calls in %s", len(f.calls()), d)
	}
}

// Failing attempts open the breaker: calls then fail at once without
// reaching the provider, until a probe after BreakerOpen succeeds.
func TestGuard_Breaker(t *testing.T) {
	down := true
	var mu sync.Mutex
	f := &fake{answer: func(int) error {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return provider.Unavailable(errors.New("refused"))
		}
		return nil
	}}
	g := provider.Guard(f, policy())
	_, err := g.Charge(context.Background(), req) // 3 failed attempts
	if !errors.Is(err, provider.ErrUnavailable) {
		t.Fatalf("first: %v", err)
	}
	_, err = g.Charge(context.Background(), req) // 2 more: the breaker opens mid-call
	if !errors.Is(err, provider.ErrUnavailable) || errors.Is(err, provider.ErrNotAttempted) || !g.BreakerOpen() {
		t.Fatalf("second: %v (open %v)", err, g.BreakerOpen())
	}
	calls := len(f.calls())
	start := time.Now()
	for range 100 {
		if _, err := g.Charge(context.Background(), req); !errors.Is(err, provider.ErrNotAttempted) {
			t.Fatalf("while open: %v", err)
		}
	}
	if d := time.Since(start); d > time.Second || len(f.calls()) != calls || g.TimesOpened() != 1 {
		t.Fatalf("100 refusals took %s, %d calls reached the provider", d, len(f.calls())-calls)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	time.Sleep(250 * time.Millisecond)
	if _, err := g.Charge(context.Background(), req); err != nil || g.BreakerOpen() {
		t.Fatalf("after recovery: %v", err)
	}
}

func TestCheckAnswer(t *testing.T) {
	t.Parallel()
	req := provider.ChargeRequest{IdempotencyKey: "pay_1", Amount: money.Money{Amount: 12400, Currency: "EUR"}}
	ok := provider.ChargeResult{Status: provider.StatusSucceeded, Amount: req.Amount, Reference: "pay_1"}
	if err := provider.CheckAnswer(req, ok); err != nil {
		t.Fatalf("matching answer: %v", err)
	}
	for name, res := range map[string]provider.ChargeResult{
		"Amount":    {Status: provider.StatusSucceeded, Amount: money.Money{Amount: 100, Currency: "EUR"}, Reference: "pay_1"},
		"Currency":  {Status: provider.StatusSucceeded, Amount: money.Money{Amount: 12400, Currency: "USD"}, Reference: "pay_1"},
		"Reference": {Status: provider.StatusSucceeded, Amount: req.Amount, Reference: "pay_2"},
		"Nothing":   {Status: provider.StatusSucceeded},
	} {
		if err := provider.CheckAnswer(req, res); !errors.Is(err, provider.ErrMismatch) {
			t.Errorf("%s: err = %v, want ErrMismatch", name, err)
		}
	}
	if err := provider.CheckAnswer(req, provider.ChargeResult{Status: provider.StatusFailed}); err != nil {
		t.Errorf("failed answer: %v", err)
	}
}
