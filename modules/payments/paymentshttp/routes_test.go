package paymentshttp_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/bookings/bookingstest"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/payments/paymentshttp"
	"github.com/bellhop/bellhop/modules/payments/paymentstest"
	"github.com/bellhop/bellhop/modules/payments/provider"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/httpserver"
)

type rig struct {
	url   string
	token string
	bk    *bookingstest.Fake
}

func newRig(t *testing.T, policy provider.Policy, opts paymentshttp.Options) (*rig, func(bool)) {
	t.Helper()
	iss := authntest.NewIssuer(t, paymentstest.IssuerName, paymentstest.Audience)
	bk := bookingstest.NewFake()
	m, bank := local(t, bk, policy)
	return &rig{url: serve(t, m.Service(), iss, opts), token: iss.Token(t, paymentstest.Guest, 0), bk: bk}, bank.SetDown
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (r *rig) post(t *testing.T, key, body string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.url+"/api/v1/payments", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+r.token)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: res.StatusCode, header: res.Header, body: b}
}

func (a answer) problem(t *testing.T, status int, reason string) apperr.Problem {
	t.Helper()
	if a.status != status || a.header.Get("Content-Type") != apperr.ProblemMediaType {
		t.Fatalf("status %d (%s), want %d problem: %s", a.status, a.header.Get("Content-Type"), status, a.body)
	}
	var p apperr.Problem
	if err := json.Unmarshal(a.body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Reason != reason {
		t.Fatalf("reason %q, want %q: %s", p.Reason, reason, a.body)
	}
	return p
}

func TestPay_Routes(t *testing.T) {
	r, _ := newRig(t, provider.Policy{}, paymentshttp.Options{})
	b := paymentstest.Pending("bkg_http_1", paymentstest.Guest.Subject)
	r.bk.Put(b)
	body := `{"booking_id":"bkg_http_1","payment_method":"pm_card_visa"}`

	t.Run("IdempotencyKeyRequired", func(t *testing.T) {
		r.post(t, "", body).problem(t, http.StatusUnprocessableEntity, payments.ErrIdempotencyKeyRequired.Reason)
	})
	t.Run("AmountTampering", func(t *testing.T) {
		// There is no amount field to tamper with: it is an unknown field.
		a := r.post(t, "k-tamper", `{"booking_id":"bkg_http_1","payment_method":"pm_card_visa","amount":{"amount":1,"currency":"EUR"}}`)
		p := a.problem(t, http.StatusBadRequest, httpserver.ReasonUnreadableBody)
		if len(p.Errors) != 1 || p.Errors[0].Field != "amount" {
			t.Fatalf("problem = %+v", p)
		}
	})
	t.Run("CardNumber", func(t *testing.T) {
		a := r.post(t, "k-pan", `{"booking_id":"bkg_http_1","payment_method":"4242424242424242"}`)
		p := a.problem(t, http.StatusUnprocessableEntity, payments.ErrInvalidRequest.Reason)
		if len(p.Errors) != 1 || p.Errors[0].Field != "payment_method" {
			t.Fatalf("problem = %+v", p)
		}
	})
	var first answer
	t.Run("Created", func(t *testing.T) {
		first = r.post(t, "k-1", body)
		if first.status != http.StatusCreated {
			t.Fatalf("status %d: %s", first.status, first.body)
		}
		var p payments.Payment
		if err := json.Unmarshal(first.body, &p); err != nil {
			t.Fatal(err)
		}
		if p.Status != payments.StatusSucceeded || p.Amount != b.Total || first.header.Get("Location") != "/api/v1/payments/"+p.ID {
			t.Fatalf("payment %+v, Location %q", p, first.header.Get("Location"))
		}
	})
	t.Run("Replay", func(t *testing.T) {
		again := r.post(t, "k-1", body)
		if again.status != first.status || !bytes.Equal(again.body, first.body) {
			t.Fatalf("replay: %d %s\nfirst: %d %s", again.status, again.body, first.status, first.body)
		}
	})
	t.Run("KeyReused", func(t *testing.T) {
		r.post(t, "k-1", `{"booking_id":"bkg_http_1","payment_method":"pm_card_mastercard"}`).
			problem(t, http.StatusUnprocessableEntity, payments.ErrIdempotencyKeyReused.Reason)
	})
	t.Run("AlreadyPaid", func(t *testing.T) {
		r.post(t, "k-2", body).problem(t, http.StatusConflict, payments.ErrAlreadyPaid.Reason)
	})
	t.Run("Declined", func(t *testing.T) {
		r.bk.Put(paymentstest.Pending("bkg_http_2", paymentstest.Guest.Subject))
		a := r.post(t, "k-3", `{"booking_id":"bkg_http_2","payment_method":"pm_card_chargeDeclined"}`)
		var p payments.Payment
		if err := json.Unmarshal(a.body, &p); err != nil || a.status != http.StatusCreated || p.Status != payments.StatusFailed || p.FailureCode != "card_declined" {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
	})
}

// With the bank down, the breaker opens and Pay answers 503 problem+json
// with Retry-After in well under a second.
func TestPay_BankDown(t *testing.T) {
	r, setDown := newRig(t, provider.Policy{AttemptTimeout: 200 * time.Millisecond, Attempts: 2, Backoff: time.Millisecond,
		BreakerFailures: 2, BreakerOpen: 5 * time.Second}, paymentshttp.Options{})
	setDown(true)
	for i, id := range []string{"bkg_down_1", "bkg_down_2"} {
		r.bk.Put(paymentstest.Pending(id, paymentstest.Guest.Subject))
		a := r.post(t, "k-down-"+id, `{"booking_id":"`+id+`","payment_method":"pm_card_visa"}`)
		if i == 0 {
			// Refused connections: no answer twice, which opens the breaker.
			if a.status != http.StatusAccepted {
				t.Fatalf("first payment: %d %s", a.status, a.body)
			}
			continue
		}
		start := time.Now()
		a = r.post(t, "k-down-again", `{"booking_id":"`+id+`","payment_method":"pm_card_visa"}`)
		if d := time.Since(start); d > time.Second {
			t.Fatalf("503 took %s", d)
		}
		a.problem(t, http.StatusServiceUnavailable, payments.ErrProviderUnavailable.Reason)
		if a.header.Get("Retry-After") == "" {
			t.Fatal("no Retry-After")
		}
	}
}

func TestPay_RateLimit(t *testing.T) {
	r, _ := newRig(t, provider.Policy{}, paymentshttp.Options{PayRateLimit: httpserver.RateLimitConfig{Enabled: true, RPS: 0.01, Burst: 2}})
	body := `{"booking_id":"bkg_nope","payment_method":"pm_card_visa"}`
	for i := range 2 {
		if a := r.post(t, "k", body); a.status != http.StatusNotFound {
			t.Fatalf("request %d: %d %s", i, a.status, a.body)
		}
	}
	a := r.post(t, "k", body)
	a.problem(t, http.StatusTooManyRequests, paymentshttp.ReasonPayRateLimited)
	if a.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
}
