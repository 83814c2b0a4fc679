package main_test

// The OWASP API Security Top 10 (2023), one test per risk, each against the
// real binary over HTTP, each named after its risk and able to fail: README's
// Security section maps every risk to its defence and to the test here.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/civil"
)

// owaspServer is a seeded demo server and its demo admin's and guest's
// passwords.
func owaspServer(t *testing.T, env ...string) (p *proc, adminPassword, guestPassword string) {
	t.Helper()
	dir, adminPassword, guestPassword := demoDataDir(t)
	return start(t, env, "--data-dir", dir), adminPassword, guestPassword
}

// holdAny holds two nights of a demo room, days from today, for token.
func holdAny(t *testing.T, base, token string, days int) bookings.Booking {
	t.Helper()
	return holdRoom(t, base, token, firstRoomTypes(t, base, 1)[0], days)
}

// wantStatus fails unless res answered want, quoting the problem.
func wantStatus(t *testing.T, what string, res *http.Response, body []byte, want int) apperr.Problem {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("%s: %d, want %d: %s", what, res.StatusCode, want, body)
	}
	return problemOf(body)
}

// API1:2023 Broken Object Level Authorization. A guest reaches no other
// guest's booking or payment by its id: reading, cancelling and paying it
// all answer 404 (as for an id that does not exist, so ids are not
// confirmed), and lists hold only the caller's own.
func TestOWASP_API1_BrokenObjectLevelAuthorization(t *testing.T) {
	p, _, _ := owaspServer(t)
	ana := registerGuest(t, p.URL, "ana.bola@guest.example")
	bo := registerGuest(t, p.URL, "bo.bola@guest.example")
	b := holdAny(t, p.URL, ana, 20)
	var pm payments.Payment
	if res := send(t, "POST", p.URL+"/api/v1/payments", ana, fmt.Sprintf(`{"booking_id":%q,"payment_method":"pm_card_visa"}`, b.ID),
		map[string]string{"Idempotency-Key": "bola-pay"}, &pm); res.StatusCode != 201 {
		t.Fatalf("ana pays: %d", res.StatusCode)
	}
	for _, c := range []struct{ what, method, path, body string }{
		{"read ana's booking", "GET", "/api/v1/bookings/" + b.ID, ""},
		{"cancel ana's booking", "POST", "/api/v1/bookings/" + b.ID + "/cancel", ""},
		{"read ana's payment", "GET", "/api/v1/payments/" + pm.ID, ""},
		{"read a booking that does not exist", "GET", "/api/v1/bookings/bk_01j000000000000000000000zz", ""},
	} {
		res, body := rawCall(t, c.method, p.URL+c.path, bo, c.body)
		wantStatus(t, "bo: "+c.what, res, body, 404)
	}
	res, body := rawSend(t, "POST", p.URL+"/api/v1/payments", bo, fmt.Sprintf(`{"booking_id":%q,"payment_method":"pm_card_visa"}`, b.ID),
		map[string]string{"Idempotency-Key": "bola-steal"})
	wantStatus(t, "bo pays ana's booking", res, body, 404)
	for _, list := range []string{"/api/v1/bookings", "/api/v1/payments"} {
		res, body := rawCall(t, "GET", p.URL+list, bo, "")
		if res.StatusCode != 200 || strings.Contains(string(body), b.ID) || strings.Contains(string(body), pm.ID) {
			t.Fatalf("bo's %s shows ana's: %d %s", list, res.StatusCode, body)
		}
	}
	// The control: ana reaches her own.
	if res, body := rawCall(t, "GET", p.URL+"/api/v1/bookings/"+b.ID, ana, ""); res.StatusCode != 200 {
		t.Fatalf("ana reads her booking: %d %s", res.StatusCode, body)
	}
}

