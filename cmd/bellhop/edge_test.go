package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bellhop/bellhop/cmd/internal/topology"
	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/civil"
	"go.yaml.in/yaml/v4"
)

// nginx at the edge of the split deployment, as README's "nginx at the
// edge" runs it: its three blocks ("```sh edge split", "edge nginx" and
// "edge try", one per terminal) set everything up and try it, and the
// subtests go on through the same nginx. Debian's nginx with the Lua module
// runs configs/nginx/nginx.conf (only the addresses in upstreams.conf and
// listen.conf changed to this test's free ports) in front of
// configs/split.yaml's topology: a gateway (the dashboard, every module
// remote) and one process per module, all on one NATS server, each trusting
// X-Forwarded-For from loopback's 127.0.0.1 only (nginx's and the gateway's
// address).
//
// README's curls speak from 127.0.0.1, as a user's would; the subtests'
// clients from other loopback addresses (127.0.0.2 and up), as clients
// elsewhere would, so each has an address of its own at nginx and in the
// processes' logs. The test checks what README's last block prints, that
// each path prefix reaches the process it names, a booking made through
// nginx alone, the 429s on sign-in and payments, the Lua rule, a 503 for a
// stopped process, and that the processes see the client's address through
// nginx and ignore a forged X-Forwarded-For from anyone else.
func TestEdge_NginxInFrontOfTheSplitDeployment(t *testing.T) {
	nginx := ensureNginx(t)
	readme := edgeREADMEBlocks(t)
	e := startEdgeTopology(t, nginx, readme)

	t.Run("README", func(t *testing.T) { e.tryAsREADME(t, readme.try) })

	t.Run("Routing", func(t *testing.T) {
		c := e.client(t, 2)
		routes := []struct {
			method, path string
			process      string
		}{
			{"GET", "/", "gateway"},
			{"GET", "/signin", "gateway"},
			{"GET", "/api/docs", "gateway"},
			{"GET", "/api/v1/admin/events/recent", "gateway"},
			{"GET", "/.well-known/jwks.json", "auth"},
			{"GET", "/api/v1/users/me", "auth"},
			{"POST", "/api/v1/sessions", "auth"},
			{"POST", "/oauth/token", "auth"},
			{"GET", "/api/v1/cities?prefix=po", "search"},
			{"GET", "/api/v1/hotels/htl_missing", "search"},
			{"GET", "/api/v1/bookings", "bookings"},
			{"GET", "/api/v1/bookings/bkg_missing", "bookings"},
			{"GET", "/api/v1/payments/pay_missing", "payments"},
			{"POST", "/api/v1/payments", "payments"},
			{"GET", "/api/v1/admin/payments/sandbox/faults", "payments"},
			{"GET", "/api/v1/bookings/bkg_missing/documents", "reporting"},
			{"GET", "/api/v1/documents/doc_missing", "reporting"},
			{"GET", "/api/v1/reports/occupancy", "reporting"},
		}
		for i, r := range routes {
			id := fmt.Sprintf("edge-route-%02d", i)
			body := ""
			if r.method == "POST" {
				body = "{}"
			}
			res := c.send(t, r.method, r.path, map[string]string{"X-Request-ID": id, "Content-Type": "application/json"}, body)
			if res.status == http.StatusNotFound && strings.Contains(string(res.body), "edge.not_found") {
				t.Errorf("%s %s: nginx has no route: %s", r.method, r.path, res.body)
				continue
			}
			e.waitLogged(t, r.process, id, r.method+" "+r.path)
			// A module's route goes straight to its process, not through
			// the gateway (which calls the modules for its own pages).
			if r.process != "gateway" {
				if _, ok := e.logged("gateway", id, ""); ok {
					t.Errorf("%s %s passed through the gateway on its way to %s", r.method, r.path, r.process)
				}
			}
		}
		// A search answered through the edge is search's own answer.
		in, out := stay()
		path := "/api/v1/hotels?" + query("city", "porto", "check_in", in, "check_out", out, "guests", "2", "limit", "3")
		var viaEdge, direct search.SearchResult
		c.sendJSON(t, "GET", path, "", &viaEdge)
		call(t, "GET", e.procs["search"].URL+path, "", nil, &direct)
		if len(viaEdge.Hotels) != 3 || fmt.Sprint(viaEdge.Hotels) != fmt.Sprint(direct.Hotels) {
			t.Errorf("search through the edge:\n %+v\nstraight at search:\n %+v", viaEdge.Hotels, direct.Hotels)
		}

		// Service-only routes and the metrics stay inside.
		for _, p := range []string{"/internal/v1/search/quote", "/internal/v1/auth/authorizations/check", "/metrics"} {
			id := "edge-inside-" + strings.NewReplacer("/", "-").Replace(strings.Trim(p, "/"))
			res := c.send(t, "GET", p, map[string]string{"X-Request-ID": id}, "")
			wantEdgeProblem(t, "GET "+p, res, http.StatusNotFound, "edge.not_found")
			e.wantNotLogged(t, id, "GET "+p)
		}
	})

	t.Run("BookingThroughTheEdge", func(t *testing.T) {
		// A guest registers, holds, pays and gets a receipt through nginx
		// alone: auth, bookings, payments and reporting each answer their
		// part, and the payment event crosses NATS to bookings and reporting.
		// The guest has an address of its own: README's block spent
		// 127.0.0.1's sign-in burst at nginx, as README warns.
		c := e.client(t, 3)
		const email, password = "edge-guest@guest.example", "a long enough passphrase"
		res := c.send(t, "POST", "/api/v1/users", map[string]string{"Content-Type": "application/json"}, registrationBody(t, email, "Guest", password))
		wantAccepted(t, "register "+email+" through the edge", &http.Response{StatusCode: res.status, Header: res.header}, res.body, email)
		var tok auth.Tokens
		c.sendJSON(t, "POST", "/api/v1/sessions", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password), &tok)
		if tok.AccessToken == "" || tok.RefreshToken == "" {
			t.Fatalf("sign in %s through the edge: %+v", email, tok)
		}
		in, out := stay()
		var page search.SearchResult
		c.sendJSON(t, "GET", "/api/v1/hotels?"+query("city", "Lisbon", "check_in", in, "check_out", out, "limit", "1"), "", &page)
		if len(page.Hotels) == 0 || len(page.Hotels[0].RoomTypes) == 0 {
			t.Fatalf("no hotel in Lisbon through the edge: %+v", page)
		}
		as := func(extra map[string]string) map[string]string {
			h := map[string]string{"Authorization": "Bearer " + tok.AccessToken, "Content-Type": "application/json"}
			maps.Copy(h, extra)
			return h
		}
		checkIn := civil.Today(time.UTC).AddDays(40)
		var b bookings.Booking
		res = c.send(t, "POST", "/api/v1/bookings", as(map[string]string{"Idempotency-Key": "edge-hold-1"}),
			fmt.Sprintf(`{"room_type_id":%q,"check_in":%q,"check_out":%q,"guests":1}`, page.Hotels[0].RoomTypes[0].ID, checkIn, checkIn.AddDays(2)))
		if res.status != http.StatusCreated || json.Unmarshal(res.body, &b) != nil {
			t.Fatalf("hold through the edge: %d %s", res.status, res.body)
		}
		var pay payments.Payment
		res = c.send(t, "POST", "/api/v1/payments", as(map[string]string{"Idempotency-Key": "edge-pay-1"}),
			fmt.Sprintf(`{"booking_id":%q,"payment_method":"pm_card_visa"}`, b.ID))
		if res.status != http.StatusCreated || json.Unmarshal(res.body, &pay) != nil || pay.Status != "succeeded" {
			t.Fatalf("pay through the edge: %d %s", res.status, res.body)
		}
		pollUntil(t, "the booking to be confirmed and its receipt issued", 10*time.Second, func() (bool, string) {
			var got bookings.Booking
			var docs struct {
				Documents []struct{ Kind string } `json:"documents"`
			}
			res := c.send(t, "GET", "/api/v1/bookings/"+b.ID, as(nil), "")
			_ = json.Unmarshal(res.body, &got)
			res = c.send(t, "GET", "/api/v1/bookings/"+b.ID+"/documents", as(nil), "")
			_ = json.Unmarshal(res.body, &docs)
			return got.Status == "confirmed" && len(docs.Documents) == 1 && docs.Documents[0].Kind == "receipt",
				fmt.Sprintf("booking %s, documents %+v", got.Status, docs.Documents)
		})
	})

	t.Run("RateLimits", func(t *testing.T) {
		// Sign-in: 20 a minute per address with a burst of 10 (POSTs only);
		// payments: 30 a minute with a burst of 10. Fourteen POSTs at once:
		// the first eleven pass nginx (one plus the burst), then 429.
		for i, r := range []struct{ path, body, contentType string }{
			{"/api/v1/sessions", `{"email":"nobody@bellhop.test","password":"a wrong guess!!"}`, "application/json"},
			{"/oauth/token", "grant_type=client_credentials&client_id=nobody&client_secret=wrong", "application/x-www-form-urlencoded"},
			{"/oauth/authorize", "email=nobody%40bellhop.test&password=wrong", "application/x-www-form-urlencoded"},
			{"/signin", "email=nobody%40bellhop.test&password=wrong", "application/x-www-form-urlencoded"},
			{"/api/v1/payments", `{"booking_id":"bkg_x","payment_method":"pm_card_visa"}`, "application/json"},
			{"/bookings/bkg_x/pay", "payment_method=pm_card_visa", "application/x-www-form-urlencoded"},
		} {
			c := e.client(t, 10+i)
			firstEdge429 := -1
			for n := range 14 {
				res := c.send(t, "POST", r.path, map[string]string{"Content-Type": r.contentType, "Idempotency-Key": fmt.Sprintf("edge-%d-%d", i, n)}, r.body)
				if res.status == http.StatusTooManyRequests && strings.Contains(string(res.body), `"reason":"edge.rate_limited"`) {
					if firstEdge429 < 0 {
						firstEdge429 = n
						wantEdgeProblem(t, "POST "+r.path, res, http.StatusTooManyRequests, "edge.rate_limited")
						if res.header.Get("Retry-After") != "3" {
							t.Errorf("POST %s: edge 429 with Retry-After %q, want 3", r.path, res.header.Get("Retry-After"))
						}
					}
				} else if firstEdge429 >= 0 {
					t.Errorf("POST %s: request %d passed nginx after request %d was limited: %d %s", r.path, n+1, firstEdge429+1, res.status, res.body)
				}
			}
			// One plus the burst pass; a slow machine may refill a token
			// (one per 2-3 s) before the last of them, never fewer pass.
			if firstEdge429 < 0 {
				t.Errorf("POST %s: fourteen at once, none limited by nginx", r.path)
			} else if firstEdge429 < 11 {
				t.Errorf("POST %s: first edge 429 at request %d, want none before the 12th (one plus the burst of 10)", r.path, firstEdge429+1)
			}
		}
		// Reading is not limited: the sign-in page, twenty times.
		c := e.client(t, 16)
		for n := range 20 {
			if res := c.send(t, "GET", "/signin", nil, ""); res.status != http.StatusOK {
				t.Fatalf("GET /signin %d: %d", n+1, res.status)
			}
		}
	})

	t.Run("LuaRule", func(t *testing.T) {
		c := e.client(t, 30)
		for i, r := range []struct {
			method, path string
			header       map[string]string
			status       int
			reason       string
		}{
			{"GET", "/api/v1/hotels?city=porto%27%20OR%20%271%27%3D%271", nil, 403, "edge.malicious_query"},
			{"GET", "/api/v1/cities?prefix=x%27%20UNION%20SELECT%20password_hash%20FROM%20users--", nil, 403, "edge.malicious_query"},
			{"GET", "/api/v1/hotels?city=porto%3B%20DROP%20TABLE%20hotels", nil, 403, "edge.malicious_query"},
			{"GET", "/api/v1/cities?prefix=1%27%20AND%20SLEEP(5)", nil, 403, "edge.malicious_query"},
			{"GET", "/api/v1/documents/doc_1?file=..%2F..%2Fetc%2Fpasswd", nil, 403, "edge.malicious_query"},
			// Dot-dot segments, however written: nginx would resolve these to
			// another module's route; the rule refuses them first.
			{"GET", "/api/v1/hotels/..%2fusers", nil, 403, "edge.path_traversal"},
			{"GET", "/api/v1/hotels/%2e%2e/room-types", nil, 403, "edge.path_traversal"},
			{"GET", "/api/v1/hotels/../users/me", nil, 403, "edge.path_traversal"},
			{"GET", "/static/..%5c..%5cauth.db", nil, 403, "edge.path_traversal"},
			// Above the root: nginx itself refuses it, in problem+json too.
			{"GET", "/static/../../auth.db", nil, 400, "edge.unreadable"},
			{"GET", "/static/..%2f..%2fetc%2fpasswd", nil, 400, "edge.unreadable"},
			{"GET", "/static/app.css%00.js", nil, 400, "edge.unreadable"},
			{"PROPFIND", "/", nil, 405, "edge.method_not_allowed"},
			{"CONNECT", "/", nil, 405, "edge.method_not_allowed"},
			{"TRACE", "/", nil, 405, "edge.method_not_allowed"},
			{"GET", "/", map[string]string{"X-Filler": strings.Repeat("a", 5000)}, 400, "edge.header_too_large"},
			{"GET", "/", manyHeaders(70), 400, "edge.headers_too_large"},
			{"GET", "/", map[string]string{"User-Agent": "sqlmap/1.8#stable (https://sqlmap.org)"}, 403, "edge.scanner"},
		} {
			id := fmt.Sprintf("edge-lua-%02d", i)
			h := map[string]string{"X-Request-ID": id}
			for k, v := range r.header {
				h[k] = v
			}
			res := c.send(t, r.method, r.path, h, "")
			wantEdgeProblem(t, r.method+" "+r.path, res, r.status, r.reason)
			if r.status == 405 && !strings.Contains(res.header.Get("Allow"), "PATCH") {
				t.Errorf("%s %s: 405 with Allow %q", r.method, r.path, res.header.Get("Allow"))
			}
			e.wantNotLogged(t, id, r.method+" "+r.path)
		}
		// The real API is not caught by the rule: a search with every
		// parameter, a city with "and" in its name, a hotel by id.
		in, out := stay()
		for _, p := range []string{
			"/api/v1/hotels?" + query("city", "porto", "check_in", in, "check_out", out, "guests", "2", "sort", "rating", "max_price", "20000", "limit", "5"),
			"/api/v1/cities?" + query("prefix", "Stratford and Avon"),
			"/api/v1/cities?" + query("prefix", "L'Aquila"),
			"/static/app.css",
		} {
			if res := c.send(t, "GET", p, nil, ""); res.status != http.StatusOK {
				t.Errorf("GET %s through the edge: %d %s", p, res.status, res.body)
			}
		}
	})

	t.Run("XForwardedForOnlyFromNginx", func(t *testing.T) {
		// Auth's own per-IP sign-in limit (a burst of 3 here) counts the
		// client behind nginx: A's fourth sign-in is refused by auth...
		a, b := e.client(t, 21), e.client(t, 22)
		signIn := `{"email":"nobody@bellhop.test","password":"a wrong guess!!"}`
		jsonBody := map[string]string{"Content-Type": "application/json"}
		for n := range 3 {
			if res := a.send(t, "POST", "/api/v1/sessions", jsonBody, signIn); res.status != http.StatusUnauthorized {
				t.Fatalf("A's sign-in %d through nginx: %d %s, want 401", n+1, res.status, res.body)
			}
		}
		wantAuthSignInLimited(t, "A's fourth sign-in through nginx", a.send(t, "POST", "/api/v1/sessions", jsonBody, signIn))
		// ...while B, behind the same nginx, is not limited by A's attempts.
		if res := b.send(t, "POST", "/api/v1/sessions", jsonBody, signIn); res.status != http.StatusUnauthorized {
			t.Fatalf("B's sign-in through nginx: %d %s, want 401", res.status, res.body)
		}
		// nginx replaces what a client writes in X-Forwarded-For: C naming A
		// is still C, and auth logs C's address.
		c := e.client(t, 23)
		res := c.send(t, "POST", "/api/v1/sessions", map[string]string{"Content-Type": "application/json", "X-Forwarded-For": a.ip, "X-Request-ID": "edge-xff-forged-via-nginx"}, signIn)
		if res.status != http.StatusUnauthorized {
			t.Fatalf("C naming A in X-Forwarded-For through nginx: %d %s, want 401", res.status, res.body)
		}
		if ip := e.loggedIP(t, "auth", "edge-xff-forged-via-nginx", "/api/v1/sessions"); ip != c.ip {
			t.Errorf("auth logged %s for C's sign-in through nginx, want %s", ip, c.ip)
		}

		// Straight at auth, X-Forwarded-For is nobody's word: D naming A is
		// D, and A naming a fresh address is still A (limited).
		d := e.clientTo(t, 24, e.procs["auth"].Addr)
		res = d.send(t, "POST", "/api/v1/sessions", map[string]string{"Content-Type": "application/json", "X-Forwarded-For": a.ip, "X-Request-ID": "edge-xff-forged-direct"}, signIn)
		if res.status != http.StatusUnauthorized {
			t.Fatalf("D naming A, straight at auth: %d %s, want 401", res.status, res.body)
		}
		if ip := e.loggedIP(t, "auth", "edge-xff-forged-direct", "/api/v1/sessions"); ip != d.ip {
			t.Errorf("auth logged %s for D's direct sign-in, want %s", ip, d.ip)
		}
		aDirect := e.clientTo(t, 21, e.procs["auth"].Addr)
		wantAuthSignInLimited(t, "A naming 203.0.113.60, straight at auth",
			aDirect.send(t, "POST", "/api/v1/sessions", map[string]string{"Content-Type": "application/json", "X-Forwarded-For": "203.0.113.60"}, signIn))

		// The dashboard's sign-in goes nginx → gateway → auth: auth still
		// sees the browser (the gateway passes its address on and auth
		// trusts the gateway's).
		browser := e.client(t, 25)
		page := browser.send(t, "GET", "/signin", nil, "")
		m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(page.body)
		if page.status != http.StatusOK || m == nil {
			t.Fatalf("sign-in page: %d, csrf token found %v", page.status, m != nil)
		}
		form := url.Values{"csrf_token": {string(m[1])}, "email": {"nobody@bellhop.test"}, "password": {"a wrong guess!!"}}
		res = browser.send(t, "POST", "/signin", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Request-ID": "edge-web-sign-in"}, form.Encode())
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(string(res.body), "not correct") {
			t.Fatalf("dashboard sign-in with a wrong password: %d, want 422 with the form saying so", res.status)
		}
		if ip := e.loggedIP(t, "auth", "edge-web-sign-in", "/api/v1/sessions"); ip != browser.ip {
			t.Errorf("auth logged %s for the dashboard's sign-in, want the browser's %s", ip, browser.ip)
		}
	})

	t.Run("ProcessDown", func(t *testing.T) {
		// A process that stopped: nginx answers 503 problem+json for its
		// routes, and the others keep answering.
		e.procs["reporting"].stop(t)
		c := e.client(t, 40)
		res := c.send(t, "GET", "/api/v1/reports/occupancy", nil, "")
		wantEdgeProblem(t, "reporting down", res, http.StatusServiceUnavailable, "edge.unavailable")
		if res.header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
		if res := c.send(t, "GET", "/api/v1/cities?prefix=po", nil, ""); res.status != http.StatusOK {
			t.Errorf("search with reporting down: %d %s", res.status, res.body)
		}
	})
}

