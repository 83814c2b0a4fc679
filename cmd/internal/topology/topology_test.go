package topology_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bellhop/bellhop/cmd/internal/topology"
)

// modules are the binary's modules and what they call, as cmd/bellhop
// lists them.
var modules = []topology.Module{
	{Name: "auth"},
	{Name: "bookings", Calls: []string{"search"}},
	{Name: "payments", Calls: []string{"bookings"}},
	{Name: "reporting"},
	{Name: "search"},
}

const valid = `
nats: {port: 4222}
gateway:
  port: 8080
  service_identity: {client_id: gateway, scopes: [auth:authorize]}
processes:
  - {name: auth, port: 8101, modules: [auth]}
  - {name: catalog, port: 8102, modules: [search, reporting]}
  - name: bookings
    port: 8103
    modules: [bookings]
    service_identity: {client_id: bookings, scopes: [search:quote]}
  - name: payments
    port: 8104
    modules: [payments]
    service_identity: {client_id: payments, scopes: [bookings:read]}
`

func TestParse_CheckedInTopology(t *testing.T) {
	t.Parallel()
	topo, err := topology.Load(filepath.Join("..", "..", "..", "configs", "split.yaml"), modules)
	if err != nil {
		t.Fatal(err)
	}
	if len(topo.Processes) != 5 {
		t.Errorf("configs/split.yaml: %d module processes, want one per module (5)", len(topo.Processes))
	}
	for _, m := range modules {
		if p := topo.HostOf(m.Name); p == nil || !slices.Equal(p.Modules, []string{m.Name}) {
			t.Errorf("configs/split.yaml: %s is not alone in its process: %+v", m.Name, p)
		}
	}
}

func TestParse_Rejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, edit, want string
	}{
		{"unknown key", strings.Replace(valid, "nats: {port: 4222}", "nats: {port: 4222, host: 0.0.0.0}", 1), "field host not found"},
		{"unknown key in a process", strings.Replace(valid, "{name: auth, port: 8101,", "{name: auth, port: 8101, replicas: 2,", 1), "field replicas not found"},
		{"port clash", strings.Replace(valid, "port: 8104", "port: 8101", 1), "payments.port: 8101 is already auth's"},
		{"port clash with nats", strings.Replace(valid, "port: 8080", "port: 4222", 1), "gateway.port: 4222 is already nats's"},
		{"port out of range", strings.Replace(valid, "port: 8103", "port: 70000", 1), "bookings.port: 70000 is not a port"},
		{"module hosted twice", strings.Replace(valid, "modules: [auth]", "modules: [auth, search]", 1), "catalog.modules: search is already hosted by auth"},
		{"module hosted nowhere", strings.Replace(valid, "modules: [search, reporting]", "modules: [search]", 1), "module reporting is hosted by no process"},
		{"unknown module", strings.Replace(valid, "modules: [auth]", "modules: [auth, billing]", 1), `auth.modules: unknown module "billing"`},
		{"process name twice", strings.Replace(valid, "name: payments", "name: bookings", 1), `processes[3].name: "bookings" is used twice`},
		{"reserved name", strings.Replace(valid, "name: catalog", "name: gateway", 1), `processes[1].name: "gateway" is reserved`},
		{"client id twice", strings.Replace(valid, "client_id: payments", "client_id: bookings", 1), `payments.service_identity.client_id: "bookings" is already bookings's`},
		{"identity without scopes", strings.Replace(valid, "scopes: [bookings:read]", "scopes: []", 1), "payments.service_identity.scopes: at least one scope"},
		{"no port", strings.Replace(valid, "nats: {port: 4222}", "nats: {}", 1), "nats.port: required"},
		{"empty", "", "empty topology"},
		{"two documents", valid + "---\nnats: {port: 1}\n", "more than one YAML document"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := topology.Parse([]byte(tc.edit), modules)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
	if _, err := topology.Parse([]byte(valid), modules); err != nil {
		t.Fatalf("the valid topology: %v", err)
	}
}

func TestPrepare(t *testing.T) {
	t.Parallel()
	topo, err := topology.Parse([]byte(valid), modules)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	opts := topology.LaunchOptions{Dir: dir, Bellhop: "/opt/bellhop", NATSServer: "/opt/nats-server", Modules: modules}
	l, err := topo.Prepare(opts)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range l.Commands {
		names = append(names, c.Name)
	}
	if want := []string{"nats", "gateway", "auth", "catalog", "bookings", "payments"}; !slices.Equal(names, want) {
		t.Fatalf("commands %v, want %v", names, want)
	}
	if l.NATSURL != "nats://127.0.0.1:4222" || l.GatewayURL != "http://127.0.0.1:8080" {
		t.Errorf("NATS %s, gateway %s", l.NATSURL, l.GatewayURL)
	}
	read := func(name string) string {
		t.Helper()
		c, ok := l.Command(name)
		if !ok {
			t.Fatalf("no command %s", name)
		}
		if c.Path != "/opt/bellhop" || !slices.Equal(c.Args, []string{"serve", "--config", c.ConfigFile}) {
			t.Errorf("%s runs %s %v", name, c.Path, c.Args)
		}
		st, err := os.Stat(c.ConfigFile)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s's config is mode %v: it holds a secret", name, st.Mode().Perm())
		}
		b, _ := os.ReadFile(c.ConfigFile)
		return string(b)
	}
	secretOf := func(process string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, process, "client_secret"))
		if err != nil {
			t.Fatal(err)
		}
		s := strings.TrimSpace(string(b))
		if len(s) != 64 {
			t.Fatalf("%s's secret has %d characters, want 64 (256 bits, hex)", process, len(s))
		}
		return s
	}
	bkSecret, pmSecret, gwSecret := secretOf("bookings"), secretOf("payments"), secretOf("gateway")

	authCfg := read("auth")
	for _, want := range []string{"only: [auth]", "addr: 127.0.0.1:8101", "url: nats://127.0.0.1:4222",
		"id: bookings\n          secret: " + bkSecret, "id: payments\n          secret: " + pmSecret, "id: gateway\n          secret: " + gwSecret} {
		if !strings.Contains(authCfg, want) {
			t.Errorf("auth's config lacks %q:\n%s", want, authCfg)
		}
	}
	if strings.Contains(authCfg, "modules:\n") {
		t.Errorf("auth calls no module:\n%s", authCfg)
	}
	// bookings calls search (in catalog) and verifies tokens with auth's keys.
	bk := read("bookings")
	for _, want := range []string{"only: [bookings]", "client_id: bookings", "client_secret: " + bkSecret,
		"auth:\n        url: http://127.0.0.1:8101", "search:\n        url: http://127.0.0.1:8102"} {
		if !strings.Contains(bk, want) {
			t.Errorf("bookings' config lacks %q:\n%s", want, bk)
		}
	}
	if strings.Contains(bk, "payments:") {
		t.Errorf("bookings does not call payments:\n%s", bk)
	}
	gw := read("gateway")
	if strings.Contains(gw, "only:") {
		t.Errorf("the gateway hosts nothing:\n%s", gw)
	}
	for _, m := range []string{"auth", "bookings", "payments", "reporting", "search"} {
		if !strings.Contains(gw, "    "+m+":\n        url: http://") {
			t.Errorf("the gateway does not call %s remotely:\n%s", m, gw)
		}
	}
	cat := read("catalog")
	if !strings.Contains(cat, "only: [search, reporting]") || strings.Contains(cat, "client_id") {
		t.Errorf("catalog's config:\n%s", cat)
	}

	// Prepared again: the same secrets (auth keeps their hashes).
	if _, err := topo.Prepare(opts); err != nil {
		t.Fatal(err)
	}
	if secretOf("bookings") != bkSecret {
		t.Error("a second Prepare generated a new secret")
	}
	pf, err := os.ReadFile(l.Procfile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(pf)), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "nats: exec /opt/nats-server -a 127.0.0.1 -p 4222 -js -sd ") {
		t.Errorf("NATS is not the Procfile's last process (goreman stops them in order):\n%s", pf)
	}
	if !strings.Contains(string(pf), "\nbookings: exec /opt/bellhop serve --config "+filepath.Join(dir, "bookings", "bellhop.yaml")+"\n") {
		t.Errorf("Procfile:\n%s", pf)
	}
}

