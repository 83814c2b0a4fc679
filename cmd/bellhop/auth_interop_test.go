package main_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Clients nobody here wrote, against the real binary: golang.org/x/oauth2
// for the client-credentials flow and for the authorization-code flow with
// PKCE (the sign-in form filled in over HTTP, as a browser would), and
// lestrrat-go/jwx, an independent JOSE implementation, verifying every
// token issued against the published JWKS. The clients under test use
// x/oauth2, jwx and net/http only, never a Bellhop client package.
func TestAuth_InteropOAuth2Clients(t *testing.T) {
	dir, _, guestPassword := demoDataDir(t)
	cb := callbackServer(t)
	svcID, svcSecret := createClientCLI(t, dir, "--name", "Interop service", "--scopes", "search:quote")
	if svcSecret == "" {
		t.Fatal("clients create printed no secret for a confidential client")
	}
	appID, _ := createClientCLI(t, dir, "--name", "Interop app", "--public", "--first-party",
		"--redirect-uris", cb.URL, "--grant-types", "authorization_code,refresh_token")
	p := start(t, nil, "--data-dir", dir)
	ctx := context.Background()

	var meta struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
		AuthzEndpoint string `json:"authorization_endpoint"`
		JWKSURI       string `json:"jwks_uri"`
	}
	if res := call(t, "GET", p.URL+"/.well-known/oauth-authorization-server", "", nil, &meta); res.StatusCode != 200 || meta.Issuer == "" {
		t.Fatalf("metadata: %d %+v", res.StatusCode, meta)
	}
	keys, err := jwk.Fetch(ctx, meta.JWKSURI)
	if err != nil || keys.Len() == 0 {
		t.Fatalf("jwk.Fetch %s: %v", meta.JWKSURI, err)
	}
	// verify checks a token with jwx alone: signature by a key of the JWKS
	// (the algorithm taken from the key, not the token), iss, aud, exp.
	verify := func(what, tok string) jwt.Token {
		t.Helper()
		parsed, err := jwt.Parse([]byte(tok), jwt.WithKeySet(keys), jwt.WithValidate(true),
			jwt.WithIssuer(meta.Issuer), jwt.WithAudience("bellhop"), jwt.WithAcceptableSkew(30*time.Second))
		if err != nil {
			t.Fatalf("jwx rejects the %s: %v", what, err)
		}
		return parsed
	}
	claim := func(tok jwt.Token, name string) any {
		var v any
		_ = tok.Get(name, &v)
		return v
	}

	t.Run("client credentials", func(t *testing.T) {
		var access string
		for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
			cc := clientcredentials.Config{ClientID: svcID, ClientSecret: svcSecret, TokenURL: meta.TokenEndpoint, Scopes: []string{"search:quote"}, AuthStyle: style}
			tok, err := cc.Token(ctx)
			if err != nil || tok.AccessToken == "" || tok.RefreshToken != "" || time.Until(tok.Expiry) < 10*time.Minute || !strings.EqualFold(tok.TokenType, "bearer") {
				t.Fatalf("auth style %d: %+v %v", style, tok, err)
			}
			access = tok.AccessToken
		}
		parsed := verify("service token", access)
		if sub, _ := parsed.Subject(); sub != svcID || claim(parsed, "scope") != "search:quote" {
			t.Fatalf("service token: sub %q scope %v", sub, claim(parsed, "scope"))
		}

		// The service token on search's internal route, with plain net/http.
		in := time.Now().UTC().AddDate(0, 0, 20).Format(time.DateOnly)
		out := time.Now().UTC().AddDate(0, 0, 22).Format(time.DateOnly)
		body := fmt.Sprintf(`{"room_type_id":%q,"check_in":%q,"check_out":%q,"guests":1}`, firstRoomType(t, p.URL), in, out)
		req, _ := http.NewRequestWithContext(ctx, "POST", p.URL+"/internal/v1/search/quote", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+access)
		req.Header.Set("Content-Type", "application/json")
		res, err := httpc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var quote struct {
			Nights []json.RawMessage `json:"nights"`
			Total  json.RawMessage   `json:"total"`
		}
		if err := json.NewDecoder(res.Body).Decode(&quote); res.StatusCode != 200 || err != nil || len(quote.Nights) != 2 || quote.Total == nil {
			t.Fatalf("quote with the service token: %d %+v %v", res.StatusCode, quote, err)
		}

		// A scope the client may not have, and a wrong secret, as x/oauth2 reports them.
		wide := clientcredentials.Config{ClientID: svcID, ClientSecret: svcSecret, TokenURL: meta.TokenEndpoint, Scopes: []string{"catalog:write"}}
		var re *oauth2.RetrieveError
		if _, err := wide.Token(ctx); !errors.As(err, &re) || re.ErrorCode != "invalid_scope" {
			t.Fatalf("a scope beyond the client's: %v", err)
		}
		wrong := clientcredentials.Config{ClientID: svcID, ClientSecret: svcSecret + "x", TokenURL: meta.TokenEndpoint, AuthStyle: oauth2.AuthStyleInHeader}
		if _, err := wrong.Token(ctx); !errors.As(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != 401 {
			t.Fatalf("a wrong secret: %v", err)
		}
	})

	t.Run("authorization code with PKCE", func(t *testing.T) {
		conf := oauth2.Config{ClientID: appID, RedirectURL: cb.URL,
			Endpoint: oauth2.Endpoint{AuthURL: meta.AuthzEndpoint, TokenURL: meta.TokenEndpoint}}
		verifier := oauth2.GenerateVerifier()
		state := rand.Text()
		authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
		landed := browserSignIn(t, authURL, "guest@bellhop.demo", guestPassword)
		q := landed.Query()
		if q.Get("state") != state || q.Get("iss") != meta.Issuer || q.Get("code") == "" || q.Get("error") != "" {
			t.Fatalf("redirect back: %s", landed.Redacted())
		}
		if !cb.saw(q.Get("code")) {
			t.Fatal("the browser did not reach the redirect URI")
		}
		// Another verifier than the one the challenge was made from: refused,
		// and the code is used up by the attempt (a stolen code is worthless).
		var re *oauth2.RetrieveError
		if _, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier())); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("a code exchanged with another PKCE verifier: %v", err)
		}
		if _, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier)); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("the code after a failed exchange: %v", err)
		}
		verifier = oauth2.GenerateVerifier()
		state = rand.Text()
		landed = browserSignIn(t, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), "guest@bellhop.demo", guestPassword)
		code := landed.Query().Get("code")
		tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil || tok.AccessToken == "" || tok.RefreshToken == "" || !tok.Valid() {
			t.Fatalf("exchange: %+v %v", tok, err)
		}
		// The access token on GET /api/v1/users/me, with plain net/http.
		me := getMe(t, p.URL, tok.AccessToken)
		if me.Email != "guest@bellhop.demo" {
			t.Fatalf("me: %+v", me)
		}
		parsed := verify("user token", tok.AccessToken)
		sub, _ := parsed.Subject()
		if roles, _ := claim(parsed, "roles").([]any); sub != me.ID || claim(parsed, "email") != me.Email || claim(parsed, "client_id") != appID ||
			!slices.Equal(roles, []any{"guest"}) {
			t.Fatalf("user token claims: sub %q email %v client_id %v roles %v", sub, claim(parsed, "email"), claim(parsed, "client_id"), claim(parsed, "roles"))
		}

		// x/oauth2 refreshes an expired token by itself, and the refresh
		// token rotates.
		stale := *tok
		stale.Expiry = time.Now().Add(-time.Minute)
		fresh, err := conf.TokenSource(ctx, &stale).Token()
		if err != nil || fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken {
			t.Fatalf("refresh through the TokenSource: %+v %v", fresh, err)
		}
		verify("refreshed user token", fresh.AccessToken)
		if me := getMe(t, p.URL, fresh.AccessToken); me.Email != "guest@bellhop.demo" {
			t.Fatalf("me with the refreshed token: %+v", me)
		}

		// The code presented again: refused, and what it bought is revoked
		// (RFC 6749 §4.1.2), refresh tokens rotated since included.
		if _, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier)); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("the code exchanged twice: %v", err)
		}
		staler := *fresh
		staler.Expiry = time.Now().Add(-time.Minute)
		if _, err := conf.TokenSource(ctx, &staler).Token(); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("refresh after the code was replayed: %v", err)
		}

		// jwx is not a rubber stamp: a tampered payload, another issuer and
		// another audience are refused.
		parts := strings.Split(fresh.AccessToken, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"guest"`, `"admin"`, 1))) + "." + parts[2]
		if _, err := jwt.Parse([]byte(forged), jwt.WithKeySet(keys)); err == nil {
			t.Fatal("jwx accepted a tampered token")
		}
		if _, err := jwt.Parse([]byte(fresh.AccessToken), jwt.WithKeySet(keys), jwt.WithIssuer("https://elsewhere.example")); err == nil {
			t.Fatal("jwx accepted the token for another issuer")
		}
		if _, err := jwt.Parse([]byte(fresh.AccessToken), jwt.WithKeySet(keys), jwt.WithAudience("payments")); err == nil {
			t.Fatal("jwx accepted the token for another audience")
		}
	})
}

type meAnswer struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

// getMe is GET /api/v1/users/me with a bearer token, over plain net/http.
func getMe(t *testing.T, base, token string) meAnswer {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/users/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := httpc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var me meAnswer
	if err := json.NewDecoder(res.Body).Decode(&me); res.StatusCode != 200 || err != nil {
		t.Fatalf("GET /api/v1/users/me: %d %v", res.StatusCode, err)
	}
	return me
}

// callback is an OAuth client's redirect URI: an HTTP server that records
// the codes it receives.
type callback struct {
	URL   string // the redirect URI
	mu    sync.Mutex
	codes []string
}

func callbackServer(t *testing.T) *callback {
	t.Helper()
	cb := &callback{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cb.mu.Lock()
		cb.codes = append(cb.codes, r.URL.Query().Get("code"))
		cb.mu.Unlock()
		fmt.Fprintln(w, "signed in: you may close this window")
	}))
	t.Cleanup(srv.Close)
	cb.URL = srv.URL + "/callback"
	return cb
}

func (cb *callback) saw(code string) bool {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return slices.Contains(cb.codes, code)
}

var (
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	formAction  = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
)

// browserSignIn plays the user's browser: it opens authURL (the sign-in
// page, keeping its CSRF cookie), posts the form with its hidden fields and
// the email and password, allows access if a consent page follows, and
// follows the redirect to the client. It returns the URL it ended on.
func browserSignIn(t *testing.T, authURL, email, password string) *url.URL {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	page := func(method, u string, form url.Values) (*http.Response, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, u, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		res, err := browser.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, u, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	submit := func(res *http.Response, body string, set map[string]string) (*http.Response, string) {
		t.Helper()
		action := formAction.FindStringSubmatch(body)
		if action == nil {
			t.Fatalf("no form on %s (%d):\n%s", res.Request.URL.Redacted(), res.StatusCode, body)
		}
		form := url.Values{}
		for _, m := range hiddenInput.FindAllStringSubmatch(body, -1) {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
		if form.Get("csrf_token") == "" {
			t.Fatalf("the form has no CSRF token:\n%s", body)
		}
		for k, v := range set {
			form.Set(k, v)
		}
		target, err := res.Request.URL.Parse(html.UnescapeString(action[1]))
		if err != nil {
			t.Fatal(err)
		}
		return page("POST", target.String(), form)
	}

	res, body := page("GET", authURL, nil)
	if res.StatusCode != 200 {
		t.Fatalf("sign-in page: %d\n%s", res.StatusCode, body)
	}
	authHost := res.Request.URL.Host
	res, body = submit(res, body, map[string]string{"email": email, "password": password})
	if res.Request.URL.Host == authHost && strings.Contains(body, `name="action" value="consent"`) {
		res, body = submit(res, body, map[string]string{"decision": "allow"})
	}
	if res.Request.URL.Host == authHost || res.StatusCode != 200 {
		t.Fatalf("the sign-in did not lead back to the client: %d at %s\n%s", res.StatusCode, res.Request.URL.Redacted(), body)
	}
	return res.Request.URL
}

// codeFlow runs the authorization-code flow with PKCE for conf with
// x/oauth2 and the browser above, and returns the exchanged tokens.
func codeFlow(t *testing.T, conf oauth2.Config, email, password string) *oauth2.Token {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	state := rand.Text()
	landed := browserSignIn(t, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), email, password)
	if landed.Query().Get("state") != state {
		t.Fatalf("state came back as %q, want %q", landed.Query().Get("state"), state)
	}
	tok, err := conf.Exchange(context.Background(), landed.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange the code: %v", err)
	}
	return tok
}
