package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"
	"gorm.io/gorm"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/auth/authhttp"
	"github.com/bellhop/bellhop/modules/auth/authlocal"
	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/bookings/bookingshttp"
	"github.com/bellhop/bellhop/modules/bookings/bookingslocal"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/payments/paymentshttp"
	"github.com/bellhop/bellhop/modules/payments/paymentslocal"
	"github.com/bellhop/bellhop/modules/payments/provider"
	"github.com/bellhop/bellhop/modules/payments/provider/sandbox"
	"github.com/bellhop/bellhop/modules/payments/provider/stripeprovider"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/modules/search/searchhttp"
	"github.com/bellhop/bellhop/modules/search/searchlocal"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/config"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/httpclient"
	"github.com/bellhop/bellhop/platform/httpserver"
	"github.com/bellhop/bellhop/platform/observability"
	"github.com/bellhop/bellhop/platform/validation"
)

// runner is a hosted module's background work.
type runner interface {
	Run(ctx context.Context) error
}

// modules are the modules this process hosts, with their databases.
type modules struct {
	hosted   []string
	dbByName map[string]*db.DB
	auth     *authlocal.Module
	search   *searchlocal.Module
	// bookings and payments depend on other modules' services, so serve
	// builds them; openModules only opens (and migrates) their databases.
	bookingsDB, paymentsDB, bankDB *db.DB
	dbs                            []*db.DB
	runners                        []runner
	ready                          []httpserver.ReadyCheck
}

