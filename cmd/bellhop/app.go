package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"
	"gorm.io/gorm"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/auth/authhttp"
	"github.com/bellhop/bellhop/modules/auth/authlocal"
	"github.com/bellhop/bellhop/modules/auth/authmodule"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/modules/search/searchlocal"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/config"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/host"
	"github.com/bellhop/bellhop/platform/httpserver"
	"github.com/bellhop/bellhop/platform/observability"
)

// failpoints reads BELLHOP_FAILPOINT, which only crash tests set: the process
// kills itself (SIGKILL, no cleanup) just before the relay publishes
// ("before_publish": events committed, not yet published) or just after
// JetStream acknowledged a batch ("after_publish": not yet marked published).
func failpoints(log *slog.Logger) events.Failpoints {
	kill := func(point string) func(string) {
		return func(module string) {
			log.Warn("failpoint reached: killing the process", "failpoint", point, "module", module)
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	}
	switch fp := os.Getenv("BELLHOP_FAILPOINT"); fp {
	case "":
		return events.Failpoints{}
	case "before_publish":
		log.Warn("BELLHOP_FAILPOINT is set: this process will kill itself (a crash test)", "failpoint", fp)
		return events.Failpoints{BeforePublish: kill(fp)}
	case "after_publish":
		log.Warn("BELLHOP_FAILPOINT is set: this process will kill itself (a crash test)", "failpoint", fp)
		return events.Failpoints{AfterPublish: kill(fp)}
	default:
		log.Warn("unknown BELLHOP_FAILPOINT ignored", "failpoint", fp)
		return events.Failpoints{}
	}
}

// startBus connects to the event backbone: the NATS server named in config,
// or one embedded in this process with its files under the data directory.
func startBus(ctx context.Context, cfg *config.Config, log *slog.Logger, reg prometheus.Registerer, tracing *observability.Tracing) (*events.Bus, error) {
	opts := events.Options{Name: "bellhop", Log: log, Registerer: reg, MaxAge: cfg.Events.StreamMaxAge, Failpoints: failpoints(log),
		ConnectWait: cfg.Events.NATS.ConnectWait, Tracing: tracing.Provider()}
	if url := cfg.Events.NATS.URL; url != "" {
		bus, err := events.Connect(ctx, url, opts)
		if err != nil {
			return nil, fmt.Errorf("events.nats.url %s: %w", url, err)
		}
		return bus, nil
	}
	bus, err := events.StartEmbedded(ctx, events.EmbeddedOptions{
		StoreDir: filepath.Join(cfg.DataDir, "nats"),
		Listen:   cfg.Events.NATS.EmbeddedPort != 0,
		Port:     cfg.Events.NATS.EmbeddedPort,
		Options:  opts,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded NATS server: %w", err)
	}
	return bus, nil
}

// startTracing sets up tracing from the configuration, naming the process
// after the modules it hosts when it does not host them all.
func startTracing(cfg *config.Config) (*observability.Tracing, error) {
	tc := cfg.Tracing
	if tc.ServiceName == "" {
		tc.ServiceName = serviceName(cfg)
	}
	t, err := observability.NewTracing(tc)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return t, nil
}

// serviceName is "bellhop" for a process hosting every module, else
// "bellhop-" and the modules it hosts ("bellhop-gateway" for one hosting
// none: only the dashboard and the public API in front of the others).
func serviceName(cfg *config.Config) string {
	var hosted []string
	for _, name := range host.Names(bellhopModules()) {
		if cfg.Hosts(name) {
			hosted = append(hosted, name)
		}
	}
	switch {
	case len(hosted) == len(bellhopModules()):
		return "bellhop"
	case len(hosted) == 0:
		return "bellhop-gateway"
	}
	return "bellhop-" + strings.Join(hosted, "-")
}

// demoUser is a demo account seed created, with the password it was given.
type demoUser struct {
	Email, Password, Role string
}

// seeded is what seed wrote.
type seeded struct {
	Catalog searchlocal.SeedStats
	Users   []demoUser // created now; accounts that existed are not listed
}

// seed writes the demo data of the modules hosted here: search's catalog,
// and a demo admin and a demo guest with random passwords (shown once).
func seed(ctx context.Context, cfg *config.Config) (seeded, error) {
	var out seeded
	if !cfg.Hosts(search.Module) && !cfg.Hosts(auth.Module) {
		return out, errors.New("seed: neither search nor auth is hosted by this configuration (run seed where they run)")
	}
	h, err := host.Open(ctx, cfg, bellhopModules(), nil)
	if err != nil {
		return out, err
	}
	defer h.Close()
	var seeding []string
	for _, name := range []string{auth.Module, search.Module} {
		if cfg.Hosts(name) {
			seeding = append(seeding, name)
		}
	}
	if err := h.Build(ctx, host.BuildOptions{Only: seeding}); err != nil {
		return out, err
	}
	if catalog, ok := host.LocalModule[*searchlocal.Module](h, search.Module); ok {
		if out.Catalog, err = catalog.Seed(ctx); err != nil {
			return out, err
		}
	}
	if accounts, ok := host.LocalModule[*authlocal.Module](h, auth.Module); ok {
		for _, u := range []demoUser{{"admin@bellhop.demo", demoPassword(), authn.RoleAdmin}, {"guest@bellhop.demo", demoPassword(), authn.RoleGuest}} {
			name := "Demo " + strings.ToUpper(u.Role[:1]) + u.Role[1:]
			_, err := accounts.CreateUser(ctx, u.Email, name, u.Password, u.Role)
			switch {
			case errors.Is(err, auth.ErrEmailTaken):
				continue
			case err != nil:
				return out, fmt.Errorf("seed demo user %s: %w", u.Email, err)
			}
			out.Users = append(out.Users, u)
		}
	}
	return out, nil
}

// serve runs Bellhop until ctx is done, then shuts down in order: the HTTP
// server drains in-flight requests, then module background work stops, then
// the databases close.
func serve(ctx context.Context, cfg *config.Config, logOut io.Writer) error {
	log, err := observability.NewLogger(logOut, cfg.Log.Format, cfg.Log.Level)
	if err != nil {
		return fmt.Errorf("config: log: %w", err)
	}
	started := time.Now()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	edges := observability.NewEdgeMetrics(reg)
	tracing, err := startTracing(cfg)
	if err != nil {
		return err
	}
	// Last of all, after the modules stopped: send the spans still buffered.
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tracing.Shutdown(sctx); err != nil {
			log.Warn("sending the last spans", "err", err)
		}
	}()

	// Shutdown runs these defers in reverse: modules stop (below), then the
	// event connection closes, then the databases.
	bus, err := startBus(ctx, cfg, log, reg, tracing)
	if err != nil {
		return err
	}
	h, err := host.Open(ctx, cfg, bellhopModules(), log)
	if err != nil {
		_ = bus.Close()
		return err
	}
	defer h.Close()
	defer func() {
		if err := bus.Close(); err != nil {
			log.Warn("closing the event connection", "err", err)
		}
	}()
	monitor, err := events.NewMonitor(bus, 500, reg)
	if err != nil {
		return err
	}
	// The composition root is the only place that chooses local or remote:
	// the host, for every module alike.
	tokens, err := authmodule.ServiceTokens(cfg, h)
	if err != nil {
		return err
	}
	if err := h.Build(ctx, host.BuildOptions{Bus: bus, Edges: edges, Registerer: reg, ServiceTokens: tokens, Tracing: tracing.Provider()}); err != nil {
		return err
	}
	verifier, err := authmodule.Verifier(ctx, cfg, h, bus)
	if err != nil {
		return err
	}
	srvCfg := httpserver.Config{
		Addr:               cfg.Server.Addr,
		ReadHeaderTimeout:  cfg.Server.ReadHeaderTimeout,
		ReadTimeout:        cfg.Server.ReadTimeout,
		WriteTimeout:       cfg.Server.WriteTimeout,
		IdleTimeout:        cfg.Server.IdleTimeout,
		ShutdownTimeout:    cfg.Server.ShutdownTimeout,
		BodyLimit:          cfg.Server.BodyLimit,
		TrustedProxies:     cfg.Server.TrustedProxies,
		CORSAllowedOrigins: cfg.Server.CORSAllowedOrigins,
		RateLimit: httpserver.RateLimitConfig{
			Enabled: cfg.Server.RateLimit.Enabled, RPS: cfg.Server.RateLimit.RPS, Burst: cfg.Server.RateLimit.Burst,
		},
		AccessLog:    cfg.Log.AccessLog,
		MetricsToken: cfg.Server.MetricsToken,
	}
	if err := srvCfg.Validate(); err != nil {
		return fmt.Errorf("config: server: %w", err)
	}
	ready := append(h.Ready(), httpserver.ReadyCheck{Name: "nats", Check: bus.Ping})
	srv := httpserver.New(srvCfg, httpserver.Deps{Log: log, Registry: reg, Ready: ready, Authenticate: authhttp.Authenticate(verifier),
		Tracing: tracing.Provider()})
	ln, err := httpserver.Listen(cfg.Server.Addr)
	if err != nil {
		return fmt.Errorf("server.addr %s: %w", cfg.Server.Addr, err)
	}
	defer ln.Close()
	// Absolute URLs (OAuth metadata) come from configuration, by default the
	// address bound here, never from a request's Host header.
	authmodule.DefaultPublicURL(cfg, ln.Addr().String())
	if err := h.Mount(srv.Echo()); err != nil {
		return err
	}
	dl := eventsAdmin{bus: bus, monitor: monitor, dbs: map[string]*gorm.DB{}}
	for name, d := range h.Databases() {
		dl.dbs[name] = d.DB
	}
	dl.register(srv.Echo())
	// GET /api/docs: the OpenAPI document of the routes mounted above.
	if err := mountDocs(srv.Echo(), h.OpenAPI()); err != nil {
		return err
	}
	runners := append(h.Runners(), monitor)

	// The dashboard (GET /) where this process can serve every page.
	dash, dashDB, err := mountWeb(ctx, srv.Echo(), webDeps{cfg: cfg, log: log, host: h, verifier: verifier,
		bus: bus, monitor: monitor, reg: reg, edges: edges, addr: ln.Addr().String()})
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("web: %w", err)
	}
	if dash != nil {
		defer dashDB.Close()
		runners = append(runners, dash)
	}
	// Start-up garbage (migrations, the API description, the NATS server's
	// set-up) is gone now: hand its pages back so the idle footprint is what
	// serving needs.
	debug.FreeOSMemory()
	log.Info("bellhop listening", "addr", ln.Addr().String(), "version", version, "modules", h.Hosted(),
		"remote", h.Remote(), "tracing", cfg.Tracing.Exporter, "startup_ms", time.Since(started).Milliseconds())

	// Modules run until the server has drained, not merely until the signal.
	modCtx, stopModules := context.WithCancel(context.WithoutCancel(ctx))
	defer stopModules()
	g, gctx := errgroup.WithContext(modCtx)
	for _, r := range runners {
		g.Go(func() error { return r.Run(gctx) })
	}
	srvCtx, stopServer := context.WithCancel(ctx)
	defer stopServer()
	if cfg.Server.PprofAddr != "" {
		g.Go(func() error { return servePprof(gctx, cfg.Server.PprofAddr, log) })
	}
	go func() {
		<-gctx.Done() // a module failed: stop serving too
		stopServer()
	}()
	serveErr := srv.Serve(srvCtx, ln)
	log.Info("http server stopped; stopping modules")
	stopModules()
	runErr := g.Wait()
	if errors.Is(runErr, context.Canceled) {
		runErr = nil
	}
	if err := errors.Join(serveErr, runErr); err != nil {
		log.Error("bellhop stopped with an error", "err", err)
		return err
	}
	log.Info("bellhop stopped")
	return nil
}
