package main_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/civil"
)

// The OpenAPI document served at /api/docs describes the server exactly: it
// is a valid OpenAPI 3.1 document, and real requests to every documented
// operation, with their real answers (successes and the main errors), are
// checked against it with kin-openapi's request and response validators. A
// request the document forbids must be refused by the server too. Every
// documented operation must be exercised, so the document and this test
// cannot drift apart.
func TestOpenAPI_DocumentMatchesServer(t *testing.T) {
	auth := newTestAuth(t)
	p := start(t, append(auth.env(), "BELLHOP_SERVER_BODY_LIMIT=4096"), "--data-dir", seededDataDir(t))
	// A gateway whose remote search and auth are down (503), with a tight
	// rate limit (429).
	gw := start(t, append(auth.env(), "BELLHOP_EVENTS_NATS_URL="+startNATS(t),
		"BELLHOP_SERVER_RATE_LIMIT_ENABLED=true", "BELLHOP_SERVER_RATE_LIMIT_RPS=0.001", "BELLHOP_SERVER_RATE_LIMIT_BURST=3"),
		"--remote", "search="+deadURL(t), "--remote", "auth="+deadURL(t), "--data-dir", t.TempDir())
	// p and gw trust the test issuer's keys (a JWKS file), so they refuse the
	// tokens the auth module issues: auth's routes are exercised on a process
	// that verifies tokens with auth's own keys.
	ap, opsEmail, opsPassword := startWithOwnAuth(t)

	raw, res := get(t, p.URL+"/api/docs")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" || res.Header.Get("Cache-Control") == "" {
		t.Fatalf("GET /api/docs: %d %v", res.StatusCode, res.Header)
	}
	if gwRaw, _ := get(t, gw.URL+"/api/docs"); !bytes.Equal(gwRaw, raw) {
		t.Fatal("the gateway, which mounts search's and auth's routes for the remote modules, serves another document")
	}
	if apRaw, _ := get(t, ap.URL+"/api/docs"); !bytes.Equal(apRaw, raw) {
		t.Fatal("a process that verifies tokens with auth's own keys serves another document")
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("the served document is not valid: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi %q, want 3.1", doc.OpenAPI)
	}
	for path := range doc.Paths.Map() {
		if strings.HasPrefix(path, "/internal/") || path == "/metrics" {
			t.Errorf("%s is documented", path)
		}
	}
	doc.Servers = openapi3.Servers{{URL: p.URL}, {URL: gw.URL}, {URL: ap.URL}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	c := &contract{doc: doc, router: router, seen: map[string]bool{}, verifiers: map[string]*authn.Verifier{
		p.Addr: auth.iss.Verifier(), gw.Addr: auth.iss.Verifier(), ap.Addr: ownKeysVerifier(t, ap.URL),
	}}

	staff := auth.iss.Token(t, authn.Principal{Subject: "usr_staff", Roles: []string{"staff"}, Scopes: []string{search.ScopeCatalogWrite}}, 0)
	guest := auth.iss.Token(t, authn.Principal{Subject: "usr_guest", Roles: []string{"guest"}}, 0)
	in, out := stay()
	u := p.URL

	// The docs themselves, and the probes.
	_, h := c.check(t, x{method: "GET", url: u + "/api/docs"}, 200)
	c.check(t, x{method: "GET", url: u + "/api/docs", header: http.Header{"If-None-Match": {h.Get("ETag")}}}, 304)
	c.check(t, x{method: "GET", url: u + "/api/docs/openapi.yaml"}, 200)
	c.check(t, x{method: "GET", url: u + "/healthz"}, 200)
	c.check(t, x{method: "GET", url: u + "/readyz"}, 200)
	c.problem(t, x{method: "GET", url: u + "/healthz", token: "not-a-jwt"}, 401, "authn.invalid_token")

	// Reads.
	c.check(t, x{method: "GET", url: u + "/api/v1/cities?prefix=li"}, 200)
	c.problem(t, x{method: "GET", url: u + "/api/v1/cities?limit=101", refused: true}, 422, "search.invalid_request")

	hotels := u + "/api/v1/hotels?"
	var page search.SearchResult
	c.decode(t, x{method: "GET", url: hotels + query("city", "Lisbon", "check_in", in, "check_out", out, "guests", "2")}, 200, &page)
	if len(page.Hotels) != search.DefaultLimit || page.NextCursor == "" {
		t.Fatalf("first page: %d hotels, cursor %q", len(page.Hotels), page.NextCursor)
	}
	var next search.SearchResult
	c.decode(t, x{method: "GET", url: hotels + query("city", "Lisbon", "check_in", in, "check_out", out, "guests", "2", "cursor", page.NextCursor)}, 200, &next)
	if len(next.Hotels) == 0 || next.Hotels[0].ID == page.Hotels[0].ID {
		t.Fatalf("second page: %+v", next.Hotels)
	}
	c.check(t, x{method: "GET", url: hotels + query("city", "tokyo-jp", "check_in", in, "check_out", out, "sort", "rating", "max_price", "20000", "limit", "5")}, 200)
	// Valid dates in the wrong order: readable, invalid, the bad field named.
	prob := c.problem(t, x{method: "GET", url: hotels + query("city", "Lisbon", "check_in", out, "check_out", in)}, 422, "search.invalid_stay")
	if len(prob.Errors) == 0 || prob.Errors[0].Field != "check_out" {
		t.Fatalf("invalid stay errors: %+v", prob.Errors)
	}
	c.problem(t, x{method: "GET", url: hotels + query("city", "Atlantis", "check_in", in, "check_out", out)}, 422, "search.unknown_city")
	// kin-openapi ignores unknown query parameters; the server refuses them.
	c.problem(t, x{method: "GET", url: hotels + query("city", "Lisbon", "check_in", in, "check_out", out, "town", "Lisbon")}, 400, "http.unreadable_query")
	c.problem(t, x{method: "GET", url: hotels + query("city", "Lisbon", "check_in", in, "check_out", out, "guests", "two"), refused: true}, 400, "http.unreadable_query")
	c.problem(t, x{method: "GET", url: hotels + query("city", "Lisbon", "check_in", "2026-02-30", "check_out", out), refused: true}, 400, "http.unreadable_query")
	c.problem(t, x{method: "GET", url: hotels + query("city", "Lisbon", "check_in", in, "check_out", out), token: "not-a-jwt"}, 401, "authn.invalid_token")

	var hotel search.Hotel
	c.decode(t, x{method: "GET", url: u + "/api/v1/hotels/" + page.Hotels[0].ID}, 200, &hotel)
	if len(hotel.RoomTypes) == 0 {
		t.Fatalf("hotel without room types: %+v", hotel)
	}
	c.problem(t, x{method: "GET", url: u + "/api/v1/hotels/htl_nope"}, 404, "search.hotel_not_found")

	// Writes: who may, what is readable, what is valid.
	newHotel := `{"name":"Contract Inn","city":"Lisbon","country":"PT","address":"Rua do Teste 1","time_zone":"Europe/Lisbon","stars":4,"rating":4.5,"amenities":["wifi"]}`
	c.problem(t, x{method: "POST", url: u + "/api/v1/hotels", body: newHotel, refused: true}, 401, "authn.unauthenticated")
	c.problem(t, x{method: "POST", url: u + "/api/v1/hotels", token: "not-a-jwt", body: newHotel, refused: true}, 401, "authn.invalid_token")
	c.problem(t, x{method: "POST", url: u + "/api/v1/hotels", token: guest, body: newHotel, refused: true}, 403, "authn.forbidden")
	c.problem(t, x{method: "POST", url: u + "/api/v1/hotels", token: staff, body: `{"name":`, refused: true}, 400, "http.unreadable_body")
	c.problem(t, x{method: "POST", url: u + "/api/v1/hotels", token: staff, body: `{"name":"x","colour":"red"}`, refused: true}, 400, "http.unreadable_body")
	c.problem(t, x{method: "POST", url: u + "/api/v1/hotels", token: staff, body: `{"name":"x"}`, refused: true}, 422, "search.invalid_request")
	big := strings.Replace(newHotel, `"stars"`, `"description":"`+strings.Repeat("d", 4500)+`","stars"`, 1)
	c.problem(t, x{method: "POST", url: u + "/api/v1/hotels", token: staff, body: big}, 413, "http.body_too_large")
	// Auth's routes have the limit too; on the OAuth endpoints it is a problem as well (no handler runs).
	c.problem(t, x{method: "POST", url: u + "/api/v1/users", refused: true,
		body: `{"email":"big@contract.example","name":"` + strings.Repeat("n", 4500) + `","password":"a long enough passphrase"}`}, 413, "http.body_too_large")
	c.problem(t, x{method: "POST", url: u + "/oauth/token", form: url.Values{"grant_type": {"client_credentials"}, "scope": {strings.Repeat("s", 4500)}}}, 413, "http.body_too_large")

	var created search.Hotel
	_, h = c.decode(t, x{method: "POST", url: u + "/api/v1/hotels", token: staff, body: newHotel}, 201, &created)
	if h.Get("Location") != "/api/v1/hotels/"+created.ID || created.RoomTypes == nil || created.Amenities[0] != "wifi" {
		t.Fatalf("created %v %+v", h, created)
	}
	hotelURL := u + "/api/v1/hotels/" + created.ID
	c.check(t, x{method: "PATCH", url: hotelURL, token: staff, body: `{"name":"Contract Inn & Spa","rating":null,"amenities":["wifi","spa"]}`}, 200)
	c.problem(t, x{method: "PATCH", url: hotelURL, token: staff, body: `{"stars":6}`, refused: true}, 422, "search.invalid_request")

	room := `{"name":"Double","max_guests":2,"rooms_total":4,"base_rate":{"amount":12000,"currency":"EUR"}}`
	var rt search.RoomType
	c.decode(t, x{method: "POST", url: hotelURL + "/room-types", token: staff, body: room}, 201, &rt)
	c.problem(t, x{method: "POST", url: hotelURL + "/room-types", token: staff, body: room}, 409, "search.room_type_exists")
	c.problem(t, x{method: "POST", url: u + "/api/v1/hotels/htl_nope/room-types", token: staff, body: room}, 404, "search.hotel_not_found")
	c.problem(t, x{method: "POST", url: hotelURL + "/room-types", token: staff, body: `{"name":"Single","max_guests":1,"base_rate":{"amount":9000,"currency":"XXX"}}`}, 422, "search.invalid_request")

	rtURL := u + "/api/v1/room-types/" + rt.ID
	c.check(t, x{method: "PATCH", url: rtURL, token: staff, body: `{"rooms_total":3,"base_rate":15000,"name":null}`}, 200)
	c.problem(t, x{method: "PATCH", url: u + "/api/v1/room-types/rt_nope", token: staff, body: `{"rooms_total":3}`}, 404, "search.room_type_not_found")
	night2 := civil.MustParse(in).AddDays(1).String()
	var withRates search.RoomType
	c.decode(t, x{method: "PUT", url: rtURL + "/rates", token: staff, body: fmt.Sprintf(`{"rates":[{"date":%q,"amount":20000},{"date":%q,"amount":21000}]}`, in, night2)}, 200, &withRates)
	if len(withRates.Rates) != 2 {
		t.Fatalf("rates %+v", withRates.Rates)
	}
	c.problem(t, x{method: "PUT", url: rtURL + "/rates", token: staff, body: `{"rates":[]}`, refused: true}, 422, "search.invalid_request")
	c.check(t, x{method: "DELETE", url: rtURL + "/rates/" + in, token: staff}, 204)
	c.problem(t, x{method: "DELETE", url: rtURL + "/rates/" + in, token: staff}, 404, "search.rate_not_found")
	c.problem(t, x{method: "DELETE", url: rtURL + "/rates/2026-13-45", token: staff, refused: true}, 422, "search.invalid_request")
	c.check(t, x{method: "DELETE", url: rtURL, token: staff}, 204)
	c.problem(t, x{method: "DELETE", url: rtURL, token: staff}, 404, "search.room_type_not_found")
	c.check(t, x{method: "DELETE", url: hotelURL, token: staff}, 204)
	c.problem(t, x{method: "GET", url: hotelURL}, 404, "search.hotel_not_found")
	c.problem(t, x{method: "DELETE", url: hotelURL, token: guest, refused: true}, 403, "authn.forbidden")

	// The event administration, for admins only.
	admin := auth.iss.Token(t, authn.Principal{Subject: "usr_admin", Roles: []string{"admin"}}, 0)
	c.check(t, x{method: "GET", url: u + "/api/v1/admin/events/dead-letters", token: admin}, 200)
	c.problem(t, x{method: "GET", url: u + "/api/v1/admin/events/dead-letters", token: staff}, 403, "authn.forbidden")
	c.problem(t, x{method: "GET", url: u + "/api/v1/admin/events/dead-letters", refused: true}, 401, "authn.unauthenticated")
	c.problem(t, x{method: "POST", url: u + "/api/v1/admin/events/dead-letters/search-999/replay", token: admin}, 404, "events.dead_letter_not_found")
	c.problem(t, x{method: "POST", url: u + "/api/v1/admin/events/dead-letters/nonsense/replay", token: admin}, 422, "events.invalid_dead_letter_id")
	var recent struct{ Events []map[string]any }
	c.decode(t, x{method: "GET", url: u + "/api/v1/admin/events/recent?limit=5", token: admin}, 200, &recent)
	if len(recent.Events) == 0 || recent.Events[0]["type"] != search.EventRoomTypeChanged {
		t.Fatalf("recent events after catalog writes: %+v", recent.Events)
	}
	c.problem(t, x{method: "GET", url: u + "/api/v1/admin/events/recent?limit=501", token: admin, refused: true}, 422, "events.invalid_request")

	// The sandbox bank's fault controls, for admins only.
	faultsURL := u + "/api/v1/admin/payments/sandbox/faults"
	var faults map[string]any
	c.decode(t, x{method: "GET", url: faultsURL, token: admin}, 200, &faults)
	if faults["failure_rate"] != 0.0 || faults["down"] != false {
		t.Fatalf("sandbox faults at start: %v", faults)
	}
	c.decode(t, x{method: "PUT", url: faultsURL, token: admin, body: `{"latency_ms":1,"latency_max_ms":3,"failure_rate":0.1}`}, 200, &faults)
	if faults["latency_max_ms"] != 3.0 || faults["failure_rate"] != 0.1 {
		t.Fatalf("sandbox faults set: %v", faults)
	}
	c.check(t, x{method: "PUT", url: faultsURL, token: admin, body: `{"latency_ms":0,"failure_rate":0}`}, 200)
	bad := c.problem(t, x{method: "PUT", url: faultsURL, token: admin, body: `{"latency_ms":-1,"failure_rate":2}`, refused: true}, 422, "payments.invalid_sandbox_faults")
	if len(bad.Errors) != 2 {
		t.Fatalf("want a field error for latency_ms and failure_rate: %+v", bad)
	}
	c.problem(t, x{method: "PUT", url: faultsURL, token: admin, body: `{"latency_ms":500,"latency_max_ms":100,"failure_rate":0}`}, 422, "payments.invalid_sandbox_faults")
	c.problem(t, x{method: "PUT", url: faultsURL, token: admin, body: `{"failure_rate":0}`, refused: true}, 422, "payments.invalid_sandbox_faults")
	c.problem(t, x{method: "PUT", url: faultsURL, token: admin, body: `{"latency_ms":0,"failure_rate":0,"card":"4242"}`, refused: true}, 400, "http.unreadable_body")
	c.problem(t, x{method: "PUT", url: faultsURL, token: staff, body: `{"latency_ms":0,"failure_rate":0}`}, 403, "authn.forbidden")
	c.problem(t, x{method: "GET", url: faultsURL, refused: true}, 401, "authn.unauthenticated")

	// Users, sessions, OAuth clients and the OAuth server.
	exerciseAuth(t, c, ap.URL, opsEmail, opsPassword)
	// Bookings and payments, by guests registered and signed in there.
	ana, bo, paidID := exerciseBookingsAndPayments(t, c, ap.URL)
	// Receipts and reports, there too: the admin has reports:read.
	exerciseReporting(t, c, ap.URL, signIn(t, ap.URL, opsEmail, opsPassword).AccessToken, ana, bo, paidID)
	// Last there: rotating changes the key that signs.
	exerciseSigningKeys(t, c, ap.URL, opsEmail, opsPassword)

	// Search and auth are down behind the gateway: 503 (an RFC 6749 error
	// on the OAuth endpoints); then its rate limit: 429 with Retry-After.
	// The gateway's client IP has a burst of 3, the /api/docs fetch above
	// included; callers with a token are limited by their subject.
	c.problem(t, x{method: "GET", url: gw.URL + "/api/v1/hotels?" + query("city", "Lisbon", "check_in", in, "check_out", out)}, 503, "search.unavailable")
	c.problem(t, x{method: "POST", url: gw.URL + "/api/v1/sessions", token: auth.iss.Token(t, authn.Principal{Subject: "usr_gw"}, 0),
		body: `{"email":"ops@contract.example","password":"an operator passphrase"}`}, 503, "auth.unavailable")
	ccForm := url.Values{"grant_type": {"client_credentials"}}
	c.oauthError(t, x{method: "POST", url: gw.URL + "/oauth/token", form: ccForm, header: basicAuth("cli_remote", "a secret")}, 503, "temporarily_unavailable")
	c.problem(t, x{method: "POST", url: gw.URL + "/oauth/token", form: ccForm, header: basicAuth("cli_remote", "a secret")}, 429, "http.rate_limited")
	throttled := auth.iss.Token(t, authn.Principal{Subject: "usr_throttled"}, 0)
	for i := 0; ; i++ {
		status, h, body := c.exchange(t, x{method: "GET", url: gw.URL + "/api/v1/cities", token: throttled})
		if status == http.StatusTooManyRequests {
			var p apperr.Problem
			if err := json.Unmarshal(body, &p); err != nil || p.Reason != "http.rate_limited" || h.Get("Retry-After") == "" {
				t.Fatalf("429: %v %s", h, body)
			}
			break
		}
		if status != http.StatusServiceUnavailable || i == 3 {
			t.Fatalf("throttled call %d: %d %s", i, status, body)
		}
	}

	// The validators are not vacuous: a real answer, broken, is rejected.
	if err := c.validateResponse(t, "GET", u+"/api/v1/hotels/"+page.Hotels[0].ID, 200, "application/json",
		[]byte(`{"id":"x","name":"y","stars":"5"}`)); err == nil {
		t.Error("a hotel without most fields passed response validation")
	}

	// Every documented operation was exercised.
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !c.seen[method+" "+path] {
				t.Errorf("%s %s is documented but not exercised by this test", method, path)
			}
		}
	}
}

