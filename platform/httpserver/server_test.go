package httpserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/httpserver"
	"github.com/bellhop/bellhop/platform/observability"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lines decodes the JSON log records.
func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for l := range strings.Lines(s.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

type testServer struct {
	URL  string
	Srv  *httpserver.Server
	Logs *syncBuffer
	Reg  *prometheus.Registry

	cancel context.CancelFunc
	done   chan error
}

// start serves a new server over loopback until the test ends (when it
// checks that Serve returned nil).
func start(t *testing.T, cfg httpserver.Config, deps httpserver.Deps, routes func(e *echo.Echo)) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	if deps.Log == nil {
		log, err := observability.NewLogger(logs, "json", "debug")
		if err != nil {
			t.Fatal(err)
		}
		deps.Log = log
	}
	if deps.Registry == nil {
		deps.Registry = prometheus.NewRegistry()
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 5 * time.Second
	}
	srv := httpserver.New(cfg, deps)
	if routes != nil {
		routes(srv.Echo())
	}
	ln, err := httpserver.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{URL: "http://" + ln.Addr().String(), Srv: srv, Logs: logs, Reg: deps.Registry, cancel: cancel, done: make(chan error, 1)}
	go func() { ts.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		if err := ts.stop(); err != nil {
			t.Errorf("Serve returned %v, want nil", err)
		}
	})
	return ts
}

