package main_test

import (
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/civil"
)

func stay() (string, string) {
	in := civil.Today(time.UTC).AddDays(14)
	return in.String(), in.AddDays(3).String()
}

// The whole app on a seeded catalog, through real HTTP.
func TestServe_SearchDemoCatalog(t *testing.T) {
	auth := newTestAuth(t)
	p := start(t, auth.env(), "--data-dir", seededDataDir(t))
	in, out := stay()

	var cities search.CityList
	if res := call(t, "GET", p.URL+"/api/v1/cities?prefix=li", "", nil, &cities); res.StatusCode != 200 || len(cities.Cities) == 0 || cities.Cities[0].ID != "lisbon-pt" {
		t.Fatalf("cities: %d %+v", res.StatusCode, cities)
	}

	var page search.SearchResult
	res := call(t, "GET", p.URL+"/api/v1/hotels?"+query("city", "Lisbon", "check_in", in, "check_out", out, "guests", "2"), "", nil, &page)
	if res.StatusCode != 200 || len(page.Hotels) != search.DefaultLimit || page.NextCursor == "" {
		t.Fatalf("search: %d, %d hotels, cursor %q", res.StatusCode, len(page.Hotels), page.NextCursor)
	}
	if res.Header.Get("X-Request-ID") == "" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("headers: %v", res.Header)
	}
	for i := 1; i < len(page.Hotels); i++ {
		if page.Hotels[i].FromPrice.Amount < page.Hotels[i-1].FromPrice.Amount {
			t.Fatalf("not sorted by price at %d", i)
		}
	}

	var hotel search.Hotel
	if res := call(t, "GET", p.URL+"/api/v1/hotels/"+page.Hotels[0].ID, "", nil, &hotel); res.StatusCode != 200 || len(hotel.RoomTypes) == 0 {
		t.Fatalf("hotel: %d %+v", res.StatusCode, hotel)
	}

	// A staff change shows in the very next search (no response caching).
	staff := auth.iss.Token(t, authn.Principal{Subject: "usr_staff", Roles: []string{"staff"}, Scopes: []string{search.ScopeCatalogWrite}}, 0)
	cheapest := page.Hotels[0]
	for _, rt := range cheapest.RoomTypes {
		body := strings.NewReader(`{"rooms_total": 0}`)
		if res := call(t, "PATCH", p.URL+"/api/v1/room-types/"+rt.ID, staff, body, nil); res.StatusCode != 200 {
			t.Fatalf("patch room type: %d", res.StatusCode)
		}
	}
	var again search.SearchResult
	call(t, "GET", p.URL+"/api/v1/hotels?"+query("city", "Lisbon", "check_in", in, "check_out", out, "guests", "2"), "", nil, &again)
	for _, h := range again.Hotels {
		if h.ID == cheapest.ID {
			t.Fatalf("hotel %s without rooms still offered", h.ID)
		}
	}

	// Client mistakes are 4xx problem+json naming what is wrong.
	for _, tc := range []struct {
		name, method, path, token, body string
		status                          int
		reason                          string
	}{
		{"dates", "GET", "/api/v1/hotels?" + query("city", "Lisbon", "check_in", out, "check_out", in), "", "", 422, "search.invalid_stay"},
		{"bad date", "GET", "/api/v1/hotels?" + query("city", "Lisbon", "check_in", "2026-02-30", "check_out", out), "", "", 400, "http.unreadable_query"},
		{"unknown param", "GET", "/api/v1/hotels?" + query("town", "Lisbon"), "", "", 400, "http.unreadable_query"},
		{"unknown hotel", "GET", "/api/v1/hotels/htl_nope", "", "", 404, "search.hotel_not_found"},
		{"no token", "POST", "/api/v1/hotels", "", `{}`, 401, "authn.unauthenticated"},
		{"bad token", "POST", "/api/v1/hotels", "not-a-jwt", `{}`, 401, "authn.invalid_token"},
		{"no scope", "POST", "/api/v1/hotels", auth.iss.Token(t, authn.Principal{Subject: "usr_guest", Roles: []string{"guest"}}, 0), `{}`, 403, "authn.forbidden"},
		{"malformed json", "POST", "/api/v1/hotels", staff, `{"name":`, 400, "http.unreadable_body"},
		{"invalid hotel", "POST", "/api/v1/hotels", staff, `{"name":"x"}`, 422, "search.invalid_request"},
		{"no route", "GET", "/api/v1/nothing", "", "", 404, "http.route_not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body *strings.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			var prob apperr.Problem
			var res *http.Response
			if body != nil {
				res = call(t, tc.method, p.URL+tc.path, tc.token, body, &prob)
			} else {
				res = call(t, tc.method, p.URL+tc.path, tc.token, nil, &prob)
			}
			if res.StatusCode != tc.status || prob.Reason != tc.reason || prob.Status != tc.status || prob.RequestID == "" {
				t.Fatalf("got %d %+v, want %d %s", res.StatusCode, prob, tc.status, tc.reason)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, apperr.ProblemMediaType) {
				t.Fatalf("content type %q", ct)
			}
		})
	}

	// Operations endpoints.
	if res := call(t, "GET", p.URL+"/healthz", "", nil, nil); res.StatusCode != 200 {
		t.Fatalf("healthz %d", res.StatusCode)
	}
	if res := call(t, "GET", p.URL+"/readyz", "", nil, nil); res.StatusCode != 200 {
		t.Fatalf("readyz %d", res.StatusCode)
	}
	metrics := fetchText(t, p.URL+"/metrics")
	for _, want := range []string{
		`bellhop_http_requests_total{method="GET",route="/api/v1/hotels",status="200"}`,
		`bellhop_edge_calls_total{callee="search",caller="api",code="ok",location="local",method="SearchHotels"}`,
		`bellhop_edge_calls_total{callee="search",caller="api",code="not_found",location="local",method="GetHotel"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func fetchText(t *testing.T, u string) string {
	t.Helper()
	b, _ := get(t, u)
	return string(b)
}

// A bad configuration stops the process with one line naming the key.
func TestServe_BadConfig(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"--addr", "nowhere"}, "", `config: server.addr: "nowhere" is not HOST:PORT`},
		{[]string{"--only", "billing"}, "", `only: unknown module "billing"`},
		{nil, "BELLHOP_LOG_FORMAT=xml", `log.format: "xml" is not one of json, text`},
	} {
		cmd := exec.Command(binary, append([]string{"serve", "--data-dir", t.TempDir()}, tc.args...)...)
		if tc.env != "" {
			cmd.Env = append(cmd.Environ(), tc.env)
		}
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("%v: want a failure", tc.args)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
			t.Fatalf("%v: output %q, want one line containing %q", tc.args, out, tc.want)
		}
	}
}

func TestCLI(t *testing.T) {
	out, err := exec.Command(binary, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "bellhop ") {
		t.Fatalf("version: %s %v", out, err)
	}
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"seed", "--help"}, {"migrate", "--help"}} {
		out, err := exec.Command(binary, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Usage:") {
			t.Fatalf("%v: %s %v", args, out, err)
		}
	}
	dir := t.TempDir()
	out, err = exec.Command(binary, "migrate", "--data-dir", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "search: migrated") {
		t.Fatalf("migrate: %s %v", out, err)
	}
	out, err = exec.Command(binary, "seed", "--data-dir", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "2400 hotels") {
		t.Fatalf("seed: %s %v", out, err)
	}
	out, err = exec.Command(binary, "seed", "--data-dir", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "already present") {
		t.Fatalf("second seed: %s %v", out, err)
	}
}

// A process whose NATS server stopped first (a split deployment stopped in
// the wrong order) still stops promptly: its consumers do not wait out
// their shutdown timeout (5 s each) for a drain no server can confirm, nor
// the event connection for a flush.
func TestServe_StopsPromptlyAfterNATSIsGone(t *testing.T) {
	t.Parallel()
	natsURL, stopNATS := startNATSServer(t)
	p := start(t, []string{"BELLHOP_EVENTS_NATS_URL=" + natsURL}, "--data-dir", t.TempDir())
	if res := call(t, "GET", p.URL+"/readyz", "", nil, nil); res.StatusCode != 200 {
		t.Fatalf("/readyz: %d", res.StatusCode)
	}
	// Consumers report their subscriptions with their lag, every 5 s: by
	// then every one of them is consuming.
	pollUntil(t, "the consumers' lag in the metrics", 15*time.Second, func() (bool, string) {
		return strings.Contains(fetchText(t, p.URL+"/metrics"), `bellhop_events_consumer_pending{module="reporting"`), ""
	})
	stopNATS()
	pollUntil(t, "bellhop to notice NATS is gone", 10*time.Second, func() (bool, string) {
		return strings.Contains(p.logs.String(), "nats disconnected"), ""
	})
	began := time.Now()
	p.stop(t) // SIGTERM, as goreman or systemd would
	// The consumers' shutdown timeout is 5 s: stopping took less than one.
	if took := time.Since(began); took > 4*time.Second {
		t.Errorf("bellhop took %s to stop with NATS gone (its consumers waited for a drain)\n%s", took.Round(time.Millisecond), p.logs)
	}
}

// In the whole app (API, dashboard and operational routes on one router), a
// method a route does not take is a 405 naming the ones it does, an unknown
// path a 404, a body that is not JSON a 415: all problem+json.
func TestServe_WrongMethodPathOrMediaType(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "--data-dir", t.TempDir())
	for _, c := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"DELETE", "/api/v1/bookings", 405, "GET, POST"},
		{"PUT", "/api/v1/hotels", 405, "GET, POST"},
		{"POST", "/search", 405, "GET"},
		{"GET", "/api/v1/nothing-here", 404, ""},
		{"GET", "/nothing-here", 404, ""},
	} {
		res := call(t, c.method, p.URL+c.path, "", nil, nil)
		if res.StatusCode != c.status || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s: %d %s, want %d problem+json", c.method, c.path, res.StatusCode, res.Header.Get("Content-Type"), c.status)
		}
		if c.allow != "" && !strings.Contains(res.Header.Get("Allow"), c.allow) {
			t.Errorf("%s %s: Allow %q, want it to name %s", c.method, c.path, res.Header.Get("Allow"), c.allow)
		}
	}
	req, err := http.NewRequest("POST", p.URL+"/api/v1/users", strings.NewReader("email=a@b.example"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := httpc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusUnsupportedMediaType || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("a form posted to a JSON route: %d %s, want 415 problem+json", res.StatusCode, res.Header.Get("Content-Type"))
	}
}
