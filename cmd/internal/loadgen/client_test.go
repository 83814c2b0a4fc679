package loadgen

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// The server's per-caller limit answers 429 with Retry-After while the check
// pages through the bookings: --check-only waits as asked and finishes.
func TestLoadCheckOnly_WaitsOutRateLimits(t *testing.T) {
	t.Parallel()
	f, srv := newFakeAPI(t, fixed(cleanData()))
	f.limitEvery, f.retryAfter = 4, 1
	var stdout, stderr bytes.Buffer
	began := time.Now()
	if err := runLoad(context.Background(), checkOnlyOptions(srv.URL), strings.NewReader(fakeAdminPassword+"\n"), &stdout, &stderr); err != nil {
		t.Fatalf("runLoad --check-only against a rate-limited target: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !strings.Contains(stdout.String(), "all invariants hold") || !strings.Contains(stdout.String(), "bookings confirmed: 3\n") {
		t.Errorf("output:\n%s", &stdout)
	}
	// 1 sign-in, 4 bookings pages, 3 payments pages and 2 hotels answered:
	// every 4th request limited makes 3 waits of 1s.
	if f.limited != 3 || f.tooSoon != 0 || f.passes != 1 || f.bookingPages != 4 || f.paymentPages != 3 {
		t.Errorf("429s %d (asked again too soon %d), checks %d, pages %d+%d; want 3 (0), 1, 4+3",
			f.limited, f.tooSoon, f.passes, f.bookingPages, f.paymentPages)
	}
	if d := time.Since(began); d < 3*time.Second {
		t.Errorf("took %s: the three Retry-After waits of 1s were not honoured", d)
	}
	if n := strings.Count(stderr.String(), "429 http.rate_limited, asking again in 1s"); n != 3 {
		t.Errorf("stderr tells %d waits, want 3:\n%s", n, &stderr)
	}
}

// A Retry-After longer than a request may wait is not waited for: the 429
// is the answer, at once.
func TestLoadCheckOnly_RetryAfterPastTheBoundIsAnError(t *testing.T) {
	t.Parallel()
	f, srv := newFakeAPI(t, fixed(cleanData()))
	f.limitEvery, f.retryAfter = 2, 3600 // the sign-in passes, the first bookings page is limited
	var stdout, stderr bytes.Buffer
	o := checkOnlyOptions(srv.URL)
	o.settle = 0
	began := time.Now()
	err := runLoad(context.Background(), o, strings.NewReader(fakeAdminPassword+"\n"), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "429 http.rate_limited (gave up: the next wait, 1h0m0s, would pass the 1m0s a request may wait)") {
		t.Errorf("err = %v, want the 429 the check gave up on", err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("took %s: waited for a Retry-After past the bound", d)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.limited != 1 {
		t.Errorf("429s = %d, want 1 (not asked again)", f.limited)
	}
}

// The bound is on the waits of one request, added up.
func TestAPIClient_BoundsTheTotalWait(t *testing.T) {
	t.Parallel()
	f, srv := newFakeAPI(t, fixed(cleanData()))
	f.limitEvery, f.retryAfter = 1, 1 // every request limited
	var log bytes.Buffer
	c := newAPIClient(srv.URL, options{timeout: 5 * time.Second, payWorkers: 1}, &log)
	c.maxWait = 2500 * time.Millisecond
	began := time.Now()
	_, err := checkInvariants(context.Background(), c, fakeAdminToken, "")
	if err == nil || !strings.Contains(err.Error(), "429 http.rate_limited (gave up") || !strings.Contains(err.Error(), "(attempt 3, after waiting 2s)") {
		t.Errorf("err = %v, want the 429 given up on at the third attempt", err)
	}
	if d := time.Since(began); d < 2*time.Second || d > 4*time.Second {
		t.Errorf("took %s, want the two waits of 1s that fit in 2.5s", d)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.limited != 3 || f.tooSoon != 0 {
		t.Errorf("429s %d, asked too soon %d; want 3, 0", f.limited, f.tooSoon)
	}
}

// Setup (list cities, search, register and sign in each guest) waits out
// 429s as the check does.
func TestSetupLoad_WaitsOutRateLimits(t *testing.T) {
	t.Parallel()
	f, srv := newFakeAPI(t, fixed(cleanData()))
	f.limitEvery, f.retryAfter = 3, 1
	var log bytes.Buffer
	c := newAPIClient(srv.URL, options{timeout: 5 * time.Second, payWorkers: 1}, &log)
	w, err := setupLoad(context.Background(), c, options{users: 2}, &log)
	if err != nil {
		t.Fatalf("setupLoad against a rate-limited target: %v\n%s", err, &log)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// 1 cities list, 2 searches (Lisbon, Porto), 2 × (register, sign in).
	if len(w.tokens) != 2 || len(w.cities) != 2 || len(w.hotels) != 2 || len(w.roomTypes) != 3 {
		t.Errorf("world: %d tokens, cities %v, hotels %v, room types %v", len(w.tokens), w.cities, w.hotels, w.roomTypes)
	}
	for _, tok := range w.tokens {
		if !strings.HasPrefix(tok, "guest-token-load-") {
			t.Errorf("token %q is not a guest's", tok)
		}
	}
	if f.limited != 3 || f.tooSoon != 0 || len(f.registered) != 2 {
		t.Errorf("429s %d, asked too soon %d, registered %d; want 3, 0, 2", f.limited, f.tooSoon, len(f.registered))
	}
}