func (ts *testServer) stop() error {
	ts.cancel()
	select {
	case err := <-ts.done:
		ts.done <- err // later calls see the same result
		return err
	case <-time.After(10 * time.Second):
		return errors.New("Serve did not return")
	}
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func do(t *testing.T, method, url string, body io.Reader, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

func get(t *testing.T, url string, header map[string]string) response {
	t.Helper()
	return do(t, http.MethodGet, url, nil, header)
}

// problem decodes a problem+json response, checking its status and media type.
func problem(t *testing.T, r response, status int) apperr.Problem {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != apperr.ProblemMediaType {
		t.Fatalf("Content-Type = %q, want %q", ct, apperr.ProblemMediaType)
	}
	var p apperr.Problem
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("problem body %s: %v", r.Body, err)
	}
	if p.Status != status {
		t.Errorf("problem status = %d, want %d", p.Status, status)
	}
	if p.RequestID == "" || p.RequestID != r.Header.Get(observability.RequestIDHeader) {
		t.Errorf("problem request_id = %q, header %q", p.RequestID, r.Header.Get(observability.RequestIDHeader))
	}
	return p
}

var errSoldOut = apperr.Conflict("bookings.sold_out", "no rooms left for these nights")

func TestProblemJSONExactBody(t *testing.T) {
	ts := start(t, httpserver.Config{}, httpserver.Deps{}, func(e *echo.Echo) {
		e.POST("/bookings", func(c echo.Context) error {
			return apperr.Invalid("bookings.invalid", "the request has invalid values").WithFields(
				apperr.FieldError{Field: "check_out", Reason: "before_check_in", Detail: "check_out must be after check_in"},
				apperr.FieldError{Field: "guests", Reason: "min", Detail: "at least 1"},
			)
		})
		e.GET("/sold-out", func(c echo.Context) error { return fmt.Errorf("holding: %w", errSoldOut) })
	})

	r := do(t, http.MethodPost, ts.URL+"/bookings", nil, map[string]string{"X-Request-ID": "req-123"})
	want := `{"type":"urn:bellhop:problem:bookings.invalid","title":"Unprocessable Entity","status":422,` +
		`"detail":"the request has invalid values","instance":"/bookings","code":"invalid","reason":"bookings.invalid",` +
		`"errors":[{"field":"check_out","reason":"before_check_in","detail":"check_out must be after check_in"},` +
		`{"field":"guests","reason":"min","detail":"at least 1"}],"request_id":"req-123"}`
	if string(r.Body) != want {
		t.Errorf("body\n got %s\nwant %s", r.Body, want)
	}
	problem(t, r, http.StatusUnprocessableEntity)

	// A wrapped domain error keeps its code and reason, and decodes back to it.
	p := problem(t, get(t, ts.URL+"/sold-out", nil), http.StatusConflict)
	if !errors.Is(p.Err(), errSoldOut) {
		t.Errorf("decoded problem %+v is not errSoldOut", p)
	}
	if p.Detail != "no rooms left for these nights" {
		t.Errorf("detail = %q", p.Detail)
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	ts := start(t, httpserver.Config{}, httpserver.Deps{}, func(e *echo.Echo) {
		e.GET("/hotels/:id", func(c echo.Context) error { return c.String(200, "ok") })
	})

	p := problem(t, get(t, ts.URL+"/nope/nothing", nil), http.StatusNotFound)
	if p.Code != apperr.CodeNotFound || p.Reason != "http.route_not_found" || p.Instance != "/nope/nothing" {
		t.Errorf("404 problem = %+v", p)
	}

	r := do(t, http.MethodDelete, ts.URL+"/hotels/7", nil, nil)
	p = problem(t, r, http.StatusMethodNotAllowed)
	if p.Code != apperr.CodeMethodNotAllowed || p.Reason != "http.method_not_allowed" {
		t.Errorf("405 problem = %+v", p)
	}
	if !strings.Contains(r.Header.Get("Allow"), "GET") {
		t.Errorf("Allow = %q, want it to list GET", r.Header.Get("Allow"))
	}

	// HEAD gets the status and headers, no body.
	r = do(t, http.MethodHead, ts.URL+"/nope", nil, nil)
	if r.Status != http.StatusNotFound || len(r.Body) != 0 {
		t.Errorf("HEAD unknown route: %d %q", r.Status, r.Body)
	}
}

func TestPanicIs500WithoutStack(t *testing.T) {
	ts := start(t, httpserver.Config{}, httpserver.Deps{}, func(e *echo.Echo) {
		e.GET("/boom", func(c echo.Context) error { panic("secret internal state") })
	})
	r := get(t, ts.URL+"/boom", nil)
	p := problem(t, r, http.StatusInternalServerError)
	if p.Code != apperr.CodeInternal || p.Reason != "internal" || p.Detail != "an internal error occurred" {
		t.Errorf("problem = %+v", p)
	}
	for _, leak := range []string{"secret", "goroutine", "panic", ".go:"} {
		if bytes.Contains(r.Body, []byte(leak)) {
			t.Errorf("body leaks %q: %s", leak, r.Body)
		}
	}

	// Logged once at error level with the stack; the access log says 500.
	var errorLogs, access int
	for _, l := range ts.Logs.lines(t) {
		if l["level"] == "ERROR" {
			errorLogs++
			if !strings.Contains(fmt.Sprint(l["stack"]), "server_test.go") || !strings.Contains(fmt.Sprint(l["error"]), "secret internal state") {
				t.Errorf("error log lacks the stack or the panic value: %v", l)
			}
		}
		if l["msg"] == "http request" && l["route"] == "/boom" {
			access++
			if l["status"] != float64(500) {
				t.Errorf("access log status = %v, want 500", l["status"])
			}
		}
	}
	if errorLogs != 1 || access != 0 {
		// AccessLog is off in this test.
		t.Errorf("error logs = %d (want 1), access logs = %d (want 0)", errorLogs, access)
	}
}

func TestBodyLimit(t *testing.T) {
	ts := start(t, httpserver.Config{BodyLimit: 64}, httpserver.Deps{}, func(e *echo.Echo) {
		e.POST("/echo", func(c echo.Context) error {
			var v map[string]any
			if err := httpserver.BindJSON(c, &v); err != nil {
				return err
			}
			return c.JSON(200, v)
		})
		e.POST("/raw", func(c echo.Context) error {
			b, err := io.ReadAll(c.Request().Body)
			if err != nil {
				return err
			}
			return c.String(200, string(b))
		})
	})
	big := `{"name":"` + strings.Repeat("x", 100) + `"}`
	ct := map[string]string{"Content-Type": "application/json"}

	// Declared length over the limit: rejected before the handler.
	p := problem(t, do(t, http.MethodPost, ts.URL+"/echo", strings.NewReader(big), ct), http.StatusRequestEntityTooLarge)
	if p.Code != apperr.CodeTooLarge || p.Reason != "http.body_too_large" || p.Detail != "the request body exceeds the limit of 64 bytes" {
		t.Errorf("problem = %+v", p)
	}
	// Unknown length (chunked): caught while reading, by BindJSON and by a raw reader.
	for _, path := range []string{"/echo", "/raw"} {
		r := do(t, http.MethodPost, ts.URL+path, io.MultiReader(strings.NewReader(big)), ct)
		if p := problem(t, r, http.StatusRequestEntityTooLarge); p.Code != apperr.CodeTooLarge {
			t.Errorf("%s: problem = %+v", path, p)
		}
	}
	if r := do(t, http.MethodPost, ts.URL+"/echo", strings.NewReader(`{"a":1}`), ct); r.Status != 200 {
		t.Errorf("small body: %d %s", r.Status, r.Body)
	}
}

type bookingRequest struct {
	HotelID string `json:"hotel_id"`
	Guests  int    `json:"guests"`
	Stay    struct {
		Nights int `json:"nights"`
	} `json:"stay"`
}

func TestBindJSON(t *testing.T) {
	ts := start(t, httpserver.Config{}, httpserver.Deps{}, func(e *echo.Echo) {
		e.POST("/bind", func(c echo.Context) error {
			var req bookingRequest
			if err := httpserver.BindJSON(c, &req); err != nil {
				return err
			}
			return c.JSON(200, req)
		})
	})
	jsonCT := map[string]string{"Content-Type": "application/json; charset=utf-8"}
	cases := []struct {
		name, body string
		header     map[string]string
		detail     string
		field      *apperr.FieldError
	}{
		{name: "malformed", body: `{"hotel_id": "h1",}`, header: jsonCT,
			detail: "malformed JSON at offset 19: invalid character '}' looking for beginning of object key string"},
		{name: "truncated", body: `{"hotel_id": "h1"`, header: jsonCT,
			detail: "malformed JSON: the body ends in the middle of a value"},
		{name: "wrong type", body: `{"guests": "two"}`, header: jsonCT,
			detail: `field "guests" has the wrong type: want integer, got string`,
			field:  &apperr.FieldError{Field: "guests", Reason: "wrong_type", Detail: "want integer, got string"}},
		{name: "nested wrong type", body: `{"stay": {"nights": true}}`, header: jsonCT,
			detail: `field "stay.nights" has the wrong type: want integer, got bool`,
			field:  &apperr.FieldError{Field: "stay.nights", Reason: "wrong_type", Detail: "want integer, got bool"}},
		{name: "unknown field", body: `{"hotel_id": "h1", "colour": "red"}`, header: jsonCT,
			detail: `unknown field "colour"`,
			field:  &apperr.FieldError{Field: "colour", Reason: "unknown", Detail: "no such field"}},
		{name: "trailing data", body: `{"hotel_id": "h1"} {"x": 1}`, header: jsonCT,
			detail: "trailing data after the JSON value, which ends at offset 18"},
		{name: "trailing garbage", body: `{"hotel_id": "h1"}]`, header: jsonCT,
			detail: "trailing data after the JSON value, which ends at offset 18"},
		{name: "empty", body: ``, header: jsonCT,
			detail: "the request body is empty: send a JSON value"},
		{name: "not an object", body: `[1]`, header: jsonCT,
			detail: "the body has the wrong type: want object, got array"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, http.MethodPost, ts.URL+"/bind", strings.NewReader(tc.body), tc.header)
			p := problem(t, r, http.StatusBadRequest)
			if p.Code != apperr.CodeUnreadable || p.Reason != "http.unreadable_body" {
				t.Errorf("code, reason = %s, %s", p.Code, p.Reason)
			}
			if p.Detail != tc.detail {
				t.Errorf("detail\n got %q\nwant %q", p.Detail, tc.detail)
			}
			switch {
			case tc.field == nil && len(p.Errors) != 0:
				t.Errorf("errors = %+v, want none", p.Errors)
			case tc.field != nil && (len(p.Errors) != 1 || p.Errors[0] != *tc.field):
				t.Errorf("errors = %+v, want [%+v]", p.Errors, *tc.field)
			}
		})
	}

	// A body that is not JSON by its Content-Type is a 415, not a 400: the
	// request may be fine, in a format this route does not take.
	for _, tc := range []struct {
		name   string
		header map[string]string
		detail string
	}{
		{"no content type", nil, "the Content-Type header is missing: send application/json"},
		{"wrong content type", map[string]string{"Content-Type": "text/plain"}, `the Content-Type is "text/plain": send application/json`},
		{"a form", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, `the Content-Type is "application/x-www-form-urlencoded": send application/json`},
	} {
		r := do(t, http.MethodPost, ts.URL+"/bind", strings.NewReader(`{}`), tc.header)
		p := problem(t, r, http.StatusUnsupportedMediaType)
		if p.Code != apperr.CodeUnsupportedMediaType || p.Reason != "http.unsupported_media_type" || p.Detail != tc.detail {
			t.Errorf("%s: code, reason, detail = %s, %s, %q; want unsupported_media_type, http.unsupported_media_type, %q", tc.name, p.Code, p.Reason, p.Detail, tc.detail)
		}
	}

	r := do(t, http.MethodPost, ts.URL+"/bind", strings.NewReader(`{"hotel_id":"h1","guests":2,"stay":{"nights":3}}`+"\n"),
		map[string]string{"Content-Type": "application/merge-patch+json"})
	if r.Status != 200 || string(r.Body) != `{"hotel_id":"h1","guests":2,"stay":{"nights":3}}`+"\n" {
		t.Errorf("valid body: %d %s", r.Status, r.Body)
	}
}

