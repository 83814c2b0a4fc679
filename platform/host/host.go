// Package host hosts modules in a process: it opens and migrates the
// databases of those configuration says run here, builds them in dependency
// order, hands each one the Services it calls (in-process and instrumented
// along the caller→callee edge, or an HTTP client), and mounts their routes.
// Whether a module is local or remote is decided here only. It names no
// module: each describes itself with a [Descriptor].
package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/bellhop/bellhop/platform/config"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/httpclient"
	"github.com/bellhop/bellhop/platform/httpserver"
	"github.com/bellhop/bellhop/platform/observability"
	"github.com/bellhop/bellhop/platform/openapi"
)

// Runner is a hosted module's background work.
type Runner interface {
	Run(ctx context.Context) error
}

// Call is one module another calls.
type Call struct {
	// Module is the callee's name.
	Module string
	// WithoutIdentity is what goes wrong when the callee is remote and this
	// process has no service identity (logged as a warning at start), e.g.
	// "every hold will fail; set ... (a service client with search:quote)".
	// Empty: the calls need none.
	WithoutIdentity string
}

// Env is what the host gives a module.
type Env struct {
	Config *config.Config
	Log    *slog.Logger
}

// LocalEnv is what the host gives a module it builds in this process.
type LocalEnv struct {
	Env
	// DB is the module's database, opened and migrated.
	DB *db.DB
	// Opened is what the module's Open returned (nil without one).
	Opened any
	// Bus is the event backbone; nil for commands that only touch databases
	// (migrate, seed, the admin commands).
	Bus *events.Bus
	// Registerer receives the module's own metrics; nil for commands.
	Registerer prometheus.Registerer
	calls      map[string]any
}

// Callee is the Service of module that e's module calls: in-process and
// instrumented, or an HTTP client. The module must be among its Calls.
func Callee[S any](e LocalEnv, module string) S {
	s, _ := e.calls[module].(S)
	return s
}

// Local is a module built in this process.
type Local[S any] struct {
	Service S
	// Module is the module itself (e.g. *searchlocal.Module), for commands
	// that reach past its Service (seeding, key rotation).
	Module any
	// Runners are its background work, run while the process serves.
	Runners []Runner
	// Ready are readiness checks beyond its database's (which the host adds).
	Ready []httpserver.ReadyCheck
	// Admin are routes it mounts only where it runs, with their description.
	Admin []Admin
}

// Admin is routes a local module mounts besides its public ones (say, the
// controls of a simulated third party), with their OpenAPI fragment.
type Admin struct {
	Owner    string
	OpenAPI  []byte
	Register func(e *echo.Echo)
}

// Descriptor describes a module whose Service is S. A module's descriptor
// lives in its own folder; the binary lists them.
type Descriptor[S any] struct {
	Name  string
	Calls []Call
	// Config is the module's section; zero Key: it has none.
	Config     config.SectionSpec
	Migrations []db.Migration
	// Open, if set, opens what the module needs besides its database, after
	// the database (for migrate and seed too); closers it registers run
	// when the host closes.
	Open func(ctx context.Context, env Env, onClose func(func() error)) (any, error)
	// Local builds the module in this process. It starts nothing.
	Local func(ctx context.Context, env LocalEnv) (Local[S], error)
	// Remote builds the HTTP client of the module hosted elsewhere.
	Remote func(baseURL string, opts httpclient.Options) (S, error)
	// Instrument wraps a local Service with per-edge metrics (and spans,
	// when the edge has a tracer).
	Instrument func(svc S, edge observability.Edge) S
	// Routes mounts the module's public routes for svc (local or remote).
	Routes func(e *echo.Echo, svc S, env Env) error
	// OpenAPI is the description of those routes.
	OpenAPI []byte
}

// Module is a descriptor with its Service type erased, as the host keeps it.
type Module struct {
	Name       string
	Calls      []Call
	Config     config.SectionSpec
	Migrations []db.Migration
	open       func(ctx context.Context, env Env, onClose func(func() error)) (any, error)
	local      func(ctx context.Context, env LocalEnv) (Local[any], error)
	remote     func(baseURL string, opts httpclient.Options) (any, error)
	instrument func(svc any, edge observability.Edge) any
	routes     func(e *echo.Echo, svc any, env Env) error
	openAPI    []byte
}

