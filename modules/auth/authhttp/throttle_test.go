package authhttp_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/auth/authhttp"
	"github.com/bellhop/bellhop/modules/auth/authlocal"
	"github.com/bellhop/bellhop/platform/httpclient"
	"github.com/bellhop/bellhop/platform/httpserver"
)

// send makes a JSON request; bearer and forwardedFor are optional.
func send(t *testing.T, method, u, body, bearer, forwardedFor string) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", forwardedFor)
	}
	return do(t, nil, req)
}

func signIn(t *testing.T, svc auth.Service, email string) string {
	t.Helper()
	tok, err := svc.SignIn(context.Background(), auth.SignInRequest{Email: email, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

func wantTooMany(t *testing.T, what string, a answer) {
	t.Helper()
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" {
		t.Fatalf("%s: %d %s %s, want 429 with Retry-After", what, a.status, a.header, a.body)
	}
}

// Changing the password or the email checks current_password under the
// same per-account pacing as sign-in: a stolen session cannot guess it
// without limit, and once throttled even the right password waits.
func TestCurrentPasswordChecksAreThrottled(t *testing.T) {
	t.Parallel()
	s := newSetup(t, authhttp.Options{}, authlocal.Deps{Throttle: authlocal.ThrottleConfig{FreeFailures: 2, BaseDelay: time.Minute}})
	token := signIn(t, s.svc.Service(), s.user.Email)
	changePassword := func(current string) answer {
		return send(t, http.MethodPost, s.url+"/api/v1/users/me/password",
			`{"current_password":"`+current+`","new_password":"another long passphrase 42"}`, token, "")
	}
	changeEmail := func(current string) answer {
		return send(t, http.MethodPatch, s.url+"/api/v1/users/me",
			`{"email":"moved@bellhop.test","current_password":"`+current+`"}`, token, "")
	}
	// Three wrong guesses over both routes: 2 free, the third starts the wait.
	for i, a := range []answer{changePassword("wrong password 1"), changeEmail("wrong password 2"), changePassword("wrong password 3")} {
		if a.status != http.StatusForbidden {
			t.Fatalf("wrong guess %d: %d %s, want 403", i+1, a.status, a.body)
		}
	}
	wantTooMany(t, "email change while throttled", changeEmail(password))
	wantTooMany(t, "password change while throttled", changePassword(password))
	// The account's pacing is the one sign-in answers from, so a throttled
	// password check says so in the same words.
	var prob struct{ Reason string }
	changePassword(password).json(t, &prob)
	if prob.Reason != "auth.too_many_attempts" {
		t.Fatalf("reason %q, want auth.too_many_attempts", prob.Reason)
	}
	if me, err := s.svc.Service().SignIn(context.Background(), auth.SignInRequest{Email: s.user.Email, Password: password}); err != nil || me.AccessToken == "" {
		t.Fatalf("owner cannot sign in after throttled changes: %v", err)
	}
}

// Failed sign-ins are paced per (account, source): twenty wrong guesses
// from one address throttle that address, not the owner signing in from
// another.
func TestSignIn_PacedPerAccountAndSource(t *testing.T) {
	t.Parallel()
	// Believe X-Forwarded-For from loopback, as behind a proxy, so the
	// test can speak from two addresses.
	s2 := serveWith(t, authhttp.Options{}, authlocal.Deps{Throttle: authlocal.ThrottleConfig{FreeFailures: 5, BaseDelay: time.Minute}}, func(e *echo.Echo) {
		e.IPExtractor = echo.ExtractIPFromXFFHeader(echo.TrustLoopback(true))
	})
	ctx := context.Background()
	if _, err := s2.m.CreateUser(ctx, "owner@bellhop.test", "Owner", password); err != nil {
		t.Fatal(err)
	}
	const ipA, ipB = "203.0.113.7", "198.51.100.9"
	session := s2.url + "/api/v1/sessions"
	var last answer
	for range 20 {
		last = send(t, http.MethodPost, session, `{"email":"owner@bellhop.test","password":"a wrong guess!!"}`, "", ipA)
	}
	wantTooMany(t, "21st guess from A", last)
	if a := send(t, http.MethodPost, session, `{"email":"owner@bellhop.test","password":"`+password+`"}`, "", ipB); a.status != http.StatusOK {
		t.Fatalf("owner from B: %d %s, want 200", a.status, a.body)
	}
	wantTooMany(t, "right password from A", send(t, http.MethodPost, session, `{"email":"owner@bellhop.test","password":"`+password+`"}`, "", ipA))
}

// The per-IP limits of the sign-in routes key on the IP even when the
// request carries a valid bearer token: tokens (one or several accounts')
// do not give a caller fresh buckets.
func TestSignInLimit_ValidTokenDoesNotLiftIt(t *testing.T) {
	t.Parallel()
	strict := httpserver.RateLimitConfig{Enabled: true, RPS: 0.01, Burst: 2}
	s := newSetup(t, authhttp.Options{SignInRateLimit: strict, TokenRateLimit: strict}, authlocal.Deps{})
	ctx := context.Background()
	other, err := s.svc.CreateUser(ctx, "other@bellhop.test", "Other", password)
	if err != nil {
		t.Fatal(err)
	}
	tokens := []string{signIn(t, s.svc.Service(), s.user.Email), signIn(t, s.svc.Service(), other.Email), ""}
	var last answer
	for _, tok := range tokens {
		last = send(t, http.MethodPost, s.url+"/api/v1/sessions", `{"email":"x@bellhop.test","password":"y"}`, tok, "")
	}
	wantTooMany(t, "third sign-in, two of them with tokens", last)
	for _, tok := range tokens[:2] {
		wantTooMany(t, "registration with a token", send(t, http.MethodPost, s.url+"/api/v1/users",
			`{"email":"new@bellhop.test","name":"New","password":"`+password+`"}`, tok, ""))
	}
}

// The Client carries SignInRequest.ClientIP (the browser behind the
// dashboard) as X-Forwarded-For: where auth trusts the calling process as a
// proxy, the pacing sees the browser's address, so one browser's guesses do
// not throttle the owner signing in through the same gateway; where it does
// not trust the caller, the address is ignored.
func TestClient_SignInCarriesTheClientIP(t *testing.T) {
	t.Parallel()
	throttle := authlocal.Deps{Throttle: authlocal.ThrottleConfig{FreeFailures: 2, BaseDelay: time.Minute}}
	ctx := context.Background()
	const ipA, ipB = "203.0.113.7", "198.51.100.9"
	for _, trusted := range []bool{true, false} {
		s := serveWith(t, authhttp.Options{}, throttle, func(e *echo.Echo) {
			if trusted {
				e.IPExtractor = echo.ExtractIPFromXFFHeader(echo.TrustLoopback(true))
			} else {
				e.IPExtractor = echo.ExtractIPDirect()
			}
		})
		if _, err := s.m.CreateUser(ctx, "owner@bellhop.test", "Owner", password); err != nil {
			t.Fatal(err)
		}
		client, err := authhttp.NewClient(s.url, httpclient.Options{Caller: "web"})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			_, err := client.SignIn(ctx, auth.SignInRequest{Email: "owner@bellhop.test", Password: "a wrong guess!!", ClientIP: ipA})
			if !errors.Is(err, auth.ErrInvalidCredentials) && !errors.Is(err, auth.ErrTooManyAttempts) {
				t.Fatalf("trusted %v: wrong guess: %v", trusted, err)
			}
		}
		if _, err := client.SignIn(ctx, auth.SignInRequest{Email: "owner@bellhop.test", Password: password, ClientIP: ipA}); !errors.Is(err, auth.ErrTooManyAttempts) {
			t.Fatalf("trusted %v: right password from A after its guesses: %v, want ErrTooManyAttempts", trusted, err)
		}
		_, err = client.SignIn(ctx, auth.SignInRequest{Email: "owner@bellhop.test", Password: password, ClientIP: ipB})
		switch {
		case trusted && err != nil:
			t.Fatalf("owner from B through a trusted caller: %v, want tokens", err)
		case !trusted && !errors.Is(err, auth.ErrTooManyAttempts):
			t.Fatalf("owner from B through an untrusted caller: %v, want ErrTooManyAttempts (one source: the caller)", err)
		}
	}
}
