package paymentslocal_test

import (
	"context"
	"testing"

	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/payments/paymentstest"
	"github.com/bellhop/bellhop/modules/payments/provider"
	"github.com/bellhop/bellhop/platform/money"
)

// lyingProvider charges the real bank, then alters the succeeded answer
// before the module sees it.
type lyingProvider struct {
	provider.Provider
	lie func(*provider.ChargeResult)
}

func (l lyingProvider) Charge(ctx context.Context, req provider.ChargeRequest) (provider.ChargeResult, error) {
	res, err := l.Provider.Charge(ctx, req)
	if err == nil {
		l.lie(&res)
	}
	return res, err
}

// A succeeded answer for another amount, currency or charge does not
// confirm the payment: it fails with provider_mismatch and no success event.
func TestPay_ProviderAnswerMustMatchTheCharge(t *testing.T) {
	t.Parallel()
	cases := map[string]func(*provider.ChargeResult){
		"WrongAmount":    func(r *provider.ChargeResult) { r.Amount.Amount = 100 },
		"WrongCurrency":  func(r *provider.ChargeResult) { r.Amount.Currency = "USD" },
		"OneUSD":         func(r *provider.ChargeResult) { r.Amount = money.Money{Amount: 100, Currency: "USD"} },
		"WrongReference": func(r *provider.ChargeResult) { r.Reference = "pay_someone_else" },
		"NoReference":    func(r *provider.ChargeResult) { r.Reference = "" },
	}
	for name, lie := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{wrap: func(p provider.Provider) provider.Provider {
				return lyingProvider{Provider: p, lie: lie}
			}})
			b := paymentstest.Pending("bkg_lie", guest.Subject)
			e.bk.Put(b)
			p, err := e.svc.Pay(as(guest), payments.PayRequest{IdempotencyKey: "k-" + name, BookingID: b.ID, PaymentMethod: "pm_card_visa"})
			if err != nil {
				t.Fatal(err)
			}
			if p.Status != payments.StatusFailed || p.FailureCode != provider.CodeProviderMismatch {
				t.Fatalf("payment = %+v, want failed with %s", p, provider.CodeProviderMismatch)
			}
		})
	}
}

// The honest answer (the control for the test above) still succeeds.
func TestPay_MatchingAnswerSucceeds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{wrap: func(p provider.Provider) provider.Provider {
		return lyingProvider{Provider: p, lie: func(*provider.ChargeResult) {}}
	}})
	b := paymentstest.Pending("bkg_honest", guest.Subject)
	e.bk.Put(b)
	p, err := e.svc.Pay(as(guest), payments.PayRequest{IdempotencyKey: "k", BookingID: b.ID, PaymentMethod: "pm_card_visa"})
	if err != nil || p.Status != payments.StatusSucceeded {
		t.Fatalf("payment = %+v, %v; want succeeded", p, err)
	}
}