// day is a test TextUnmarshaler in the shape of civil.Date.
type day struct{ Y, M, D int }

func (d day) MarshalText() ([]byte, error) {
	return fmt.Appendf(nil, "%04d-%02d-%02d", d.Y, d.M, d.D), nil
}

func (d *day) UnmarshalText(b []byte) error {
	t, err := time.Parse("2006-01-02", string(b))
	if err != nil {
		return fmt.Errorf("%q is not a date in the form YYYY-MM-DD", b)
	}
	*d = day{t.Year(), int(t.Month()), t.Day()}
	return nil
}

type paging struct {
	Limit int    `query:"limit"`
	After string `query:"after"`
}

type searchQuery struct {
	paging
	City    string        `query:"city"`
	Guests  int           `query:"guests"`
	CheckIn day           `query:"check_in"`
	Until   *day          `query:"until"`
	MaxRate *float64      `query:"max_rate"`
	Pets    bool          `query:"pets"`
	Tags    []string      `query:"tag"`
	Hold    time.Duration `query:"hold"`
	Ignored string        `query:"-"`
}

func TestBindQuery(t *testing.T) {
	ts := start(t, httpserver.Config{}, httpserver.Deps{}, func(e *echo.Echo) {
		e.GET("/search", func(c echo.Context) error {
			var q searchQuery
			if err := httpserver.BindQuery(c, &q); err != nil {
				return err
			}
			return c.JSON(200, q)
		})
	})

	r := get(t, ts.URL+"/search?city=Lisbon&guests=2&check_in=2026-05-01&max_rate=120.5&pets=true&tag=a&tag=b&limit=10&after=x&hold=15m", nil)
	if r.Status != 200 {
		t.Fatalf("valid query: %d %s", r.Status, r.Body)
	}
	var got searchQuery
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatal(err)
	}
	rate := 120.5
	want := searchQuery{paging: paging{}, City: "Lisbon", Guests: 2, CheckIn: day{2026, 5, 1}, MaxRate: &rate,
		Pets: true, Tags: []string{"a", "b"}, Hold: 15 * time.Minute}
	// paging is unexported so it does not round-trip through JSON; check the rest.
	if got.City != want.City || got.Guests != want.Guests || got.CheckIn != want.CheckIn || got.Until != nil ||
		got.MaxRate == nil || *got.MaxRate != rate || !got.Pets || strings.Join(got.Tags, ",") != "a,b" || got.Hold != want.Hold {
		t.Errorf("bound %+v, want %+v", got, want)
	}

	cases := []struct {
		query, detail string
		fields        []apperr.FieldError
	}{
		{"guests=two", "query parameter guests: want an integer",
			[]apperr.FieldError{{Field: "guests", Reason: "wrong_type", Detail: "want an integer"}}},
		{"check_in=2026-02-30", `query parameter check_in: "2026-02-30" is not a date in the form YYYY-MM-DD`,
			[]apperr.FieldError{{Field: "check_in", Reason: "wrong_type", Detail: `"2026-02-30" is not a date in the form YYYY-MM-DD`}}},
		{"until=soon&pets=maybe", `query parameter pets: want true or false; query parameter until: "soon" is not a date in the form YYYY-MM-DD`,
			[]apperr.FieldError{{Field: "pets", Reason: "wrong_type", Detail: "want true or false"}, {Field: "until", Reason: "wrong_type", Detail: `"soon" is not a date in the form YYYY-MM-DD`}}},
		{"limit=1&limit=2", "query parameter limit: given more than once; want one value",
			[]apperr.FieldError{{Field: "limit", Reason: "wrong_type", Detail: "given more than once; want one value"}}},
		{"city=Porto&colour=red&Ignored=x", `unknown query parameter "Ignored", "colour"`,
			[]apperr.FieldError{{Field: "Ignored", Reason: "unknown", Detail: "no such query parameter"}, {Field: "colour", Reason: "unknown", Detail: "no such query parameter"}}},
		{"city=%zz", `malformed query string: invalid URL escape "%zz"`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			p := problem(t, get(t, ts.URL+"/search?"+tc.query, nil), http.StatusBadRequest)
			if p.Code != apperr.CodeUnreadable || p.Reason != "http.unreadable_query" {
				t.Errorf("code, reason = %s, %s", p.Code, p.Reason)
			}
			if p.Detail != tc.detail {
				t.Errorf("detail\n got %q\nwant %q", p.Detail, tc.detail)
			}
			if fmt.Sprint(p.Errors) != fmt.Sprint(tc.fields) {
				t.Errorf("errors\n got %+v\nwant %+v", p.Errors, tc.fields)
			}
		})
	}
}