// API2:2023 Broken Authentication. Forged tokens (no signature, a shared-
// secret algorithm, a changed claim) are refused; an unknown email and a
// wrong password get the same answer; a signed-out session's access token
// stops working at once.
func TestOWASP_API2_BrokenAuthentication(t *testing.T) {
	p, _, guestPassword := owaspServer(t)
	guest := signIn(t, p.URL, "guest@bellhop.demo", guestPassword)
	header, claims := jwtParts(t, guest.AccessToken)
	claims["roles"] = []string{"admin"}
	none := b64JSON(t, map[string]any{"alg": "none", "typ": "JWT"}) + "." + b64JSON(t, claims) + "."
	hs := mintJWS(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": header["kid"]}, claims, hsSigner([]byte("guessable")))
	parts := strings.Split(guest.AccessToken, ".")
	tampered := parts[0] + "." + b64JSON(t, claims) + "." + parts[2]
	for name, tok := range map[string]string{"alg none": none, "HS256": hs, "tampered claims": tampered, "garbage": "not-a-jwt"} {
		res, body := rawCall(t, "GET", p.URL+"/api/v1/users", tok, "")
		wantStatus(t, name+" token", res, body, 401)
		if res.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("%s token: 401 without a challenge", name)
		}
	}
	resA, probA, _, _ := trySignIn(t, p.URL, "nobody@bellhop.demo", "a wrong passphrase")
	resB, probB, _, _ := trySignIn(t, p.URL, "guest@bellhop.demo", "a wrong passphrase")
	if resA.StatusCode != 401 || resB.StatusCode != 401 || probA.Reason != probB.Reason || probA.Detail != probB.Detail {
		t.Fatalf("unknown email %d %+v, wrong password %d %+v: they differ", resA.StatusCode, probA, resB.StatusCode, probB)
	}
	if res, body := rawCall(t, "GET", p.URL+"/api/v1/users/me", guest.AccessToken, ""); res.StatusCode != 200 {
		t.Fatalf("the genuine token: %d %s", res.StatusCode, body)
	}
	res, body := rawCall(t, "DELETE", p.URL+"/api/v1/sessions", "", fmt.Sprintf(`{"refresh_token":%q}`, guest.RefreshToken))
	wantStatus(t, "sign out", res, body, 204)
	res, body = rawCall(t, "GET", p.URL+"/api/v1/users/me", guest.AccessToken, "")
	wantStatus(t, "the signed-out session's access token", res, body, 401)
}

// API3:2023 Broken Object Property Level Authorization. No property a
// caller may not set can be sent (roles on the own account, a booking's
// status or total, a payment's amount: 400, unknown field), and no answer
// carries a property the caller may not see (a password hash, a token).
func TestOWASP_API3_BrokenObjectPropertyLevelAuthorization(t *testing.T) {
	p, _, guestPassword := owaspServer(t)
	guest := signIn(t, p.URL, "guest@bellhop.demo", guestPassword).AccessToken
	rt := firstRoomTypes(t, p.URL, 1)[0]
	in := civil.Today(time.UTC).AddDays(30)
	for _, c := range []struct{ what, method, path, body string }{
		{"own roles", "PATCH", "/api/v1/users/me", `{"name":"Mallory","roles":["admin"]}`},
		{"a registration with roles", "POST", "/api/v1/users", `{"email":"m@guest.example","name":"M","password":"a long enough passphrase","roles":["admin"]}`},
		{"a booking's status", "POST", "/api/v1/bookings", fmt.Sprintf(`{"room_type_id":%q,"check_in":%q,"check_out":%q,"guests":1,"status":"confirmed"}`, rt, in, in.AddDays(1))},
		{"a booking's total", "POST", "/api/v1/bookings", fmt.Sprintf(`{"room_type_id":%q,"check_in":%q,"check_out":%q,"guests":1,"total":{"amount":1,"currency":"EUR"}}`, rt, in, in.AddDays(1))},
		{"a payment's amount", "POST", "/api/v1/payments", `{"booking_id":"bk_x","payment_method":"pm_card_visa","amount":1}`},
	} {
		res, body := rawSend(t, c.method, p.URL+c.path, guest, c.body, map[string]string{"Idempotency-Key": "bopla-" + c.what})
		if prob := wantStatus(t, c.what, res, body, 400); prob.Reason != "http.unreadable_body" || len(prob.Errors) == 0 {
			t.Fatalf("%s: %+v, want the unknown field named", c.what, prob)
		}
	}
	res, body := rawCall(t, "GET", p.URL+"/api/v1/users/me", guest, "")
	wantStatus(t, "me", res, body, 200)
	var me map[string]any
	if err := json.Unmarshal(body, &me); err != nil {
		t.Fatal(err)
	}
	for k := range me {
		if strings.Contains(k, "password") || strings.Contains(k, "hash") || strings.Contains(k, "token") || strings.Contains(k, "secret") {
			t.Fatalf("GET /users/me shows %q: %s", k, body)
		}
	}
	if strings.Contains(string(body), "$argon2") {
		t.Fatalf("a password hash in an answer: %s", body)
	}
}