// deadURL is the URL of a loopback port nobody listens on.
func deadURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func get(t *testing.T, u string) ([]byte, *http.Response) {
	t.Helper()
	res, err := httpc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b, res
}

// x is one request of the contract test.
type x struct {
	method, url, token string
	body               string     // JSON, sent as application/json
	form               url.Values // sent as application/x-www-form-urlencoded
	header             http.Header
	// refused: the document forbids this request (the server refuses it too).
	refused bool
}

// contract checks exchanges with servers against their OpenAPI document.
type contract struct {
	doc    *openapi3.T
	router routers.Router
	// verifiers check bearer tokens as each server does, by host:port.
	verifiers map[string]*authn.Verifier
	seen      map[string]bool // "METHOD /path/{template}" of every exercised operation
}

// noRedirects is httpc without following redirects: a 303 is an answer to check.
var noRedirects = &http.Client{
	Timeout:       httpc.Timeout,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func init() {
	// The sign-in and consent pages are HTML, validated as strings.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
}

func (c *contract) options() *openapi3filter.Options {
	return &openapi3filter.Options{
		IncludeResponseStatus: true, // a status the document does not list is an error
		SkipSettingDefaults:   true,
		AuthenticationFunc:    c.authenticate,
	}
}

// authenticate is what the bearerAuth scheme means: a valid token granting
// the scopes the operation lists.
func (c *contract) authenticate(ctx context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecuritySchemeName != "bearerAuth" {
		return fmt.Errorf("unknown security scheme %q", in.SecuritySchemeName)
	}
	req := in.RequestValidationInput.Request
	raw, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return errors.New("no bearer token")
	}
	v := c.verifiers[req.URL.Host]
	if v == nil {
		return fmt.Errorf("no verifier for %s", req.URL.Host)
	}
	p, err := v.Verify(ctx, raw)
	if err != nil {
		return err
	}
	for _, s := range in.Scopes {
		if !p.HasScope(s) {
			return fmt.Errorf("the token lacks the %q scope", s)
		}
	}
	return nil
}