// Module erases d's Service type.
func (d Descriptor[S]) Module() Module {
	return Module{
		Name: d.Name, Calls: d.Calls, Config: d.Config, Migrations: d.Migrations, open: d.Open,
		local: func(ctx context.Context, env LocalEnv) (Local[any], error) {
			l, err := d.Local(ctx, env)
			return Local[any]{Service: l.Service, Module: l.Module, Runners: l.Runners, Ready: l.Ready, Admin: l.Admin}, err
		},
		remote: func(u string, o httpclient.Options) (any, error) { return d.Remote(u, o) },
		instrument: func(svc any, e observability.Edge) any {
			return d.Instrument(svc.(S), e)
		},
		routes:  func(e *echo.Echo, svc any, env Env) error { return d.Routes(e, svc.(S), env) },
		openAPI: d.OpenAPI,
	}
}

// Names are the modules' names, in list order.
func Names(mods []Module) []string {
	out := make([]string, len(mods))
	for i, m := range mods {
		out[i] = m.Name
	}
	return out
}

// Sections are the modules' config sections.
func Sections(mods []Module) []config.SectionSpec {
	var out []config.SectionSpec
	for _, m := range mods {
		if m.Config.Key != "" {
			out = append(out, m.Config)
		}
	}
	return out
}

// Host is the modules of one process. Open opens it; Build builds it.
type Host struct {
	cfg    *config.Config
	log    *slog.Logger
	mods   []Module
	byName map[string]*Module

	hosted  []string
	dbs     map[string]*db.DB
	opened  map[string]any
	closers []func() error
	ready   []httpserver.ReadyCheck

	built    bool
	local    map[string]Local[any]
	services map[string]any // every module this process reaches, as the API calls it
	runners  []Runner
	admin    []Admin
}

// Open opens and migrates the database of every module cfg says this
// process hosts, in list order, and runs their Open. It builds nothing.
func Open(ctx context.Context, cfg *config.Config, mods []Module, log *slog.Logger) (*Host, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Host{cfg: cfg, log: log, mods: mods, byName: map[string]*Module{}, dbs: map[string]*db.DB{}, opened: map[string]any{}}
	for i := range mods {
		m := &mods[i]
		if _, dup := h.byName[m.Name]; dup {
			return nil, fmt.Errorf("host: module %s is listed twice", m.Name)
		}
		h.byName[m.Name] = m
	}
	all := map[string]bool{}
	for _, m := range mods {
		all[m.Name] = true
		for _, c := range m.Calls {
			if _, ok := h.byName[c.Module]; !ok {
				return nil, fmt.Errorf("host: module %s calls %s, which is not listed", m.Name, c.Module)
			}
		}
	}
	if _, err := h.inOrder(all); err != nil {
		return nil, err
	}
	for _, m := range mods {
		if !cfg.Hosts(m.Name) {
			continue
		}
		if err := h.open(ctx, m); err != nil {
			h.Close()
			return nil, err
		}
	}
	return h, nil
}

func (h *Host) open(ctx context.Context, m Module) error {
	d, err := db.Open(ctx, db.Options{Module: m.Name, DSN: h.cfg.Modules[m.Name].DSN, DataDir: h.cfg.DataDir, Log: h.log})
	if err != nil {
		return err
	}
	h.closers = append(h.closers, d.Close)
	h.dbs[m.Name] = d
	if err := d.Migrate(ctx, m.Migrations); err != nil {
		return err
	}
	h.hosted = append(h.hosted, m.Name)
	h.ready = append(h.ready, httpserver.ReadyCheck{Name: "db:" + m.Name, Check: d.Ping})
	if m.open != nil {
		v, err := m.open(ctx, Env{Config: h.cfg, Log: h.log}, func(c func() error) { h.closers = append(h.closers, c) })
		if err != nil {
			return err
		}
		h.opened[m.Name] = v
	}
	return nil
}

// Close closes what Open opened, in order.
func (h *Host) Close() {
	for _, c := range h.closers {
		_ = c()
	}
}

// Hosted are the modules this process hosts, in list order.
func (h *Host) Hosted() []string { return slices.Clone(h.hosted) }

