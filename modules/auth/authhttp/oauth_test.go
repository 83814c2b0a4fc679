package authhttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/auth/authhttp"
	"github.com/bellhop/bellhop/modules/auth/authlocal"
	"github.com/bellhop/bellhop/modules/auth/authtest"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/httpserver"
)

const password = authtest.Password

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
}

func do(t *testing.T, hc *http.Client, req *http.Request) answer {
	t.Helper()
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, header: res.Header, body: body}
}

// postForm POSTs form to url, with Basic credentials if user is set.
func postForm(t *testing.T, hc *http.Client, u string, form url.Values, user, pass string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	return do(t, hc, req)
}

func postJSON(t *testing.T, u, body string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return do(t, nil, req)
}

// wantOAuthError checks an RFC 6749 §5.2 error answer.
func wantOAuthError(t *testing.T, a answer, status int, code string) {
	t.Helper()
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	a.json(t, &e)
	if a.status != status || e.Error != code || !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") || a.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("answer %d %s %s, want %d with error %q", a.status, a.header, a.body, status, code)
	}
	if status == http.StatusUnauthorized && !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("401 without a Basic challenge: %s", a.header)
	}
}

// setup serves a module with an admin, a confidential service client and
// a first-party public app.
type setup struct {
	*env
	svc       *authlocal.Module
	svcID     string
	svcSecret string
	app       auth.CreatedClient
	third     auth.CreatedClient
	user      auth.User
}

const redirect = "http://127.0.0.1:9/callback"

func newSetup(t *testing.T, opts authhttp.Options, deps authlocal.Deps) *setup {
	t.Helper()
	e := serve(t, opts, deps)
	ctx := context.Background()
	s := &setup{env: e, svc: e.m, svcID: "reports", svcSecret: strings.Repeat("r", 40)}
	if err := e.m.EnsureServiceClients(ctx, []authlocal.ServiceClient{{ID: s.svcID, Secret: s.svcSecret, Scopes: []string{"a:read", "b:write"}}}); err != nil {
		t.Fatal(err)
	}
	var err error
	if s.app, err = e.m.CreateClient(ctx, auth.CreateClientRequest{Name: "Dashboard", FirstParty: true, RedirectURIs: []string{redirect}}); err != nil {
		t.Fatal(err)
	}
	if s.third, err = e.m.CreateClient(ctx, auth.CreateClientRequest{Name: `Third <b>"party"</b>`, Confidential: true, RedirectURIs: []string{"https://third.example/cb"}}); err != nil {
		t.Fatal(err)
	}
	if s.user, err = e.m.CreateUser(ctx, "guest@bellhop.test", "Guest", password); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestToken_ClientCredentials(t *testing.T) {
	s := newSetup(t, authhttp.Options{}, authlocal.Deps{})
	u := s.url + "/oauth/token"
	cc := url.Values{"grant_type": {"client_credentials"}}
	t.Run("Basic", func(t *testing.T) {
		a := postForm(t, nil, u, cc, s.svcID, s.svcSecret)
		var tok auth.Tokens
		a.json(t, &tok)
		if a.status != 200 || tok.TokenType != "Bearer" || tok.ExpiresIn != 900 || tok.Scope != "a:read b:write" || a.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("answer %d %s %s", a.status, a.header, a.body)
		}
		if _, err := s.verifier.Verify(context.Background(), tok.AccessToken); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Post", func(t *testing.T) {
		f := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.svcID}, "client_secret": {s.svcSecret}, "scope": {"a:read"}}
		var tok auth.Tokens
		a := postForm(t, nil, u, f, "", "")
		a.json(t, &tok)
		if a.status != 200 || tok.Scope != "a:read" {
			t.Fatalf("answer %d %s", a.status, a.body)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		wantOAuthError(t, postForm(t, nil, u, cc, s.svcID, "wrong"), 401, "invalid_client")
		wantOAuthError(t, postForm(t, nil, u, cc, "nobody", s.svcSecret), 401, "invalid_client")
		wantOAuthError(t, postForm(t, nil, u, cc, "", ""), 401, "invalid_client")
		wantOAuthError(t, postForm(t, nil, u, url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"}}, s.svcID, s.svcSecret), 400, "invalid_scope")
		wantOAuthError(t, postForm(t, nil, u, url.Values{"grant_type": {"password"}, "username": {"x"}, "password": {"y"}}, s.svcID, s.svcSecret), 400, "unsupported_grant_type")
		wantOAuthError(t, postForm(t, nil, u, url.Values{"grant_type": {"implicit"}}, s.svcID, s.svcSecret), 400, "unsupported_grant_type")
		wantOAuthError(t, postForm(t, nil, u, url.Values{}, s.svcID, s.svcSecret), 400, "invalid_request")
		wantOAuthError(t, postForm(t, nil, u, url.Values{"grant_type": {"client_credentials", "client_credentials"}}, s.svcID, s.svcSecret), 400, "invalid_request")
		wantOAuthError(t, postForm(t, nil, u, url.Values{"grant_type": {"client_credentials"}, "client_secret": {s.svcSecret}}, s.svcID, s.svcSecret), 400, "invalid_request")
		wantOAuthError(t, postForm(t, nil, u, url.Values{"grant_type": {"client_credentials"}, "client_id": {s.app.ID}}, "", ""), 400, "unauthorized_client")
		wantOAuthError(t, postJSON(t, u, `{"grant_type":"client_credentials"}`), 400, "invalid_request")
	})
}

// authorizeURL is the authorization request a client sends the browser to.
func (s *setup) authorizeURL(clientID, redirectURI, state string, pkce authtest.PKCE) string {
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI}, "state": {state},
		"code_challenge": {pkce.Challenge}, "code_challenge_method": {"S256"}}
	return s.url + "/oauth/authorize?" + q.Encode()
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// hidden reads the hidden fields of a page's form.
func hidden(t *testing.T, page []byte) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range hiddenRE.FindAllSubmatch(page, -1) {
		// html/template escaped the values; these tests only use values
		// whose escaped and plain forms differ in &#34; and &lt; &gt; &amp;.
		val := strings.NewReplacer("&#34;", `"`, "&lt;", "<", "&gt;", ">", "&amp;", "&", "&#43;", "+", "&#39;", "'").Replace(string(m[2]))
		v.Set(string(m[1]), val)
	}
	if v.Get("csrf_token") == "" {
		t.Fatalf("no csrf_token in %s", page)
	}
	return v
}