// API4:2023 Unrestricted Resource Consumption. Bodies over the limit are
// refused (413) before they are read whole, page sizes are bounded (422),
// and password guessing from one address is rate limited (429 with
// Retry-After) whatever token it carries.
func TestOWASP_API4_UnrestrictedResourceConsumption(t *testing.T) {
	p, _, guestPassword := owaspServer(t, "BELLHOP_SERVER_BODY_LIMIT=4096")
	guest := signIn(t, p.URL, "guest@bellhop.demo", guestPassword).AccessToken
	big := fmt.Sprintf(`{"name":%q}`, strings.Repeat("a", 64<<10))
	res, body := rawCall(t, "PATCH", p.URL+"/api/v1/users/me", guest, big)
	wantStatus(t, "a 64 KiB body over a 4 KiB limit", res, body, 413)
	for _, u := range []string{"/api/v1/bookings?limit=100000", "/api/v1/payments?limit=100000"} {
		res, body := rawCall(t, "GET", p.URL+u, guest, "")
		if prob := wantStatus(t, u, res, body, 422); len(prob.Errors) == 0 || prob.Errors[0].Field != "limit" {
			t.Fatalf("%s: %+v, want limit named", u, prob)
		}
	}
	limited := false
	for i := range 40 {
		res, prob, _, _ := func() (*http.Response, apperr.Problem, []byte, time.Duration) {
			body, _ := json.Marshal(map[string]string{"email": fmt.Sprintf("guess%d@bellhop.demo", i), "password": "a wrong passphrase"})
			began := time.Now()
			res, b := rawCall(t, "POST", p.URL+"/api/v1/sessions", guest, string(body)) // a valid token lifts nothing
			return res, problemOf(b), b, time.Since(began)
		}()
		if res.StatusCode == 429 {
			if retryAfter(t, res, prob) <= 0 {
				t.Fatalf("429 without Retry-After: %+v", prob)
			}
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("40 sign-ins from one address in a row were never rate limited")
	}
}

// API5:2023 Broken Function Level Authorization. A guest (a valid token)
// gets 403 on every staff and admin function, and an anonymous caller 401;
// a user's token opens no service-to-service (/internal) route.
func TestOWASP_API5_BrokenFunctionLevelAuthorization(t *testing.T) {
	p, adminPassword, guestPassword := owaspServer(t)
	guest := signIn(t, p.URL, "guest@bellhop.demo", guestPassword).AccessToken
	admin := signIn(t, p.URL, "admin@bellhop.demo", adminPassword).AccessToken
	var me struct{ ID string }
	call(t, "GET", p.URL+"/api/v1/users/me", guest, nil, &me)
	hotel := `{"name":"Guest Inn","city":"Lisbon","country":"PT","address":"Rua 1","time_zone":"Europe/Lisbon","stars":3}`
	for _, c := range []struct{ what, method, path, body string }{
		{"list users", "GET", "/api/v1/users", ""},
		{"grant itself admin", "PUT", "/api/v1/users/" + me.ID + "/roles", `{"roles":["admin"]}`},
		{"create a hotel", "POST", "/api/v1/hotels", hotel},
		{"list OAuth clients", "GET", "/api/v1/oauth-clients", ""},
		{"set the bank's faults", "PUT", "/api/v1/admin/payments/sandbox/faults", `{"latency_ms":0,"failure_rate":1}`},
		{"read dead letters", "GET", "/api/v1/admin/events/dead-letters", ""},
	} {
		res, body := rawCall(t, c.method, p.URL+c.path, guest, c.body)
		wantStatus(t, "guest: "+c.what, res, body, 403)
		res, body = rawCall(t, c.method, p.URL+c.path, "", c.body)
		wantStatus(t, "anonymous: "+c.what, res, body, 401)
	}
	in := civil.Today(time.UTC).AddDays(30)
	quote := fmt.Sprintf(`{"room_type_id":%q,"check_in":%q,"check_out":%q,"guests":1}`, firstRoomTypes(t, p.URL, 1)[0], in, in.AddDays(1))
	for name, tok := range map[string]string{"guest": guest, "admin": admin} {
		res, body := rawCall(t, "POST", p.URL+"/internal/v1/search/quote", tok, quote)
		if res.StatusCode != 403 && res.StatusCode != 401 {
			t.Fatalf("an %s's token on an internal route: %d %s", name, res.StatusCode, body)
		}
	}
	// The control: the admin may.
	if res, body := rawCall(t, "GET", p.URL+"/api/v1/users", admin, ""); res.StatusCode != 200 {
		t.Fatalf("admin lists users: %d %s", res.StatusCode, body)
	}
}

// API6:2023 Unrestricted Access to Sensitive Business Flows. One guest
// cannot hold a hotel's whole stock (at most bookings.max_pending_holds
// pending holds, then 409), nor book a stay far in the future (the horizon:
// 422).
func TestOWASP_API6_UnrestrictedAccessToSensitiveBusinessFlows(t *testing.T) {
	p, _, _ := owaspServer(t, "BELLHOP_BOOKINGS_MAX_PENDING_HOLDS=2")
	guest := registerGuest(t, p.URL, "hoarder@guest.example")
	rts := firstRoomTypes(t, p.URL, 3)
	holdRoom(t, p.URL, guest, rts[0], 20)
	holdRoom(t, p.URL, guest, rts[1], 20)
	in := civil.Today(time.UTC).AddDays(20)
	res, body := rawSend(t, "POST", p.URL+"/api/v1/bookings", guest,
		fmt.Sprintf(`{"room_type_id":%q,"check_in":%q,"check_out":%q,"guests":1}`, rts[2], in, in.AddDays(2)), map[string]string{"Idempotency-Key": "hoard-3"})
	if prob := wantStatus(t, "a third pending hold", res, body, 409); !strings.Contains(prob.Reason, "too_many_holds") {
		t.Fatalf("third hold: %+v", prob)
	}
	res, body = rawSend(t, "POST", p.URL+"/api/v1/bookings", guest,
		fmt.Sprintf(`{"room_type_id":%q,"check_in":"9999-01-01","check_out":"9999-01-03","guests":1}`, rts[2]), map[string]string{"Idempotency-Key": "far"})
	wantStatus(t, "a stay in the year 9999", res, body, 422)
}

// API7:2023 Server Side Request Forgery. Bellhop fetches no URL a caller
// gives: URLs sent in every field that takes text (a payment method, names,
// an OAuth client's redirect URI, a forged Host) reach a listener that
// counts requests, and it receives none.
func TestOWASP_API7_ServerSideRequestForgery(t *testing.T) {
	var fetched atomic.Int64
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fetched.Add(1) }))
	t.Cleanup(trap.Close)
	p, adminPassword, guestPassword := owaspServer(t)
	guest := signIn(t, p.URL, "guest@bellhop.demo", guestPassword).AccessToken
	admin := signIn(t, p.URL, "admin@bellhop.demo", adminPassword).AccessToken
	b := holdAny(t, p.URL, guest, 25)
	send(t, "POST", p.URL+"/api/v1/payments", guest, fmt.Sprintf(`{"booking_id":%q,"payment_method":%q}`, b.ID, trap.URL+"/pm"),
		map[string]string{"Idempotency-Key": "ssrf-pay"}, nil)
	rawCall(t, "PATCH", p.URL+"/api/v1/users/me", guest, fmt.Sprintf(`{"name":%q}`, trap.URL+"/name"))
	var client struct{ ID string }
	send(t, "POST", p.URL+"/api/v1/oauth-clients", admin, fmt.Sprintf(`{"name":"Trap","redirect_uris":[%q]}`, trap.URL+"/cb"), nil, &client)
	if client.ID != "" {
		authz := url.Values{"response_type": {"code"}, "client_id": {client.ID}, "redirect_uri": {trap.URL + "/cb"}, "state": {"s"},
			"code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"}, "scope": {"everything"}}
		// Not followed here: the browser, not the server, goes to a redirect URI.
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		if res, err := noFollow.Get(p.URL + "/oauth/authorize?" + authz.Encode()); err == nil {
			res.Body.Close()
		}
	}
	req, _ := http.NewRequest("GET", p.URL+"/.well-known/oauth-authorization-server", nil)
	req.Host = strings.TrimPrefix(trap.URL, "http://")
	if res, err := httpc.Do(req); err == nil {
		res.Body.Close()
	}
	time.Sleep(200 * time.Millisecond) // anything the server would fetch in the background
	if n := fetched.Load(); n != 0 {
		t.Fatalf("the server fetched a caller's URL %d times", n)
	}
}

