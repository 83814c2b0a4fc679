package authn_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/authn/authntest"
)

// jwksServer serves iss's JWKS, counting fetches; failing makes it answer 500.
type jwksServer struct {
	*httptest.Server
	hits    atomic.Int32
	failing atomic.Bool
	delay   time.Duration
}

func newJWKSServer(t *testing.T, iss *authntest.Issuer, delay time.Duration) *jwksServer {
	s := &jwksServer{delay: delay}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		time.Sleep(s.delay)
		if s.failing.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(iss.JWKS())
	}))
	t.Cleanup(s.Close)
	return s
}

func remoteVerifier(t *testing.T, url string, opts ...authn.RemoteKeySetOption) *authn.Verifier {
	t.Helper()
	ks, err := authn.NewRemoteKeySet(url, nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	v, err := authn.NewVerifier(ks, testIssuer, testAudience)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRemoteKeySetCachesAndRefreshesOnRotation(t *testing.T) {
	iss := authntest.NewIssuer(t, testIssuer, testAudience)
	srv := newJWKSServer(t, iss, 0)
	v := remoteVerifier(t, srv.URL, authn.WithMinRefreshInterval(0))

	if srv.hits.Load() != 0 {
		t.Fatal("fetched before first use")
	}
	for range 3 {
		if _, err := v.Verify(t.Context(), iss.Token(t, guest, 0)); err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.hits.Load(); got != 1 {
		t.Fatalf("fetches = %d, want 1 (cached)", got)
	}

	iss.Rotate(t)
	if _, err := v.Verify(t.Context(), iss.Token(t, guest, 0)); err != nil {
		t.Fatalf("token under the rotated key: %v", err)
	}
	if got := srv.hits.Load(); got != 2 {
		t.Fatalf("fetches = %d, want 2 (one refresh for the new kid)", got)
	}
}

func TestRemoteKeySetRateLimitsRefetches(t *testing.T) {
	iss := authntest.NewIssuer(t, testIssuer, testAudience)
	srv := newJWKSServer(t, iss, 0)
	// The interval is long against the work inside it (a loaded CI machine
	// under -race signs slowly: the tokens are signed before the clock starts).
	const interval = time.Second
	v := remoteVerifier(t, srv.URL, authn.WithMinRefreshInterval(interval))
	unknown := make([]string, 20)
	for i := range unknown {
		unknown[i] = iss.UnknownKIDToken(t, guest)
	}

	if _, err := v.Verify(t.Context(), iss.Token(t, guest, 0)); err != nil {
		t.Fatal(err)
	}
	// A burst of tokens under made-up kids right after a fetch fetches nothing.
	for _, tok := range unknown {
		_, err := v.Verify(t.Context(), tok)
		if !errors.Is(err, authn.ErrInvalidToken) || !strings.Contains(apperr.As(err).Message, "unknown key") {
			t.Fatalf("unknown kid: err = %v", err)
		}
	}
	if got := srv.hits.Load(); got != 1 {
		t.Fatalf("fetches = %d, want 1", got)
	}
	// A rotation inside the interval is seen once the interval has passed.
	iss.Rotate(t)
	rotated := iss.Token(t, guest, 0)
	if _, err := v.Verify(t.Context(), rotated); err == nil {
		t.Fatal("new kid accepted without a fetch")
	}
	time.Sleep(interval + 100*time.Millisecond)
	if _, err := v.Verify(t.Context(), rotated); err != nil {
		t.Fatalf("after the interval: %v", err)
	}
	if got := srv.hits.Load(); got != 2 {
		t.Fatalf("fetches = %d, want 2", got)
	}
}

func TestRemoteKeySetSharesOneFetch(t *testing.T) {
	iss := authntest.NewIssuer(t, testIssuer, testAudience)
	srv := newJWKSServer(t, iss, 30*time.Millisecond)
	v := remoteVerifier(t, srv.URL)
	tok := iss.Token(t, guest, 0)

	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			if _, err := v.Verify(context.Background(), tok); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := srv.hits.Load(); got != 1 {
		t.Fatalf("fetches = %d, want 1", got)
	}
}

func TestRemoteKeySetFetchFailure(t *testing.T) {
	iss := authntest.NewIssuer(t, testIssuer, testAudience)
	srv := newJWKSServer(t, iss, 0)
	srv.failing.Store(true)
	v := remoteVerifier(t, srv.URL, authn.WithMinRefreshInterval(50*time.Millisecond))
	tok := iss.Token(t, guest, 0)

	_, err := v.Verify(t.Context(), tok)
	if !errors.Is(err, authn.ErrInvalidToken) || !strings.Contains(apperr.As(err).Message, "could not be retrieved") {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "500") {
		t.Fatalf("cause not wrapped: %v", err)
	}

	srv.failing.Store(false)
	time.Sleep(60 * time.Millisecond)
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatalf("after recovery: %v", err)
	}

	// Unreachable server: an error, not a panic.
	srv.Close()
	v = remoteVerifier(t, srv.URL)
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, authn.ErrInvalidToken) {
		t.Fatalf("unreachable: err = %v", err)
	}
}

func TestRemoteKeySetMaxAgeKeepsStaleKeysOnFailure(t *testing.T) {
	iss := authntest.NewIssuer(t, testIssuer, testAudience)
	srv := newJWKSServer(t, iss, 0)
	v := remoteVerifier(t, srv.URL, authn.WithMinRefreshInterval(0), authn.WithMaxAge(20*time.Millisecond))
	tok := iss.Token(t, guest, 0)
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	if got := srv.hits.Load(); got != 2 {
		t.Fatalf("fetches = %d, want 2 (stale cache refreshed)", got)
	}
	srv.failing.Store(true)
	time.Sleep(30 * time.Millisecond)
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatalf("stale key not used while the JWKS is down: %v", err)
	}
}
