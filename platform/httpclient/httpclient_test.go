package httpclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/httpclient"
	"github.com/bellhop/bellhop/platform/observability"
)

// errHotelNotFound stands in for a module's declared error value.
var errHotelNotFound = apperr.NotFound("search.hotel_not_found", "no such hotel")

func writeProblem(w http.ResponseWriter, err error) {
	p := apperr.ToProblem(err)
	w.Header().Set("Content-Type", apperr.ProblemMediaType)
	if p.RetryAfterSeconds > 0 {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// server is an httptest server that counts the requests it gets.
type server struct {
	*httptest.Server
	hits atomic.Int32
}

func newServer(t *testing.T, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func newClient(t *testing.T, baseURL string, opts httpclient.Options) *httpclient.Client {
	t.Helper()
	if opts.Caller == "" {
		opts.Caller, opts.Callee = "api", "search"
	}
	if opts.RetryBackoff == 0 {
		opts.RetryBackoff = time.Millisecond
	}
	c, err := httpclient.New(baseURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

type hotel struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func TestRoundTripAndProblemDecoding(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/prefix/api/v1/hotels/htl_1":
			if r.URL.Query().Get("currency") != "EUR" {
				writeProblem(w, apperr.Unreadable("test.query", "currency missing"))
				return
			}
			writeJSON(w, 200, hotel{ID: "htl_1", Name: "Grand"})
		case r.Method == http.MethodGet && r.URL.Path == "/prefix/api/v1/hotels/htl_9":
			writeProblem(w, errHotelNotFound.With("hotel htl_9 does not exist"))
		case r.Method == http.MethodPost && r.URL.Path == "/prefix/api/v1/hotels":
			var in hotel
			if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&in) != nil {
				writeProblem(w, apperr.Unreadable("test.body", "bad body"))
				return
			}
			if in.Name == "" {
				writeProblem(w, apperr.Field("search.invalid_hotel", "name", "is required"))
				return
			}
			in.ID = "htl_2"
			writeJSON(w, 201, in)
		case r.URL.Path == "/prefix/api/v1/empty":
			w.WriteHeader(http.StatusNoContent)
		case r.URL.Path == "/prefix/api/v1/plain404":
			http.Error(w, "nope", http.StatusNotFound)
		case r.URL.Path == "/prefix/api/v1/garbage":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, "{not json")
		default:
			http.NotFound(w, r)
		}
	})
	c := newClient(t, srv.URL+"/prefix/", httpclient.Options{})
	ctx := t.Context()

	var h hotel
	err := c.Do(ctx, httpclient.Call{Op: "GetHotel", Path: "/api/v1/hotels/htl_1", Query: map[string][]string{"currency": {"EUR"}}, Out: &h})
	if err != nil || h.Name != "Grand" {
		t.Fatalf("GetHotel: %v %+v", err, h)
	}

	err = c.Do(ctx, httpclient.Call{Op: "GetHotel", Path: "/api/v1/hotels/htl_9", Out: &h})
	if !errors.Is(err, errHotelNotFound) {
		t.Fatalf("err = %v, want errHotelNotFound", err)
	}
	if got := apperr.As(err).Message; got != "hotel htl_9 does not exist" {
		t.Fatalf("message = %q", got)
	}

	var created hotel
	err = c.Do(ctx, httpclient.Call{Op: "CreateHotel", Method: http.MethodPost, Path: "/api/v1/hotels", Body: hotel{Name: "Ritz"}, Out: &created})
	if err != nil || created.ID != "htl_2" || created.Name != "Ritz" {
		t.Fatalf("CreateHotel: %v %+v", err, created)
	}
	err = c.Do(ctx, httpclient.Call{Op: "CreateHotel", Method: http.MethodPost, Path: "/api/v1/hotels", Body: hotel{}})
	ae := apperr.As(err)
	if !errors.Is(err, apperr.InvalidAny) || ae.Reason != "search.invalid_hotel" || len(ae.Fields) != 1 || ae.Fields[0].Field != "name" {
		t.Fatalf("invalid: %#v", ae)
	}

	if err := c.Do(ctx, httpclient.Call{Path: "/api/v1/empty", Out: &h}); err != nil {
		t.Fatalf("204: %v", err)
	}
	if err := c.Do(ctx, httpclient.Call{Path: "/api/v1/plain404"}); !errors.Is(err, apperr.NotFoundAny) {
		t.Fatalf("plain 404: err = %v", err)
	}
	if err := c.Do(ctx, httpclient.Call{Path: "/api/v1/garbage", Out: &h}); !errors.Is(err, apperr.UnavailableAny) || apperr.As(err).Reason != "search.unavailable" {
		t.Fatalf("bad JSON: err = %v", err)
	}

	before := srv.hits.Load()
	for _, p := range []string{"http://evil.example/x", "//evil.example/x", "relative", "/a#frag"} {
		if err := c.Do(ctx, httpclient.Call{Path: p}); !errors.Is(err, apperr.InternalAny) {
			t.Errorf("path %q: err = %v, want internal", p, err)
		}
	}
	if srv.hits.Load() != before {
		t.Fatal("a bad path reached the network")
	}
}