func (c *contract) newRequest(t *testing.T, r x) *http.Request {
	t.Helper()
	if r.body != "" && r.form != nil {
		t.Fatal("a request has a JSON body or a form, not both")
	}
	var body io.Reader
	switch {
	case r.body != "":
		body = strings.NewReader(r.body)
	case r.form != nil:
		body = strings.NewReader(r.form.Encode())
	}
	req, err := http.NewRequestWithContext(context.Background(), r.method, r.url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	switch {
	case r.body != "":
		req.Header.Set("Content-Type", "application/json")
	case r.form != nil:
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	return req
}

// exchange validates the request against the document (it must conform
// unless r.refused), sends it, validates the response (status, headers and
// body) and returns it.
func (c *contract) exchange(t *testing.T, r x) (int, http.Header, []byte) {
	t.Helper()
	ctx := context.Background()
	req := c.newRequest(t, r)
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		t.Fatalf("%s %s: no documented operation: %v", r.method, r.url, err)
	}
	c.seen[route.Method+" "+route.Path] = true
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: c.options()}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	switch {
	case reqErr != nil && !r.refused:
		t.Errorf("%s %s: the request does not conform to the document: %v", r.method, r.url, reqErr)
	case reqErr == nil && r.refused:
		t.Errorf("%s %s: the document allows a request the server refuses", r.method, r.url)
	}

	res, err := noRedirects.Do(c.newRequest(t, r)) // a fresh request: validation read the body
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header, Options: c.options()}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("%s %s: the %d answer does not conform to the document: %v\n%s", r.method, r.url, res.StatusCode, err, body)
	}
	return res.StatusCode, res.Header, body
}