func get(t *testing.T, hc *http.Client, u string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, hc, req)
}

// signInPage opens the sign-in page in b.
func (s *setup) signInPage(t *testing.T, b *http.Client, clientID, redirectURI, state string, pkce authtest.PKCE) url.Values {
	t.Helper()
	a := get(t, b, s.authorizeURL(clientID, redirectURI, state, pkce))
	if a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
		t.Fatalf("sign-in page: %d %s", a.status, a.body)
	}
	csp := a.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "style-src 'sha256-", "form-action 'self' " + originOf(redirectURI), "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Fatalf("CSP %q lacks %q", csp, want)
		}
	}
	if a.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("sign-in page cacheable: %s", a.header)
	}
	return hidden(t, a.body)
}

func originOf(u string) string {
	p, _ := url.Parse(u)
	return p.Scheme + "://" + p.Host
}

func TestAuthorize_FirstParty(t *testing.T) {
	s := newSetup(t, authhttp.Options{}, authlocal.Deps{})
	pkce := authtest.NewPKCE("first-party-verifier-first-party")
	b := browser(t)
	state := `st"ate<&>`
	form := s.signInPage(t, b, s.app.ID, redirect, state, pkce)
	if form.Get("state") != state || form.Get("client_id") != s.app.ID {
		t.Fatalf("hidden fields = %v", form)
	}

	t.Run("WrongPassword", func(t *testing.T) {
		f := cloneValues(form)
		f.Set("email", s.user.Email)
		f.Set("password", "not the password")
		a := postForm(t, b, s.url+"/oauth/authorize", f, "", "")
		if a.status != 401 || !strings.Contains(string(a.body), "The email or password is not correct.") || !strings.Contains(string(a.body), `role="alert"`) {
			t.Fatalf("answer %d %s", a.status, a.body)
		}
		f.Set("email", "nobody@bellhop.test")
		b2 := postForm(t, b, s.url+"/oauth/authorize", f, "", "")
		if b2.status != a.status || strings.Replace(string(b2.body), "nobody@bellhop.test", s.user.Email, 1) != string(a.body) {
			t.Fatalf("unknown email answered differently from a wrong password:\n%s\n%s", a.body, b2.body)
		}
	})
	t.Run("NoCSRF", func(t *testing.T) {
		f := cloneValues(form)
		f.Set("email", s.user.Email)
		f.Set("password", password)
		f.Set("csrf_token", "forged")
		if a := postForm(t, b, s.url+"/oauth/authorize", f, "", ""); a.status != 403 {
			t.Fatalf("forged token: %d %s", a.status, a.body)
		}
		// The right token without the cookie it belongs to (another browser).
		f.Set("csrf_token", form.Get("csrf_token"))
		if a := postForm(t, browser(t), s.url+"/oauth/authorize", f, "", ""); a.status != 403 {
			t.Fatalf("no cookie: %d %s", a.status, a.body)
		}
	})
	var code string
	t.Run("SignIn", func(t *testing.T) {
		f := cloneValues(form)
		f.Set("email", s.user.Email)
		f.Set("password", password)
		a := postForm(t, b, s.url+"/oauth/authorize", f, "", "")
		if a.status != http.StatusSeeOther {
			t.Fatalf("answer %d %s", a.status, a.body)
		}
		loc, err := url.Parse(a.header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		q := loc.Query()
		if loc.Scheme+"://"+loc.Host+loc.Path != redirect || q.Get("state") != state || q.Get("iss") != issuer || q.Get("code") == "" {
			t.Fatalf("redirected to %s", loc)
		}
		code = q.Get("code")
	})
	tokenURL := s.url + "/oauth/token"
	exchange := func(code, verifier string) answer {
		return postForm(t, nil, tokenURL, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
			"code_verifier": {verifier}, "client_id": {s.app.ID}}, "", "")
	}
	t.Run("WrongVerifier", func(t *testing.T) {
		wantOAuthError(t, exchange(code, authtest.NewPKCE("someone-elses-verifier-entirely").Verifier), 400, "invalid_grant")
		// The failed attempt used the code up.
		wantOAuthError(t, exchange(code, pkce.Verifier), 400, "invalid_grant")
	})
	t.Run("Exchange", func(t *testing.T) {
		f := cloneValues(form)
		f.Set("email", s.user.Email)
		f.Set("password", password)
		loc, _ := url.Parse(postForm(t, b, s.url+"/oauth/authorize", f, "", "").header.Get("Location"))
		a := exchange(loc.Query().Get("code"), pkce.Verifier)
		var tok auth.Tokens
		a.json(t, &tok)
		if a.status != 200 || tok.RefreshToken == "" {
			t.Fatalf("answer %d %s", a.status, a.body)
		}
		p, err := s.verifier.Verify(context.Background(), tok.AccessToken)
		if err != nil || p.Subject != s.user.ID {
			t.Fatalf("principal %+v, %v", p, err)
		}
		// Refresh: the first use works, a second use revokes the family.
		refresh := func(rt string) answer {
			return postForm(t, nil, tokenURL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {s.app.ID}}, "", "")
		}
		r1 := refresh(tok.RefreshToken)
		var next auth.Tokens
		r1.json(t, &next)
		if r1.status != 200 || next.RefreshToken == "" {
			t.Fatalf("refresh: %d %s", r1.status, r1.body)
		}
		wantOAuthError(t, refresh(tok.RefreshToken), 400, "invalid_grant")
		wantOAuthError(t, refresh(next.RefreshToken), 400, "invalid_grant")
	})
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