// Databases are the hosted modules' databases, by module.
func (h *Host) Databases() map[string]*db.DB { return h.dbs }

// BuildOptions are what building needs beyond the configuration.
type BuildOptions struct {
	// Bus carries events; nil for commands (modules then run no relay and
	// consume nothing).
	Bus *events.Bus
	// Edges records per-edge metrics of in-process calls and of the HTTP
	// clients (nil: none).
	Edges *observability.EdgeMetrics
	// Registerer receives the modules' own metrics (nil: none).
	Registerer prometheus.Registerer
	// Tracing makes a span of every call along an edge, in-process or over
	// HTTP, and carries the trace context on the HTTP hops (nil: none).
	Tracing trace.TracerProvider
	// ServiceTokens is this process's service identity on other modules'
	// internal routes (nil: none).
	ServiceTokens httpclient.TokenSource
	// Only, if set, builds only these hosted modules (and the hosted ones
	// they call): for commands that need one module, such as seeding.
	Only []string
}

// Build builds the hosted modules in dependency order, each with the
// Services it calls, and the clients of the remote ones. It starts nothing.
func (h *Host) Build(ctx context.Context, o BuildOptions) error {
	if h.built {
		return errors.New("host: built twice")
	}
	h.built = true
	h.local = map[string]Local[any]{}
	h.services = map[string]any{}
	clientOpts := httpclient.Options{
		Caller:       "api",
		Timeout:      h.cfg.HTTPClient.Timeout,
		Retries:      retries(h.cfg.HTTPClient.Retries),
		RetryBackoff: h.cfg.HTTPClient.RetryBackoff,
		Breaker: httpclient.BreakerConfig{
			ConsecutiveFailures: h.cfg.HTTPClient.BreakerFailures, OpenTimeout: h.cfg.HTTPClient.BreakerOpenTimeout,
		},
		Metrics:       o.Edges,
		Tracing:       o.Tracing,
		ServiceTokens: o.ServiceTokens,
	}
	order, err := h.order(o.Only)
	if err != nil {
		return err
	}
	if o.ServiceTokens == nil && len(o.Only) == 0 {
		// Without a service identity, a module calling another's
		// service-only routes over HTTP is refused (401) on every call.
		for _, name := range order {
			for _, c := range h.byName[name].Calls {
				if c.WithoutIdentity != "" && h.cfg.Modules[c.Module].URL != "" {
					h.log.Warn(name + " calls " + c.Module + " over HTTP without a service identity: " + c.WithoutIdentity)
				}
			}
		}
	}
	edgeTracer := observability.Tracer(o.Tracing, "bellhop/host")
	// A module's Service along the edge caller→callee.
	along := func(caller, callee string) (any, error) {
		m := h.byName[callee]
		if l, ok := h.local[callee]; ok {
			return m.instrument(l.Service, observability.Edge{Metrics: o.Edges, Caller: caller, Callee: callee, Location: observability.Local, Tracer: edgeTracer}), nil
		}
		u := h.cfg.Modules[callee].URL
		if u == "" || m == nil {
			return nil, nil
		}
		opts := clientOpts
		opts.Caller = caller
		svc, err := m.remote(u, opts)
		if err != nil {
			return nil, fmt.Errorf("modules.%s.url: %w", callee, err)
		}
		return svc, nil
	}
	for _, name := range order {
		m := h.byName[name]
		env := LocalEnv{Env: Env{Config: h.cfg, Log: h.log}, DB: h.dbs[name], Opened: h.opened[name], Bus: o.Bus, Registerer: o.Registerer, calls: map[string]any{}}
		for _, c := range m.Calls {
			svc, err := along(name, c.Module)
			if err != nil {
				return err
			}
			if svc == nil {
				return fmt.Errorf("%s needs %s: host it here or set modules.%s.url", name, c.Module, c.Module)
			}
			env.calls[c.Module] = svc
		}
		l, err := m.local(ctx, env)
		if err != nil {
			return err
		}
		h.local[name] = l
		h.runners = append(h.runners, l.Runners...)
		h.ready = append(h.ready, l.Ready...)
		h.admin = append(h.admin, l.Admin...)
	}
	if len(o.Only) > 0 {
		return nil
	}
	for _, m := range h.mods {
		svc, err := along("api", m.Name)
		if err != nil {
			return err
		}
		if svc != nil {
			h.services[m.Name] = svc
		}
	}
	return nil
}