// check runs the exchange and requires status.
func (c *contract) check(t *testing.T, r x, status int) ([]byte, http.Header) {
	t.Helper()
	got, h, body := c.exchange(t, r)
	if got != status {
		t.Fatalf("%s %s: %d, want %d: %s", r.method, r.url, got, status, body)
	}
	return body, h
}

func (c *contract) decode(t *testing.T, r x, status int, v any) ([]byte, http.Header) {
	t.Helper()
	body, h := c.check(t, r, status)
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("%s %s: %v", r.method, r.url, err)
	}
	return body, h
}

// problem runs the exchange and requires a problem document with status and reason.
func (c *contract) problem(t *testing.T, r x, status int, reason string) apperr.Problem {
	t.Helper()
	var p apperr.Problem
	_, h := c.decode(t, r, status, &p)
	if p.Status != status || p.Reason != reason || p.RequestID == "" || !strings.HasPrefix(h.Get("Content-Type"), apperr.ProblemMediaType) {
		t.Fatalf("%s %s: %v %+v, want %d %s", r.method, r.url, h, p, status, reason)
	}
	return p
}

// oauthError runs the exchange and requires an RFC 6749 error with status
// and code, kept out of caches; invalid_client comes with a Basic challenge.
func (c *contract) oauthError(t *testing.T, r x, status int, code string) {
	t.Helper()
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_, h := c.decode(t, r, status, &e)
	if e.Error != code || h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") != "no-store" ||
		(code == "invalid_client") != strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic ") {
		t.Fatalf("%s %s: %v %+v, want %d %s", r.method, r.url, h, e, status, code)
	}
}

// validateResponse checks a made-up answer to a real request.
func (c *contract) validateResponse(t *testing.T, method, u string, status int, contentType string, body []byte) error {
	t.Helper()
	req := c.newRequest(t, x{method: method, url: u})
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		t.Fatal(err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: c.options()}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status,
		Header: http.Header{"Content-Type": {contentType}}, Options: c.options()}
	out.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(context.Background(), out)
}

// startWithOwnAuth runs bellhop on a seeded data dir that verifies tokens
// with the auth module's own keys (no test JWKS), with an admin created by
// the CLI. It returns the process and the admin's email and password.
func startWithOwnAuth(t *testing.T) (*proc, string, string) {
	t.Helper()
	dir := seededDataDir(t)
	email, password := "ops@contract.example", "an operator passphrase"
	cmd := exec.Command(binary, "users", "create-admin", "--email", email, "--password-stdin", "--data-dir", dir)
	cmd.Stdin = strings.NewReader(password)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("users create-admin: %v\n%s", err, out)
	}
	// Registrations and sign-ins are limited per IP, and the test makes a few.
	return start(t, []string{"BELLHOP_AUTH_SIGN_IN_RATE_LIMIT_BURST=100"}, "--data-dir", dir), email, password
}

// ownKeysVerifier verifies tokens as a process that hosts auth does: with
// the keys it publishes, issuer and audience "bellhop" (the defaults).
func ownKeysVerifier(t *testing.T, base string) *authn.Verifier {
	t.Helper()
	keys, err := authn.NewRemoteKeySet(base+"/.well-known/jwks.json", httpc)
	if err != nil {
		t.Fatal(err)
	}
	v, err := authn.NewVerifier(keys, "bellhop", "bellhop")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// basicAuth is an OAuth client's HTTP Basic credentials (RFC 6749 §2.3.1:
// form-url-encoded, then Basic).
func basicAuth(id, secret string) http.Header {
	cred := url.QueryEscape(id) + ":" + url.QueryEscape(secret)
	return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(cred))}}
}