func TestNewValidates(t *testing.T) {
	for _, u := range []string{"", "search:8101", "ftp://search", "http://", "http://u:p@search", "http://search?x=1"} {
		if _, err := httpclient.New(u, httpclient.Options{}); err == nil {
			t.Errorf("New(%q) accepted it", u)
		}
	}
}

// tokens is a TokenSource that hands out "svc-1", then "svc-2" after Invalidate.
type tokens struct {
	gen         atomic.Int32
	invalidated atomic.Int32
}

func (s *tokens) Token(context.Context) (string, error) {
	return "svc-" + string(rune('1'+s.gen.Load())), nil
}

func (s *tokens) Invalidate() { s.invalidated.Add(1); s.gen.Add(1) }

func TestIdentityAndHeaders(t *testing.T) {
	type seen struct{ auth, requestID, accept, userAgent string }
	var mu sync.Mutex
	var got []seen
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, seen{r.Header.Get("Authorization"), r.Header.Get("X-Request-ID"), r.Header.Get("Accept"), r.Header.Get("User-Agent")})
		mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/internal/") && r.Header.Get("Authorization") == "Bearer svc-1" {
			writeProblem(w, authn.ErrInvalidToken.With("the token has expired"))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	ts := &tokens{}
	c := newClient(t, srv.URL, httpclient.Options{ServiceTokens: ts})
	iss := authntest.NewIssuer(t, "https://auth.test", "bellhop")
	ctx := iss.Context(t, observability.WithRequestID(t.Context(), "req-123"), authn.Principal{Subject: "usr_1", Scopes: []string{"bookings:read"}})
	userTok := func() string { p, _ := authn.FromContext(ctx); return p.Token }()

	last := func() seen { mu.Lock(); defer mu.Unlock(); return got[len(got)-1] }

	if err := c.Do(ctx, httpclient.Call{Path: "/api/v1/bookings"}); err != nil {
		t.Fatal(err)
	}
	if s := last(); s.auth != "Bearer "+userTok || s.requestID != "req-123" ||
		s.accept != "application/json, application/problem+json" || s.userAgent != "bellhop/api" {
		t.Fatalf("/api call sent %+v", s)
	}

	// /internal: the service token, never the user's. The first one is
	// rejected with 401, invalidated, and the POST tried once more.
	if err := c.Do(ctx, httpclient.Call{Method: http.MethodPost, Path: "/internal/v1/search/quote", Body: map[string]string{}}); err != nil {
		t.Fatalf("internal call after re-auth: %v", err)
	}
	mu.Lock()
	n := len(got)
	first, second := got[n-2], got[n-1]
	mu.Unlock()
	if first.auth != "Bearer svc-1" || second.auth != "Bearer svc-2" || ts.invalidated.Load() != 1 {
		t.Fatalf("internal calls sent %q then %q (invalidated %d)", first.auth, second.auth, ts.invalidated.Load())
	}
	if second.requestID != "req-123" {
		t.Fatalf("request ID not propagated on /internal: %+v", second)
	}

	// A service acting as itself (no token of its own) on an /api route:
	// the service token; a service principal that carries a token (one
	// that came over HTTP) forwards it.
	self := authn.WithPrincipal(t.Context(), authn.Principal{Subject: "svc_payments", Kind: authn.KindService, Scopes: []string{"bookings:read"}})
	if err := c.Do(self, httpclient.Call{Path: "/api/v1/bookings/bkg_1"}); err != nil {
		t.Fatal(err)
	}
	if s := last(); s.auth != "Bearer svc-2" {
		t.Fatalf("a service acting as itself on /api sent %q", s.auth)
	}
	relayed := authn.WithPrincipal(t.Context(), authn.Principal{Subject: "svc_other", Kind: authn.KindService, Token: "their-token"})
	if err := c.Do(relayed, httpclient.Call{Path: "/api/v1/bookings/bkg_1"}); err != nil {
		t.Fatal(err)
	}
	if s := last(); s.auth != "Bearer their-token" {
		t.Fatalf("a service principal with its own token sent %q", s.auth)
	}

	// No principal: no token on /api.
	if err := c.Do(t.Context(), httpclient.Call{Path: "/api/v1/hotels"}); err != nil {
		t.Fatal(err)
	}
	if s := last(); s.auth != "" || s.requestID != "" {
		t.Fatalf("anonymous call sent %+v", s)
	}

	// No TokenSource: /internal carries no token (and never the user's).
	bare := newClient(t, srv.URL, httpclient.Options{})
	if err := bare.Do(ctx, httpclient.Call{Path: "/internal/v1/search/x"}); err != nil {
		t.Fatal(err)
	}
	if s := last(); s.auth != "" {
		t.Fatalf("/internal without a TokenSource sent %q", s.auth)
	}
}