// testAuth puts a principal named by X-Test-User in the context, standing in
// for authn's verifier.
func testAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if sub := c.Request().Header.Get("X-Test-User"); sub != "" {
			req := c.Request()
			c.SetRequest(req.WithContext(authn.WithPrincipal(req.Context(), authn.Principal{Subject: sub, Kind: authn.KindUser})))
		}
		return next(c)
	}
}

func TestRateLimitByPrincipalThenIP(t *testing.T) {
	ts := start(t, httpserver.Config{
		RateLimit: httpserver.RateLimitConfig{Enabled: true, RPS: 0.5, Burst: 2},
	}, httpserver.Deps{Authenticate: testAuth}, func(e *echo.Echo) {
		e.GET("/x", func(c echo.Context) error { return c.NoContent(204) })
	})
	alice := map[string]string{"X-Test-User": "alice"}
	for i := range 2 {
		if r := get(t, ts.URL+"/x", alice); r.Status != 204 {
			t.Fatalf("alice request %d: %d %s", i, r.Status, r.Body)
		}
	}
	r := get(t, ts.URL+"/x", alice)
	p := problem(t, r, http.StatusTooManyRequests)
	if p.Code != apperr.CodeRateLimited || p.Reason != "http.rate_limited" || p.RetryAfterSeconds != 2 {
		t.Errorf("problem = %+v", p)
	}
	if ra := r.Header.Get("Retry-After"); ra != "2" {
		t.Errorf("Retry-After = %q, want 2 (one token at 0.5/s)", ra)
	}

	// Another principal from the same IP has its own bucket, and so has the
	// anonymous caller (keyed by IP).
	for _, h := range []map[string]string{{"X-Test-User": "bob"}, {"X-Test-User": "bob"}, nil, nil} {
		if r := get(t, ts.URL+"/x", h); r.Status != 204 {
			t.Fatalf("%v: %d %s", h, r.Status, r.Body)
		}
	}
	if r := get(t, ts.URL+"/x", nil); r.Status != http.StatusTooManyRequests {
		t.Errorf("third anonymous request: %d, want 429", r.Status)
	}
	// Operational endpoints are never limited.
	for range 5 {
		if r := get(t, ts.URL+"/healthz", nil); r.Status != 200 {
			t.Fatalf("/healthz: %d", r.Status)
		}
	}
}