func TestAuthorize_Errors(t *testing.T) {
	s := newSetup(t, authhttp.Options{}, authlocal.Deps{})
	pkce := authtest.NewPKCE("errors-verifier-errors-verifier")
	t.Run("NotRedirectable", func(t *testing.T) {
		for _, u := range []string{
			s.authorizeURL(s.app.ID, "https://evil.example/cb", "s", pkce),
			s.authorizeURL("cli_nobody", redirect, "s", pkce),
			s.authorizeURL(s.app.ID, redirect, "s", pkce) + "&client_id=" + s.app.ID,
		} {
			a := get(t, nil, u)
			if a.status != 400 || a.header.Get("Location") != "" || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
				t.Fatalf("%s: %d %s %s", u, a.status, a.header, a.body)
			}
		}
	})
	t.Run("Redirected", func(t *testing.T) {
		cases := map[string]string{
			"invalid_request":           strings.Replace(s.authorizeURL(s.app.ID, redirect, "s1", pkce), "code_challenge_method=S256", "code_challenge_method=plain", 1),
			"unsupported_response_type": strings.Replace(s.authorizeURL(s.app.ID, redirect, "s1", pkce), "response_type=code", "response_type=token", 1),
		}
		for code, u := range cases {
			a := get(t, nil, u)
			loc, _ := url.Parse(a.header.Get("Location"))
			if a.status != http.StatusSeeOther || loc == nil || loc.Query().Get("error") != code || loc.Query().Get("state") != "s1" || !strings.HasPrefix(loc.String(), redirect) {
				t.Fatalf("%s: %d %s", code, a.status, a.header)
			}
		}
	})
	t.Run("Escaped", func(t *testing.T) {
		a := get(t, browser(t), s.authorizeURL(s.third.ID, "https://third.example/cb", `"><script>alert(1)</script>`, pkce))
		body := string(a.body)
		if a.status != 200 || strings.Contains(body, "<script>") || strings.Contains(body, "<b>") || !strings.Contains(body, "Third &lt;b&gt;&#34;party&#34;&lt;/b&gt;") {
			t.Fatalf("page: %d %s", a.status, body)
		}
	})
}

