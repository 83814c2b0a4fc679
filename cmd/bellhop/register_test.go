package main_test

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/auth"
)

// registrationBody is a POST /api/v1/users body.
func registrationBody(t *testing.T, email, name, password string) string {
	t.Helper()
	b, err := json.Marshal(auth.RegisterRequest{Email: email, Name: name, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantAccepted checks registration's one answer: 202 with exactly
// {"status":"accepted","email":<as given>}, whether or not the address has
// an account.
func wantAccepted(t *testing.T, what string, res *http.Response, body []byte, email string) {
	t.Helper()
	want, _ := json.Marshal(auth.Registration{Status: auth.RegistrationAccepted, Email: strings.TrimSpace(email)})
	if res.StatusCode != http.StatusAccepted || strings.TrimSpace(string(body)) != string(want) ||
		!strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") || res.Header.Get("Location") != "" {
		t.Fatalf("%s: %d %s %q, want 202 %s", what, res.StatusCode, res.Header.Get("Content-Type"), body, want)
	}
}

// register asks for a guest account over HTTP, checks the answer, and
// returns the account as signing in with the password finds it (the answer
// itself tells no id).
func register(t *testing.T, base, email, name, password string) auth.User {
	t.Helper()
	res, body := rawCall(t, "POST", base+"/api/v1/users", "", registrationBody(t, email, name, password))
	wantAccepted(t, "register "+email, res, body, email)
	var u auth.User
	if res := call(t, "GET", base+"/api/v1/users/me", signIn(t, base, email, password).AccessToken, nil, &u); res.StatusCode != 200 || u.ID == "" {
		t.Fatalf("the new account %s: %d %+v", email, res.StatusCode, u)
	}
	return u
}

// Registration does not reveal whether an email has an account (issue 12
// §2): a new address and one with an account get byte-identical answers in
// similar time; the account is left as it was, and its owner is told by
// mail (the development sink), as a new user is welcomed.
func TestRegister_DoesNotRevealAccounts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Registration shares sign-in's per-IP limit, which this many tries
	// from one address would reach (TestAuth_AbuseRateLimitPerIP checks it).
	p := start(t, []string{"BELLHOP_AUTH_SIGN_IN_RATE_LIMIT_RPS=100", "BELLHOP_AUTH_SIGN_IN_RATE_LIMIT_BURST=100"}, "--data-dir", dir)
	const password, other = "a long enough passphrase", "somebody else's passphrase"

	email := "owner." + strings.ToLower(rand.Text()[:10]) + "@guest.example"
	res1, fresh := rawCall(t, "POST", p.URL+"/api/v1/users", "", registrationBody(t, email, "Olive Owner", password))
	res2, taken := rawCall(t, "POST", p.URL+"/api/v1/users", "", registrationBody(t, email, "Mallory", other))
	wantAccepted(t, "a new address", res1, fresh, email)
	wantAccepted(t, "the same address again", res2, taken, email)
	if string(fresh) != string(taken) {
		t.Fatalf("new address %q, address with an account %q", fresh, taken)
	}
	for _, h := range []string{"Content-Type", "Cache-Control", "Location", "Content-Length"} {
		if res1.Header.Get(h) != res2.Header.Get(h) {
			t.Fatalf("%s differs: %q and %q", h, res1.Header.Get(h), res2.Header.Get(h))
		}
	}

	// Nothing changed for the account: its password still signs in, the
	// attempt's does not, and its name is its own.
	var me auth.User
	call(t, "GET", p.URL+"/api/v1/users/me", signIn(t, p.URL, email, password).AccessToken, nil, &me)
	if me.Name != "Olive Owner" || me.Email != email {
		t.Fatalf("the account after the attempt: %+v", me)
	}
	if res, prob, _, _ := trySignIn(t, p.URL, email, other); res.StatusCode != 401 || prob.Reason != auth.ErrInvalidCredentials.Reason {
		t.Fatalf("the attempt's password: %d %+v", res.StatusCode, prob)
	}

	// The owner got the welcome mail, then the attempt's; neither carries
	// a password.
	welcome := waitMail(t, dir, "welcome."+me.ID+"@*.eml")
	attempt := waitMail(t, dir, "registration-attempt.*."+me.ID+"@*.eml")
	for _, m := range []struct{ name, body, subject string }{
		{"welcome", welcome, "Welcome to Bellhop, Olive Owner"},
		{"attempt", attempt, "Someone tried to create a Bellhop account with your address"},
	} {
		if !strings.Contains(m.body, "<"+email+">") || !strings.Contains(m.body, m.subject) ||
			strings.Contains(m.body, password) || strings.Contains(m.body, other) || strings.Contains(m.body, "Mallory") {
			t.Fatalf("the %s mail:\n%s", m.name, m.body)
		}
	}

	// Similar timing: the password is hashed either way. Medians of 7
	// tries each, interleaved.
	const tries = 7
	var news, takens []time.Duration
	for range tries {
		e := "new." + strings.ToLower(rand.Text()[:10]) + "@guest.example"
		start := time.Now()
		res, body := rawCall(t, "POST", p.URL+"/api/v1/users", "", registrationBody(t, e, "New", password))
		news = append(news, time.Since(start))
		wantAccepted(t, "a new address", res, body, e)
		start = time.Now()
		res, body = rawCall(t, "POST", p.URL+"/api/v1/users", "", registrationBody(t, email, "Again", other))
		takens = append(takens, time.Since(start))
		wantAccepted(t, "an address with an account", res, body, email)
	}
	mn, mt := median(news), median(takens)
	t.Logf("median registration: new address %v, address with an account %v", mn, mt)
	if mn > 3*mt || mt > 3*mn {
		t.Errorf("timing tells accounts apart: new address median %v, address with an account median %v (want within 3x)", mn, mt)
	}
}

// waitMail waits for one mail matching pattern in the data directory's
// development sink and returns it.
func waitMail(t *testing.T, dataDir, pattern string) string {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		found, err := filepath.Glob(filepath.Join(dataDir, "mail", pattern))
		if err != nil {
			t.Fatal(err)
		}
		if len(found) > 1 {
			t.Fatalf("%d mails match %s: %q", len(found), pattern, found)
		}
		if len(found) == 1 {
			b, err := os.ReadFile(found[0])
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail %s in the sink", pattern)
		}
	}
}