// openModules opens and migrates the database of every hosted module and
// builds the module. It starts nothing. bus is nil for commands that only
// touch databases (migrate, seed).
func openModules(ctx context.Context, cfg *config.Config, log *slog.Logger, bus *events.Bus) (*modules, error) {
	m := &modules{}
	if cfg.Hosts(auth.Module) {
		d, err := m.openDB(ctx, cfg, auth.Module, authlocal.Migrations, log)
		if err != nil {
			m.close()
			return nil, err
		}
		m.auth, err = authlocal.New(authlocal.Deps{
			DB: d, Log: log, Bus: bus, OutboxRetention: cfg.Events.OutboxRetention,
			Issuer: cfg.Auth.Issuer, Audience: cfg.Auth.Audience,
			AccessTokenTTL: cfg.Auth.AccessTokenTTL, RefreshTokenTTL: cfg.Auth.RefreshTokenTTL,
		})
		if err != nil {
			m.close()
			return nil, err
		}
		m.runners = append(m.runners, m.auth)
	}
	if cfg.Hosts(bookings.Module) {
		d, err := m.openDB(ctx, cfg, bookings.Module, bookingslocal.Migrations, log)
		if err != nil {
			m.close()
			return nil, err
		}
		m.bookingsDB = d
	}
	if cfg.Hosts(payments.Module) {
		d, err := m.openDB(ctx, cfg, payments.Module, paymentslocal.Migrations, log)
		if err != nil {
			m.close()
			return nil, err
		}
		m.paymentsDB = d
		if cfg.Payments.Provider == "sandbox" {
			// The sandbox bank is a third party: its ledger lives in a file of its own.
			if m.bankDB, err = openBank(ctx, cfg, log); err != nil {
				m.close()
				return nil, err
			}
			m.dbs = append(m.dbs, m.bankDB)
		}
	}
	if cfg.Hosts(search.Module) {
		d, err := m.openDB(ctx, cfg, search.Module, searchlocal.Migrations, log)
		if err != nil {
			m.close()
			return nil, err
		}
		m.search, err = searchlocal.New(searchlocal.Deps{DB: d, Log: log, Bus: bus, OutboxRetention: cfg.Events.OutboxRetention})
		if err != nil {
			m.close()
			return nil, err
		}
		m.runners = append(m.runners, m.search)
	}
	return m, nil
}

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
func startBus(ctx context.Context, cfg *config.Config, log *slog.Logger, reg prometheus.Registerer) (*events.Bus, error) {
	opts := events.Options{Name: "bellhop", Log: log, Registerer: reg, MaxAge: cfg.Events.StreamMaxAge, Failpoints: failpoints(log)}
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

func (m *modules) openDB(ctx context.Context, cfg *config.Config, name string, steps []db.Migration, log *slog.Logger) (*db.DB, error) {
	d, err := db.Open(ctx, db.Options{Module: name, DSN: cfg.Modules[name].DSN, DataDir: cfg.DataDir, Log: log})
	if err != nil {
		return nil, err
	}
	m.dbs = append(m.dbs, d)
	if m.dbByName == nil {
		m.dbByName = map[string]*db.DB{}
	}
	m.dbByName[name] = d
	if err := d.Migrate(ctx, steps); err != nil {
		return nil, err
	}
	m.hosted = append(m.hosted, name)
	m.ready = append(m.ready, httpserver.ReadyCheck{Name: "db:" + name, Check: d.Ping})
	return d, nil
}

func (m *modules) close() {
	for _, d := range m.dbs {
		_ = d.Close()
	}
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
	mods, err := openModules(ctx, cfg, nil, nil)
	if err != nil {
		return out, err
	}
	defer mods.close()
	if mods.search != nil {
		if out.Catalog, err = mods.search.Seed(ctx); err != nil {
			return out, err
		}
	}
	if mods.auth != nil {
		for _, u := range []demoUser{{"admin@bellhop.demo", demoPassword(), authn.RoleAdmin}, {"guest@bellhop.demo", demoPassword(), authn.RoleGuest}} {
			name := "Demo " + strings.ToUpper(u.Role[:1]) + u.Role[1:]
			_, err := mods.auth.CreateUser(ctx, u.Email, name, u.Password, u.Role)
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

	// Shutdown runs these defers in reverse: modules stop (below), then the
	// event connection closes, then the databases.
	bus, err := startBus(ctx, cfg, log, reg)
	if err != nil {
		return err
	}
	mods, err := openModules(ctx, cfg, log, bus)
	if err != nil {
		_ = bus.Close()
		return err
	}
	defer mods.close()
	defer func() {
		if err := bus.Close(); err != nil {
			log.Warn("closing the event connection", "err", err)
		}
	}()
	ready := append(mods.ready, httpserver.ReadyCheck{Name: "nats", Check: bus.Ping})
	monitor, err := events.NewMonitor(bus, 500, reg)
	if err != nil {
		return err
	}
	runners := append(mods.runners, monitor)

	if mods.auth != nil && len(cfg.Auth.ServiceClients) > 0 {
		clients := make([]authlocal.ServiceClient, len(cfg.Auth.ServiceClients))
		for i, c := range cfg.Auth.ServiceClients {
			clients[i] = authlocal.ServiceClient{ID: c.ID, Secret: c.Secret, Scopes: c.Scopes}
		}
		if err := mods.auth.EnsureServiceClients(ctx, clients); err != nil {
			return fmt.Errorf("auth.service_clients: %w", err)
		}
	}
	verifier, err := newVerifier(cfg, mods)
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
		AccessLog: cfg.Log.AccessLog,
	}
	if err := srvCfg.Validate(); err != nil {
		return fmt.Errorf("config: server: %w", err)
	}
	srv := httpserver.New(srvCfg, httpserver.Deps{Log: log, Registry: reg, Ready: ready, Authenticate: authhttp.Authenticate(verifier)})

	// The composition root is the only place that chooses local or remote.
	svcs, err := mountServices(srv.Echo(), cfg, log, mods, bus, edges)
	if err != nil {
		return err
	}
	runners = append(runners, svcs.runners...)
	// GET /api/docs: the OpenAPI document of the public routes mounted above.
	dl := eventsAdmin{bus: bus, monitor: monitor, dbs: map[string]*gorm.DB{}}
	for name, d := range mods.dbByName {
		dl.dbs[name] = d.DB
	}
	dl.register(srv.Echo())
	if err := mountDocs(srv.Echo(), mountedAPIs{auth: svcs.auth != nil, search: svcs.search != nil, bookings: svcs.bookings != nil, payments: svcs.payments != nil, sandbox: svcs.sandbox}); err != nil {
		return err
	}

	ln, err := httpserver.Listen(cfg.Server.Addr)
	if err != nil {
		return fmt.Errorf("server.addr %s: %w", cfg.Server.Addr, err)
	}
	// The dashboard (GET /) where this process can serve every page.
	dash, dashDB, err := mountWeb(ctx, srv.Echo(), webDeps{cfg: cfg, log: log, svcs: svcs, verifier: verifier, mods: mods,
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
	log.Info("bellhop listening", "addr", ln.Addr().String(), "version", version, "modules", mods.hosted,
		"remote", remoteModules(cfg), "startup_ms", time.Since(started).Milliseconds())

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

// services are the modules' Services as this process serves them: local
// (instrumented) or remote clients; runners are the background work of the
// modules built here (bookings and payments, which need other Services).
type services struct {
	auth     auth.Service
	search   search.Service
	bookings bookings.Service
	payments payments.Service
	runners  []runner
	// sandbox: payments runs here on the sandbox bank (bank).
	sandbox bool
	bank    *sandbox.Bank
}

// mountServices builds every module's Service — in-process where the module
// is hosted, an HTTP client where it is remote — along each caller→callee
// edge of the module graph, and mounts the public routes of each on e.
func mountServices(e *echo.Echo, cfg *config.Config, log *slog.Logger, mods *modules, bus *events.Bus, edges *observability.EdgeMetrics) (svcs services, err error) {
	clientOpts := httpclient.Options{
		Caller:       "api",
		Timeout:      cfg.HTTPClient.Timeout,
		Retries:      retries(cfg.HTTPClient.Retries),
		RetryBackoff: cfg.HTTPClient.RetryBackoff,
		Breaker:      httpclient.BreakerConfig{ConsecutiveFailures: cfg.HTTPClient.BreakerFailures, OpenTimeout: cfg.HTTPClient.BreakerOpenTimeout},
		Metrics:      edges,
	}
	tokens, err := serviceTokens(cfg, mods)
	if err != nil {
		return services{}, err
	}
	clientOpts.ServiceTokens = tokens
	if tokens == nil {
		// Without a service identity, a module calling another's
		// service-only routes over HTTP is refused (401) on every call.
		if mods.bookingsDB != nil && cfg.Modules[search.Module].URL != "" {
			log.Warn("bookings calls search over HTTP without a service identity: every hold will fail; set auth.client_id and auth.client_secret (a service client with search:quote)")
		}
		if mods.paymentsDB != nil && cfg.Modules[bookings.Module].URL != "" {
			log.Warn("payments calls bookings over HTTP without a service identity: every payment will fail; set auth.client_id and auth.client_secret (a service client with bookings:read)")
		}
	}

	var ath auth.Service
	switch {
	case mods.auth != nil:
		ath = instrumentAuth(mods.auth.Service(), observability.Edge{Metrics: edges, Caller: "api", Callee: auth.Module, Location: observability.Local})
	case cfg.Modules[auth.Module].URL != "":
		if ath, err = authhttp.NewClient(cfg.Modules[auth.Module].URL, clientOpts); err != nil {
			return services{}, fmt.Errorf("modules.auth.url: %w", err)
		}
	}
	if ath != nil {
		var csrfKey []byte
		if cfg.Auth.CSRFKey != "" {
			csrfKey, _ = base64.StdEncoding.DecodeString(cfg.Auth.CSRFKey) // validated with the config
		}
		err := authhttp.Register(e, ath, authhttp.Options{
			Issuer: cfg.Auth.Issuer, PublicURL: cfg.Auth.PublicURL, CSRFKey: csrfKey, Log: log,
			SignInRateLimit: httpserver.RateLimitConfig{Enabled: true, RPS: cfg.Auth.SignInRateLimit.RPS, Burst: cfg.Auth.SignInRateLimit.Burst},
			TokenRateLimit:  httpserver.RateLimitConfig{Enabled: true, RPS: cfg.Auth.TokenRateLimit.RPS, Burst: cfg.Auth.TokenRateLimit.Burst},
		})
		if err != nil {
			return services{}, fmt.Errorf("auth routes: %w", err)
		}
	}
	var srch search.Service
	switch {
	case mods.search != nil:
		srch = instrumentSearch(mods.search.Service(), observability.Edge{Metrics: edges, Caller: "api", Callee: search.Module, Location: observability.Local})
	case cfg.Modules[search.Module].URL != "":
		if srch, err = searchhttp.NewClient(cfg.Modules[search.Module].URL, clientOpts); err != nil {
			return services{}, fmt.Errorf("modules.search.url: %w", err)
		}
	}
	if srch != nil {
		searchhttp.Register(e, srch)
	}

	// Bookings calls search; payments calls bookings. Each edge is either an
	// instrumented in-process Service or an HTTP client, chosen here only.
	edge := func(caller, callee string) observability.Edge {
		return observability.Edge{Metrics: edges, Caller: caller, Callee: callee, Location: observability.Local}
	}
	callerOpts := func(caller string) httpclient.Options { o := clientOpts; o.Caller = caller; return o }
	var bkg, localBookings bookings.Service
	switch {
	case mods.bookingsDB != nil:
		var searchForBookings search.Service
		switch {
		case mods.search != nil:
			searchForBookings = instrumentSearch(mods.search.Service(), edge(bookings.Module, search.Module))
		case cfg.Modules[search.Module].URL != "":
			if searchForBookings, err = searchhttp.NewClient(cfg.Modules[search.Module].URL, callerOpts(bookings.Module)); err != nil {
				return services{}, fmt.Errorf("modules.search.url: %w", err)
			}
		default:
			return services{}, errors.New("bookings needs search: host it here or set modules.search.url")
		}
		m, err := bookingslocal.New(bookingslocal.Deps{
			DB: mods.bookingsDB, Log: log, Bus: bus, OutboxRetention: cfg.Events.OutboxRetention, Search: searchForBookings,
			HoldTTL: cfg.Bookings.HoldTTL, ExpiryInterval: cfg.Bookings.ExpiryInterval,
		})
		if err != nil {
			return services{}, err
		}
		svcs.runners = append(svcs.runners, m)
		localBookings = m.Service()
		bkg = instrumentBookings(localBookings, edge("api", bookings.Module))
	case cfg.Modules[bookings.Module].URL != "":
		if bkg, err = bookingshttp.NewClient(cfg.Modules[bookings.Module].URL, clientOpts); err != nil {
			return services{}, fmt.Errorf("modules.bookings.url: %w", err)
		}
	}
	if bkg != nil {
		bookingshttp.Register(e, bkg)
	}

	var pay payments.Service
	switch {
	case mods.paymentsDB != nil:
		var bookingsForPayments bookings.Service
		switch {
		case localBookings != nil:
			bookingsForPayments = instrumentBookings(localBookings, edge(payments.Module, bookings.Module))
		case cfg.Modules[bookings.Module].URL != "":
			// Payments reads bookings as itself: the client sends this
			// process's service token (auth.client_id, with bookings:read).
			if bookingsForPayments, err = bookingshttp.NewClient(cfg.Modules[bookings.Module].URL, callerOpts(payments.Module)); err != nil {
				return services{}, fmt.Errorf("modules.bookings.url: %w", err)
			}
		default:
			return services{}, errors.New("payments needs bookings: host it here or set modules.bookings.url")
		}
		prov, err := paymentProvider(cfg, mods.bankDB)
		if err != nil {
			return services{}, err
		}
		if bank, ok := prov.(*sandbox.Bank); ok {
			sandboxAdmin{bank: bank, log: log, validate: validation.New()}.register(e)
			svcs.sandbox, svcs.bank = true, bank
		}
		m, err := paymentslocal.New(paymentslocal.Deps{
			DB: mods.paymentsDB, Log: log, Bus: bus, OutboxRetention: cfg.Events.OutboxRetention,
			Bookings: bookingsForPayments, Provider: prov, ReconcileInterval: cfg.Payments.ReconcileInterval,
			NotFoundGrace: cfg.Payments.NotFoundGrace, StaleAfter: cfg.Payments.StaleAfter,
			ProviderPolicy: provider.Policy{
				AttemptTimeout: cfg.Payments.Guard.AttemptTimeout, Attempts: cfg.Payments.Guard.Attempts,
				BreakerFailures: uint32(cfg.Payments.Guard.BreakerFailures), BreakerOpen: cfg.Payments.Guard.BreakerOpen,
			},
		})
		if err != nil {
			return services{}, err
		}
		svcs.runners = append(svcs.runners, m)
		pay = instrumentPayments(m.Service(), edge("api", payments.Module))
	case cfg.Modules[payments.Module].URL != "":
		if pay, err = paymentshttp.NewClient(cfg.Modules[payments.Module].URL, clientOpts); err != nil {
			return services{}, fmt.Errorf("modules.payments.url: %w", err)
		}
	}
	if pay != nil {
		paymentshttp.Register(e, pay, paymentshttp.Options{PayRateLimit: httpserver.RateLimitConfig{
			Enabled: true, RPS: cfg.Payments.RateLimit.RPS, Burst: cfg.Payments.RateLimit.Burst,
		}})
	}
	svcs.auth, svcs.search, svcs.bookings, svcs.payments = ath, srch, bkg, pay
	return svcs, nil
}

// openBank opens the sandbox bank's ledger: <data_dir>/sandbox-bank.db. The
// bank stands for a third party, so it is no module of ours and has no
// events, readiness or dead letters here.
func openBank(ctx context.Context, cfg *config.Config, log *slog.Logger) (*db.DB, error) {
	d, err := db.Open(ctx, db.Options{Module: "sandbox-bank", DataDir: cfg.DataDir, Log: log})
	if err != nil {
		return nil, err
	}
	if err := d.Migrate(ctx, sandbox.Migrations); err != nil {
		_ = d.Close()
		return nil, err
	}
	return d, nil
}

// paymentProvider is the payment provider named in config: the embedded
// sandbox bank (its ledger in bankDB) or Stripe.
func paymentProvider(cfg *config.Config, bankDB *db.DB) (provider.Provider, error) {
	if cfg.Payments.Provider == "stripe" {
		p, err := stripeprovider.New(stripeprovider.Options{APIKey: cfg.Payments.Stripe.APIKey, BaseURL: cfg.Payments.Stripe.BaseURL})
		if err != nil {
			return nil, fmt.Errorf("payments.stripe: %w", err)
		}
		return p, nil
	}
	bank, err := sandbox.New(bankDB, sandbox.Options{
		Latency: cfg.Payments.Sandbox.Latency, LatencyMax: cfg.Payments.Sandbox.LatencyMax, FailureRate: cfg.Payments.Sandbox.FailureRate,
	})
	if err != nil {
		return nil, fmt.Errorf("payments.sandbox: %w", err)
	}
	return bank, nil
}

// retries maps the config's count of extra attempts to httpclient's, where 0
// means "the default" and a negative number means none.
func retries(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

func remoteModules(cfg *config.Config) map[string]string {
	out := map[string]string{}
	for name, m := range cfg.Modules {
		if m.URL != "" {
			out[name] = m.URL
		}
	}
	return out
}

// newVerifier builds token verification: keys named in config (a JWKS file
// or URL), else the auth module's own keys in-process, else auth's JWKS over
// HTTP when auth is remote. With none of those there is no verifier, and
// routes that need a token answer 401.
func newVerifier(cfg *config.Config, mods *modules) (*authn.Verifier, error) {
	var keys authn.KeySet
	var err error
	switch {
	case cfg.Auth.JWKSFile != "":
		keys, err = authn.NewFileKeySet(cfg.Auth.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("auth.jwks_file: %w", err)
		}
	case cfg.Auth.JWKSURL != "":
		keys, err = authn.NewRemoteKeySet(cfg.Auth.JWKSURL, &http.Client{Timeout: 5 * time.Second})
		if err != nil {
			return nil, fmt.Errorf("auth.jwks_url: %w", err)
		}
	case mods.auth != nil:
		keys = mods.auth.KeySet()
	case cfg.Modules[auth.Module].URL != "":
		u := strings.TrimSuffix(cfg.Modules[auth.Module].URL, "/") + "/.well-known/jwks.json"
		keys, err = authn.NewRemoteKeySet(u, &http.Client{Timeout: 5 * time.Second})
		if err != nil {
			return nil, fmt.Errorf("modules.auth.url: %w", err)
		}
	default:
		return nil, nil
	}
	return authn.NewVerifier(keys, cfg.Auth.Issuer, cfg.Auth.Audience)
}

// serviceTokens is this process's service identity on other modules'
// /internal routes: client credentials from the auth module, in-process when
// auth is hosted here, else from its token endpoint. Without auth.client_id
// there is none, and /internal calls carry no token.
func serviceTokens(cfg *config.Config, mods *modules) (httpclient.TokenSource, error) {
	if cfg.Auth.ClientID == "" {
		return nil, nil
	}
	if mods.auth != nil {
		return &localTokens{svc: mods.auth.Service(), id: cfg.Auth.ClientID, secret: cfg.Auth.ClientSecret}, nil
	}
	base := cfg.Modules[auth.Module].URL
	if base == "" {
		return nil, errors.New("auth.client_id is set but the auth module is neither hosted here nor remote (modules.auth.url)")
	}
	cc := httpclient.ClientCredentialsConfig{
		TokenURL: strings.TrimSuffix(base, "/") + "/oauth/token", ClientID: cfg.Auth.ClientID, ClientSecret: cfg.Auth.ClientSecret,
	}
	if err := cc.Validate(); err != nil {
		return nil, fmt.Errorf("auth.client_id: %w", err)
	}
	return httpclient.ClientCredentials(cc), nil
}

// localTokens gets service tokens from the auth module hosted in this
// process, with the same client-credentials grant a remote caller uses, and
// reuses each until shortly before it expires.
type localTokens struct {
	svc        auth.Service
	id, secret string

	mu      sync.Mutex
	token   string
	expires time.Time
}

func (l *localTokens) Token(ctx context.Context) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.token != "" && time.Now().Before(l.expires) {
		return l.token, nil
	}
	t, err := l.svc.Token(ctx, auth.TokenRequest{GrantType: "client_credentials", ClientID: l.id, ClientSecret: l.secret})
	if err != nil {
		return "", err
	}
	l.token = t.AccessToken
	l.expires = time.Now().Add(time.Duration(t.ExpiresIn)*time.Second - 30*time.Second)
	return l.token, nil
}

// Invalidate drops the cached token (httpclient calls it after a 401).
func (l *localTokens) Invalidate() {
	l.mu.Lock()
	l.token = ""
	l.mu.Unlock()
}
