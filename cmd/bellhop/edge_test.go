package main_test

import (
	"bufio"
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
	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"go.yaml.in/yaml/v4"
)

// nginx at the edge of the split deployment: Debian's nginx with the Lua
// module runs configs/nginx/nginx.conf (only the addresses in upstreams.conf
// and listen.conf changed to this test's free ports) in front of
// configs/split.yaml's topology: a gateway (the dashboard, every module
// remote) and one process per module, all on one NATS server, each trusting
// X-Forwarded-For from loopback's 127.0.0.1 only (nginx's and the gateway's
// address).
//
// Clients speak from other loopback addresses (127.0.0.2 and up), as clients
// elsewhere would, so each has an address of its own at nginx and in the
// processes' logs. The test checks that each path prefix reaches the process
// it names, a booking made through nginx alone, the 429s on sign-in and
// payments, the Lua rule, a 503 for a stopped process, and that the
// processes see the client's address through nginx and ignore a forged
// X-Forwarded-For from anyone else.
func TestEdge_NginxInFrontOfTheSplitDeployment(t *testing.T) {
	nginx := ensureNginx(t)
	e := startEdgeTopology(t, nginx)

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
		edgeURL := "http://" + e.addr
		token := registerGuest(t, edgeURL, "edge-guest@guest.example")
		b := holdRoom(t, edgeURL, token, firstRoomType(t, edgeURL), 40)
		var pay payments.Payment
		if res := send(t, "POST", edgeURL+"/api/v1/payments", token, fmt.Sprintf(`{"booking_id":%q,"payment_method":"pm_card_visa"}`, b.ID),
			map[string]string{"Idempotency-Key": "edge-pay-1"}, &pay); res.StatusCode != 201 || pay.Status != "succeeded" {
			t.Fatalf("pay through the edge: %d %+v", res.StatusCode, pay)
		}
		pollUntil(t, "the booking to be confirmed and its receipt issued", 10*time.Second, func() (bool, string) {
			var got bookings.Booking
			call(t, "GET", edgeURL+"/api/v1/bookings/"+b.ID, token, nil, &got)
			var docs struct {
				Documents []struct{ Kind string } `json:"documents"`
			}
			call(t, "GET", edgeURL+"/api/v1/bookings/"+b.ID+"/documents", token, nil, &docs)
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
// runs) on free ports, prepared and seeded by `bellhop split --prepare-only`,
// each process started here so the test reads its log and can stop it
// alone, and nginx in front of it; everything stops when the test ends.
func startEdgeTopology(t *testing.T, nginxBin string) *edge {
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

	// Every process believes X-Forwarded-For from 127.0.0.1 only: nginx's
	// address, and the gateway's (for the dashboard's sign-in). Auth's own
	// sign-in limit is tighter than nginx's so the two are seen apart.
	env := []string{"BELLHOP_SERVER_TRUSTED_PROXIES=127.0.0.1",
		"BELLHOP_AUTH_SIGN_IN_RATE_LIMIT_RPS=0.01", "BELLHOP_AUTH_SIGN_IN_RATE_LIMIT_BURST=3"}
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
	startNginx(t, nginxBin, e.addr, upstreams)
	return e
}

// startNginx runs configs/nginx/nginx.conf in a prefix of its own, with the
// checked-in upstreams.conf and listen.conf pointed at this test's ports.
func startNginx(t *testing.T, bin, listen string, upstreams map[string]string) {
	t.Helper()
	prefix, err := os.MkdirTemp("", "bellhop-edge-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(prefix) })
	// nginx's workers run as www-data when started by root: they need to
	// reach the temp paths under the prefix.
	if err := os.Chmod(prefix, 0o755); err != nil {
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
	writeTestFile(t, filepath.Join(prefix, "nginx.conf"), read("nginx.conf"))
	writeTestFile(t, filepath.Join(prefix, "upstreams.conf"), ups)
	writeTestFile(t, filepath.Join(prefix, "listen.conf"), lis)

	cmd := exec.Command(bin, "-p", prefix+"/", "-c", filepath.Join(prefix, "nginx.conf"), "-e", "stderr")
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT) // graceful: workers finish, then exit
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("nginx did not stop within 10 s\n%s", logs)
		}
		if t.Failed() {
			t.Logf("nginx log:\n%s", logs)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", listen, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		select {
		case err := <-done:
			t.Fatalf("nginx exited: %v\n%s", err, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not listen on %s\n%s", listen, logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
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