func TestRetriesOnlyIdempotentCalls(t *testing.T) {
	var failFirst atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if failFirst.Add(-1) >= 0 {
			writeProblem(w, apperr.Unavailable("search.unavailable", "warming up"))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	// The breaker must not get in the way of counting attempts here.
	c := newClient(t, srv.URL, httpclient.Options{Retries: 2, Breaker: httpclient.BreakerConfig{ConsecutiveFailures: 100}})
	ctx := t.Context()

	failFirst.Store(2)
	if err := c.Do(ctx, httpclient.Call{Path: "/api/v1/hotels"}); err != nil {
		t.Fatalf("GET after two 503s: %v", err)
	}
	if got := srv.hits.Swap(0); got != 3 {
		t.Fatalf("GET hits = %d, want 3", got)
	}

	failFirst.Store(5)
	if err := c.Do(ctx, httpclient.Call{Path: "/api/v1/hotels"}); !errors.Is(err, apperr.UnavailableAny) {
		t.Fatalf("GET with retries exhausted: err = %v", err)
	}
	if got := srv.hits.Swap(0); got != 3 {
		t.Fatalf("GET hits = %d, want 3 (1 + 2 retries)", got)
	}

	failFirst.Store(1)
	err := c.Do(ctx, httpclient.Call{Method: http.MethodPost, Path: "/api/v1/bookings", Body: map[string]int{"n": 1}})
	if !errors.Is(err, apperr.UnavailableAny) {
		t.Fatalf("POST: err = %v", err)
	}
	if got := srv.hits.Swap(0); got != 1 {
		t.Fatalf("POST hits = %d, want 1 (never retried)", got)
	}

	failFirst.Store(1)
	if err := c.Do(ctx, httpclient.Call{Method: http.MethodPost, Path: "/api/v1/payments", Idempotent: true,
		Header: http.Header{"Idempotency-Key": {"k1"}}}); err != nil {
		t.Fatalf("idempotent POST: %v", err)
	}
	if got := srv.hits.Swap(0); got != 2 {
		t.Fatalf("idempotent POST hits = %d, want 2", got)
	}
}

func TestRetries429AndTransportErrors(t *testing.T) {
	var mode atomic.Int32 // 1: one 429 then OK; 2: drop the connection once then OK; 3: one 503 asking for 30s
	var failed atomic.Bool
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if !failed.Swap(true) {
			switch mode.Load() {
			case 1:
				w.Header().Set("Retry-After", "0")
				writeProblem(w, apperr.New(apperr.CodeRateLimited, "ratelimit.exceeded", "slow down"))
				return
			case 3:
				w.Header().Set("Retry-After", "30")
				http.Error(w, "maintenance", http.StatusServiceUnavailable)
				return
			case 2:
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					_ = conn.Close()
				}
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
	})
	c := newClient(t, srv.URL, httpclient.Options{})

	mode.Store(1)
	if err := c.Do(t.Context(), httpclient.Call{Path: "/api/v1/x"}); err != nil {
		t.Fatalf("after 429: %v", err)
	}
	if got := srv.hits.Swap(0); got != 2 {
		t.Fatalf("hits = %d, want 2", got)
	}

	mode.Store(2)
	failed.Store(false)
	if err := c.Do(t.Context(), httpclient.Call{Path: "/api/v1/x"}); err != nil {
		t.Fatalf("after a dropped connection: %v", err)
	}
	if got := srv.hits.Swap(0); got != 2 {
		t.Fatalf("hits = %d, want 2", got)
	}

	failed.Store(false)
	err := c.Do(t.Context(), httpclient.Call{Method: http.MethodPost, Path: "/api/v1/x"})
	if !errors.Is(err, apperr.UnavailableAny) || apperr.As(err).Reason != "search.unavailable" {
		t.Fatalf("POST on a dropped connection: err = %v", err)
	}
	if got := srv.hits.Swap(0); got != 1 {
		t.Fatalf("POST hits = %d, want 1", got)
	}

	// A Retry-After beyond what a call may wait is handed back, not slept on.
	mode.Store(3)
	failed.Store(false)
	err = c.Do(t.Context(), httpclient.Call{Path: "/api/v1/x"})
	if ae := apperr.As(err); !errors.Is(err, apperr.UnavailableAny) || ae.RetryAfter != 30*time.Second {
		t.Fatalf("503 with Retry-After 30: err = %v (retry after %v)", err, ae.RetryAfter)
	}
	if got := srv.hits.Swap(0); got != 1 {
		t.Fatalf("hits = %d, want 1", got)
	}
}