// API8:2023 Security Misconfiguration. Absolute URLs come from
// configuration, not a forged Host; answers carry the security headers and
// no-store where personal; errors are problem+json without stack traces;
// /metrics needs its token when one is set; no debug route is mounted on
// the public listener.
func TestOWASP_API8_SecurityMisconfiguration(t *testing.T) {
	p, _, guestPassword := owaspServer(t, "BELLHOP_SERVER_METRICS_TOKEN=a-metrics-scrape-token-of-length")
	guest := signIn(t, p.URL, "guest@bellhop.demo", guestPassword).AccessToken
	req, _ := http.NewRequest("GET", p.URL+"/.well-known/oauth-authorization-server", nil)
	req.Host = "evil.example"
	res, err := httpc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	_ = json.NewDecoder(res.Body).Decode(&meta)
	res.Body.Close()
	if res.StatusCode != 200 || meta["token_endpoint"] != p.URL+"/oauth/token" {
		t.Fatalf("metadata under a forged Host: %d %v (want endpoints under %s)", res.StatusCode, meta, p.URL)
	}
	res, body := rawCall(t, "GET", p.URL+"/api/v1/users/me", guest, "")
	if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("personal answer headers: %d %v %s", res.StatusCode, res.Header, body)
	}
	res, body = rawCall(t, "POST", p.URL+"/api/v1/bookings", guest, `{"room_type_id":`)
	if res.StatusCode != 400 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") ||
		strings.Contains(string(body), "goroutine") || strings.Contains(string(body), ".go:") {
		t.Fatalf("an error answer: %d %v %s", res.StatusCode, res.Header, body)
	}
	res, body = rawCall(t, "GET", p.URL+"/metrics", "", "")
	if res.StatusCode == 200 {
		t.Fatalf("/metrics without its token: 200 (%d bytes)", len(body))
	}
	if res, _ := rawCall(t, "GET", p.URL+"/metrics", "a-metrics-scrape-token-of-length", ""); res.StatusCode != 200 {
		t.Fatalf("/metrics with its token: %d", res.StatusCode)
	}
	for _, u := range []string{"/debug/pprof/", "/debug/vars", "/.env", "/api/v1/../../etc/passwd"} {
		if res, _ := rawCall(t, "GET", p.URL+u, "", ""); res.StatusCode != 404 {
			t.Fatalf("GET %s: %d, want 404", u, res.StatusCode)
		}
	}
}

