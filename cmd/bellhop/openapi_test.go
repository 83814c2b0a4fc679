package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

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
	// A gateway whose remote search is down (503), with a tight rate limit (429).
	gw := start(t, append(auth.env(), "BELLHOP_EVENTS_NATS_URL="+startNATS(t),
		"BELLHOP_SERVER_RATE_LIMIT_ENABLED=true", "BELLHOP_SERVER_RATE_LIMIT_RPS=0.001", "BELLHOP_SERVER_RATE_LIMIT_BURST=2"),
		"--remote", "search="+deadURL(t), "--data-dir", t.TempDir())

	raw, res := get(t, p.URL+"/api/docs")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" || res.Header.Get("Cache-Control") == "" {
		t.Fatalf("GET /api/docs: %d %v", res.StatusCode, res.Header)
	}
	if gwRaw, _ := get(t, gw.URL+"/api/docs"); !bytes.Equal(gwRaw, raw) {
		t.Fatal("the gateway, which mounts search's routes for a remote search, serves another document")
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
	doc.Servers = openapi3.Servers{{URL: p.URL}, {URL: gw.URL}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	c := &contract{doc: doc, router: router, verifier: auth.iss.Verifier(), seen: map[string]bool{}}

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

	// Search is down behind the gateway: 503; then its rate limit: 429 with Retry-After.
	c.problem(t, x{method: "GET", url: gw.URL + "/api/v1/hotels?" + query("city", "Lisbon", "check_in", in, "check_out", out)}, 503, "search.unavailable")
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
	body               string // JSON, sent as application/json
	header             http.Header
	// refused: the document forbids this request (the server refuses it too).
	refused bool
}

// contract checks exchanges with a server against its OpenAPI document.
type contract struct {
	doc      *openapi3.T
	router   routers.Router
	verifier *authn.Verifier
	seen     map[string]bool // "METHOD /path/{template}" of every exercised operation
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
	raw, ok := strings.CutPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return errors.New("no bearer token")
	}
	p, err := c.verifier.Verify(ctx, raw)
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
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(context.Background(), r.method, r.url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if r.body != "" {
		req.Header.Set("Content-Type", "application/json")
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

	res, err := httpc.Do(c.newRequest(t, r)) // a fresh request: validation read the body
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