func TestTimeoutIsUnavailable(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	})
	c := newClient(t, srv.URL, httpclient.Options{Timeout: 50 * time.Millisecond})
	start := time.Now()
	err := c.Do(t.Context(), httpclient.Call{Path: "/api/v1/slow"})
	if elapsed := time.Since(start); elapsed > 500*time.Millisecond {
		t.Fatalf("took %v", elapsed)
	}
	if !errors.Is(err, apperr.UnavailableAny) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want unavailable wrapping DeadlineExceeded", err)
	}
	if !strings.Contains(apperr.As(err).Message, "did not answer in time") {
		t.Fatalf("message = %q", apperr.As(err).Message)
	}

	// A per-call timeout overrides the default.
	c = newClient(t, srv.URL, httpclient.Options{Timeout: 5 * time.Second})
	start = time.Now()
	if err := c.Do(t.Context(), httpclient.Call{Path: "/api/v1/slow", Timeout: 30 * time.Millisecond}); !errors.Is(err, apperr.UnavailableAny) {
		t.Fatalf("per-call timeout: err = %v", err)
	}
	if elapsed := time.Since(start); elapsed > 500*time.Millisecond {
		t.Fatalf("per-call timeout took %v", elapsed)
	}

	// A caller that cancels gets its cancellation back, not a hang.
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	if err := c.Do(ctx, httpclient.Call{Path: "/api/v1/slow"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err = %v", err)
	}
}

