package httpclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/httpclient"
)

const (
	ccClientID = "svc-bookings"
	ccSecret   = "s3cr3t:with/odd&chars"
)

// ccEndpoint is an OAuth2 token endpoint for the client credentials grant
// (RFC 6749 §4.4) that authenticates its one client with HTTP Basic only.
type ccEndpoint struct {
	*httptest.Server
	fetches   atomic.Int32  // grants issued
	requests  atomic.Int32  // requests received, refused ones included
	expiresIn atomic.Int64  // seconds; 0: no expires_in
	failWith  atomic.Int32  // if non-zero, answer every request with this status
	hold      chan struct{} // if non-nil, a grant waits until it is closed
	lastScope atomic.Value  // string: the scope of the last grant request
	// mint makes the nth access token (default "tok-<n>").
	mint func(n int32, scopes []string, ttl time.Duration) string
	// handler, if set, answers instead of the endpoint.
	handler http.HandlerFunc
}

func newCCEndpoint(t *testing.T, configure func(*ccEndpoint)) *ccEndpoint {
	t.Helper()
	e := &ccEndpoint{}
	e.expiresIn.Store(3600)
	e.mint = func(n int32, _ []string, _ time.Duration) string { return "tok-" + strconv.Itoa(int(n)) }
	if configure != nil {
		configure(e)
	}
	e.Server = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.Close)
	return e
}

func (e *ccEndpoint) tokenURL() string { return e.URL + "/oauth2/token" }

func ccOAuthError(w http.ResponseWriter, status int, code, description string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="bellhop"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}

func (e *ccEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	e.requests.Add(1)
	if e.handler != nil {
		e.handler(w, r)
		return
	}
	if status := int(e.failWith.Load()); status != 0 {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, "<html><body>proxy says %d</body></html>", status)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/oauth2/token" ||
		r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		ccOAuthError(w, http.StatusBadRequest, "invalid_request", "want a form POST to /oauth2/token")
		return
	}
	if err := r.ParseForm(); err != nil {
		ccOAuthError(w, http.StatusBadRequest, "invalid_request", "unreadable form")
		return
	}
	if r.PostForm.Has("client_secret") || r.PostForm.Has("client_id") {
		ccOAuthError(w, http.StatusBadRequest, "invalid_request", "client credentials belong in the Authorization header")
		return
	}
	// RFC 6749 §2.3.1: Basic credentials are form-urlencoded first.
	user, pass, ok := r.BasicAuth()
	id, _ := url.QueryUnescape(user)
	secret, _ := url.QueryUnescape(pass)
	if !ok || id != ccClientID || secret != ccSecret {
		ccOAuthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if g := r.PostForm.Get("grant_type"); g != "client_credentials" {
		ccOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant type "+g)
		return
	}
	scope := r.PostForm.Get("scope")
	e.lastScope.Store(scope)
	if e.hold != nil {
		<-e.hold
	}
	n := e.fetches.Add(1)
	ttl := time.Duration(e.expiresIn.Load()) * time.Second
	body := map[string]any{
		"access_token": e.mint(n, strings.Fields(scope), ttl),
		"token_type":   "Bearer",
		"scope":        scope,
	}
	if ttl > 0 {
		body["expires_in"] = int(ttl / time.Second)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(body)
}

func ccConfig(e *ccEndpoint) httpclient.ClientCredentialsConfig {
	return httpclient.ClientCredentialsConfig{
		TokenURL:     e.tokenURL(),
		ClientID:     ccClientID,
		ClientSecret: ccSecret,
		Scopes:       []string{"search:internal", "bookings:internal"},
	}
}

func ccToken(t *testing.T, ts httpclient.TokenSource) string {
	t.Helper()
	tok, err := ts.Token(t.Context())
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	return tok
}

func ccInvalidate(t *testing.T, ts httpclient.TokenSource) {
	t.Helper()
	inv, ok := ts.(interface{ Invalidate() })
	if !ok {
		t.Fatalf("%T has no Invalidate", ts)
	}
	inv.Invalidate()
}

func TestClientCredentialsCachesToken(t *testing.T) {
	e := newCCEndpoint(t, nil)
	ts := httpclient.ClientCredentials(ccConfig(e))
	for i := range 50 {
		if tok := ccToken(t, ts); tok != "tok-1" {
			t.Fatalf("call %d: token %q, want tok-1", i, tok)
		}
	}
	if n := e.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for 50 calls, want 1", n)
	}
	if s, _ := e.lastScope.Load().(string); s != "search:internal bookings:internal" {
		t.Fatalf("requested scope %q", s)
	}
}

