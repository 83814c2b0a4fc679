package host_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/platform/config"
	"github.com/bellhop/bellhop/platform/host"
	"github.com/bellhop/bellhop/platform/httpclient"
	"github.com/bellhop/bellhop/platform/observability"
)

// greeter is a module's Service in these tests; how it was reached is in
// its answer.
type greeter interface{ Greet() string }

type local struct{ name string }

func (l local) Greet() string { return l.name + ":local" }

type remote struct{ name, url, caller string }

func (r remote) Greet() string { return r.name + ":remote(" + r.url + ", as " + r.caller + ")" }

type instrumented struct {
	next greeter
	edge observability.Edge
}

func (i instrumented) Greet() string {
	return i.next.Greet() + "[" + i.edge.Caller + "→" + i.edge.Callee + "]"
}

// built records, per module, what its callees answered when it was built.
type built map[string][]string

func module(name string, b built, calls ...string) host.Module {
	var cs []host.Call
	for _, c := range calls {
		cs = append(cs, host.Call{Module: c})
	}
	return host.Descriptor[greeter]{
		Name:  name,
		Calls: cs,
		Local: func(_ context.Context, env host.LocalEnv) (host.Local[greeter], error) {
			if env.DB == nil {
				return host.Local[greeter]{}, errors.New("no database")
			}
			for _, c := range calls {
				b[name] = append(b[name], host.Callee[greeter](env, c).Greet())
			}
			return host.Local[greeter]{Service: local{name}, Module: name}, nil
		},
		Remote: func(u string, o httpclient.Options) (greeter, error) {
			return remote{name: name, url: u, caller: o.Caller}, nil
		},
		Instrument: func(s greeter, e observability.Edge) greeter { return instrumented{s, e} },
		Routes: func(e *echo.Echo, s greeter, _ host.Env) error {
			e.GET("/"+name, func(c echo.Context) error { return c.String(200, s.Greet()) })
			return nil
		},
		OpenAPI: []byte("paths: {}\n"),
	}.Module()
}

func cfg(t *testing.T, only []string, remote map[string]string) *config.Config {
	t.Helper()
	c := &config.Config{DataDir: t.TempDir(), Only: only, Modules: map[string]config.ModuleConfig{}}
	for name, u := range remote {
		c.Modules[name] = config.ModuleConfig{URL: u}
	}
	return c
}

// A shop calls stock and prices; prices calls stock. Listed callers first,
// they are built callees first, each given its callees along its own edge.
func TestBuild_LocalInDependencyOrder(t *testing.T) {
	t.Parallel()
	b := built{}
	mods := []host.Module{module("shop", b, "stock", "prices"), module("prices", b, "stock"), module("stock", b)}
	h, err := host.Open(context.Background(), cfg(t, nil, nil), mods, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if got := strings.Join(h.Hosted(), ","); got != "shop,prices,stock" {
		t.Errorf("hosted = %s, want list order", got)
	}
	if err := h.Build(context.Background(), host.BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	want := built{
		"prices": {"stock:local[prices→stock]"},
		"shop":   {"stock:local[shop→stock]", "prices:local[shop→prices]"},
	}
	for name, calls := range want {
		if strings.Join(b[name], " ") != strings.Join(calls, " ") {
			t.Errorf("%s was given %v, want %v", name, b[name], calls)
		}
	}
	var owners []string
	for _, f := range h.OpenAPI() {
		owners = append(owners, f.Owner)
	}
	if got := strings.Join(owners, ","); got != "stock,prices,shop" {
		t.Errorf("OpenAPI owners = %s, want dependency order", got)
	}
	if len(h.Ready()) != 3 {
		t.Errorf("readiness checks = %d, want a database check per module", len(h.Ready()))
	}
	if m, ok := host.LocalModule[string](h, "shop"); !ok || m != "shop" {
		t.Errorf("LocalModule = %q, %v", m, ok)
	}
}

// Remote callees are HTTP clients that call as the caller; the API's routes
// are mounted for remote modules too, and modules neither here nor remote
// are not mounted at all.
func TestBuild_RemoteAndAbsent(t *testing.T) {
	t.Parallel()
	b := built{}
	mods := []host.Module{module("shop", b, "stock"), module("stock", b), module("audit", b)}
	h, err := host.Open(context.Background(), cfg(t, []string{"shop"}, map[string]string{"stock": "http://127.0.0.1:1"}), mods, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.Build(context.Background(), host.BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(b["shop"], " "); got != "stock:remote(http://127.0.0.1:1, as shop)" {
		t.Errorf("shop was given %q", got)
	}
	e := echo.New()
	if err := h.Mount(e); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/shop": "shop:local[api→shop]", "/stock": "stock:remote(http://127.0.0.1:1, as api)"} {
		res := httpGet(e, path)
		if res != want {
			t.Errorf("GET %s = %q, want %q", path, res, want)
		}
	}
	if res := httpGet(e, "/audit"); !strings.Contains(res, "Not Found") {
		t.Errorf("GET /audit = %q: a module neither hosted nor remote was mounted", res)
	}
	if r := h.Remote(); r["stock"] != "http://127.0.0.1:1" || len(r) != 1 {
		t.Errorf("Remote = %v", r)
	}
}

func TestBuild_ACalleeNeitherHereNorRemote(t *testing.T) {
	t.Parallel()
	b := built{}
	h, err := host.Open(context.Background(), cfg(t, []string{"shop"}, nil), []host.Module{module("shop", b, "stock"), module("stock", b)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	err = h.Build(context.Background(), host.BuildOptions{})
	if err == nil || err.Error() != "shop needs stock: host it here or set modules.stock.url" {
		t.Fatalf("err = %v", err)
	}
}

func TestOpen_RejectsBadModuleLists(t *testing.T) {
	t.Parallel()
	b := built{}
	for name, mods := range map[string][]host.Module{
		"a cycle":        {module("a", b, "b"), module("b", b, "a")},
		"an unknown one": {module("a", b, "z")},
		"twice":          {module("a", b), module("a", b)},
	} {
		if _, err := host.Open(context.Background(), cfg(t, nil, nil), mods, nil); err == nil {
			t.Errorf("%s: Open accepted it", name)
		}
	}
}

// Only builds the named modules and what they call, for commands.
func TestBuild_Only(t *testing.T) {
	t.Parallel()
	b := built{}
	mods := []host.Module{module("shop", b, "stock"), module("stock", b), module("audit", b)}
	h, err := host.Open(context.Background(), cfg(t, nil, nil), mods, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.Build(context.Background(), host.BuildOptions{Only: []string{"shop"}}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"shop": true, "stock": true, "audit": false} {
		if _, ok := host.LocalModule[string](h, name); ok != want {
			t.Errorf("%s built = %v, want %v", name, ok, want)
		}
	}
}

func httpGet(e *echo.Echo, path string) string {
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Body.String()
}