func TestRateLimitPerRoute(t *testing.T) {
	strict := httpserver.RateLimit(httpserver.RateLimitConfig{Enabled: true, RPS: 1, Burst: 1}, "auth.sign_in_rate_limited")
	ts := start(t, httpserver.Config{}, httpserver.Deps{}, func(e *echo.Echo) {
		e.POST("/sign-in", func(c echo.Context) error { return c.NoContent(204) }, strict)
		e.GET("/free", func(c echo.Context) error { return c.NoContent(204) })
	})
	if r := do(t, http.MethodPost, ts.URL+"/sign-in", nil, nil); r.Status != 204 {
		t.Fatalf("first sign-in: %d", r.Status)
	}
	r := do(t, http.MethodPost, ts.URL+"/sign-in", nil, nil)
	if p := problem(t, r, http.StatusTooManyRequests); p.Reason != "auth.sign_in_rate_limited" || r.Header.Get("Retry-After") != "1" {
		t.Errorf("problem = %+v, Retry-After %q", p, r.Header.Get("Retry-After"))
	}
	if r := get(t, ts.URL+"/free", nil); r.Status != 204 {
		t.Errorf("unlimited route: %d", r.Status)
	}
}

func TestClientIPTrustedProxies(t *testing.T) {
	routes := func(e *echo.Echo) {
		e.GET("/ip", func(c echo.Context) error { return c.String(200, httpserver.ClientIP(c)) })
	}
	xff := map[string]string{"X-Forwarded-For": "203.0.113.9, 198.51.100.7"}

	// Loopback is a configured proxy: the nearest untrusted hop in XFF is the client.
	trusted := start(t, httpserver.Config{TrustedProxies: []string{"127.0.0.1/32"}}, httpserver.Deps{}, routes)
	if r := get(t, trusted.URL+"/ip", xff); string(r.Body) != "198.51.100.7" {
		t.Errorf("trusted peer: client IP %q, want 198.51.100.7", r.Body)
	}
	trustedBoth := start(t, httpserver.Config{TrustedProxies: []string{"127.0.0.1", "198.51.100.0/24"}}, httpserver.Deps{}, routes)
	if r := get(t, trustedBoth.URL+"/ip", xff); string(r.Body) != "203.0.113.9" {
		t.Errorf("trusted chain: client IP %q, want 203.0.113.9", r.Body)
	}
	if r := get(t, trusted.URL+"/ip", nil); string(r.Body) != "127.0.0.1" {
		t.Errorf("trusted peer, no XFF: client IP %q", r.Body)
	}

	// Not trusted (loopback and private ranges are not trusted by default): XFF ignored.
	for _, cfg := range []httpserver.Config{{}, {TrustedProxies: []string{"10.0.0.0/8"}}} {
		ts := start(t, cfg, httpserver.Deps{}, routes)
		if r := get(t, ts.URL+"/ip", xff); string(r.Body) != "127.0.0.1" {
			t.Errorf("proxies %v: client IP %q, want the peer 127.0.0.1", cfg.TrustedProxies, r.Body)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []httpserver.Config{
		{TrustedProxies: []string{"10.0.0.0/33"}},
		{TrustedProxies: []string{"proxy.local"}},
		{RateLimit: httpserver.RateLimitConfig{Enabled: true}},
		{ReadTimeout: -time.Second},
	}
	for _, cfg := range bad {
		if err := cfg.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", cfg)
		}
	}
	if err := (httpserver.Config{TrustedProxies: []string{"10.0.0.0/8", "::1", "fd00::/8"}}).Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

func TestRequestID(t *testing.T) {
	ts := start(t, httpserver.Config{}, httpserver.Deps{}, func(e *echo.Echo) {
		e.GET("/id", func(c echo.Context) error {
			return c.String(200, observability.RequestID(c.Request().Context()))
		})
	})
	cases := []struct {
		in   string
		keep bool
	}{
		{"", false},
		{"abc-DEF_1.2", true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{"has space", false},
		{"semi;colon", false},
		{"ünï", false},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		h := map[string]string{}
		if tc.in != "" {
			h["X-Request-ID"] = tc.in
		}
		r := get(t, ts.URL+"/id", h)
		id := r.Header.Get("X-Request-ID")
		if string(r.Body) != id {
			t.Errorf("%q: context ID %q != header %q", tc.in, r.Body, id)
		}
		if tc.keep && id != tc.in {
			t.Errorf("%q: replaced by %q", tc.in, id)
		}
		if !tc.keep {
			if id == tc.in || len(id) != 26 || seen[id] {
				t.Errorf("%q: generated %q (want a fresh 26-char ID)", tc.in, id)
			}
			seen[id] = true
		}
	}
}

func TestAccessLog(t *testing.T) {
	ts := start(t, httpserver.Config{AccessLog: true}, httpserver.Deps{Authenticate: testAuth}, func(e *echo.Echo) {
		e.GET("/hotels/:id", func(c echo.Context) error { return c.String(200, "hotel") })
		e.GET("/boom/:n", func(c echo.Context) error { panic("boom") })
	})
	get(t, ts.URL+"/boom/1", nil)
	get(t, ts.URL+"/hotels/42?secret=q", map[string]string{"Authorization": "Bearer sekrit-token", "X-Test-User": "u-1", "X-Request-ID": "rid-1"})
	get(t, ts.URL+"/healthz", nil)
	get(t, ts.URL+"/missing/1", nil)

	logs := ts.Logs.String()
	if strings.Contains(logs, "sekrit") || strings.Contains(logs, "secret=q") {
		t.Errorf("logs leak credentials or query values:\n%s", logs)
	}
	found := map[string]map[string]any{}
	for _, l := range ts.Logs.lines(t) {
		if l["msg"] == "http request" {
			found[fmt.Sprint(l["path"])] = l
		}
	}
	h := found["/hotels/42"]
	for k, want := range map[string]any{"level": "INFO", "request_id": "rid-1", "method": "GET", "route": "/hotels/:id",
		"status": float64(200), "bytes_out": float64(5), "ip": "127.0.0.1", "sub": "u-1"} {
		if h[k] != want {
			t.Errorf("access log %s = %v, want %v (%v)", k, h[k], want, h)
		}
	}
	if _, ok := h["latency_ms"].(float64); !ok {
		t.Errorf("access log lacks latency_ms: %v", h)
	}
	for l := range strings.Lines(logs) {
		if strings.Count(l, `"request_id"`) > 1 {
			t.Errorf("request_id logged twice: %s", l)
		}
	}
	if found["/healthz"]["level"] != "DEBUG" {
		t.Errorf("/healthz access log = %v, want DEBUG level", found["/healthz"])
	}
	if m := found["/boom/1"]; m["route"] != "/boom/:n" || m["status"] != float64(500) {
		t.Errorf("panicking request's access log = %v", m)
	}
	if m := found["/missing/1"]; m["route"] != "unmatched" || m["status"] != float64(404) {
		t.Errorf("unmatched access log = %v", m)
	}
}

func TestMetrics(t *testing.T) {
	ts := start(t, httpserver.Config{}, httpserver.Deps{}, func(e *echo.Echo) {
		e.GET("/hotels/:id", func(c echo.Context) error { return c.String(200, "hotel") })
	})
	get(t, ts.URL+"/hotels/1", nil)
	get(t, ts.URL+"/hotels/2", nil)
	get(t, ts.URL+"/no/such/thing", nil)
	get(t, ts.URL+"/another/unknown", nil)

	r := get(t, ts.URL+"/metrics", nil)
	if r.Status != 200 {
		t.Fatalf("/metrics: %d", r.Status)
	}
	body := string(r.Body)
	for _, want := range []string{
		`bellhop_http_requests_total{method="GET",route="/hotels/:id",status="200"} 2`,
		`bellhop_http_requests_total{method="GET",route="unmatched",status="404"} 2`,
		`bellhop_http_request_duration_seconds_count{method="GET",route="/hotels/:id"} 2`,
		`bellhop_http_requests_in_flight 1`, // the /metrics request itself
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "/no/such/thing") {
		t.Error("/metrics has a label for an unknown path")
	}
}

func TestMetrics_Token(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	ts := start(t, httpserver.Config{MetricsToken: token}, httpserver.Deps{}, func(e *echo.Echo) {})
	if r := get(t, ts.URL+"/metrics", nil); r.Status != 404 {
		t.Fatalf("/metrics without the token: %d, want 404", r.Status)
	}
	if r := get(t, ts.URL+"/metrics", map[string]string{"Authorization": "Bearer " + token}); r.Status != 200 || !strings.Contains(string(r.Body), "bellhop_http_requests_total") {
		t.Fatalf("/metrics with the token: %d", r.Status)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	var dbErr error
	var mu sync.Mutex
	ts := start(t, httpserver.Config{}, httpserver.Deps{Ready: []httpserver.ReadyCheck{
		{Name: "db", Check: func(ctx context.Context) error { mu.Lock(); defer mu.Unlock(); return dbErr }},
		{Name: "nats", Check: func(ctx context.Context) error { return nil }},
	}}, nil)

	r := get(t, ts.URL+"/healthz", nil)
	if r.Status != 200 || string(r.Body) != `{"status":"ok"}` || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("/healthz: %d %q %q", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	r = get(t, ts.URL+"/readyz", nil)
	if r.Status != 200 || strings.TrimSpace(string(r.Body)) != `{"status":"ready","checks":{"db":"ok","nats":"ok"}}` {
		t.Errorf("/readyz: %d %s", r.Status, r.Body)
	}

	mu.Lock()
	dbErr = errors.New("dial tcp 10.1.2.3:5432: connection refused")
	mu.Unlock()
	r = get(t, ts.URL+"/readyz", nil)
	if r.Status != 503 || r.Header.Get("Content-Type") != apperr.ProblemMediaType {
		t.Fatalf("/readyz failing: %d %q %s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	var body struct {
		apperr.Problem
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Code != apperr.CodeUnavailable || body.Reason != "http.not_ready" || body.Detail != "not ready: db" ||
		len(body.Errors) != 1 || body.Errors[0] != (apperr.FieldError{Field: "db", Reason: "check_failed", Detail: "failed"}) ||
		body.Checks["db"] != "failed" || body.Checks["nats"] != "ok" {
		t.Errorf("/readyz failing body: %s", r.Body)
	}
	if strings.Contains(string(r.Body), "10.1.2.3") {
		t.Errorf("/readyz leaks the check's error: %s", r.Body)
	}
	if !strings.Contains(ts.Logs.String(), "10.1.2.3") {
		t.Error("the failing check's error is not logged")
	}
}

func TestSecurityHeadersAndCSP(t *testing.T) {
	ts := start(t, httpserver.Config{}, httpserver.Deps{}, func(e *echo.Echo) {
		e.GET("/api/v1/x", func(c echo.Context) error { return c.JSON(200, map[string]int{"x": 1}) })
		e.GET("/app/index.html", func(c echo.Context) error { return c.HTML(200, "<p>hi</p>") })
		e.Group("/docs", httpserver.ContentSecurityPolicy("default-src 'self'")).
			GET("/index.html", func(c echo.Context) error { return c.HTML(200, "<p>docs</p>") })
	})
	ts.Srv.SkipCSP("/app")

	for _, path := range []string{"/api/v1/x", "/nope", "/app/index.html", "/docs/index.html"} {
		r := get(t, ts.URL+path, nil)
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
			if got := r.Header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", path, k, got, v)
			}
		}
		want := httpserver.DefaultCSP
		switch path {
		case "/app/index.html":
			want = ""
		case "/docs/index.html":
			want = "default-src 'self'"
		}
		if got := r.Header.Get("Content-Security-Policy"); got != want {
			t.Errorf("%s: CSP = %q, want %q", path, got, want)
		}
	}
}

func TestCORS(t *testing.T) {
	routes := func(e *echo.Echo) {
		e.GET("/x", func(c echo.Context) error { return c.NoContent(204) })
	}
	origin := map[string]string{"Origin": "https://app.example"}
	none := start(t, httpserver.Config{}, httpserver.Deps{}, routes)
	if r := get(t, none.URL+"/x", origin); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS header without configured origins: %q", r.Header.Get("Access-Control-Allow-Origin"))
	}
	ts := start(t, httpserver.Config{CORSAllowedOrigins: []string{"https://app.example"}}, httpserver.Deps{Authenticate: func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { return authn.ErrUnauthenticated } // preflights must not need a token
	}}, routes)
	r := do(t, http.MethodOptions, ts.URL+"/x", nil, map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "GET"})
	if r.Status != 204 || r.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("preflight: %d %v", r.Status, r.Header)
	}
	r = get(t, ts.URL+"/x", map[string]string{"Origin": "https://evil.example"})
	if r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("disallowed origin got %q", r.Header.Get("Access-Control-Allow-Origin"))
	}
	problem(t, r, http.StatusUnauthorized)
}