// exerciseAuth runs every auth operation on u, a process whose verifier
// trusts the auth module's own keys, with the admin opsEmail.
func exerciseAuth(t *testing.T, c *contract, u, opsEmail, opsPassword string) {
	t.Helper()
	const (
		email    = "guest@contract.example"
		password = "a long enough passphrase"
		renewed  = "another long passphrase"
	)
	creds := func(email, password string) string { return fmt.Sprintf(`{"email":%q,"password":%q}`, email, password) }
	account := func(email, password string) string {
		return fmt.Sprintf(`{"email":%q,"name":"Contract Guest","password":%q}`, email, password)
	}

	// Accounts.
	var guest auth.User
	_, h := c.decode(t, x{method: "POST", url: u + "/api/v1/users", body: account(email, password)}, 201, &guest)
	if h.Get("Location") != "/api/v1/users/me" || len(guest.Roles) != 1 || guest.Roles[0] != authn.RoleGuest {
		t.Fatalf("registered %v %+v", h, guest)
	}
	c.problem(t, x{method: "POST", url: u + "/api/v1/users", body: account("Guest@Contract.example", password)}, 409, "auth.email_taken")
	prob := c.problem(t, x{method: "POST", url: u + "/api/v1/users", body: account("weak@contract.example", "qwertyuiop")}, 422, "auth.weak_password")
	if len(prob.Errors) == 0 || prob.Errors[0].Field != "password" {
		t.Fatalf("weak password errors: %+v", prob.Errors)
	}
	c.problem(t, x{method: "POST", url: u + "/api/v1/users", body: account("short@contract.example", "short"), refused: true}, 422, "auth.weak_password")
	c.problem(t, x{method: "POST", url: u + "/api/v1/users", refused: true,
		body: `{"email":"bold@contract.example","name":"Bold","password":"a long enough passphrase","roles":["admin"]}`}, 400, "http.unreadable_body")
	c.problem(t, x{method: "POST", url: u + "/api/v1/users", token: "not-a-jwt", body: account("other@contract.example", password)}, 401, "authn.invalid_token")

	// Sessions: the same answer for an unknown email as for a wrong password.
	var session, ops auth.Tokens
	c.decode(t, x{method: "POST", url: u + "/api/v1/sessions", body: creds(email, password)}, 200, &session)
	c.problem(t, x{method: "POST", url: u + "/api/v1/sessions", body: creds("nobody@contract.example", password)}, 401, "auth.invalid_credentials")
	c.problem(t, x{method: "POST", url: u + "/api/v1/sessions", body: `{"email":`, refused: true}, 400, "http.unreadable_body")
	c.decode(t, x{method: "POST", url: u + "/api/v1/sessions", body: creds(opsEmail, opsPassword)}, 200, &ops)
	if session.RefreshToken == "" || ops.RefreshToken == "" {
		t.Fatalf("sessions without refresh tokens: %+v %+v", session, ops)
	}

	// The caller's account and password.
	me := u + "/api/v1/users/me"
	c.check(t, x{method: "GET", url: me, token: session.AccessToken}, 200)
	c.problem(t, x{method: "GET", url: me, refused: true}, 401, "authn.unauthenticated")
	var renamed auth.User
	c.decode(t, x{method: "PATCH", url: me, token: session.AccessToken, body: `{"name":"Contract Guest II"}`}, 200, &renamed)
	if renamed.Name != "Contract Guest II" || renamed.ID != guest.ID {
		t.Fatalf("renamed %+v", renamed)
	}
	c.problem(t, x{method: "PATCH", url: me, token: session.AccessToken, body: `{"email":"moved@contract.example"}`}, 422, "auth.invalid_request")
	c.problem(t, x{method: "PATCH", url: me, token: session.AccessToken, body: `{"nickname":"G"}`, refused: true}, 400, "http.unreadable_body")
	pwURL := me + "/password"
	c.problem(t, x{method: "POST", url: pwURL, token: session.AccessToken, body: fmt.Sprintf(`{"current_password":"not it at all","new_password":%q}`, renewed)}, 403, "auth.wrong_password")
	c.check(t, x{method: "POST", url: pwURL, token: session.AccessToken, body: fmt.Sprintf(`{"current_password":%q,"new_password":%q}`, password, renewed)}, 204)
	// A password change ends the tokens issued before it: sign in again.
	c.problem(t, x{method: "GET", url: me, token: session.AccessToken}, 401, "authn.invalid_token")
	var signedInAgain auth.Tokens
	c.decode(t, x{method: "POST", url: u + "/api/v1/sessions", body: creds(email, renewed)}, 200, &signedInAgain)

	// Admins: users and their roles.
	var page auth.UserList
	c.decode(t, x{method: "GET", url: u + "/api/v1/users?limit=1", token: ops.AccessToken}, 200, &page)
	if len(page.Users) != 1 || page.NextCursor == "" {
		t.Fatalf("first page of users: %+v", page)
	}
	c.check(t, x{method: "GET", url: u + "/api/v1/users?" + query("limit", "200", "cursor", page.NextCursor), token: ops.AccessToken}, 200)
	c.problem(t, x{method: "GET", url: u + "/api/v1/users?limit=201", token: ops.AccessToken, refused: true}, 422, "auth.invalid_request")
	c.problem(t, x{method: "GET", url: u + "/api/v1/users", token: signedInAgain.AccessToken}, 403, "authn.forbidden")
	var promoted auth.User
	c.decode(t, x{method: "PUT", url: u + "/api/v1/users/" + guest.ID + "/roles", token: ops.AccessToken, body: `{"roles":["staff","guest"]}`}, 200, &promoted)
	if len(promoted.Roles) != 2 {
		t.Fatalf("promoted %+v", promoted)
	}
	c.problem(t, x{method: "PUT", url: u + "/api/v1/users/usr_nope/roles", token: ops.AccessToken, body: `{"roles":["staff"]}`}, 404, "auth.user_not_found")
	c.problem(t, x{method: "PUT", url: u + "/api/v1/users/" + guest.ID + "/roles", token: ops.AccessToken, body: `{"roles":["owner"]}`, refused: true}, 422, "auth.invalid_request")

	// Admins: OAuth clients. A confidential service, and a first-party
	// public app (PKCE) with a loopback redirect URI nobody listens on.
	clients := u + "/api/v1/oauth-clients"
	var partner, app auth.CreatedClient
	_, h = c.decode(t, x{method: "POST", url: clients, token: ops.AccessToken,
		body: `{"name":"Contract Partner","confidential":true,"scopes":["partner:read"],"grant_types":["client_credentials"]}`}, 201, &partner)
	if h.Get("Location") != "/api/v1/oauth-clients/"+partner.ID || partner.Secret == "" || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("created client %v %+v", h, partner)
	}
	redirect := "http://127.0.0.1:9/cb"
	c.decode(t, x{method: "POST", url: clients, token: ops.AccessToken,
		body: fmt.Sprintf(`{"name":"Contract App","first_party":true,"redirect_uris":[%q],"scopes":["catalog:write"]}`, redirect)}, 201, &app)
	if app.Secret != "" || app.Confidential {
		t.Fatalf("public client %+v", app)
	}
	c.problem(t, x{method: "POST", url: clients, token: ops.AccessToken, body: `{"name":"Bad","grant_types":["password"]}`, refused: true}, 422, "auth.invalid_request")
	c.problem(t, x{method: "POST", url: clients, token: signedInAgain.AccessToken, body: `{"name":"Mine"}`}, 403, "authn.forbidden")
	var list auth.ClientList
	c.decode(t, x{method: "GET", url: clients, token: ops.AccessToken}, 200, &list)
	if len(list.Clients) < 2 {
		t.Fatalf("clients %+v", list)
	}
	partnerURL := clients + "/" + partner.ID
	c.check(t, x{method: "GET", url: partnerURL, token: ops.AccessToken}, 200)
	c.problem(t, x{method: "GET", url: clients + "/cli_nope", token: ops.AccessToken}, 404, "auth.client_not_found")
	var updated auth.Client
	c.decode(t, x{method: "PATCH", url: partnerURL, token: ops.AccessToken, body: `{"name":"Contract Partner Ltd","redirect_uris":null}`}, 200, &updated)
	if updated.Name != "Contract Partner Ltd" {
		t.Fatalf("updated client %+v", updated)
	}
	c.problem(t, x{method: "PATCH", url: clients + "/cli_nope", token: ops.AccessToken, body: `{"name":"x"}`}, 404, "auth.client_not_found")

	// The token endpoint: client credentials (Basic or in the form), refresh
	// tokens, errors in RFC 6749 form.
	token := u + "/oauth/token"
	cc := url.Values{"grant_type": {"client_credentials"}}
	var service auth.Tokens
	_, h = c.decode(t, x{method: "POST", url: token, form: cc, header: basicAuth(partner.ID, partner.Secret)}, 200, &service)
	if service.AccessToken == "" || service.RefreshToken != "" || service.Scope != "partner:read" || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("client credentials: %v %+v", h, service)
	}
	c.check(t, x{method: "POST", url: token, form: url.Values{"grant_type": {"client_credentials"}, "client_id": {partner.ID}, "client_secret": {partner.Secret}}}, 200)
	c.oauthError(t, x{method: "POST", url: token, form: cc, header: basicAuth(partner.ID, "not the secret")}, 401, "invalid_client")
	c.oauthError(t, x{method: "POST", url: token, form: url.Values{"grant_type": {"password"}, "username": {email}, "password": {renewed}}, refused: true}, 400, "unsupported_grant_type")
	c.oauthError(t, x{method: "POST", url: token, form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {session.RefreshToken}}}, 400, "invalid_grant") // the password change ended it
	var refreshed auth.Tokens
	c.decode(t, x{method: "POST", url: token, form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {ops.RefreshToken}}}, 200, &refreshed)
	if refreshed.RefreshToken == "" || refreshed.RefreshToken == ops.RefreshToken {
		t.Fatalf("refresh did not rotate: %+v", refreshed)
	}

	// Introspection (confidential clients) and revocation.
	introspect := u + "/oauth/introspect"
	var info auth.Introspection
	c.decode(t, x{method: "POST", url: introspect, form: url.Values{"token": {refreshed.AccessToken}}, header: basicAuth(partner.ID, partner.Secret)}, 200, &info)
	if !info.Active || info.Kind != "user" || info.Username != opsEmail {
		t.Fatalf("introspection of a user's token: %+v", info)
	}
	c.decode(t, x{method: "POST", url: introspect, form: url.Values{"token": {service.AccessToken}, "token_type_hint": {"access_token"}}, header: basicAuth(partner.ID, partner.Secret)}, 200, &info)
	if !info.Active || info.Kind != "service" || info.ClientID != partner.ID {
		t.Fatalf("introspection of a service token: %+v", info)
	}
	c.oauthError(t, x{method: "POST", url: introspect, form: url.Values{"token": {service.AccessToken}, "client_id": {auth.SessionClientID}}}, 401, "invalid_client")
	revokeForm := url.Values{"token": {refreshed.RefreshToken}, "token_type_hint": {"refresh_token"}, "client_id": {auth.SessionClientID}}
	c.check(t, x{method: "POST", url: u + "/oauth/revoke", form: revokeForm}, 200)
	c.check(t, x{method: "POST", url: u + "/oauth/revoke", form: revokeForm}, 200) // nothing left to revoke: still 200
	c.oauthError(t, x{method: "POST", url: u + "/oauth/revoke", form: url.Values{"token": {refreshed.RefreshToken}}, header: basicAuth(partner.ID, "not the secret")}, 401, "invalid_client")
	c.oauthError(t, x{method: "POST", url: token, form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshed.RefreshToken}}}, 400, "invalid_grant")

	// Signing out ends the session.
	var again auth.Tokens
	c.decode(t, x{method: "POST", url: u + "/api/v1/sessions", body: creds(email, renewed)}, 200, &again)
	c.check(t, x{method: "GET", url: u + "/api/v1/users/me", token: again.AccessToken}, 200)
	c.check(t, x{method: "DELETE", url: u + "/api/v1/sessions", body: fmt.Sprintf(`{"refresh_token":%q}`, again.RefreshToken)}, 204)
	c.oauthError(t, x{method: "POST", url: token, form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {again.RefreshToken}}}, 400, "invalid_grant")
	c.problem(t, x{method: "GET", url: u + "/api/v1/users/me", token: again.AccessToken}, 401, "authn.invalid_token") // its access token too
	c.problem(t, x{method: "DELETE", url: u + "/api/v1/sessions", body: `{}`, refused: true}, 422, "auth.invalid_request")

	// Keys and metadata.
	var keys auth.JWKS
	_, h = c.decode(t, x{method: "GET", url: u + "/.well-known/jwks.json"}, 200, &keys)
	if len(keys.Keys) == 0 || h.Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("jwks %v %+v", h, keys)
	}
	c.problem(t, x{method: "GET", url: u + "/.well-known/jwks.json", token: "not-a-jwt"}, 401, "authn.invalid_token")
	var meta map[string]any
	c.decode(t, x{method: "GET", url: u + "/.well-known/oauth-authorization-server"}, 200, &meta)
	if meta["issuer"] != "bellhop" || meta["token_endpoint"] != u+"/oauth/token" {
		t.Fatalf("metadata %v", meta)
	}

	// The authorization code flow (PKCE) of the first-party app, in a browser.
	verifier := strings.Repeat("contract-code-verifier-", 3)
	sum := sha256.Sum256([]byte(verifier))
	authz := url.Values{"response_type": {"code"}, "client_id": {app.ID}, "redirect_uri": {redirect}, "scope": {"catalog:write"},
		"state": {"st-42"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	withParams := func(v url.Values, kv ...string) url.Values {
		out := url.Values{}
		for k, vs := range v {
			out[k] = vs
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	authorize := u + "/oauth/authorize"
	page1, h := c.check(t, x{method: "GET", url: authorize + "?" + authz.Encode()}, 200)
	cookies := (&http.Response{Header: h}).Cookies()
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(page1)
	if len(cookies) != 1 || m == nil || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("sign-in page: %v\n%s", h, page1)
	}
	browser := http.Header{"Cookie": {cookies[0].Name + "=" + cookies[0].Value}}
	signInForm := withParams(authz, "csrf_token", string(m[1]), "action", "sign_in", "email", opsEmail, "password", opsPassword)
	c.check(t, x{method: "GET", url: authorize + "?" + withParams(authz, "client_id", "cli_nope").Encode()}, 400)
	_, h = c.check(t, x{method: "GET", url: authorize + "?" + withParams(authz, "scope", "everything").Encode()}, 303)
	if back, err := url.Parse(h.Get("Location")); err != nil || back.Query().Get("error") != "invalid_scope" || back.Query().Get("state") != "st-42" {
		t.Fatalf("scope error redirect: %v", h)
	}
	signInPage, _ := c.check(t, x{method: "POST", url: authorize, form: withParams(signInForm, "password", "not the password"), header: browser}, 401)
	if !bytes.Contains(signInPage, []byte(`role="alert"`)) {
		t.Fatalf("the sign-in page does not say what went wrong:\n%s", signInPage)
	}
	noCSRF := withParams(signInForm)
	noCSRF.Del("csrf_token")
	c.check(t, x{method: "POST", url: authorize, form: noCSRF, header: browser, refused: true}, 403)
	_, h = c.check(t, x{method: "POST", url: authorize, form: signInForm, header: browser}, 303)
	back, err := url.Parse(h.Get("Location"))
	if err != nil || !strings.HasPrefix(h.Get("Location"), redirect+"?") || back.Query().Get("code") == "" ||
		back.Query().Get("state") != "st-42" || back.Query().Get("iss") != "bellhop" {
		t.Fatalf("sign-in redirect: %v", h)
	}
	var appTokens auth.Tokens
	c.decode(t, x{method: "POST", url: token, form: url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")},
		"redirect_uri": {redirect}, "code_verifier": {verifier}, "client_id": {app.ID}}}, 200, &appTokens)
	if appTokens.RefreshToken == "" || appTokens.Scope != "catalog:write" {
		t.Fatalf("authorization code tokens: %+v", appTokens)
	}

	// Revoking the operator's refresh token above ended that session, its
	// access tokens included (RFC 7009 §2.1): the operator signs in again.
	c.problem(t, x{method: "GET", url: partnerURL, token: ops.AccessToken}, 401, "authn.invalid_token")
	c.decode(t, x{method: "POST", url: u + "/api/v1/sessions", body: creds(opsEmail, opsPassword)}, 200, &ops)

	// Deleting a client ends its credentials.
	c.check(t, x{method: "DELETE", url: partnerURL, token: ops.AccessToken}, 204)
	c.problem(t, x{method: "DELETE", url: partnerURL, token: ops.AccessToken}, 404, "auth.client_not_found")
	c.oauthError(t, x{method: "POST", url: token, form: cc, header: basicAuth(partner.ID, partner.Secret)}, 401, "invalid_client")
}

// signUp registers a guest on u through the API, signs them in and returns
// their access token.
func signUp(t *testing.T, c *contract, u, email string) string {
	t.Helper()
	const password = "a long enough passphrase"
	c.check(t, x{method: "POST", url: u + "/api/v1/users",
		body: fmt.Sprintf(`{"email":%q,"name":"Contract Traveller","password":%q}`, email, password)}, 201)
	var tokens auth.Tokens
	c.decode(t, x{method: "POST", url: u + "/api/v1/sessions", body: fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)}, 200, &tokens)
	return tokens.AccessToken
}