func TestCircuitBreaker(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/v1/missing":
			writeProblem(w, errHotelNotFound)
		case down.Load():
			http.Error(w, "boom", http.StatusInternalServerError)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	const openFor = 200 * time.Millisecond
	c := newClient(t, srv.URL, httpclient.Options{
		Retries: -1,
		Breaker: httpclient.BreakerConfig{ConsecutiveFailures: 3, OpenTimeout: openFor},
	})
	ctx := t.Context()

	// 4xx answers are successes: they never open the breaker.
	for range 10 {
		if err := c.Do(ctx, httpclient.Call{Path: "/api/v1/missing"}); !errors.Is(err, errHotelNotFound) {
			t.Fatalf("err = %v", err)
		}
	}
	srv.hits.Store(0)

	for i := range 3 {
		if err := c.Do(ctx, httpclient.Call{Path: "/api/v1/x"}); !errors.Is(err, apperr.InternalAny) && !errors.Is(err, apperr.UnavailableAny) {
			t.Fatalf("failure %d: err = %v", i, err)
		}
	}
	if got := srv.hits.Load(); got != 3 {
		t.Fatalf("hits = %d, want 3", got)
	}

	start := time.Now()
	err := c.Do(ctx, httpclient.Call{Path: "/api/v1/x"})
	if elapsed := time.Since(start); elapsed > 50*time.Millisecond {
		t.Fatalf("open breaker answered in %v", elapsed)
	}
	ae := apperr.As(err)
	if !errors.Is(err, apperr.UnavailableAny) || ae.Reason != "search.unavailable" || ae.Message != "the search module is unavailable" {
		t.Fatalf("open breaker: err = %v", err)
	}
	if ae.RetryAfter <= 0 || ae.RetryAfter > openFor {
		t.Fatalf("RetryAfter = %v, want (0, %v]", ae.RetryAfter, openFor)
	}
	if got := srv.hits.Load(); got != 3 {
		t.Fatalf("open breaker reached the server (hits = %d)", got)
	}

	down.Store(false)
	time.Sleep(openFor + 20*time.Millisecond)
	for i := range 3 {
		if err := c.Do(ctx, httpclient.Call{Path: "/api/v1/x"}); err != nil {
			t.Fatalf("call %d after recovery: %v", i, err)
		}
	}
	if got := srv.hits.Load(); got != 6 {
		t.Fatalf("hits = %d, want 6", got)
	}
}

func TestMetrics(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/hotels/htl_9" {
			writeProblem(w, errHotelNotFound)
			return
		}
		writeJSON(w, 200, hotel{ID: "htl_1"})
	})
	reg := prometheus.NewRegistry()
	c := newClient(t, srv.URL, httpclient.Options{Caller: "api", Callee: "search", Metrics: observability.NewEdgeMetrics(reg)})
	for range 2 {
		_ = c.Do(t.Context(), httpclient.Call{Op: "GetHotel", Path: "/api/v1/hotels/htl_1", Out: &hotel{}})
	}
	_ = c.Do(t.Context(), httpclient.Call{Op: "GetHotel", Path: "/api/v1/hotels/htl_9"})

	want := `
# HELP bellhop_edge_calls_total Calls from one module (or the public API) to another module's Service, by outcome code (ok or an apperr code).
# TYPE bellhop_edge_calls_total counter
bellhop_edge_calls_total{callee="search",caller="api",code="not_found",location="remote",method="GetHotel"} 1
bellhop_edge_calls_total{callee="search",caller="api",code="ok",location="remote",method="GetHotel"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "bellhop_edge_calls_total"); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg, "bellhop_edge_call_duration_seconds"); err != nil || n != 1 {
		t.Fatalf("duration series = %d, %v", n, err)
	}
}

func TestConcurrentUse(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, hotel{ID: r.URL.Query().Get("id")})
	})
	c := newClient(t, srv.URL, httpclient.Options{Metrics: observability.NewEdgeMetrics(prometheus.NewRegistry())})
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			id := string(rune('a' + i%26))
			var h hotel
			if err := c.Do(context.Background(), httpclient.Call{Op: "GetHotel", Path: "/api/v1/hotels", Query: map[string][]string{"id": {id}}, Out: &h}); err != nil || h.ID != id {
				t.Errorf("call %d: %v %+v", i, err, h)
			}
		})
	}
	wg.Wait()
}
