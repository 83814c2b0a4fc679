package provider_test

import (
	"context"
	"strings"
	"testing"

	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/payments/provider"
	"github.com/bellhop/bellhop/platform/money"
)

func TestNormalize_HostileValues(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("A", 100)
	for _, tc := range []struct {
		name              string
		in                provider.ChargeResult
		code, msg         string
		brand, last4, ref string
	}{
		{"HTMLMessage", provider.ChargeResult{Status: provider.StatusFailed, FailureCode: "card_declined",
			FailureMessage: `<script>alert(1)</script>`, Card: &payments.Card{Brand: "<b>visa</b>", Last4: "<i>1</i>"}},
			"card_declined", "Your card was declined.", "unknown", "", ""},
		{"UnknownCode", provider.ChargeResult{Status: provider.StatusFailed, FailureCode: long, FailureMessage: long,
			Card: &payments.Card{Brand: long, Last4: "12345678"}},
			provider.CodeDeclined, "Your card was declined.", "unknown", "", ""},
		{"HTMLCode", provider.ChargeResult{Status: provider.StatusFailed, FailureCode: `"><img src=x onerror=alert(1)>`},
			provider.CodeDeclined, "Your card was declined.", "", "", ""},
		{"KnownCodeProviderText", provider.ChargeResult{Status: provider.StatusFailed, FailureCode: "insufficient_funds",
			FailureMessage: "Call +1 555 0100 to unlock your card", Card: &payments.Card{Brand: "MasterCard", Last4: "4444"}},
			"insufficient_funds", "Your card has insufficient funds.", "mastercard", "4444", ""},
		{"Succeeded", provider.ChargeResult{ProviderRef: "pi_1", Status: provider.StatusSucceeded, FailureCode: "x", FailureMessage: "<p>",
			Card: &payments.Card{Brand: "American Express", Last4: "8431"}},
			"", "", "amex", "8431", "pi_1"},
		{"ShortLast4AndBadRef", provider.ChargeResult{ProviderRef: "<a href=x>pi</a>", Status: provider.StatusSucceeded,
			Card: &payments.Card{Brand: "visa", Last4: "123"}},
			"", "", "visa", "", ""},
		{"LongRef", provider.ChargeResult{ProviderRef: strings.Repeat("p", 129), Status: provider.StatusSucceeded}, "", "", "", "", ""},
		{"Last4Unicode", provider.ChargeResult{Status: provider.StatusSucceeded, Card: &payments.Card{Brand: "jcb", Last4: "١٢٣٤"}},
			"", "", "jcb", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := provider.Normalize(tc.in)
			if got.FailureCode != tc.code || got.FailureMessage != tc.msg || got.ProviderRef != tc.ref {
				t.Fatalf("code %q msg %q ref %q; want %q %q %q", got.FailureCode, got.FailureMessage, got.ProviderRef, tc.code, tc.msg, tc.ref)
			}
			if tc.in.Card == nil {
				if got.Card != nil {
					t.Fatalf("card = %+v, want none", got.Card)
				}
				return
			}
			if got.Card.Brand != tc.brand || got.Card.Last4 != tc.last4 {
				t.Fatalf("card = %+v, want brand %q last4 %q", got.Card, tc.brand, tc.last4)
			}
		})
	}
}

// hostile answers whatever it is told to, through the guard.
type hostile struct{ res provider.ChargeResult }

func (h hostile) Name() string { return "hostile" }
func (h hostile) Charge(context.Context, provider.ChargeRequest) (provider.ChargeResult, error) {
	return h.res, nil
}
func (h hostile) Lookup(context.Context, string) (provider.ChargeResult, error) { return h.res, nil }
func (h hostile) Refund(context.Context, string, string, money.Money) (provider.RefundResult, error) {
	return provider.RefundResult{}, nil
}

// Every answer through the guard, Charge's and Lookup's, is normalised.
func TestGuard_NormalizesEveryAnswer(t *testing.T) {
	t.Parallel()
	raw := provider.ChargeResult{Status: provider.StatusFailed, FailureCode: "<b>x</b>", FailureMessage: "<script>",
		Card: &payments.Card{Brand: "<visa>", Last4: "12345678", ExpMonth: 99}}
	g := provider.Guard(hostile{raw}, provider.Policy{})
	charged, err := g.Charge(context.Background(), provider.ChargeRequest{IdempotencyKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	looked, err := g.Lookup(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]provider.ChargeResult{"charge": charged, "lookup": looked} {
		if r.FailureCode != provider.CodeDeclined || r.FailureMessage != "Your card was declined." ||
			r.Card == nil || r.Card.Brand != "unknown" || r.Card.Last4 != "" || r.Card.ExpMonth != 0 {
			t.Errorf("%s: %+v card %+v", name, r, r.Card)
		}
	}
}