func TestGracefulShutdown(t *testing.T) {
	started := make(chan struct{})
	ts := start(t, httpserver.Config{}, httpserver.Deps{}, func(e *echo.Echo) {
		e.GET("/slow", func(c echo.Context) error {
			close(started)
			time.Sleep(300 * time.Millisecond)
			return c.String(200, "done")
		})
	})
	type result struct {
		r   response
		err error
	}
	resc := make(chan result, 1)
	go func() {
		res, err := http.Get(ts.URL + "/slow")
		if err != nil {
			resc <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		resc <- result{response{Status: res.StatusCode, Body: b}, err}
	}()
	<-started
	begun := time.Now()
	if err := ts.stop(); err != nil {
		t.Fatalf("Serve = %v, want nil", err)
	}
	if time.Since(begun) < 200*time.Millisecond {
		t.Errorf("Serve returned after %s, before the in-flight request finished", time.Since(begun))
	}
	res := <-resc
	if res.err != nil || res.r.Status != 200 || string(res.r.Body) != "done" {
		t.Errorf("in-flight request: %+v", res)
	}
	if _, err := http.Get(ts.URL + "/healthz"); err == nil {
		t.Error("the server still accepts connections after shutdown")
	}
}

func TestShutdownTimeoutForcesClose(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	srv := httpserver.New(httpserver.Config{ShutdownTimeout: 100 * time.Millisecond}, httpserver.Deps{})
	srv.Echo().GET("/stuck", func(c echo.Context) error {
		close(started)
		<-release
		return nil
	})
	ln, err := httpserver.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	go func() {
		if res, err := http.Get("http://" + ln.Addr().String() + "/stuck"); err == nil {
			res.Body.Close()
		}
	}()
	<-started
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Serve = %v, want a drain timeout error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not give up after ShutdownTimeout")
	}
}

// JSON answers go out in one piece with a Content-Length, and encode like encoding/json.
func TestJSONAnswers(t *testing.T) {
	srv := httpserver.New(httpserver.Config{}, httpserver.Deps{})
	type answer struct {
		Name   string         `json:"name"`
		Skip   string         `json:"-"`
		Empty  []string       `json:"empty,omitempty"`
		Nested map[string]int `json:"nested"`
		HTML   string         `json:"html"`
	}
	srv.Echo().GET("/x", func(c echo.Context) error {
		return c.JSON(200, answer{Name: "Zoë", Skip: "secret", Nested: map[string]int{"b": 2, "a": 1}, HTML: "<b>&"})
	})
	rec := httptest.NewRecorder()
	srv.Echo().ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	want := `{"name":"Zoë","nested":{"a":1,"b":2},"html":"\u003cb\u003e\u0026"}` + "\n"
	if rec.Body.String() != want {
		t.Fatalf("body = %q, want %q", rec.Body.String(), want)
	}
	if rec.Header().Get("Content-Length") != strconv.Itoa(len(want)) || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("headers = %v", rec.Header())
	}
}
