package main_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/db"
)

// Abuse resistance of the real binary with its own auth module (no test
// JWKS): bad access tokens, refresh-token misuse, forbidden callers, and the
// pacing of failed sign-ins.
//
// To mint tokens that are bad for exactly one reason, the test needs the
// server's signing key. It takes it where the server keeps it: the
// signing_keys table of auth.db in the data directory (the 32-byte Ed25519
// seed). A control token re-signed with that key from a token the server
// issued is accepted, so each bad token fails for the one thing changed.
//
// "Signed by a rotated-out key past its window": `bellhop keys rotate`
// retires the signing key, and the server keeps a retired key published
// (and verifying) for access-token TTL + leeway + 5 minutes, then drops it.
// A test cannot wait 20 minutes and cannot set the binary's clock, so it
// rotates with the real CLI and then moves the first key's retirement a
// day into the past in auth.db ("the window has passed"), before the server
// starts. The server then neither publishes nor accepts that key, while the
// key rotated out just now still verifies: the window, not the rotation,
// decides.
func TestAuth_Abuse(t *testing.T) {
	dir, adminPassword, guestPassword := demoDataDir(t)
	cb := callbackServer(t)

	// Three keys before the server starts: k1 retired past its window, k2
	// retired just now (inside it), k3 signing.
	k1 := rotateKey(t, dir)
	k2 := rotateKey(t, dir)
	k3 := rotateKey(t, dir)
	keys := func() map[string]ed25519.PrivateKey {
		d := openAuthDB(t, dir)
		defer d.Close()
		if err := d.Exec("UPDATE signing_keys SET retired_at = ? WHERE kid = ?", time.Now().UTC().Add(-24*time.Hour), k1).Error; err != nil {
			t.Fatal(err)
		}
		return map[string]ed25519.PrivateKey{k1: signingKey(t, d, k1), k2: signingKey(t, d, k2), k3: signingKey(t, d, k3)}
	}()
	appA, _ := createClientCLI(t, dir, "--name", "Abuse app A", "--public", "--first-party",
		"--redirect-uris", cb.URL, "--grant-types", "authorization_code,refresh_token")

	// Sign-in and token limits per IP out of the way: this test is about the
	// per-account pacing and the tokens (TestAuth_AbuseRateLimitPerIP tests them).
	p := start(t, []string{
		"BELLHOP_AUTH_SIGN_IN_RATE_LIMIT_RPS=1000", "BELLHOP_AUTH_SIGN_IN_RATE_LIMIT_BURST=1000",
		"BELLHOP_AUTH_TOKEN_RATE_LIMIT_RPS=1000", "BELLHOP_AUTH_TOKEN_RATE_LIMIT_BURST=1000",
	}, "--data-dir", dir)

	var jwks struct {
		Keys []struct{ Kid, X string }
	}
	if res := call(t, "GET", p.URL+"/.well-known/jwks.json", "", nil, &jwks); res.StatusCode != 200 {
		t.Fatalf("jwks: %d", res.StatusCode)
	}
	published := map[string]string{}
	for _, k := range jwks.Keys {
		published[k.Kid] = k.X
	}
	if _, ok := published[k1]; ok || published[k2] == "" || published[k3] == "" {
		t.Fatalf("JWKS %v: want k2 %s and k3 %s published, k1 %s (retired past its window) not", slices.Collect(maps.Keys(published)), k2, k3, k1)
	}

	guest := signIn(t, p.URL, "guest@bellhop.demo", guestPassword)
	admin := signIn(t, p.URL, "admin@bellhop.demo", adminPassword)

	t.Run("bad access tokens", func(t *testing.T) {
		header, claims := jwtParts(t, guest.AccessToken)
		if header["kid"] != k3 || header["alg"] != "EdDSA" {
			t.Fatalf("the server signed with %v, want EdDSA under %s", header, k3)
		}
		now := time.Now().Unix()
		with := func(changes map[string]any) map[string]any {
			c := maps.Clone(claims)
			for k, v := range changes {
				if v == nil {
					delete(c, k)
				} else {
					c[k] = v
				}
			}
			return c
		}
		hdr := func(alg, kid string) map[string]any {
			h := maps.Clone(header)
			h["alg"] = alg
			if kid == "" {
				delete(h, "kid")
			} else {
				h["kid"] = kid
			}
			return h
		}
		serverKey := edSigner(keys[k3])
		pub, err := base64.RawURLEncoding.DecodeString(published[k3])
		if err != nil || len(pub) != ed25519.PublicKeySize {
			t.Fatalf("k3's public key in the JWKS: %q %v", published[k3], err)
		}
		_, stranger, _ := ed25519.GenerateKey(rand.Reader)

		// Controls: the claims as issued, re-signed with the server's key
		// (and with k2, rotated out inside its window), are accepted.
		for name, tok := range map[string]string{
			"re-signed with the active key":                   mintJWS(t, header, claims, serverKey),
			"signed by the key rotated out inside its window": mintJWS(t, hdr("EdDSA", k2), claims, edSigner(keys[k2])),
		} {
			var me auth.User
			if res := call(t, "GET", p.URL+"/api/v1/users/me", tok, nil, &me); res.StatusCode != 200 || me.Email != "guest@bellhop.demo" {
				t.Fatalf("control %s: %d %+v", name, res.StatusCode, me)
			}
		}

		parts := strings.Split(guest.AccessToken, ".")
		tampered := with(map[string]any{"roles": []string{"admin"}, "scope": "catalog:write users:admin"})
		cases := []struct {
			name, token, why string
		}{
			{"expired", mintJWS(t, header, with(map[string]any{"iat": now - 7200, "exp": now - 3600}), serverKey), "expired"},
			{"not yet valid (nbf in the future)", mintJWS(t, header, with(map[string]any{"nbf": now + 3600}), serverKey), "not valid yet"},
			{"issued in the future (iat)", mintJWS(t, header, with(map[string]any{"iat": now + 3600, "exp": now + 7200}), serverKey), "not valid yet"},
			{"wrong issuer", mintJWS(t, header, with(map[string]any{"iss": "https://evil.example"}), serverKey), "untrusted issuer"},
			{"wrong audience", mintJWS(t, header, with(map[string]any{"aud": []string{"payments"}}), serverKey), "not meant for this audience"},
			{"no expiry", mintJWS(t, header, with(map[string]any{"exp": nil}), serverKey), "lacks a required claim"},
			{"alg none", mintJWS(t, hdr("none", k3), claims, func([]byte) []byte { return nil }), "signing algorithm is not accepted"},
			{"HS256 keyed with the public key's bytes", mintJWS(t, hdr("HS256", k3), claims, hsSigner(pub)), "signing algorithm is not accepted"},
			{"HS256 keyed with the JWK's x", mintJWS(t, hdr("HS256", k3), claims, hsSigner([]byte(published[k3]))), "signing algorithm is not accepted"},
			{"unknown kid", mintJWS(t, hdr("EdDSA", "no-such-key"), claims, edSigner(stranger)), "unknown key"},
			{"no kid", mintJWS(t, hdr("EdDSA", ""), claims, serverKey), "no key id"},
			{"the server's kid, another key", mintJWS(t, header, claims, edSigner(stranger)), "signature is invalid"},
			{"tampered payload", parts[0] + "." + b64JSON(t, tampered) + "." + parts[2], "signature is invalid"},
			{"rotated-out key past its window", mintJWS(t, hdr("EdDSA", k1), claims, edSigner(keys[k1])), "unknown key"},
			{"not a JWT", "not.a.jwt", "malformed"},
		}
		hotel := `{"name":"Forged Inn","city":"Lisbon","country":"PT","address":"Rua 3","time_zone":"Europe/Lisbon","stars":3,"rating":4}`
		for _, tc := range cases {
			for _, route := range []struct{ method, path, body string }{{"GET", "/api/v1/users/me", ""}, {"POST", "/api/v1/hotels", hotel}} {
				res, b := rawCall(t, route.method, p.URL+route.path, tc.token, route.body)
				prob := problemOf(b)
				if res.StatusCode != 401 || !strings.HasPrefix(res.Header.Get("Content-Type"), apperr.ProblemMediaType) ||
					prob.Reason != "authn.invalid_token" || !strings.Contains(prob.Detail, tc.why) {
					t.Errorf("%s on %s %s: %d %s %+v; want 401 problem+json saying %q", tc.name, route.method, route.path,
						res.StatusCode, res.Header.Get("Content-Type"), prob, tc.why)
				}
				if ch := res.Header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, `Bearer error="invalid_token"`) {
					t.Errorf("%s: WWW-Authenticate %q", tc.name, ch)
				}
			}
		}
	})

	t.Run("refresh token misuse", func(t *testing.T) {
		invalidGrant := func(what string, v url.Values) {
			t.Helper()
			v.Set("grant_type", "refresh_token")
			if status, body := form(t, p.URL+"/oauth/token", v); status != 400 || body["error"] != "invalid_grant" {
				t.Errorf("%s: %d %v; want 400 invalid_grant", what, status, body)
			}
		}
		// Client B, confidential, from the admin API.
		var appB auth.CreatedClient
		req := fmt.Sprintf(`{"name":"Abuse app B","confidential":true,"first_party":true,"redirect_uris":[%q],"grant_types":["authorization_code","refresh_token"]}`, cb.URL)
		if res := call(t, "POST", p.URL+"/api/v1/oauth-clients", admin.AccessToken, strings.NewReader(req), &appB); res.StatusCode != 201 || appB.Secret == "" {
			t.Fatalf("create client B: %d %+v", res.StatusCode, appB)
		}
		// A refresh token of client A (CLI-created), for the demo guest.
		confA := oauth2.Config{ClientID: appA, RedirectURL: cb.URL,
			Endpoint: oauth2.Endpoint{AuthURL: p.URL + "/oauth/authorize", TokenURL: p.URL + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
		tokA := codeFlow(t, confA, "guest@bellhop.demo", guestPassword)
		if tokA.RefreshToken == "" {
			t.Fatalf("client A got no refresh token: %+v", tokA)
		}

		invalidGrant("client A's refresh token presented by client B", url.Values{"refresh_token": {tokA.RefreshToken}, "client_id": {appB.ID}, "client_secret": {appB.Secret}})
		invalidGrant("client A's refresh token presented as a first-party session's", url.Values{"refresh_token": {tokA.RefreshToken}})
		session := signIn(t, p.URL, "guest@bellhop.demo", guestPassword)
		invalidGrant("a session's refresh token presented by client A", url.Values{"refresh_token": {session.RefreshToken}, "client_id": {appA}})

		// Revoked by client A at /oauth/revoke (RFC 7009).
		if status, body := form(t, p.URL+"/oauth/revoke", url.Values{"token": {tokA.RefreshToken}, "token_type_hint": {"refresh_token"}, "client_id": {appA}}); status != 200 {
			t.Fatalf("revoke A's token: %d %v", status, body)
		}
		invalidGrant("client A's revoked refresh token", url.Values{"refresh_token": {tokA.RefreshToken}, "client_id": {appA}})

		// A session signed out (DELETE /api/v1/sessions), and one revoked at /oauth/revoke.
		if res := call(t, "DELETE", p.URL+"/api/v1/sessions", "", strings.NewReader(fmt.Sprintf(`{"refresh_token":%q}`, session.RefreshToken)), nil); res.StatusCode != 204 {
			t.Fatalf("sign out: %d", res.StatusCode)
		}
		invalidGrant("a signed-out session's refresh token", url.Values{"refresh_token": {session.RefreshToken}})
		other := signIn(t, p.URL, "guest@bellhop.demo", guestPassword)
		if status, body := form(t, p.URL+"/oauth/revoke", url.Values{"token": {other.RefreshToken}, "client_id": {auth.SessionClientID}}); status != 200 {
			t.Fatalf("revoke a session's token: %d %v", status, body)
		}
		invalidGrant("a session's refresh token revoked at /oauth/revoke", url.Values{"refresh_token": {other.RefreshToken}})

		// Used twice: the reuse fails and takes the successor down with it.
		third := signIn(t, p.URL, "guest@bellhop.demo", guestPassword)
		status, body := form(t, p.URL+"/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {third.RefreshToken}})
		next, _ := body["refresh_token"].(string)
		if status != 200 || next == "" {
			t.Fatalf("first refresh: %d %v", status, body)
		}
		invalidGrant("a refresh token used twice", url.Values{"refresh_token": {third.RefreshToken}})
		invalidGrant("the successor of a reused refresh token", url.Values{"refresh_token": {next}})
		invalidGrant("a made-up refresh token", url.Values{"refresh_token": {"r_" + strings.Repeat("x", 43)}})
	})

	t.Run("forbidden callers", func(t *testing.T) {
		hotel := `{"name":"Guest Inn","city":"Lisbon","country":"PT","address":"Rua 4","time_zone":"Europe/Lisbon","stars":3,"rating":4}`
		forbidden := func(what, method, path, token, body string) {
			t.Helper()
			res, b := rawCall(t, method, p.URL+path, token, body)
			prob := problemOf(b)
			if res.StatusCode != 403 || !strings.HasPrefix(res.Header.Get("Content-Type"), apperr.ProblemMediaType) || prob.Status != 403 {
				t.Errorf("%s: %d %+v; want 403 problem+json", what, res.StatusCode, prob)
			}
		}
		forbidden("a guest creates a hotel (staff route)", "POST", "/api/v1/hotels", guest.AccessToken, hotel)
		forbidden("a guest lists users (admin route)", "GET", "/api/v1/users", guest.AccessToken, "")

		in := civil.Today(time.UTC).AddDays(30)
		q, _ := json.Marshal(search.QuoteRequest{RoomTypeID: firstRoomType(t, p.URL), CheckIn: in, CheckOut: in.AddDays(2), Guests: 1})
		forbidden("a guest's token on /internal/v1/search/quote", "POST", "/internal/v1/search/quote", guest.AccessToken, string(q))
		// /internal routes are for services (ARCHITECTURE.md "Who is calling",
		// issue 4): a user's token is refused even when it is an admin's,
		// whose catalog:write would let it edit the catalog.
		forbidden("an admin's (user) token on /internal/v1/search/quote", "POST", "/internal/v1/search/quote", admin.AccessToken, string(q))
	})

	t.Run("failed sign-ins are paced per account", func(t *testing.T) {
		const email, password = "lockme@hotel.example", "a long enough passphrase"
		register(t, p.URL, email, "Lock", password)
		for _, account := range []string{email, "nobody-" + rand.Text()[:8] + "@hotel.example"} {
			// Five free failures, the sixth still checked and counted...
			for i := 1; i <= 6; i++ {
				if res, prob, _, _ := trySignIn(t, p.URL, account, "not the passphrase"); res.StatusCode != 401 || prob.Reason != auth.ErrInvalidCredentials.Reason {
					t.Fatalf("%s: failure %d: %d %+v", account, i, res.StatusCode, prob)
				}
			}
			// ...then the account waits, whatever the password.
			res, prob, _, _ := trySignIn(t, p.URL, account, password)
			first := retryAfter(t, res, prob)
			if res.StatusCode != 429 || prob.Reason != auth.ErrTooManyAttempts.Reason || first < 1 {
				t.Fatalf("%s after 6 failures: %d %+v", account, res.StatusCode, prob)
			}
			if account != email {
				break // the unknown address is paced the same; the growth is checked on the real one
			}
			// Another account from the same address is not affected.
			signIn(t, p.URL, "guest@bellhop.demo", guestPassword)
			// After the wait, one more failure doubles it.
			time.Sleep(time.Duration(first)*time.Second + 100*time.Millisecond)
			if res, prob, _, _ := trySignIn(t, p.URL, email, "still not the passphrase"); res.StatusCode != 401 {
				t.Fatalf("after the wait: %d %+v", res.StatusCode, prob)
			}
			res, prob, _, _ = trySignIn(t, p.URL, email, password)
			if second := retryAfter(t, res, prob); res.StatusCode != 429 || second <= first {
				t.Fatalf("the delay did not grow: %d %+v (first Retry-After %d)", res.StatusCode, prob, first)
			}
		}
	})

	t.Run("unknown email and wrong password look alike", func(t *testing.T) {
		const email, password = "timing@hotel.example", "a long enough passphrase"
		register(t, p.URL, email, "Timing", password)
		unknown := func() string { return "nobody-" + strings.ToLower(rand.Text()[:10]) + "@hotel.example" }
		// The same status and body (but for the request id).
		r1, _, raw1, _ := trySignIn(t, p.URL, email, "not the passphrase")
		r2, _, raw2, _ := trySignIn(t, p.URL, unknown(), "not the passphrase")
		b1, b2 := comparable(t, raw1), comparable(t, raw2)
		if r1.StatusCode != 401 || r2.StatusCode != r1.StatusCode || b1 != b2 || r1.Header.Get("Content-Type") != r2.Header.Get("Content-Type") {
			t.Fatalf("wrong password: %d %s\nunknown email: %d %s", r1.StatusCode, b1, r2.StatusCode, b2)
		}
		// Similar timing: medians of 10 tries each, interleaved. The account's
		// failure count is reset by a real sign-in every 4 failures, before
		// the pacing would kick in.
		const tries = 10
		var wrong, none []time.Duration
		signIn(t, p.URL, email, password)
		for i := range tries {
			if i%4 == 3 {
				signIn(t, p.URL, email, password)
			}
			res, _, _, d := trySignIn(t, p.URL, email, "not the passphrase")
			if res.StatusCode != 401 {
				t.Fatalf("wrong password try %d: %d", i, res.StatusCode)
			}
			wrong = append(wrong, d)
			res, _, _, d = trySignIn(t, p.URL, unknown(), "not the passphrase")
			if res.StatusCode != 401 {
				t.Fatalf("unknown email try %d: %d", i, res.StatusCode)
			}
			none = append(none, d)
		}
		mw, mn := median(wrong), median(none)
		t.Logf("median sign-in failure: wrong password %v, unknown email %v", mw, mn)
		if mw > 3*mn || mn > 3*mw {
			t.Errorf("timing tells accounts apart: wrong password median %v, unknown email median %v (want within 3x)", mw, mn)
		}
	})
}

// Per-IP limits on the sign-in routes and on the token endpoint, on a
// server started with low ones: a client that sprays different emails (so
// no account's pacing applies) is stopped with 429 and Retry-After.
func TestAuth_AbuseRateLimitPerIP(t *testing.T) {
	p := start(t, []string{
		"BELLHOP_AUTH_SIGN_IN_RATE_LIMIT_RPS=0.01", "BELLHOP_AUTH_SIGN_IN_RATE_LIMIT_BURST=3",
		"BELLHOP_AUTH_TOKEN_RATE_LIMIT_RPS=0.01", "BELLHOP_AUTH_TOKEN_RATE_LIMIT_BURST=2",
	}, "--data-dir", t.TempDir())
	limited := func(what string, res *http.Response, prob apperr.Problem) {
		t.Helper()
		if res.StatusCode != 429 || prob.Reason != "auth.rate_limited" {
			t.Fatalf("%s: %d %+v; want 429 auth.rate_limited", what, res.StatusCode, prob)
		}
		if ra := retryAfter(t, res, prob); ra < 1 {
			t.Fatalf("%s: Retry-After %d", what, ra)
		}
	}
	for i := range 3 {
		if res, prob, _, _ := trySignIn(t, p.URL, fmt.Sprintf("spray-%d@hotel.example", i), "not the passphrase"); res.StatusCode != 401 {
			t.Fatalf("sign-in %d within the burst: %d %+v", i, res.StatusCode, prob)
		}
	}
	res, prob, _, _ := trySignIn(t, p.URL, "spray-3@hotel.example", "not the passphrase")
	limited("sign-in past the burst (a fresh email)", res, prob)
	// Registration shares the sign-in limit.
	res, b := rawCall(t, "POST", p.URL+"/api/v1/users", "", `{"email":"new@hotel.example","name":"New","password":"a long enough passphrase"}`)
	limited("registration past the burst", res, problemOf(b))

	for i := range 2 {
		if status, body := form(t, p.URL+"/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"nobody"}, "client_secret": {"x"}}); status != 401 {
			t.Fatalf("token request %d within the burst: %d %v", i, status, body)
		}
	}
	req, _ := http.NewRequest("POST", p.URL+"/oauth/token", strings.NewReader("grant_type=client_credentials&client_id=nobody&client_secret=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := httpc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	limited("token request past the burst", res, problemOf(b))

	// Routes without a password or a secret are not held back.
	if res := call(t, "GET", p.URL+"/.well-known/jwks.json", "", nil, nil); res.StatusCode != 200 {
		t.Fatalf("jwks while limited: %d", res.StatusCode)
	}
}

// demoDataDir is a copy of a data directory seeded once (demo catalog, demo
// admin and guest), with the two demo passwords.
var (
	demoOnce                                  sync.Once
	demoDir, demoAdminPassword, demoGuestPass string
	demoErr                                   error
)

func demoDataDir(t *testing.T) (dir, adminPassword, guestPassword string) {
	t.Helper()
	demoOnce.Do(func() {
		// Next to the binary: TestMain removes that directory at the end.
		demoDir = filepath.Join(filepath.Dir(binary), "demo-seed")
		if demoErr = os.MkdirAll(demoDir, 0o700); demoErr != nil {
			return
		}
		out, err := exec.Command(binary, "seed", "--data-dir", demoDir).CombinedOutput()
		if err != nil {
			demoErr = fmt.Errorf("seed: %v: %s", err, out)
			return
		}
		for role, pw := range map[string]*string{"admin": &demoAdminPassword, "guest": &demoGuestPass} {
			m := regexp.MustCompile(`demo ` + role + ` created: ` + role + `@bellhop\.demo / (\S+)`).FindSubmatch(out)
			if m == nil {
				demoErr = fmt.Errorf("seed did not print the demo %s:\n%s", role, out)
				return
			}
			*pw = string(m[1])
		}
	})
	if demoErr != nil {
		t.Fatal(demoErr)
	}
	dir = t.TempDir()
	entries, err := os.ReadDir(demoDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(demoDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, demoAdminPassword, demoGuestPass
}

// bellhopCLI runs a bellhop command and returns its output.
func bellhopCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(binary, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("bellhop %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// rotateKey runs `bellhop keys rotate` on dir and returns the new key's id.
func rotateKey(t *testing.T, dir string) string {
	t.Helper()
	out := bellhopCLI(t, "keys", "rotate", "--data-dir", dir)
	m := regexp.MustCompile(`signing with new key (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("keys rotate printed no key id:\n%s", out)
	}
	return m[1]
}

// createClientCLI runs `bellhop clients create` on dir and returns the
// client's id and secret ("" for a public client).
func createClientCLI(t *testing.T, dir string, args ...string) (id, secret string) {
	t.Helper()
	out := bellhopCLI(t, append([]string{"clients", "create", "--data-dir", dir}, args...)...)
	m := regexp.MustCompile(`client_id: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("clients create printed no client id:\n%s", out)
	}
	if s := regexp.MustCompile(`client_secret: (\S+)`).FindStringSubmatch(out); s != nil {
		secret = s[1]
	}
	return m[1], secret
}

// openAuthDB opens the auth module's SQLite database in dir, as the binary does.
func openAuthDB(t *testing.T, dir string) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), db.Options{Module: "auth", DataDir: dir, MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// signingKey reads the Ed25519 key kid from the auth database.
func signingKey(t *testing.T, d *db.DB, kid string) ed25519.PrivateKey {
	t.Helper()
	var seed []byte
	if err := d.Raw("SELECT private_key FROM signing_keys WHERE kid = ?", kid).Row().Scan(&seed); err != nil {
		t.Fatalf("signing key %s: %v", kid, err)
	}
	if len(seed) != ed25519.SeedSize {
		t.Fatalf("signing key %s: %d bytes, want an Ed25519 seed", kid, len(seed))
	}
	return ed25519.NewKeyFromSeed(seed)
}

// jwtParts decodes a JWT's header and claims.
func jwtParts(t *testing.T, tok string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("a JWT has 3 parts, this one %d", len(parts))
	}
	for i, out := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber() // exp and iat as they were
		if err := dec.Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

func b64JSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// mintJWS builds a compact JWS by hand (no JOSE library deciding anything):
// header and claims as given, the signature sign returns over the signing input.
func mintJWS(t *testing.T, header, claims map[string]any, sign func(input []byte) []byte) string {
	t.Helper()
	input := b64JSON(t, header) + "." + b64JSON(t, claims)
	return input + "." + base64.RawURLEncoding.EncodeToString(sign([]byte(input)))
}

func edSigner(k ed25519.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte { return ed25519.Sign(k, in) }
}

func hsSigner(key []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write(in)
		return m.Sum(nil)
	}
}

// rawCall sends a request with a JSON body (if any) and returns the answer
// with its body read.
func rawCall(t *testing.T, method, u, token, body string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := httpc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

// problemOf decodes a problem+json body ("" fields if it is not one).
func problemOf(b []byte) apperr.Problem {
	var p apperr.Problem
	_ = json.Unmarshal(b, &p)
	return p
}

// trySignIn posts to /api/v1/sessions and returns the answer, its problem
// (on failure), its body and how long it took.
func trySignIn(t *testing.T, base, email, password string) (*http.Response, apperr.Problem, []byte, time.Duration) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	began := time.Now()
	res, b := rawCall(t, "POST", base+"/api/v1/sessions", "", string(body))
	return res, problemOf(b), b, time.Since(began)
}

// comparable is a problem body without the members that differ on every
// request (request_id, instance).
func comparable(t *testing.T, b []byte) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %q", b)
	}
	delete(m, "request_id")
	delete(m, "instance")
	out, _ := json.Marshal(m)
	return string(out)
}

// retryAfter reads Retry-After (whole seconds) and checks the body says the same.
func retryAfter(t *testing.T, res *http.Response, prob apperr.Problem) int {
	t.Helper()
	h := res.Header.Get("Retry-After")
	if h == "" {
		return 0
	}
	n, err := strconv.Atoi(h)
	if err != nil {
		t.Fatalf("Retry-After %q: %v", h, err)
	}
	if prob.RetryAfterSeconds != 0 && prob.RetryAfterSeconds != n {
		t.Fatalf("Retry-After %d but retry_after_seconds %d", n, prob.RetryAfterSeconds)
	}
	return n
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