// configs/nginx/upstreams.conf names every process of configs/split.yaml at
// its port, and nothing else, so nginx.conf runs as written in front of
// `make split`; the edge's own port is not one of them.
func TestEdge_UpstreamsMatchSplitTopology(t *testing.T) {
	t.Parallel()
	topo, err := topology.Load(filepath.Join("..", "..", "configs", "split.yaml"), splitModules)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{topology.GatewayName: fmt.Sprintf("127.0.0.1:%d", topo.Gateway.Port)}
	for _, p := range topo.Processes {
		want[p.Name] = fmt.Sprintf("127.0.0.1:%d", p.Port)
	}
	conf, err := os.ReadFile(filepath.Join("..", "..", "configs", "nginx", "upstreams.conf"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range upstreamRE.FindAllStringSubmatch(string(conf), -1) {
		got[m[2]] = m[3]
	}
	if !maps.Equal(got, want) {
		t.Errorf("upstreams.conf: %v\nsplit.yaml:     %v", got, want)
	}
	listen, err := os.ReadFile(filepath.Join("..", "..", "configs", "nginx", "listen.conf"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^listen (127\.0\.0\.1:\d+);`).FindSubmatch(listen)
	if m == nil {
		t.Fatalf("listen.conf has no loopback listen line:\n%s", listen)
	}
	for name, addr := range want {
		if addr == string(m[1]) || string(m[1]) == fmt.Sprintf("127.0.0.1:%d", topo.NATS.Port) {
			t.Errorf("the edge listens on %s, which %s uses", m[1], name)
		}
	}
}

// upstreamRE matches an upstream block of upstreams.conf and its first server.
var upstreamRE = regexp.MustCompile(`(upstream bellhop_(\w+) \{\s*server )([^;\s]+);`)

// edge is the topology under test: bellhop processes by name and nginx.
type edge struct {
	procs map[string]*proc
	addr  string // nginx's HOST:PORT
	root  string // the directory laid out like the repository where README's blocks run
}

// edgeREADME is README's "nginx at the edge" walkthrough: one block per
// terminal, in the order a user runs them.
type edgeREADME struct {
	split, nginx, try readmeBlock
}

// edgeREADMEBlocks returns README's "```sh edge NAME" blocks: split, nginx
// and try, in that order and no others.
func edgeREADMEBlocks(t *testing.T) edgeREADME {
	t.Helper()
	blocks := taggedBlocks(t, filepath.Join("..", "..", "README.md"), "```sh edge")
	var names []string
	for _, b := range blocks {
		names = append(names, b.name)
	}
	if want := []string{"split", "nginx", "try"}; !slices.Equal(names, want) {
		t.Fatalf("README.md's ```sh edge blocks are %q, want %q (one per terminal)", names, want)
	}
	return edgeREADME{split: blocks[0], nginx: blocks[1], try: blocks[2]}
}

// readmeSplitEnv checks that README's "```sh edge split" block is
// `VAR=value ... make split` trusting nginx's address (127.0.0.1) and
// returns the environment it sets for make split.
func readmeSplitEnv(t *testing.T, b readmeBlock) []string {
	t.Helper()
	env, err := makeEnv(b.text, "split")
	if err != nil {
		t.Fatalf("README.md:%d, the ```sh edge split block: %v", b.line, err)
	}
	if !slices.Contains(env, "BELLHOP_SERVER_TRUSTED_PROXIES=127.0.0.1") {
		t.Fatalf("README.md:%d: the ```sh edge split block must trust nginx's address (BELLHOP_SERVER_TRUSTED_PROXIES=127.0.0.1); it sets %q", b.line, env)
	}
	return env
}

// ensureNginx returns the nginx binary, installing Debian's nginx and Lua
// module when missing (as make test-tools does); without root it skips.
func ensureNginx(t *testing.T) string {
	t.Helper()
	const luaModule = "/usr/lib/nginx/modules/ngx_http_lua_module.so"
	have := func() string {
		p, err := exec.LookPath("nginx")
		if err != nil {
			if _, err := os.Stat("/usr/sbin/nginx"); err != nil {
				return ""
			}
			p = "/usr/sbin/nginx"
		}
		if _, err := os.Stat(luaModule); err != nil {
			return ""
		}
		return p
	}
	if p := have(); p != "" {
		return p
	}
	if os.Geteuid() != 0 {
		t.Skip("nginx with the Lua module is missing and this is not root: run `apt-get install -y nginx libnginx-mod-http-lua` (or make test-tools as root)")
	}
	install := func(update bool) error {
		script := "apt-get install -y nginx libnginx-mod-http-lua"
		if update {
			script = "apt-get update && " + script
		}
		cmd := exec.Command("sh", "-c", script)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %v\n%s", script, err, out)
		}
		return nil
	}
	if err := install(false); err != nil {
		if err := install(true); err != nil {
			t.Fatal(err)
		}
	}
	if p := have(); p != "" {
		return p
	}
	t.Fatal("nginx or its Lua module still missing after apt-get install")
	return ""
}

// startEdgeTopology starts configs/split.yaml's topology (what `make split`
// runs: `bellhop split`) on free ports with the environment of README's
// first terminal, prepared and seeded by `bellhop split --prepare-only`,
// each process started here so the test reads its log and can stop it
// alone, and nginx in front of it by README's second terminal; everything
// stops when the test ends.
func startEdgeTopology(t *testing.T, nginxBin string, readme edgeREADME) *edge {
	t.Helper()
	topo, err := topology.Load(filepath.Join("..", "..", "configs", "split.yaml"), splitModules)
	if err != nil {
		t.Fatal(err)
	}
	natsURL := startNATS(t)
	port := func(addr string) int {
		_, p, _ := net.SplitHostPort(strings.TrimPrefix(addr, "nats://"))
		n, _ := strconv.Atoi(p)
		return n
	}
	topo.NATS.Port = port(natsURL)
	topo.Gateway.Port = port(freeLoopbackAddr(t))
	for i := range topo.Processes {
		topo.Processes[i].Port = port(freeLoopbackAddr(t))
	}
	b, err := yaml.Marshal(topo)
	if err != nil {
		t.Fatal(err)
	}
	topoFile, dir := filepath.Join(t.TempDir(), "split.yaml"), filepath.Join(t.TempDir(), "split")
	writeTestFile(t, topoFile, string(b))
	if out, err := exec.Command(binary, "split", "--topology", topoFile, "--dir", dir, "--prepare-only", "--nats-server", natsServer).CombinedOutput(); err != nil {
		t.Fatalf("bellhop split --prepare-only: %v\n%s", err, out)
	}
	launch, err := topo.Prepare(topology.LaunchOptions{Dir: dir, Bellhop: binary, NATSServer: natsServer, Modules: splitModules})
	if err != nil {
		t.Fatal(err)
	}

	// README's environment: every process believes X-Forwarded-For from
	// 127.0.0.1 only, nginx's address and the gateway's (for the dashboard's
	// sign-in). Auth's own sign-in limit is tighter than nginx's so the two
	// are seen apart (XForwardedForOnlyFromNginx); README's blocks make no
	// sign-in (their token requests have auth's token limit, untouched).
	env := append(readmeSplitEnv(t, readme.split),
		"BELLHOP_AUTH_SIGN_IN_RATE_LIMIT_RPS=0.01", "BELLHOP_AUTH_SIGN_IN_RATE_LIMIT_BURST=3")
	// auth first (the others fetch its keys), the gateway last.
	cmds := slices.Clone(launch.Commands[1:]) // NATS runs already
	slices.SortStableFunc(cmds, func(a, b topology.Command) int {
		rank := func(c topology.Command) int {
			switch {
			case slices.Contains(c.Hosts, "auth"):
				return 0
			case c.Name == topology.GatewayName:
				return 2
			}
			return 1
		}
		return rank(a) - rank(b)
	})
	e := &edge{procs: map[string]*proc{}, addr: freeLoopbackAddr(t)}
	upstreams := map[string]string{}
	for _, c := range cmds {
		addr := strings.TrimPrefix(c.URL, "http://")
		e.procs[c.Name] = start(t, env, append(c.Args[1:], "--addr", addr)...) // Args[0] is "serve"
		upstreams[c.Name] = addr
	}
	e.root = startNginxAsREADME(t, nginxBin, readme.nginx, e.addr, upstreams)
	return e
}

// startNginxAsREADME runs README's "```sh edge nginx" block as written, with
// bash, in a directory laid out like the repository: configs/nginx/ holds
// the checked-in nginx.conf, and upstreams.conf and listen.conf pointed at
// this test's ports. The block runs nginx in the foreground (a user's
// second terminal); the test runs it in the background, stops it as Ctrl-C
// would when the test ends, and returns the directory.
func startNginxAsREADME(t *testing.T, bin string, block readmeBlock, listen string, upstreams map[string]string) string {
	t.Helper()
	root, err := os.MkdirTemp("", "bellhop-edge-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	// nginx's workers run as an unprivileged user when started by root:
	// they need to reach the temp paths under data/nginx.
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	confDir := filepath.Join(root, "configs", "nginx")
	if err := os.MkdirAll(confDir, 0o755); err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", "configs", "nginx", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	seen := map[string]bool{}
	ups := upstreamRE.ReplaceAllStringFunc(read("upstreams.conf"), func(s string) string {
		m := upstreamRE.FindStringSubmatch(s)
		a, ok := upstreams[m[2]]
		if !ok {
			t.Fatalf("upstreams.conf names bellhop_%s, which the test does not start", m[2])
		}
		seen[m[2]] = true
		return m[1] + a + ";"
	})
	for name := range upstreams {
		if !seen[name] {
			t.Fatalf("upstreams.conf has no upstream bellhop_%s", name)
		}
	}
	lis := regexp.MustCompile(`(?m)^listen [^;]+;`).ReplaceAllString(read("listen.conf"), "listen "+listen+";")
	writeTestFile(t, filepath.Join(confDir, "nginx.conf"), read("nginx.conf"))
	writeTestFile(t, filepath.Join(confDir, "upstreams.conf"), ups)
	writeTestFile(t, filepath.Join(confDir, "listen.conf"), lis)

	cmd := exec.Command("bash", "-euo", "pipefail", "-c", block.text)
	cmd.Dir = root
	// The block says `nginx`: Debian's is in /usr/sbin, not on every PATH.
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	// Its own process group, like a terminal's foreground job: Ctrl-C
	// signals bash, nginx's master and its workers alike.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		// README: "Ctrl-C stops it".
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("README.md:%d: the nginx block ended with %v on Ctrl-C\n%s", block.line, err, logs)
			}
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Errorf("README.md:%d: nginx did not stop within 10 s of Ctrl-C\n%s", block.line, logs)
		}
		if t.Failed() {
			t.Logf("nginx log:\n%s", logs)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", listen, 200*time.Millisecond); err == nil {
			c.Close()
			return root
		}
		select {
		case err := <-done:
			t.Fatalf("README.md:%d: the nginx block exited: %v\n--- block ---\n%s--- its output ---\n%s", block.line, err, block.text, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("README.md:%d: nginx did not listen on %s\n%s", block.line, listen, logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// edgeAccessLine is a line of nginx's access log (log_format edge in
// nginx.conf) as README's tail shows it.
var edgeAccessLine = regexp.MustCompile(`^(\S+) \[[^]]+\] "([^"]*)" (\d{3}) \d+ \S+ upstream=(\S+) rid=(\S+)$`)

// tryAsREADME runs README's "```sh edge try" block as written (only the
// edge's address changed) in bash -euo pipefail, from the directory where
// the nginx block ran, and checks that what it prints is what its comments
// say: search's cities with 200, the Lua rule's 403, 11 × 401 from auth and
// one 429 from nginx, and access log lines naming who answered.
func (e *edge) tryAsREADME(t *testing.T, block readmeBlock) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-s")
	cmd.Dir = e.root
	cmd.Stdin = strings.NewReader(strings.ReplaceAll(block.text, "127.0.0.1:8088", e.addr))
	out, err := cmd.CombinedOutput()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("README.md:%d: the ```sh edge try block: %s\n--- block ---\n%s--- its output ---\n%s", block.line, fmt.Sprintf(format, args...), block.text, out)
	}
	if err != nil {
		fail("%v", err)
	}
	t.Logf("README's edge try block printed:\n%s", out)
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != 9 {
		fail("%d lines, want 9: the cities and 200, the refusal and 403, two counts, three access log lines", len(lines))
	}

	// search's process answers, 200: the cities search itself lists.
	var viaEdge, direct search.CityList
	if lines[1] != "200" || json.Unmarshal([]byte(lines[0]), &viaEdge) != nil || len(viaEdge.Cities) == 0 {
		fail("lines 1-2 are not search's cities and 200")
	}
	call(t, "GET", e.procs["search"].URL+"/api/v1/cities?prefix=li", "", nil, &direct)
	if fmt.Sprint(viaEdge) != fmt.Sprint(direct) {
		fail("the cities through the edge %+v, straight at search %+v", viaEdge, direct)
	}
	if !e.loggedFrom("search", "/api/v1/cities", "127.0.0.1") || e.loggedFrom(topology.GatewayName, "/api/v1/cities", "127.0.0.1") {
		fail("search's own log does not show the cities request from 127.0.0.1 (or the gateway's does)")
	}

	// The Lua rule: nginx's own 403 problem+json (a line of its own, as
	// the status follows on the next).
	if lines[3] != "403" {
		fail("line 4 is %q, want 403", lines[3])
	}
	wantEdgeProblem(t, "README's SQL injection", edgeResponse{status: http.StatusForbidden,
		header: http.Header{"Content-Type": {apperr.ProblemMediaType}}, body: []byte(lines[2] + "\n")}, http.StatusForbidden, "edge.malicious_query")

	// Twelve token requests at once: one plus the burst of 10 reach auth
	// (401, no such client), nginx answers the twelfth itself.
	if !regexp.MustCompile(`^\s*11 401$`).MatchString(lines[4]) || !regexp.MustCompile(`^\s*1 429$`).MatchString(lines[5]) {
		fail("the token loop printed %q and %q, want 11 × 401 then 1 × 429", lines[4], lines[5])
	}

	// The access log's last three lines: the token requests, each naming
	// auth's address when auth answered and - when nginx did; auth logged
	// each one it answered under the same request ID, from 127.0.0.1.
	for _, l := range lines[6:] {
		m := edgeAccessLine.FindStringSubmatch(l)
		if m == nil || m[1] != "127.0.0.1" || m[2] != "POST /oauth/token" {
			fail("access log line %q is not a token request from 127.0.0.1", l)
		}
		switch status, upstream, rid := m[3], m[4], m[5]; status {
		case "401":
			if upstream != e.procs["auth"].Addr {
				fail("access log line %q: auth's 401 with upstream=%s, want auth's %s", l, upstream, e.procs["auth"].Addr)
			}
			if got := e.loggedIP(t, "auth", rid, "/oauth/token"); got != "127.0.0.1" {
				fail("auth logged request %s from %s, want 127.0.0.1", rid, got)
			}
		case "429":
			if upstream != "-" {
				fail("access log line %q: nginx's 429 with upstream=%s, want -", l, upstream)
			}
			e.wantNotLogged(t, rid, "README's twelfth token request")
		default:
			fail("access log line %q: status %s, want 401 or 429", l, status)
		}
	}
	// README's warning after the loop: this address's sign-in burst is
	// spent, so a sign-in from it right away is nginx's 429.
	res := e.client(t, 1).send(t, "POST", "/api/v1/sessions", map[string]string{"Content-Type": "application/json"}, `{"email":"nobody@bellhop.test","password":"a wrong guess!!"}`)
	wantEdgeProblem(t, "a sign-in from 127.0.0.1 right after README's loop", res, http.StatusTooManyRequests, "edge.rate_limited")
}

// loggedFrom reports whether the process logged a request for path from ip.
func (e *edge) loggedFrom(name, path, ip string) bool {
	for _, line := range strings.Split(e.procs[name].logs.String(), "\n") {
		var l accessLine
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "http request" && l.Path == path && l.IP == ip {
			return true
		}
	}
	return false
}

// edgeClient speaks plain HTTP/1.1 from its own loopback address (127.0.0.N),
// writing the request line as given (no path cleaning, any method).
type edgeClient struct {
	ip, target string
	jar        http.CookieJar
}

func (e *edge) client(t *testing.T, n int) *edgeClient { return e.clientTo(t, n, e.addr) }

func (e *edge) clientTo(t *testing.T, n int, target string) *edgeClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &edgeClient{ip: fmt.Sprintf("127.0.0.%d", n), target: target, jar: jar}
}

type edgeResponse struct {
	status int
	header http.Header
	body   []byte
}

func (c *edgeClient) send(t *testing.T, method, path string, header map[string]string, body string) edgeResponse {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(c.ip)}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", c.target)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", c.target, c.ip, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	site := &url.URL{Scheme: "http", Host: c.target, Path: "/"}
	var req strings.Builder
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, path, c.target)
	if _, ok := header["User-Agent"]; !ok {
		req.WriteString("User-Agent: bellhop-edge-test\r\n")
	}
	for k, v := range header {
		fmt.Fprintf(&req, "%s: %s\r\n", k, v)
	}
	if cookies := c.jar.Cookies(site); len(cookies) > 0 {
		parts := make([]string, len(cookies))
		for i, ck := range cookies {
			parts[i] = ck.Name + "=" + ck.Value
		}
		fmt.Fprintf(&req, "Cookie: %s\r\n", strings.Join(parts, "; "))
	}
	if body != "" || method == "POST" {
		fmt.Fprintf(&req, "Content-Length: %d\r\n", len(body))
	}
	req.WriteString("\r\n")
	req.WriteString(body)
	if _, err := io.WriteString(conn, req.String()); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	c.jar.SetCookies(site, res.Cookies())
	return edgeResponse{status: res.StatusCode, header: res.Header, body: b}
}

func (c *edgeClient) sendJSON(t *testing.T, method, path, body string, out any) {
	t.Helper()
	res := c.send(t, method, path, map[string]string{"Content-Type": "application/json"}, body)
	if res.status != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, res.status, res.body)
	}
	if err := json.Unmarshal(res.body, out); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
}

// accessLine is the part of a bellhop access log line the test reads.
type accessLine struct {
	Msg       string `json:"msg"`
	Path      string `json:"path"`
	IP        string `json:"ip"`
	RequestID string `json:"request_id"`
}

// logged finds the access log line of the request with id at path in the
// process's log.
func (e *edge) logged(name, id, path string) (accessLine, bool) {
	for _, line := range strings.Split(e.procs[name].logs.String(), "\n") {
		if !strings.Contains(line, id) {
			continue
		}
		var l accessLine
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "http request" && l.RequestID == id && (path == "" || l.Path == path) {
			return l, true
		}
	}
	return accessLine{}, false
}

// waitLogged waits for the process's access log line of the request
// (logged once the response is written, so a moment after the client has it).
func (e *edge) waitLogged(t *testing.T, name, id, what string) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); ; {
		if _, ok := e.logged(name, id, ""); ok {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s (request %s) did not reach %s", what, id, name)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// loggedIP is the client IP the process logged for the request.
func (e *edge) loggedIP(t *testing.T, name, id, path string) string {
	t.Helper()
	var l accessLine
	pollUntil(t, name+" to log request "+id, 3*time.Second, func() (bool, string) {
		var ok bool
		l, ok = e.logged(name, id, path)
		return ok, "not logged"
	})
	return l.IP
}

// wantNotLogged checks that no process saw the request (nginx answered it).
func (e *edge) wantNotLogged(t *testing.T, id, what string) {
	t.Helper()
	time.Sleep(50 * time.Millisecond) // a request that did get through is logged by now
	for name, p := range e.procs {
		if strings.Contains(p.logs.String(), `"request_id":"`+id+`"`) {
			t.Errorf("%s (request %s) reached %s: nginx should have answered it", what, id, name)
		}
	}
}

// wantEdgeProblem checks an answer nginx made itself: problem+json with
// the status, code and reason, naming the request.
func wantEdgeProblem(t *testing.T, what string, res edgeResponse, status int, reason string) {
	t.Helper()
	if res.status != status || !strings.HasPrefix(res.header.Get("Content-Type"), apperr.ProblemMediaType) {
		t.Errorf("%s: %d %q %s, want %d problem+json", what, res.status, res.header.Get("Content-Type"), res.body, status)
		return
	}
	if !strings.HasSuffix(string(res.body), "}\n") {
		t.Errorf("%s: problem body %q does not end in a newline (Bellhop's JSON does)", what, res.body)
	}
	var p apperr.Problem
	if err := json.Unmarshal(res.body, &p); err != nil {
		t.Errorf("%s: problem body %s: %v", what, res.body, err)
		return
	}
	if p.Status != status || p.Reason != reason || p.Type != "urn:bellhop:problem:"+reason || p.Code == "" || p.Detail == "" || p.RequestID == "" ||
		apperr.New(p.Code, "", "").Status() != status {
		t.Errorf("%s: problem %+v, want status %d reason %s with a code of that status", what, p, status, reason)
	}
}

// wantAuthSignInLimited checks auth's own per-IP sign-in 429 (not nginx's).
func wantAuthSignInLimited(t *testing.T, what string, res edgeResponse) {
	t.Helper()
	var p apperr.Problem
	_ = json.Unmarshal(res.body, &p)
	if res.status != http.StatusTooManyRequests || p.Reason != "auth.rate_limited" || res.header.Get("Retry-After") == "" {
		t.Fatalf("%s: %d %s, want auth's 429 auth.rate_limited", what, res.status, res.body)
	}
}

func manyHeaders(n int) map[string]string {
	h := make(map[string]string, n)
	for i := range n {
		h[fmt.Sprintf("X-Extra-%02d", i)] = "x"
	}
	return h
}
