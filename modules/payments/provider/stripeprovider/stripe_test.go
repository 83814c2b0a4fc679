package stripeprovider_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/payments/provider"
	"github.com/bellhop/bellhop/modules/payments/provider/stripeprovider"
	"github.com/bellhop/bellhop/platform/money"
)

// stripeMockVersion is the stripe-mock the tests run (../shared/TESTING.md).
const stripeMockVersion = "v0.203.0"

var (
	mockOnce sync.Once
	mockBin  string
	mockErr  error
)

// stripeMockBinary finds stripe-mock on PATH or in GOBIN/GOPATH/bin, and
// installs it there with go install when it is missing (a fresh machine).
func stripeMockBinary(t *testing.T) string {
	t.Helper()
	mockOnce.Do(func() {
		if p, err := exec.LookPath("stripe-mock"); err == nil {
			mockBin = p
			return
		}
		bin := goBin()
		candidate := filepath.Join(bin, "stripe-mock")
		if _, err := os.Stat(candidate); err == nil {
			mockBin = candidate
			return
		}
		cmd := exec.Command("go", "install", "github.com/stripe/stripe-mock@"+stripeMockVersion)
		cmd.Env = append(os.Environ(), "GOBIN="+bin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			mockErr = fmt.Errorf("go install stripe-mock: %v\n%s", err, out)
			return
		}
		mockBin = candidate
	})
	if mockErr != nil {
		t.Fatal(mockErr)
	}
	return mockBin
}