// exerciseBookingsAndPayments runs every bookings and payments operation on
// u, a process whose verifier trusts the auth module's own keys, as two
// guests registered there: holds, their replay and errors, the guest's
// bookings, payments (declined, succeeded, replayed, refused), cancelling.
func exerciseBookingsAndPayments(t *testing.T, c *contract, u string) (ana, bo, paidBookingID string) {
	t.Helper()
	ana, bo = signUp(t, c, u, "ana@bookings.example"), signUp(t, c, u, "bo@bookings.example")

	in, out := stay()
	var page search.SearchResult
	c.decode(t, x{method: "GET", url: u + "/api/v1/hotels?" + query("city", "Porto", "check_in", in, "check_out", out, "guests", "2", "limit", "1")}, 200, &page)
	if len(page.Hotels) == 0 || len(page.Hotels[0].RoomTypes) == 0 {
		t.Fatalf("no room in Porto: %+v", page)
	}
	rt := page.Hotels[0].RoomTypes[0]
	holdBody := func(checkIn, checkOut string) string {
		return fmt.Sprintf(`{"room_type_id":%q,"check_in":%q,"check_out":%q,"guests":2}`, rt.ID, checkIn, checkOut)
	}
	idem := func(key string) http.Header { return http.Header{"Idempotency-Key": {key}} }

	// Holds: made, replayed with the same key, refused.
	bookingsURL := u + "/api/v1/bookings"
	hold := func(key string) bookings.Booking {
		t.Helper()
		var b bookings.Booking
		_, h := c.decode(t, x{method: "POST", url: bookingsURL, token: ana, body: holdBody(in, out), header: idem(key)}, 201, &b)
		if h.Get("Location") != "/api/v1/bookings/"+b.ID || b.Status != bookings.StatusPending || b.Total != rt.TotalPrice {
			t.Fatalf("hold %s: %v %+v (offer %+v)", key, h, b, rt)
		}
		return b
	}
	declinedStay, paidStay := hold("contract-hold-1"), hold("contract-hold-2")
	var replayed bookings.Booking
	c.decode(t, x{method: "POST", url: bookingsURL, token: ana, body: holdBody(in, out), header: idem("contract-hold-1")}, 201, &replayed)
	if replayed.ID != declinedStay.ID {
		t.Fatalf("a replayed hold made booking %s, the first %s", replayed.ID, declinedStay.ID)
	}
	c.problem(t, x{method: "POST", url: bookingsURL, token: ana, body: holdBody(out, in)}, 422, "search.invalid_stay")
	c.problem(t, x{method: "POST", url: bookingsURL, body: holdBody(in, out), refused: true}, 401, "authn.unauthenticated")
	c.problem(t, x{method: "POST", url: bookingsURL, token: ana, refused: true,
		body: strings.Replace(holdBody(in, out), `"guests"`, `"price":1,"guests"`, 1)}, 400, "http.unreadable_body")

	// A booking is its guest's: another guest's is not found.
	var got bookings.Booking
	c.decode(t, x{method: "GET", url: bookingsURL + "/" + paidStay.ID, token: ana}, 200, &got)
	if got.ID != paidStay.ID || got.GuestID != paidStay.GuestID {
		t.Fatalf("got %+v, held %+v", got, paidStay)
	}
	c.problem(t, x{method: "GET", url: bookingsURL + "/" + paidStay.ID, token: bo}, 404, "bookings.not_found")

	// Payments. The refused requests are bo's, so that ana's payments stay
	// within the route's per-caller rate limit (a burst of 5).
	paymentsURL := u + "/api/v1/payments"
	payBody := func(bookingID, method string) string {
		return fmt.Sprintf(`{"booking_id":%q,"payment_method":%q}`, bookingID, method)
	}
	c.problem(t, x{method: "POST", url: paymentsURL, token: bo, header: idem("contract-pay-x"), refused: true,
		body: fmt.Sprintf(`{"booking_id":%q,"payment_method":"pm_card_visa","amount":1}`, paidStay.ID)}, 400, "http.unreadable_body")
	c.problem(t, x{method: "POST", url: paymentsURL, token: bo, body: payBody(paidStay.ID, "pm_card_visa"), refused: true}, 422, "payments.idempotency_key_required")
	prob := c.problem(t, x{method: "POST", url: paymentsURL, token: bo, header: idem("contract-pay-y"), refused: true,
		body: payBody(paidStay.ID, "4242424242424242")}, 422, "payments.invalid_request")
	if len(prob.Errors) == 0 || prob.Errors[0].Field != "payment_method" {
		t.Fatalf("card number errors: %+v", prob.Errors)
	}
	c.problem(t, x{method: "POST", url: paymentsURL, token: bo, header: idem("contract-pay-z"), body: payBody(paidStay.ID, "pm_card_visa")}, 404, "bookings.not_found")

	// A declined card is a failed payment, not an error; a good one pays.
	var declined, paid, again payments.Payment
	_, h := c.decode(t, x{method: "POST", url: paymentsURL, token: ana, header: idem("contract-pay-1"), body: payBody(declinedStay.ID, "pm_card_chargeDeclined")}, 201, &declined)
	if declined.Status != payments.StatusFailed || declined.FailureCode == "" || h.Get("Location") != "/api/v1/payments/"+declined.ID {
		t.Fatalf("declined: %v %+v", h, declined)
	}
	c.decode(t, x{method: "POST", url: paymentsURL, token: ana, header: idem("contract-pay-2"), body: payBody(paidStay.ID, "pm_card_visa")}, 201, &paid)
	if paid.Status != payments.StatusSucceeded || paid.Amount != paidStay.Total || paid.Card == nil || paid.Card.Last4 == "" {
		t.Fatalf("paid: %+v", paid)
	}
	c.decode(t, x{method: "POST", url: paymentsURL, token: ana, header: idem("contract-pay-2"), body: payBody(paidStay.ID, "pm_card_visa")}, 201, &again)
	if again.ID != paid.ID {
		t.Fatalf("a replayed payment made %s, the first %s", again.ID, paid.ID)
	}

	// The guest's payments; another guest's is not found.
	var list payments.PaymentList
	c.decode(t, x{method: "GET", url: paymentsURL, token: ana}, 200, &list)
	if len(list.Payments) != 2 || list.Payments[0].ID != paid.ID {
		t.Fatalf("ana's payments: %+v", list)
	}
	c.decode(t, x{method: "GET", url: paymentsURL + "?" + query("booking_id", declinedStay.ID, "status", payments.StatusFailed), token: ana}, 200, &list)
	if len(list.Payments) != 1 || list.Payments[0].ID != declined.ID {
		t.Fatalf("ana's failed payments of %s: %+v", declinedStay.ID, list)
	}
	c.problem(t, x{method: "GET", url: paymentsURL + "?limit=101", token: ana, refused: true}, 422, "payments.invalid_request")
	c.problem(t, x{method: "GET", url: paymentsURL, refused: true}, 401, "authn.unauthenticated")
	c.check(t, x{method: "GET", url: paymentsURL + "/" + paid.ID, token: ana}, 200)
	c.problem(t, x{method: "GET", url: paymentsURL + "/" + paid.ID, token: bo}, 404, "payments.not_found")
	c.problem(t, x{method: "GET", url: paymentsURL + "/pay_nope", token: ana}, 404, "payments.not_found")

	// Cancelling the unpaid booking: free, and only once.
	var cancelled bookings.Booking
	c.decode(t, x{method: "POST", url: bookingsURL + "/" + declinedStay.ID + "/cancel", token: ana}, 200, &cancelled)
	if cancelled.Status != bookings.StatusCancelled || cancelled.Refund.Amount != 0 || cancelled.CancellationFee.Amount != 0 {
		t.Fatalf("cancelled %+v", cancelled)
	}
	c.problem(t, x{method: "POST", url: bookingsURL + "/" + declinedStay.ID + "/cancel", token: ana}, 409, "bookings.not_cancellable")
	c.problem(t, x{method: "POST", url: bookingsURL + "/" + declinedStay.ID + "/cancel", token: bo}, 404, "bookings.not_found")

	// The guest's bookings, filtered and a page at a time.
	var mine bookings.BookingList
	c.decode(t, x{method: "GET", url: bookingsURL + "?" + query("status", bookings.StatusCancelled, "from", in), token: ana}, 200, &mine)
	if len(mine.Bookings) != 1 || mine.Bookings[0].ID != declinedStay.ID {
		t.Fatalf("ana's cancelled bookings: %+v", mine)
	}
	c.decode(t, x{method: "GET", url: bookingsURL + "?limit=1", token: ana}, 200, &mine)
	if len(mine.Bookings) != 1 || mine.NextCursor == "" {
		t.Fatalf("ana's first page of bookings: %+v", mine)
	}
	c.decode(t, x{method: "GET", url: bookingsURL + "?" + query("limit", "1", "cursor", mine.NextCursor), token: ana}, 200, &mine)
	if len(mine.Bookings) != 1 {
		t.Fatalf("ana's second page of bookings: %+v", mine)
	}
	c.decode(t, x{method: "GET", url: bookingsURL, token: bo}, 200, &mine)
	if len(mine.Bookings) != 0 {
		t.Fatalf("bo sees bookings: %+v", mine)
	}
	c.problem(t, x{method: "GET", url: bookingsURL + "?status=lost", token: ana, refused: true}, 422, "bookings.invalid_request")
	c.problem(t, x{method: "GET", url: bookingsURL, refused: true}, 401, "authn.unauthenticated")
	return ana, bo, paidStay.ID
}