// order is the hosted modules (or those of only and what they call) in
// dependency order, list order among equals.
func (h *Host) order(only []string) ([]string, error) {
	want := map[string]bool{}
	var visit func(name string) error
	visit = func(name string) error {
		if want[name] {
			return nil
		}
		if !slices.Contains(h.hosted, name) {
			return fmt.Errorf("host: module %s is not hosted by this configuration", name)
		}
		want[name] = true
		for _, c := range h.byName[name].Calls {
			if slices.Contains(h.hosted, c.Module) {
				if err := visit(c.Module); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if len(only) == 0 {
		only = h.hosted
	}
	for _, name := range only {
		if err := visit(name); err != nil {
			return nil, err
		}
	}
	return h.inOrder(want)
}

// inOrder is the modules in set in dependency order (callees first), list
// order among equals.
func (h *Host) inOrder(set map[string]bool) ([]string, error) {
	var out []string
	done := map[string]bool{}
	for len(out) < len(set) {
		progressed := false
		for _, m := range h.mods {
			if !set[m.Name] || done[m.Name] {
				continue
			}
			ready := true
			for _, c := range m.Calls {
				if set[c.Module] && !done[c.Module] {
					ready = false
				}
			}
			if ready {
				out = append(out, m.Name)
				done[m.Name] = true
				progressed = true
				break // list order among the ready ones
			}
		}
		if !progressed {
			return nil, errors.New("host: the modules call each other in a cycle")
		}
	}
	return out, nil
}

// Ready are the readiness checks of the hosted modules.
func (h *Host) Ready() []httpserver.ReadyCheck { return slices.Clone(h.ready) }

// Runners are the background work of the modules built here.
func (h *Host) Runners() []Runner { return slices.Clone(h.runners) }

// LocalModule is the module named name as built here (its Local.Module),
// if it was.
func LocalModule[M any](h *Host, name string) (M, bool) {
	m, ok := h.local[name].Module.(M)
	return m, ok
}

// LocalService is the Service of the module named name as built here,
// uninstrumented, if it was.
func LocalService[S any](h *Host, name string) (S, bool) {
	s, ok := h.local[name].Service.(S)
	return s, ok
}

// Service is the Service of the module named name as the public API calls
// it here — in-process and instrumented, or its HTTP client — if this
// process reaches it: for what the composition root builds beside the
// modules (the dashboard).
func Service[S any](h *Host, name string) (S, bool) {
	s, ok := h.services[name].(S)
	return s, ok
}

// Mount mounts the public routes of every module this process reaches
// (built here or remote), in list order, and the admin routes of those built
// here.
func (h *Host) Mount(e *echo.Echo) error {
	for _, name := range h.reached() {
		if err := h.byName[name].routes(e, h.services[name], Env{Config: h.cfg, Log: h.log}); err != nil {
			return fmt.Errorf("%s routes: %w", name, err)
		}
	}
	for _, a := range h.admin {
		a.Register(e)
	}
	return nil
}

// OpenAPI is the description of the routes Mount mounts.
func (h *Host) OpenAPI() []openapi.Fragment {
	var out []openapi.Fragment
	for _, name := range h.reached() {
		out = append(out, openapi.Fragment{Owner: name, Spec: h.byName[name].openAPI})
	}
	for _, a := range h.admin {
		out = append(out, openapi.Fragment{Owner: a.Owner, Spec: a.OpenAPI})
	}
	return out
}

// reached is the modules this process reaches, in dependency order.
func (h *Host) reached() []string {
	set := map[string]bool{}
	for name := range h.services {
		set[name] = true
	}
	out, _ := h.inOrder(set) // Build checked there is no cycle
	return out
}

// Remote are the modules called over HTTP, by name, with their URLs.
func (h *Host) Remote() map[string]string {
	out := map[string]string{}
	for name, m := range h.cfg.Modules {
		if m.URL != "" {
			out[name] = m.URL
		}
	}
	return out
}

// retries maps the config's count of extra attempts to httpclient's, where 0
// means "the default" and a negative number means none.
func retries(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