func goBin() string {
	if out, err := exec.Command("go", "env", "GOBIN").Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		return strings.TrimSpace(string(out))
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		home, _ := os.UserHomeDir()
		return filepath.Join(home, "go", "bin")
	}
	return filepath.Join(strings.SplitN(strings.TrimSpace(string(out)), string(os.PathListSeparator), 2)[0], "bin")
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startStripeMock runs stripe-mock on loopback only (both its HTTP and its
// HTTPS listener) until the test ends, and returns its HTTP base URL.
func startStripeMock(t *testing.T) string {
	t.Helper()
	bin := stripeMockBinary(t)
	httpAddr, httpsAddr := freePort(t), freePort(t)
	var logs bytes.Buffer
	cmd := exec.Command(bin, "-http-addr", httpAddr, "-https-addr", httpsAddr)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", httpAddr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return "http://" + httpAddr
		}
		select {
		case <-exited:
			t.Fatalf("stripe-mock exited: %s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("stripe-mock did not listen on %s: %s", httpAddr, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// seen is one request that reached the recording proxy.
type seen struct {
	method, path   string
	idempotencyKey string
	auth           string
	form           url.Values
}

// recorder is a reverse proxy in front of stripe-mock that records requests
// and can fail the next ones (to exercise retries).
type recorder struct {
	mu       sync.Mutex
	reqs     []seen
	failNext int                  // answer this many requests 500 without passing them on
	canned   func() (int, string) // if set, answer every request with it
}

func (r *recorder) seen() []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seen(nil), r.reqs...)
}

func newRecorder(t *testing.T, target string) (*recorder, string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		if req.Method == http.MethodGet {
			form = req.URL.Query()
		}
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, seen{method: req.Method, path: req.URL.Path, idempotencyKey: req.Header.Get("Idempotency-Key"),
			auth: req.Header.Get("Authorization"), form: form})
		fail := rec.failNext > 0
		if fail {
			rec.failNext--
		}
		canned := rec.canned
		rec.mu.Unlock()
		switch {
		case fail:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"error":{"type":"api_error","message":"the proxy says no"}}`)
		case canned != nil:
			status, body := canned()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
		default:
			proxy.ServeHTTP(w, req)
		}
	}))
	t.Cleanup(srv.Close)
	return rec, srv.URL
}

func newProvider(t *testing.T, base string) *stripeprovider.Provider {
	t.Helper()
	p, err := stripeprovider.New(stripeprovider.Options{APIKey: "sk_test_bellhop", BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var eur360 = money.New(36000, "EUR")

// A charge is one confirmed PaymentIntent with the token, the amount in
// lower-case currency, the key as Stripe's Idempotency-Key and in the
// metadata; a retry after a 500 sends the very same key.
func TestCharge_RequestShapeAndRetryKey(t *testing.T) {
	rec, base := newRecorder(t, startStripeMock(t))
	p := provider.Guard(newProvider(t, base), provider.Policy{AttemptTimeout: 5 * time.Second, Attempts: 3, Backoff: time.Millisecond})
	rec.failNext = 1
	res, err := p.Charge(context.Background(), provider.ChargeRequest{
		IdempotencyKey: "pay_01test", Amount: eur360, PaymentMethod: "pm_card_visa", Description: "Bellhop booking bkg_1",
	})
	if err != nil {
		t.Fatal(err)
	}
	reqs := rec.seen()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2 (a failed one and its retry)", len(reqs))
	}
	for i, r := range reqs {
		if r.method != http.MethodPost || r.path != "/v1/payment_intents" || r.idempotencyKey != "pay_01test" || r.auth != "Bearer sk_test_bellhop" {
			t.Fatalf("request %d: %+v", i, r)
		}
		want := map[string]string{
			"amount": "36000", "currency": "eur", "confirm": "true", "payment_method": "pm_card_visa",
			"payment_method_types[0]": "card", "error_on_requires_action": "true",
			"metadata[" + stripeprovider.MetadataKey + "]": "pay_01test", "expand[0]": "latest_charge",
			"description": "Bellhop booking bkg_1",
		}
		for k, v := range want {
			if got := r.form.Get(k); got != v {
				t.Fatalf("request %d: %s = %q, want %q (form %v)", i, k, got, v, r.form)
			}
		}
	}
	// stripe-mock answers fixtures (its PaymentIntent "requires_payment_method"):
	// the mapping still yields a definitive answer with the intent's id and
	// the card from the expanded charge.
	if !strings.HasPrefix(res.ProviderRef, "pi_") || (res.Status != provider.StatusSucceeded && res.Status != provider.StatusFailed) {
		t.Fatalf("result = %+v", res)
	}
	if res.Card == nil || res.Card.Brand == "" || len(res.Card.Last4) != 4 || res.Card.ExpYear == 0 {
		t.Fatalf("card = %+v", res.Card)
	}
}

func TestLookupAndRefund(t *testing.T) {
	rec, base := newRecorder(t, startStripeMock(t))
	p := newProvider(t, base)
	res, err := p.Lookup(context.Background(), "pay_01test")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.ProviderRef, "pi_") {
		t.Fatalf("lookup = %+v", res)
	}
	reqs := rec.seen()
	if len(reqs) != 1 || reqs[0].method != http.MethodGet || reqs[0].path != "/v1/payment_intents/search" ||
		reqs[0].form.Get("query") != "metadata['"+stripeprovider.MetadataKey+"']:'pay_01test'" {
		t.Fatalf("lookup request = %+v", reqs)
	}
	if _, err := p.Lookup(context.Background(), "it's"); !errors.Is(err, provider.ErrRejected) {
		t.Fatalf("a key that cannot be searched: err = %v", err)
	}

	r, err := p.Refund(context.Background(), "ref_01test", "pi_123", money.New(18000, "EUR"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.ProviderRef, "re_") || r.Status == "" {
		t.Fatalf("refund = %+v", r)
	}
	last := rec.seen()[len(rec.seen())-1]
	if last.method != http.MethodPost || last.path != "/v1/refunds" || last.idempotencyKey != "ref_01test" ||
		last.form.Get("payment_intent") != "pi_123" || last.form.Get("amount") != "18000" {
		t.Fatalf("refund request = %+v", last)
	}
}

// Stripe's answers map to outcomes and error classes (canned answers:
// stripe-mock does not decline cards).
func TestChargeAnswers(t *testing.T) {
	rec, base := newRecorder(t, "http://127.0.0.1:1") // never reached: every answer is canned
	p := newProvider(t, base)
	req := provider.ChargeRequest{IdempotencyKey: "pay_1", Amount: eur360, PaymentMethod: "pm_card_visa"}
	card := `"latest_charge":{"id":"ch_1","object":"charge","payment_method_details":{"type":"card","card":{"brand":"visa","last4":"4242","exp_month":12,"exp_year":2034}}}`
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		want    provider.ChargeResult
		wantErr error
	}{
		{"Succeeded", 200, `{"id":"pi_1","object":"payment_intent","status":"succeeded",` + card + `}`,
			provider.ChargeResult{ProviderRef: "pi_1", Status: provider.StatusSucceeded}, nil},
		{"Declined", 402, `{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds.","payment_intent":{"id":"pi_2","object":"payment_intent"}}}`,
			provider.ChargeResult{ProviderRef: "pi_2", Status: provider.StatusFailed, FailureCode: "insufficient_funds", FailureMessage: "Your card has insufficient funds."}, nil},
		{"Expired", 402, `{"error":{"type":"card_error","code":"expired_card","message":"Your card has expired."}}`,
			provider.ChargeResult{Status: provider.StatusFailed, FailureCode: "expired_card", FailureMessage: "Your card has expired."}, nil},
		{"UnknownPaymentMethod", 400, `{"error":{"type":"invalid_request_error","code":"resource_missing","param":"payment_method","message":"No such PaymentMethod: 'pm_nope'"}}`,
			provider.ChargeResult{Status: provider.StatusFailed, FailureCode: provider.CodeInvalidPaymentMethod, FailureMessage: "The payment method is not valid."}, nil},
		{"RequiresPaymentMethod", 200, `{"id":"pi_3","object":"payment_intent","status":"requires_payment_method","last_payment_error":{"type":"card_error","code":"card_declined","decline_code":"generic_decline","message":"Your card was declined."}}`,
			provider.ChargeResult{ProviderRef: "pi_3", Status: provider.StatusFailed, FailureCode: "generic_decline", FailureMessage: "Your card was declined."}, nil},
		{"Processing", 200, `{"id":"pi_4","object":"payment_intent","status":"processing"}`, provider.ChargeResult{}, provider.ErrUnavailable},
		{"KeyInUse", 409, `{"error":{"type":"invalid_request_error","code":"idempotency_key_in_use","message":"in use"}}`, provider.ChargeResult{}, provider.ErrUnavailable},
		{"RateLimited", 429, `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"slow down"}}`, provider.ChargeResult{}, provider.ErrUnavailable},
		{"ServerError", 500, `{"error":{"type":"api_error","message":"oops"}}`, provider.ChargeResult{}, provider.ErrUnavailable},
		{"KeyReused", 400, `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters"}}`, provider.ChargeResult{}, provider.ErrRejected},
		{"BadKey", 401, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided"}}`, provider.ChargeResult{}, provider.ErrRejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec.mu.Lock()
			rec.canned = func() (int, string) { return tc.status, tc.body }
			rec.mu.Unlock()
			got, err := p.Charge(context.Background(), req)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "Succeeded" {
				if got.Card == nil || got.Card.Last4 != "4242" || got.Card.ExpYear != 2034 {
					t.Fatalf("card = %+v", got.Card)
				}
				got.Card = nil
			}
			if got != tc.want {
				t.Fatalf("result = %+v, want %+v", got, tc.want)
			}
		})
	}
	t.Run("NoAnswer", func(t *testing.T) {
		dead, err := stripeprovider.New(stripeprovider.Options{APIKey: "sk_test_x", BaseURL: "http://" + freePort(t)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dead.Charge(context.Background(), req); !errors.Is(err, provider.ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
	})
}