// exerciseReporting runs every reporting operation on u: the receipt of
// ana's paid booking (list, PDF, 304, JSON form, another guest's 404) and
// the reports as staff (JSON, CSV, PDF, 422) and as a guest (403).
func exerciseReporting(t *testing.T, c *contract, u, staff, ana, bo, bookingID string) {
	t.Helper()
	docsURL := u + "/api/v1/bookings/" + bookingID + "/documents"
	var list reporting.DocumentList
	deadline := time.Now().Add(10 * time.Second)
	for len(list.Documents) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no receipt for %s after 10s", bookingID)
		}
		time.Sleep(50 * time.Millisecond)
		c.decode(t, x{method: "GET", url: docsURL, token: ana}, 200, &list)
	}
	c.problem(t, x{method: "GET", url: docsURL, token: bo}, 404, "reporting.not_found")
	c.problem(t, x{method: "GET", url: docsURL, refused: true}, 401, "authn.unauthenticated")
	docURL := u + "/api/v1/documents/" + list.Documents[0].ID
	_, h := c.check(t, x{method: "GET", url: docURL, token: ana}, 200)
	c.check(t, x{method: "GET", url: docURL, token: ana, header: http.Header{"If-None-Match": {h.Get("ETag")}}}, 304)
	c.check(t, x{method: "GET", url: docURL, token: staff, header: http.Header{"Accept": {"application/json"}}}, 200)
	c.problem(t, x{method: "GET", url: docURL, token: bo}, 404, "reporting.not_found")

	from, to := civil.Today(time.UTC).AddDays(-1).String(), civil.Today(time.UTC).AddDays(60).String()
	for _, r := range []string{"occupancy", "revenue", "booking-behaviour"} {
		reportURL := u + "/api/v1/reports/" + r + "?" + query("from", from, "to", to)
		c.check(t, x{method: "GET", url: reportURL, token: staff}, 200)
		c.check(t, x{method: "GET", url: reportURL + "&format=pdf", token: staff}, 200)
		c.check(t, x{method: "GET", url: reportURL, token: staff, header: http.Header{"Accept": {"text/csv"}}}, 200)
		c.problem(t, x{method: "GET", url: reportURL, token: ana}, 403, "authn.forbidden")
		c.problem(t, x{method: "GET", url: u + "/api/v1/reports/" + r + "?" + query("from", to, "to", from), token: staff}, 422, "reporting.invalid_filter")
	}
	c.problem(t, x{method: "GET", url: u + "/api/v1/reports/occupancy?" + query("from", from, "to", to, "granularity", "hourly"), token: staff, refused: true}, 422, "reporting.invalid_filter")
}