// API9:2023 Improper Inventory Management. The served API description
// (/api/docs) lists every /api route the server answers (an undocumented
// one would be unmanaged), and no other version is served.
func TestOWASP_API9_ImproperInventoryManagement(t *testing.T) {
	p, _, _ := owaspServer(t)
	raw, res := get(t, p.URL+"/api/docs")
	if res.StatusCode != 200 {
		t.Fatalf("GET /api/docs: %d", res.StatusCode)
	}
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || len(doc.Paths) == 0 {
		t.Fatalf("the description: %v", err)
	}
	for _, path := range []string{"/api/v1/hotels", "/api/v1/bookings", "/api/v1/payments", "/api/v1/users", "/api/v1/sessions"} {
		if _, ok := doc.Paths[path]; !ok {
			t.Fatalf("%s is served but not described", path)
		}
	}
	for _, u := range []string{"/api/v0/hotels", "/api/v2/hotels", "/api/hotels", "/v1/hotels", "/api/v1/beta/hotels"} {
		if res, body := rawCall(t, "GET", p.URL+u, "", ""); res.StatusCode != 404 || problemOf(body).Status != 404 {
			t.Fatalf("GET %s: %d %s, want a 404 problem", u, res.StatusCode, body)
		}
	}
}

// API10:2023 Unsafe Consumption of APIs. The payment provider is a third
// party: a provider (a fake Stripe here) that answers "succeeded, 1 USD" for
// the booking's charge does not confirm it: the payment fails with
// provider_mismatch and the booking stays pending.
func TestOWASP_API10_UnsafeConsumptionOfAPIs(t *testing.T) {
	var calls atomic.Int64
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"pi_liar","object":"payment_intent","amount":100,"currency":"usd","status":"succeeded","metadata":{"bellhop_idempotency_key":%q}}`,
			r.Form.Get("metadata[bellhop_idempotency_key]"))
	}))
	t.Cleanup(liar.Close)
	p, _, guestPassword := owaspServer(t, "BELLHOP_PAYMENTS_PROVIDER=stripe", "BELLHOP_PAYMENTS_STRIPE_API_KEY=sk_test_owasp",
		"BELLHOP_PAYMENTS_STRIPE_BASE_URL="+liar.URL)
	guest := signIn(t, p.URL, "guest@bellhop.demo", guestPassword).AccessToken
	b := holdAny(t, p.URL, guest, 40)
	var pm payments.Payment
	res := send(t, "POST", p.URL+"/api/v1/payments", guest, fmt.Sprintf(`{"booking_id":%q,"payment_method":"pm_card_visa"}`, b.ID),
		map[string]string{"Idempotency-Key": "liar-pay"}, &pm)
	if calls.Load() == 0 {
		t.Fatal("the fake provider was never called")
	}
	if res.StatusCode/100 != 2 || pm.Status != payments.StatusFailed || pm.FailureCode != "provider_mismatch" {
		t.Fatalf("a lying provider's answer: %d %+v, want failed provider_mismatch", res.StatusCode, pm)
	}
	time.Sleep(300 * time.Millisecond)
	var after bookings.Booking
	call(t, "GET", p.URL+"/api/v1/bookings/"+b.ID, guest, nil, &after)
	if after.Status != bookings.StatusPending {
		t.Fatalf("booking after the lying answer: %s, want pending", after.Status)
	}
}
