package paymentslocal_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/modules/bookings/bookingstest"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/payments/paymentslocal"
	"github.com/bellhop/bellhop/modules/payments/paymentstest"
	"github.com/bellhop/bellhop/modules/payments/provider"
	"github.com/bellhop/bellhop/modules/payments/provider/sandbox"
	"github.com/bellhop/bellhop/platform/db/dbtest"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/events/eventstest"
)

// 50 concurrent payments with one idempotency key: one charge in the
// sandbox bank's ledger, and 50 identical answers (the late ones waited for
// the first request, which the bank's latency keeps running).
func TestPay_FiftyConcurrentWithOneKey(t *testing.T) {
	e := newEnv(t, envOptions{bank: sandbox.Options{Latency: 150 * time.Millisecond}})
	b := paymentstest.Pending("bkg_fifty", guest.Subject)
	e.bk.Put(b)
	req := payments.PayRequest{IdempotencyKey: "one-key", BookingID: b.ID, PaymentMethod: "pm_card_visa"}
	const n = 50
	got := make([]payments.Payment, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			got[i], errs[i] = e.svc.Pay(as(guest), req)
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if !reflect.DeepEqual(got[i], got[0]) {
			t.Fatalf("answer %d differs:\n%+v\n%+v", i, got[i], got[0])
		}
	}
	if got[0].Status != payments.StatusSucceeded || got[0].Amount != b.Total {
		t.Fatalf("payment = %+v", got[0])
	}
	charges, err := e.bank.Charges(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(charges) != 1 || charges[0].IdempotencyKey != got[0].ID || charges[0].Amount != b.Total.Amount {
		t.Fatalf("ledger = %+v, want one charge of %s", charges, got[0].ID)
	}
	var rows int64
	if err := e.db.Table("payments").Count(&rows).Error; err != nil || rows != 1 {
		t.Fatalf("%d payments stored (%v), want 1", rows, err)
	}
}

// The bank itself is idempotent: 50 concurrent charges with one key record
// one charge and answer the same.
func TestSandbox_ConcurrentChargesOneKey(t *testing.T) {
	bank, err := sandbox.New(dbtest.Open(t, sandbox.DBName, sandbox.Migrations), sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	req := provider.ChargeRequest{IdempotencyKey: "k", Amount: paymentstest.Pending("b", "g").Total, PaymentMethod: "pm_card_visa"}
	var wg sync.WaitGroup
	refs := make([]string, 50)
	for i := range refs {
		wg.Go(func() {
			res, err := bank.Charge(context.Background(), req)
			if err != nil {
				t.Error(err)
			}
			refs[i] = res.ProviderRef
		})
	}
	wg.Wait()
	for _, r := range refs {
		if r != refs[0] || r == "" {
			t.Fatalf("refs = %v", refs)
		}
	}
	if charges, _ := bank.Charges(context.Background()); len(charges) != 1 {
		t.Fatalf("%d charges", len(charges))
	}
	req.PaymentMethod = "pm_card_mastercard"
	if _, err := bank.Charge(context.Background(), req); !errors.Is(err, provider.ErrRejected) {
		t.Fatalf("same key, other card: err = %v", err)
	}
}

// collector subscribes a stand-in consumer to payments' events.
type collector struct {
	mu  sync.Mutex
	evs []events.Event
}

func collect(t *testing.T, bus *events.Bus) *collector {
	t.Helper()
	c := &collector{}
	cdb := dbtest.Open(t, "paytest", events.Migrations)
	cons, err := bus.Subscribe("paytest", "payments", []string{events.Subject(payments.Module, "bellhop.payment.>")},
		func(_ context.Context, _ *gorm.DB, evt events.Event) error {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.evs = append(c.evs, evt)
			return nil
		}, events.SubscribeOptions{DB: cdb.DB})
	if err != nil {
		t.Fatal(err)
	}
	eventstest.Run(t, cons)
	return c
}

// wait returns the events of typ about payment id once there are n.
func (c *collector) wait(t *testing.T, typ, id string, n int) []payments.PaymentEvent {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var out []payments.PaymentEvent
		c.mu.Lock()
		for _, e := range c.evs {
			var p payments.PaymentEvent
			if e.Type == typ && e.Decode(&p) == nil && p.Payment.ID == id {
				out = append(out, p)
			}
		}
		c.mu.Unlock()
		if len(out) >= n || time.Now().After(deadline) {
			if len(out) != n {
				t.Fatalf("%d %s events of %s, want %d", len(out), typ, id, n)
			}
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A declined card is a failed payment and a payment.failed event; a good
// one a payment.succeeded event; both through the outbox and the bus.
func TestPay_PublishesOutcome(t *testing.T) {
	bus := eventstest.Bus(t)
	e := newEnv(t, envOptions{bus: bus})
	eventstest.Run(t, e.m)
	got := collect(t, bus)

	e.bk.Put(paymentstest.Pending("bkg_declined", guest.Subject))
	failed, err := e.svc.Pay(as(guest), payments.PayRequest{IdempotencyKey: "k1", BookingID: "bkg_declined", PaymentMethod: "pm_card_chargeDeclined"})
	if err != nil {
		t.Fatal(err)
	}
	if failed.Status != payments.StatusFailed || failed.FailureCode != "card_declined" {
		t.Fatalf("payment = %+v", failed)
	}
	evs := got.wait(t, payments.EventFailed, failed.ID, 1)
	if !reflect.DeepEqual(evs[0].Payment, failed) {
		t.Fatalf("event payment = %+v, want %+v", evs[0].Payment, failed)
	}

	e.bk.Put(paymentstest.Pending("bkg_ok", guest.Subject))
	ok, err := e.svc.Pay(as(guest), payments.PayRequest{IdempotencyKey: "k2", BookingID: "bkg_ok", PaymentMethod: "pm_card_visa"})
	if err != nil {
		t.Fatal(err)
	}
	got.wait(t, payments.EventSucceeded, ok.ID, 1)
	// A replay publishes nothing more.
	if _, err := e.svc.Pay(as(guest), payments.PayRequest{IdempotencyKey: "k2", BookingID: "bkg_ok", PaymentMethod: "pm_card_visa"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	got.wait(t, payments.EventSucceeded, ok.ID, 1)
}

// A provider that never answers leaves the payment unknown; the reconciler
// asks the bank by the idempotency key and settles it as the bank's ledger
// says, with its event.
func TestReconcile_SettlesUnknown(t *testing.T) {
	bus := eventstest.Bus(t)
	pol := fastPolicy()
	pol.AttemptTimeout, pol.Attempts = 50*time.Millisecond, 1
	e := newEnv(t, envOptions{bus: bus, policy: pol, bank: sandbox.Options{FailureRate: 1, Seed: 7}})
	got := collect(t, bus)
	var unknown []payments.Payment
	for i := range 12 {
		id := fmt.Sprintf("bkg_unknown_%d", i)
		e.bk.Put(paymentstest.Pending(id, guest.Subject))
		p, err := e.svc.Pay(as(guest), payments.PayRequest{IdempotencyKey: id, BookingID: id, PaymentMethod: "pm_card_visa"})
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != payments.StatusUnknown {
			t.Fatalf("payment = %+v, want unknown", p)
		}
		unknown = append(unknown, p)
	}
	// Some charges reached the ledger (the answer was lost), some did not.
	ledger := ledgerByKey(t, e.bank)
	if len(ledger) == 0 || len(ledger) == len(unknown) {
		t.Fatalf("%d of %d charges recorded: want some of each for this test", len(ledger), len(unknown))
	}
	// While the bank is still failing, nothing is settled.
	if err := e.m.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.bank.SetFaults(0, 0)
	eventstest.Run(t, e.m) // runs Reconcile at once and every 100ms
	for _, u := range unknown {
		var p payments.Payment
		deadline := time.Now().Add(10 * time.Second)
		for {
			var err error
			if p, err = e.svc.Get(as(guest), payments.GetRequest{ID: u.ID}); err != nil {
				t.Fatal(err)
			}
			if p.Status != payments.StatusUnknown || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		c, charged := ledger[u.ID]
		switch {
		case charged && p.Status == payments.StatusSucceeded && p.Card != nil && p.Card.Last4 == "4242":
			if c.Status != "succeeded" {
				t.Fatalf("ledger %+v", c)
			}
			got.wait(t, payments.EventSucceeded, u.ID, 1)
		case !charged && p.Status == payments.StatusFailed && p.FailureCode == provider.CodeNotCharged:
			got.wait(t, payments.EventFailed, u.ID, 1)
		default:
			t.Fatalf("payment %+v settled against ledger entry %v (charged %v)", p, c, charged)
		}
	}
	// Settling charged nothing more.
	if after := ledgerByKey(t, e.bank); len(after) != len(ledger) {
		t.Fatalf("ledger grew from %d to %d", len(ledger), len(after))
	}
}

// A bank failing 30% of calls, with latency: retries use the same key, so
// nothing is charged twice; payments left unknown are settled by the
// reconciler; every payment ends as the bank's ledger says.
func TestFaults_NoDoubleCharge(t *testing.T) {
	pol := fastPolicy()
	pol.Attempts = 2
	pol.AttemptTimeout = 100 * time.Millisecond
	e := newEnv(t, envOptions{policy: pol, bank: sandbox.Options{Latency: 5 * time.Millisecond, FailureRate: 0.3}})
	const n = 60
	type result struct {
		p   payments.Payment
		err error
	}
	res := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		id := fmt.Sprintf("bkg_fault_%02d", i)
		e.bk.Put(paymentstest.Pending(id, guest.Subject))
		wg.Go(func() {
			req := payments.PayRequest{IdempotencyKey: "key-" + id, BookingID: id, PaymentMethod: "pm_card_visa"}
			p, err := e.svc.Pay(as(guest), req)
			// The guest's retry with the same key (the first answer may have
			// been lost too) answers the same payment.
			again, err2 := e.svc.Pay(as(guest), req)
			if err == nil && err2 == nil && again.ID != p.ID {
				err = fmt.Errorf("replay made payment %s, first was %s", again.ID, p.ID)
			}
			res[i] = result{p, errors.Join(err, err2)}
		})
	}
	wg.Wait()
	unknown := 0
	for i, r := range res {
		if r.err != nil {
			t.Fatalf("payment %d: %v", i, r.err)
		}
		if r.p.Status == payments.StatusUnknown {
			unknown++
		}
	}
	t.Logf("%d of %d payments unknown after the first answer", unknown, n)
	e.bank.SetFaults(0, 0)
	if err := e.m.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	ledger := ledgerByKey(t, e.bank)
	for _, r := range res {
		p, err := e.svc.Get(as(guest), payments.GetRequest{ID: r.p.ID})
		if err != nil {
			t.Fatal(err)
		}
		c, charged := ledger[p.ID]
		switch {
		case p.Status == payments.StatusSucceeded && charged && c.Status == "succeeded" && c.Amount == p.Amount.Amount:
		case p.Status == payments.StatusFailed && !charged && p.FailureCode == provider.CodeNotCharged:
		default:
			t.Fatalf("payment %+v against ledger %+v (charged %v)", p, c, charged)
		}
	}
	charges, _ := e.bank.Charges(context.Background())
	if len(charges) > n {
		t.Fatalf("%d charges for %d payments", len(charges), n)
	}
}

// The bank down completely: the breaker opens after a few failed attempts,
// and from then on Pay answers ErrProviderUnavailable in well under a
// second without calling bookings or storing anything. Once the bank is
// back (and the breaker has let a probe through), the same request with the
// same key pays.
func TestBankDown_BreakerOpens(t *testing.T) {
	pol := fastPolicy()
	pol.BreakerFailures, pol.BreakerOpen = 3, 1500*time.Millisecond
	e := newEnv(t, envOptions{policy: pol})
	e.bank.SetDown(true)
	e.bk.Put(paymentstest.Pending("bkg_first", guest.Subject))
	p, err := e.svc.Pay(as(guest), payments.PayRequest{IdempotencyKey: "k0", BookingID: "bkg_first", PaymentMethod: "pm_card_visa"})
	if err != nil || p.Status != payments.StatusUnknown {
		t.Fatalf("first payment %+v, %v; want unknown", p, err)
	}
	opened := time.Now()
	if !e.m.Provider().BreakerOpen() {
		t.Fatal("breaker not open after 3 failed attempts")
	}
	e.bk.Put(paymentstest.Pending("bkg_next", guest.Subject))
	req := payments.PayRequest{IdempotencyKey: "k1", BookingID: "bkg_next", PaymentMethod: "pm_card_visa"}
	gets := e.bk.Gets()
	for i := 0; i < 10 && time.Since(opened) < time.Second; i++ {
		start := time.Now()
		_, err := e.svc.Pay(as(guest), req)
		if !errors.Is(err, payments.ErrProviderUnavailable) {
			t.Fatalf("err = %v, want provider unavailable", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("took %s", d)
		}
	}
	if e.bk.Gets() != gets {
		t.Fatal("bookings was called while the breaker was open")
	}
	list, err := e.svc.List(as(guest), payments.ListRequest{BookingID: "bkg_next"})
	if err != nil || len(list.Payments) != 0 {
		t.Fatalf("payments stored: %+v %v", list.Payments, err)
	}

	e.bank.SetDown(false)
	time.Sleep(time.Until(opened.Add(1600 * time.Millisecond))) // the breaker half-opens
	p, err = e.svc.Pay(as(guest), req)
	if err != nil || p.Status != payments.StatusSucceeded {
		t.Fatalf("after recovery: %+v, %v", p, err)
	}
	// The payment left unknown while the bank was down is settled (the bank
	// never saw it), which frees its booking for another attempt.
	if err := e.m.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	list, err = e.svc.List(as(guest), payments.ListRequest{BookingID: "bkg_first"})
	if err != nil || len(list.Payments) != 1 || list.Payments[0].Status != payments.StatusFailed {
		t.Fatalf("first booking's payments: %+v %v", list.Payments, err)
	}
}

// While a booking's payment is unknown, another payment of it (another key)
// is refused: it could charge twice.
func TestPay_InProgressBlocksAnotherKey(t *testing.T) {
	pol := fastPolicy()
	pol.AttemptTimeout = 30 * time.Millisecond
	e := newEnv(t, envOptions{policy: pol})
	e.bk.Put(paymentstest.Pending("bkg_u", guest.Subject))
	e.bank.SetDown(true)
	p, err := e.svc.Pay(as(guest), payments.PayRequest{IdempotencyKey: "a", BookingID: "bkg_u", PaymentMethod: "pm_card_visa"})
	if err != nil || p.Status != payments.StatusUnknown {
		t.Fatalf("%+v %v", p, err)
	}
	e.bank.SetDown(false)
	_, err = e.svc.Pay(as(guest), payments.PayRequest{IdempotencyKey: "b", BookingID: "bkg_u", PaymentMethod: "pm_card_visa"})
	if !errors.Is(err, payments.ErrPaymentInProgress) {
		t.Fatalf("err = %v", err)
	}
}

// StaleAfter shorter than the longest provider call would let the
// reconciler settle a call still running: New refuses it.
func TestNew_StaleAfterMustExceedTheLongestCall(t *testing.T) {
	bank, err := sandbox.New(dbtest.Open(t, sandbox.DBName, sandbox.Migrations), sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pol := provider.Policy{AttemptTimeout: time.Second, Attempts: 1}
	deps := paymentslocal.Deps{
		DB: dbtest.Open(t, payments.Module, paymentslocal.Migrations), Bookings: bookingstest.NewFake(),
		Provider: bank, ProviderPolicy: pol, StaleAfter: time.Second,
	}
	if _, err := paymentslocal.New(deps); err == nil || !strings.Contains(err.Error(), "StaleAfter") {
		t.Fatalf("StaleAfter = the longest call: %v", err)
	}
	deps.StaleAfter = pol.MaxDuration() + time.Second
	if _, err := paymentslocal.New(deps); err != nil {
		t.Fatalf("StaleAfter above the longest call: %v", err)
	}
}