func TestAuthorize_Consent(t *testing.T) {
	s := newSetup(t, authhttp.Options{}, authlocal.Deps{})
	const thirdRedirect = "https://third.example/cb"
	pkce := authtest.NewPKCE("consent-verifier-consent-verifier")
	consentPage := func(t *testing.T, b *http.Client) url.Values {
		t.Helper()
		f := s.signInPage(t, b, s.third.ID, thirdRedirect, "st", pkce)
		f.Set("email", s.user.Email)
		f.Set("password", password)
		a := postForm(t, b, s.url+"/oauth/authorize", f, "", "")
		if a.status != 200 || !strings.Contains(string(a.body), "Allow") {
			t.Fatalf("consent page: %d %s", a.status, a.body)
		}
		return hidden(t, a.body)
	}
	t.Run("Allow", func(t *testing.T) {
		b := browser(t)
		f := consentPage(t, b)
		f.Set("decision", "allow")
		a := postForm(t, b, s.url+"/oauth/authorize", f, "", "")
		loc, _ := url.Parse(a.header.Get("Location"))
		if a.status != http.StatusSeeOther || !strings.HasPrefix(loc.String(), thirdRedirect) || loc.Query().Get("code") == "" || loc.Query().Get("state") != "st" {
			t.Fatalf("answer %d %s", a.status, a.header)
		}
		tok := postForm(t, nil, s.url+"/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
			"redirect_uri": {thirdRedirect}, "code_verifier": {pkce.Verifier}}, s.third.ID, s.third.Secret)
		if tok.status != 200 {
			t.Fatalf("exchange: %d %s", tok.status, tok.body)
		}
		// The ticket works once.
		if a := postForm(t, b, s.url+"/oauth/authorize", f, "", ""); a.status != 400 {
			t.Fatalf("ticket reused: %d", a.status)
		}
	})
	t.Run("Deny", func(t *testing.T) {
		b := browser(t)
		f := consentPage(t, b)
		f.Set("decision", "deny")
		a := postForm(t, b, s.url+"/oauth/authorize", f, "", "")
		loc, _ := url.Parse(a.header.Get("Location"))
		if a.status != http.StatusSeeOther || loc.Query().Get("error") != "access_denied" || loc.Query().Get("code") != "" {
			t.Fatalf("answer %d %s", a.status, a.header)
		}
	})
}

func TestRevokeAndIntrospect(t *testing.T) {
	s := newSetup(t, authhttp.Options{}, authlocal.Deps{})
	session := postJSON(t, s.url+"/api/v1/sessions", `{"email":"guest@bellhop.test","password":"`+password+`"}`)
	var tok auth.Tokens
	session.json(t, &tok)
	if session.status != 200 || session.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("sign in: %d %s", session.status, session.body)
	}
	t.Run("Introspect", func(t *testing.T) {
		a := postForm(t, nil, s.url+"/oauth/introspect", url.Values{"token": {tok.AccessToken}}, s.svcID, s.svcSecret)
		var got auth.Introspection
		a.json(t, &got)
		if a.status != 200 || !got.Active || got.Sub != s.user.ID || got.Username != s.user.Email || got.Iss != issuer {
			t.Fatalf("answer %d %s", a.status, a.body)
		}
		a = postForm(t, nil, s.url+"/oauth/introspect", url.Values{"token": {"nonsense"}}, s.svcID, s.svcSecret)
		if a.status != 200 || strings.TrimSpace(string(a.body)) != `{"active":false}` {
			t.Fatalf("answer %d %s", a.status, a.body)
		}
		wantOAuthError(t, postForm(t, nil, s.url+"/oauth/introspect", url.Values{"token": {tok.AccessToken}}, "", ""), 401, "invalid_client")
		wantOAuthError(t, postForm(t, nil, s.url+"/oauth/introspect", url.Values{"token": {tok.AccessToken}, "client_id": {s.app.ID}}, "", ""), 401, "invalid_client")
	})
	t.Run("Revoke", func(t *testing.T) {
		a := postForm(t, nil, s.url+"/oauth/revoke", url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}, "client_id": {auth.SessionClientID}}, "", "")
		if a.status != 200 || len(a.body) != 0 {
			t.Fatalf("answer %d %s", a.status, a.body)
		}
		wantOAuthError(t, postForm(t, nil, s.url+"/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}, "", ""), 400, "invalid_grant")
		if a := postForm(t, nil, s.url+"/oauth/revoke", url.Values{"token": {"unknown"}}, s.svcID, s.svcSecret); a.status != 200 {
			t.Fatalf("unknown token: %d %s", a.status, a.body)
		}
		wantOAuthError(t, postForm(t, nil, s.url+"/oauth/revoke", url.Values{"token": {"x"}}, s.svcID, "wrong"), 401, "invalid_client")
	})
}

