package stripeprovider_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bellhop/bellhop/modules/payments/provider"
	"github.com/bellhop/bellhop/modules/payments/provider/stripeprovider"
)

// An answer that redirects is not followed: the second address receives
// nothing (so neither the charge nor the secret key reaches it), and the
// charge is an error.
func TestCharge_RedirectNotFollowed(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		if strings.Contains(r.Header.Get("Authorization"), "sk_test_secret") {
			t.Errorf("secret key re-sent to %s", r.Host)
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(other.Close)
	for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.Path, code)
		}))
		t.Cleanup(redirector.Close)
		p, err := stripeprovider.New(stripeprovider.Options{APIKey: "sk_test_secret", BaseURL: redirector.URL})
		if err != nil {
			t.Fatal(err)
		}
		res, err := p.Charge(context.Background(), provider.ChargeRequest{IdempotencyKey: "pay_r", Amount: eur360, PaymentMethod: "pm_card_visa"})
		if err == nil {
			t.Fatalf("%d: charge = %+v, want an error", code, res)
		}
	}
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("the redirect target received %d requests", n)
	}
}

// A 30 MB answer is not read whole: the read stops past MaxResponseSize and
// the call fails, whether or not the size was announced.
func TestCharge_HugeAnswerBounded(t *testing.T) {
	t.Parallel()
	const huge = 30 << 20
	for _, announce := range []bool{false, true} {
		var written atomic.Int64
		done := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer close(done)
			w.Header().Set("Content-Type", "application/json")
			if announce {
				w.Header().Set("Content-Length", "31457280")
			}
			chunk := []byte(`{"id":"pi_1","object":"payment_intent","metadata":{"x":"` + strings.Repeat("a", 64<<10))
			for written.Load() < huge {
				n, err := w.Write(chunk[:min(len(chunk), int(huge-written.Load()))])
				written.Add(int64(n))
				if err != nil {
					return
				}
			}
		}))
		t.Cleanup(srv.Close)
		p, err := stripeprovider.New(stripeprovider.Options{APIKey: "sk_test_x", BaseURL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		if res, err := p.Charge(context.Background(), provider.ChargeRequest{IdempotencyKey: "pay_h", Amount: eur360, PaymentMethod: "pm_card_visa"}); err == nil {
			t.Fatalf("announce=%v: charge = %+v, want an error", announce, res)
		}
		srv.CloseClientConnections()
		<-done
		if n := written.Load(); n >= huge {
			t.Fatalf("announce=%v: the whole %d bytes were sent (read)", announce, n)
		}
		t.Logf("announce=%v: %d bytes written before the client gave up", announce, written.Load())
	}
}