// The variables that would give every process one address, data directory or
// identity are left out of the processes' environment, and named; the rest
// (limits, logging, a module's DSN, the public URL) reach every process.
func TestProcessEnv_LeavesOutWhatTheTopologySetsPerProcess(t *testing.T) {
	environ := []string{
		"PATH=/usr/bin",
		"BELLHOP_SERVER_ADDR=127.0.0.1:9999",
		"BELLHOP_DATA_DIR=/tmp/x",
		"BELLHOP_ONLY=search",
		"BELLHOP_EVENTS_NATS_URL=nats://127.0.0.1:1",
		"BELLHOP_MODULES_SEARCH_URL=http://127.0.0.1:1",
		"BELLHOP_AUTH_CLIENT_SECRET=s",
		"BELLHOP_SERVER_TRUSTED_PROXIES=127.0.0.1",
		"BELLHOP_SERVER_RATE_LIMIT_ENABLED=true",
		"BELLHOP_MODULES_SEARCH_DSN=postgres://db/search",
		"BELLHOP_MODULES_SEARCH_SHADOW=http://127.0.0.1:2",
		"BELLHOP_AUTH_PUBLIC_URL=http://127.0.0.1:8088",
	}
	kept, ignored := topology.ProcessEnv(environ)
	wantIgnored := []string{"BELLHOP_SERVER_ADDR", "BELLHOP_DATA_DIR", "BELLHOP_ONLY", "BELLHOP_EVENTS_NATS_URL",
		"BELLHOP_MODULES_SEARCH_URL", "BELLHOP_AUTH_CLIENT_SECRET"}
	if !slices.Equal(ignored, wantIgnored) {
		t.Errorf("ignored %v, want %v", ignored, wantIgnored)
	}
	wantKept := []string{"PATH=/usr/bin", "BELLHOP_SERVER_TRUSTED_PROXIES=127.0.0.1", "BELLHOP_SERVER_RATE_LIMIT_ENABLED=true",
		"BELLHOP_MODULES_SEARCH_DSN=postgres://db/search", "BELLHOP_MODULES_SEARCH_SHADOW=http://127.0.0.1:2",
		"BELLHOP_AUTH_PUBLIC_URL=http://127.0.0.1:8088"}
	if !slices.Equal(kept, wantKept) {
		t.Errorf("kept %v, want %v", kept, wantKept)
	}
}