func TestClientCredentialsRefreshesBeforeExpiry(t *testing.T) {
	t.Parallel()
	e := newCCEndpoint(t, func(e *ccEndpoint) { e.expiresIn.Store(2) })
	cfg := ccConfig(e)
	cfg.EarlyExpiry = time.Second
	ts := httpclient.ClientCredentials(cfg)

	start := time.Now()
	if tok := ccToken(t, ts); tok != "tok-1" {
		t.Fatalf("first token %q", tok)
	}
	// tok-1 expires 2s after start, give or take the fetch: its successor
	// must come well before.
	for tok := "tok-1"; tok == "tok-1"; tok = ccToken(t, ts) {
		if time.Since(start) > 1700*time.Millisecond {
			t.Fatalf("tok-1 still served close to its expiry (%d fetches)", e.fetches.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Refreshed EarlyExpiry before expiry, not before.
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("refreshed after %v, want about 1s (2s lifetime - 1s early expiry)", d)
	}
	if n := e.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}

// While the current token is still valid, a failing refresh does not fail
// callers; once it has expired, they get the endpoint's failure.
func TestClientCredentialsServesCurrentTokenWhileRefreshFails(t *testing.T) {
	t.Parallel()
	e := newCCEndpoint(t, func(e *ccEndpoint) { e.expiresIn.Store(2) })
	cfg := ccConfig(e)
	cfg.EarlyExpiry = time.Second
	ts := httpclient.ClientCredentials(cfg)

	start := time.Now()
	if tok := ccToken(t, ts); tok != "tok-1" {
		t.Fatalf("first token %q", tok)
	}
	e.failWith.Store(http.StatusServiceUnavailable)
	time.Sleep(1200 * time.Millisecond)
	for e.requests.Load() < 3 { // the refresh fails, and is tried again
		if time.Since(start) > 1800*time.Millisecond {
			t.Fatalf("refresh not retried (%d requests)", e.requests.Load())
		}
		if tok := ccToken(t, ts); tok != "tok-1" {
			t.Fatalf("token %q during the refresh window, want tok-1", tok)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Until(start.Add(2300 * time.Millisecond)))
	_, err := ts.Token(t.Context())
	if !errors.Is(err, httpclient.ErrTokenUnavailable) || !strings.Contains(apperr.As(err).Message, "503") {
		t.Fatalf("after expiry: %v, want token unavailable (503)", err)
	}
	e.failWith.Store(0)
	if tok := ccToken(t, ts); tok != "tok-2" {
		t.Fatalf("after recovery: %q, want tok-2", tok)
	}
}

func TestClientCredentialsInvalidate(t *testing.T) {
	e := newCCEndpoint(t, nil)
	ts := httpclient.ClientCredentials(ccConfig(e))
	if tok := ccToken(t, ts); tok != "tok-1" {
		t.Fatalf("first token %q", tok)
	}
	ccInvalidate(t, ts)
	if tok := ccToken(t, ts); tok != "tok-2" {
		t.Fatalf("after Invalidate: %q, want tok-2", tok)
	}
	if tok := ccToken(t, ts); tok != "tok-2" {
		t.Fatalf("after the refetch: %q, want tok-2 (cached)", tok)
	}
	if n := e.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}

func TestClientCredentialsConcurrentCallersShareOneFetch(t *testing.T) {
	hold := make(chan struct{})
	e := newCCEndpoint(t, func(e *ccEndpoint) { e.hold = hold })
	ts := httpclient.ClientCredentials(ccConfig(e))

	const callers = 32
	var wg sync.WaitGroup
	toks := make([]string, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() { toks[i], errs[i] = ts.Token(t.Context()) })
	}
	// A caller that gives up stops waiting without cancelling the fetch
	// the others wait for.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := ts.Token(ctx); !errors.Is(err, httpclient.ErrTokenUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("impatient caller: %v, want token unavailable wrapping the deadline", err)
	}
	time.Sleep(20 * time.Millisecond)
	close(hold)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || toks[i] != "tok-1" {
			t.Fatalf("caller %d: %q, %v", i, toks[i], errs[i])
		}
	}
	if n := e.requests.Load(); n != 1 {
		t.Fatalf("%d requests to the token endpoint for %d concurrent callers, want 1", n, callers+1)
	}

	// Many callers invalidating at once (a burst of 401s) and asking again
	// still share fetches.
	inv, ok := ts.(interface{ Invalidate() })
	if !ok {
		t.Fatalf("%T has no Invalidate", ts)
	}
	for range callers {
		wg.Go(func() {
			inv.Invalidate()
			if _, err := ts.Token(t.Context()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := e.requests.Load(); n < 2 || n > callers+1 {
		t.Fatalf("%d requests after a burst of invalidations", n)
	}
}

func TestClientCredentialsErrors(t *testing.T) {
	answer := func(h http.HandlerFunc) func(*ccEndpoint) { return func(e *ccEndpoint) { e.handler = h } }
	hostile := newCCEndpoint(t, answer(func(w http.ResponseWriter, r *http.Request) {
		_, pass, _ := r.BasicAuth()
		secret, _ := url.QueryUnescape(pass)
		ccOAuthError(w, http.StatusBadRequest, "invalid_request", "you sent "+secret+" and "+pass)
	}))
	other := newCCEndpoint(t, nil)
	redirect := newCCEndpoint(t, answer(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.tokenURL(), http.StatusTemporaryRedirect)
	}))
	proxy := newCCEndpoint(t, func(e *ccEndpoint) { e.failWith.Store(http.StatusBadGateway) })
	gone := newCCEndpoint(t, nil)
	gone.Close()
	notBearer := newCCEndpoint(t, answer(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"tok-1","token_type":"DPoP","expires_in":60}`))
	}))

	good := newCCEndpoint(t, nil)
	for _, tc := range []struct {
		name string
		cfg  func(httpclient.ClientCredentialsConfig) httpclient.ClientCredentialsConfig
		want string // in the message
	}{
		{"wrong secret", func(c httpclient.ClientCredentialsConfig) httpclient.ClientCredentialsConfig {
			c.TokenURL, c.ClientSecret = good.tokenURL(), ccSecret+"-wrong"
			return c
		}, "invalid_client"},
		{"unknown client", func(c httpclient.ClientCredentialsConfig) httpclient.ClientCredentialsConfig {
			c.TokenURL, c.ClientID = good.tokenURL(), "svc-nobody"
			return c
		}, "invalid_client"},
		{"endpoint echoes the secret", func(c httpclient.ClientCredentialsConfig) httpclient.ClientCredentialsConfig {
			c.TokenURL = hostile.tokenURL()
			return c
		}, "invalid_request"},
		{"error page", func(c httpclient.ClientCredentialsConfig) httpclient.ClientCredentialsConfig {
			c.TokenURL = proxy.tokenURL()
			return c
		}, "502 Bad Gateway"},
		{"redirect not followed", func(c httpclient.ClientCredentialsConfig) httpclient.ClientCredentialsConfig {
			c.TokenURL = redirect.tokenURL()
			return c
		}, "307"},
		{"unreachable", func(c httpclient.ClientCredentialsConfig) httpclient.ClientCredentialsConfig {
			c.TokenURL = gone.tokenURL()
			return c
		}, "could not be reached"},
		{"not a bearer token", func(c httpclient.ClientCredentialsConfig) httpclient.ClientCredentialsConfig {
			c.TokenURL = notBearer.tokenURL()
			return c
		}, `"DPoP"`},
		{"misconfigured", func(c httpclient.ClientCredentialsConfig) httpclient.ClientCredentialsConfig {
			c.TokenURL = "ftp://auth.example/token"
			return c
		}, "misconfigured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg(ccConfig(good))
			ts := httpclient.ClientCredentials(cfg)
			_, err := ts.Token(t.Context())
			ae := apperr.As(err)
			if err == nil || ae.Code != apperr.CodeUnavailable || ae.Reason != "auth.token_unavailable" ||
				!errors.Is(err, httpclient.ErrTokenUnavailable) {
				t.Fatalf("err = %v, want unavailable auth.token_unavailable", err)
			}
			if !strings.Contains(ae.Message, tc.want) {
				t.Fatalf("message %q lacks %q", ae.Message, tc.want)
			}
			// Neither the error (cause included) nor the problem sent to
			// clients nor the printed source or config shows the secret.
			problem, _ := json.Marshal(apperr.ToProblem(err))
			shown := strings.Join([]string{err.Error(), fmt.Sprintf("%+v|%#v", err, err), string(problem),
				fmt.Sprintf("%v|%+v|%#v|%s", ts, ts, ts, ts), fmt.Sprintf("%v|%+v|%#v", cfg, cfg, cfg)}, "\n")
			for _, s := range []string{cfg.ClientSecret, url.QueryEscape(cfg.ClientSecret), "proxy says"} {
				if strings.Contains(shown, s) {
					t.Fatalf("%q shown:\n%s", s, shown)
				}
			}
		})
	}
	if n := other.requests.Load(); n != 0 {
		t.Fatalf("the redirect was followed (%d requests)", n)
	}
	if err := (httpclient.ClientCredentialsConfig{TokenURL: "https://auth.example/token", ClientID: "x"}).Validate(); err == nil {
		t.Fatal("Validate accepts a config without a secret")
	}
	if err := ccConfig(good).Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

// End to end: a Client calls an /internal route with service tokens from
// ClientCredentials; the issuer rotates its keys, the target rejects the
// cached token with 401, and the Client invalidates it, gets a fresh one and
// succeeds.
func TestClientCredentialsWithClient(t *testing.T) {
	iss := authntest.NewIssuer(t, "https://auth.test", "bellhop")
	e := newCCEndpoint(t, func(e *ccEndpoint) {
		e.mint = func(_ int32, scopes []string, ttl time.Duration) string {
			return iss.Token(t, authn.Principal{Subject: ccClientID, Kind: authn.KindService, Scopes: scopes}, ttl)
		}
	})
	verifier := iss.Verifier()
	type seen struct{ Subject, Kind string }
	var hits, rejected atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		raw, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		p, err := verifier.Verify(r.Context(), raw)
		if err == nil && (p.Kind != authn.KindService || !p.HasScope("search:internal")) {
			err = apperr.Forbidden("search.forbidden", "service scope search:internal required")
		}
		if err != nil {
			rejected.Add(1)
			pr := apperr.ToProblem(err)
			w.Header().Set("Content-Type", apperr.ProblemMediaType)
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(pr.Status)
			_ = json.NewEncoder(w).Encode(pr)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(seen{p.Subject, p.Kind})
	}))
	t.Cleanup(target.Close)

	c, err := httpclient.New(target.URL, httpclient.Options{
		Caller: "bookings", Callee: "search",
		ServiceTokens: httpclient.ClientCredentials(ccConfig(e)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	call := func() seen {
		t.Helper()
		var got seen
		if err := c.Do(t.Context(), httpclient.Call{Op: "Quote", Method: http.MethodPost, Path: "/internal/v1/search/quote", Body: map[string]int{"nights": 2}, Out: &got}); err != nil {
			t.Fatalf("Do: %v", err)
		}
		return got
	}

	if got := call(); got != (seen{ccClientID, authn.KindService}) {
		t.Fatalf("target saw %+v", got)
	}
	call()
	if f, h := e.fetches.Load(), hits.Load(); f != 1 || h != 2 {
		t.Fatalf("%d fetches, %d hits; want 1 fetch for 2 calls", f, h)
	}

	// Key rotation: the cached token's key is no longer trusted.
	iss.Rotate(t)
	iss.Retire()
	if got := call(); got != (seen{ccClientID, authn.KindService}) {
		t.Fatalf("after rotation the target saw %+v", got)
	}
	if f, h, r := e.fetches.Load(), hits.Load(), rejected.Load(); f != 2 || h != 4 || r != 1 {
		t.Fatalf("%d fetches, %d hits, %d rejected; want 2, 4, 1 (one 401, one refetch, one retry)", f, h, r)
	}
}