// The JWKS verifies issued tokens with a JOSE library of its own (go-jose),
// and the metadata points at every endpoint.
func TestDiscovery(t *testing.T) {
	s := newSetup(t, authhttp.Options{ScopesSupported: []string{"catalog:write"}}, authlocal.Deps{})
	a := get(t, nil, s.url+"/.well-known/jwks.json")
	if a.status != 200 || a.header.Get("Content-Type") != "application/jwk-set+json" || !strings.Contains(a.header.Get("Cache-Control"), "max-age=") {
		t.Fatalf("JWKS: %d %s", a.status, a.header)
	}
	var set jose.JSONWebKeySet
	a.json(t, &set)
	tok := postForm(t, nil, s.url+"/oauth/token", url.Values{"grant_type": {"client_credentials"}}, s.svcID, s.svcSecret)
	var tokens auth.Tokens
	tok.json(t, &tokens)
	parsed, err := josejwt.ParseSigned(tokens.AccessToken, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(parsed.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in the JWKS %s", parsed.Headers[0].KeyID, a.body)
	}
	var claims struct {
		josejwt.Claims
		Scope    string `json:"scope"`
		ClientID string `json:"client_id"`
	}
	if err := parsed.Claims(keys[0].Key, &claims); err != nil {
		t.Fatal(err)
	}
	if err := claims.Validate(josejwt.Expected{Issuer: issuer, AnyAudience: josejwt.Audience{audience}, Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if claims.Subject != s.svcID || claims.ClientID != s.svcID || claims.Scope != "a:read b:write" || claims.ID == "" || claims.IssuedAt == nil {
		t.Fatalf("claims = %+v", claims)
	}

	a = get(t, nil, s.url+"/.well-known/oauth-authorization-server")
	var md map[string]any
	a.json(t, &md)
	if a.status != 200 || md["issuer"] != issuer || md["token_endpoint"] != issuer+"/oauth/token" || md["jwks_uri"] != issuer+"/.well-known/jwks.json" ||
		md["authorization_endpoint"] != issuer+"/oauth/authorize" || md["introspection_endpoint"] != issuer+"/oauth/introspect" ||
		md["revocation_endpoint"] != issuer+"/oauth/revoke" || !slices.Contains(md["code_challenge_methods_supported"].([]any), any("S256")) ||
		slices.Contains(md["grant_types_supported"].([]any), any("password")) || slices.Contains(md["grant_types_supported"].([]any), any("implicit")) {
		t.Fatalf("metadata = %s", a.body)
	}
}

// Sign-in answers the same for an unknown email and a wrong password, in
// body and (roughly) in time: both cost one password hash.
func TestSignIn_NoEnumeration(t *testing.T) {
	s := newSetup(t, authhttp.Options{}, authlocal.Deps{Password: authlocal.PasswordParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}})
	try := func(email string) (answer, time.Duration) {
		start := time.Now()
		a := postJSON(t, s.url+"/api/v1/sessions", `{"email":"`+email+`","password":"not the password at all"}`)
		return a, time.Since(start)
	}
	var wrong, unknown []time.Duration
	var wa, ua answer
	for i := range 4 {
		a, d := try(s.user.Email)
		wrong, wa = append(wrong, d), a
		b, e := try("nobody" + string(rune('a'+i)) + "@bellhop.test")
		unknown, ua = append(unknown, e), b
	}
	strip := func(b []byte) map[string]any {
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		delete(m, "request_id")
		return m
	}
	if wa.status != 401 || ua.status != 401 || !reflectEqual(strip(wa.body), strip(ua.body)) {
		t.Fatalf("wrong password %d %s, unknown email %d %s", wa.status, wa.body, ua.status, ua.body)
	}
	slices.Sort(wrong)
	slices.Sort(unknown)
	mw, mu := wrong[len(wrong)/2], unknown[len(unknown)/2]
	if mu < mw/3 || mw < mu/3 {
		t.Fatalf("median time: wrong password %s, unknown email %s", mw, mu)
	}
}

func reflectEqual(a, b map[string]any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// The sign-in and token routes carry the host's stricter limits, per IP,
// and failures per email are paced whether or not the account exists.
func TestRateLimits(t *testing.T) {
	strict := httpserver.RateLimitConfig{Enabled: true, RPS: 0.01, Burst: 2}
	s := newSetup(t, authhttp.Options{SignInRateLimit: strict, TokenRateLimit: strict},
		authlocal.Deps{Throttle: authlocal.ThrottleConfig{FreeFailures: 1, BaseDelay: time.Minute}})
	t.Run("SignIn", func(t *testing.T) {
		var last answer
		for range 3 {
			last = postJSON(t, s.url+"/api/v1/sessions", `{"email":"x@bellhop.test","password":"y"}`)
		}
		if last.status != 429 || last.header.Get("Retry-After") == "" {
			t.Fatalf("third sign-in: %d %s", last.status, last.body)
		}
	})
	t.Run("Token", func(t *testing.T) {
		var last answer
		for range 3 {
			last = postForm(t, nil, s.url+"/oauth/token", url.Values{"grant_type": {"client_credentials"}}, s.svcID, s.svcSecret)
		}
		if last.status != 429 || last.header.Get("Retry-After") == "" {
			t.Fatalf("third token request: %d %s", last.status, last.body)
		}
	})
	t.Run("PerAccount", func(t *testing.T) {
		svc := s.svc.Service()
		for _, email := range []string{s.user.Email, "ghost@bellhop.test"} {
			_, err := svc.SignIn(context.Background(), auth.SignInRequest{Email: email, Password: "wrong password!"})
			if err == nil {
				t.Fatal("signed in with a wrong password")
			}
			if _, err = svc.SignIn(context.Background(), auth.SignInRequest{Email: email, Password: "wrong password!"}); err == nil {
				t.Fatal("signed in with a wrong password")
			}
			_, err = svc.SignIn(context.Background(), auth.SignInRequest{Email: email, Password: password})
			if !isTooMany(err) {
				t.Fatalf("%s: err = %v, want too many attempts", email, err)
			}
		}
	})
}

func isTooMany(err error) bool {
	return errors.Is(err, auth.ErrTooManyAttempts) && apperr.As(err).RetryAfter > 0
}

// The metadata's URLs come from configuration: a request with a forged Host
// header (a cache in front would keep the answer for everyone) gets the same
// endpoints as any other.
func TestMetadata_IgnoresForgedHost(t *testing.T) {
	t.Parallel()
	const public = "https://bellhop.example"
	s := newSetup(t, authhttp.Options{PublicURL: public + "/"}, authlocal.Deps{})
	req, err := http.NewRequest(http.MethodGet, s.url+"/.well-known/oauth-authorization-server", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "evil.example"
	a := do(t, nil, req)
	var md map[string]any
	a.json(t, &md)
	if a.status != 200 || md["token_endpoint"] != public+"/oauth/token" || md["authorization_endpoint"] != public+"/oauth/authorize" ||
		md["jwks_uri"] != public+"/.well-known/jwks.json" || strings.Contains(string(a.body), "evil.example") {
		t.Fatalf("metadata under a forged Host: %d %s", a.status, a.body)
	}
}

// Without a public URL and with an issuer that is not one, Register refuses
// to start rather than build URLs from each request's Host.
func TestRegister_NeedsAPublicURL(t *testing.T) {
	t.Parallel()
	err := authhttp.Register(echo.New().Group(""), nil, authhttp.Options{Issuer: "bellhop"})
	if err == nil || !strings.Contains(err.Error(), "PublicURL") {
		t.Fatalf("Register without a public URL: %v", err)
	}
}
