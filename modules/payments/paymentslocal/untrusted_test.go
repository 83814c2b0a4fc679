package paymentslocal_test

import (
	"context"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/bookings/bookingstest"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/payments/paymentstest"
	"github.com/bellhop/bellhop/modules/payments/provider"
	"github.com/bellhop/bellhop/platform/events/eventstest"
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

// lyingRefunds refunds at the real bank, then alters the answer before the
// module sees it.
type lyingRefunds struct {
	provider.Provider
	lie func(*provider.RefundResult)
}

func (l lyingRefunds) Refund(ctx context.Context, key, ref string, amount money.Money) (provider.RefundResult, error) {
	res, err := l.Provider.Refund(ctx, key, ref, amount)
	if err == nil {
		l.lie(&res)
	}
	return res, err
}

// A refund answer for another amount, currency or charge, without a refund
// id, or with a status that is not an acceptance, is not recorded as money
// returned: the refund fails (for an operator) and the payment is not
// marked refunded. The honest answer refunds.
func TestRefund_ProviderAnswerMustMatchTheRefund(t *testing.T) {
	t.Parallel()
	cases := map[string]func(*provider.RefundResult){
		"WrongAmount":   func(r *provider.RefundResult) { r.Amount.Amount = 1 },
		"OneUSD":        func(r *provider.RefundResult) { r.Amount = money.Money{Amount: 100, Currency: "USD"} },
		"OtherCharge":   func(r *provider.RefundResult) { r.Charge = "ch_someone_else" },
		"NoRefundID":    func(r *provider.RefundResult) { r.ProviderRef = "" },
		"MarkupID":      func(r *provider.RefundResult) { r.ProviderRef = "<script>" },
		"FailedStatus":  func(r *provider.RefundResult) { r.Status = "failed" },
		"UnknownStatus": func(r *provider.RefundResult) { r.Status = "requires_action" },
		"Honest":        func(*provider.RefundResult) {},
	}
	for name, lie := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			bus := eventstest.Bus(t)
			e := newEnv(t, envOptions{bus: bus, wrap: func(p provider.Provider) provider.Provider {
				return lyingRefunds{Provider: p, lie: lie}
			}})
			eventstest.Run(t, e.m)
			bk := bookingstest.NewEvents(t, bus)
			b := paymentstest.Pending("bkg_refund_"+name, guest.Subject)
			e.bk.Put(b)
			p, err := e.svc.Pay(as(guest), payments.PayRequest{IdempotencyKey: "k", BookingID: b.ID, PaymentMethod: "pm_card_visa"})
			if err != nil || p.Status != payments.StatusSucceeded {
				t.Fatalf("%+v %v", p, err)
			}
			b.Status = bookings.StatusCancelled
			bk.Publish(t, bk.Event(t, bookings.EventPaymentRefused, b, p.ID))
			if name == "Honest" {
				waitPayment(t, e.svc, p.ID, func(p payments.Payment) bool { return p.Status == payments.StatusRefunded })
				return
			}
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				var status string
				if err := e.db.Table("payment_refunds").Where("payment_id = ?", p.ID).Select("status").Scan(&status).Error; err != nil {
					t.Fatal(err)
				}
				if status == "failed" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("refund status %q, want failed", status)
				}
			}
			if after, err := e.svc.Get(as(guest), payments.GetRequest{ID: p.ID}); err != nil || after.Refunded.Amount != 0 || after.Status != payments.StatusSucceeded {
				t.Fatalf("after a refund answer that does not match: %+v, %v", after, err)
			}
		})
	}
}