// exerciseSigningKeys lists the signing keys and rotates them as the admin;
// a guest is refused. The admin's token, signed before the rotation, still works.
func exerciseSigningKeys(t *testing.T, c *contract, u, opsEmail, opsPassword string) {
	admin := signIn(t, u, opsEmail, opsPassword).AccessToken
	guest := signUp(t, c, u, fmt.Sprintf("keys-%d@contract.example", time.Now().UnixNano()))
	keys := u + "/api/v1/signing-keys"
	var before, after auth.SigningKeyList
	c.decode(t, x{method: "GET", url: keys, token: admin}, 200, &before)
	var rotated auth.SigningKey
	c.decode(t, x{method: "POST", url: keys, token: admin}, 201, &rotated)
	c.decode(t, x{method: "GET", url: keys, token: admin}, 200, &after)
	if len(before.Keys) == 0 || rotated.Status != auth.KeyActive || len(after.Keys) != len(before.Keys)+1 || after.Keys[0].KID != rotated.KID ||
		after.Keys[1].Status != auth.KeyRetired {
		t.Fatalf("keys before %+v, rotated %+v, after %+v", before, rotated, after)
	}
	c.problem(t, x{method: "GET", url: keys, token: guest}, 403, "authn.forbidden")
	c.problem(t, x{method: "POST", url: keys, token: guest}, 403, "authn.forbidden")
}
