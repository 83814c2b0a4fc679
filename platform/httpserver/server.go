// Package httpserver is Bellhop's HTTP front door: an Echo instance with the
// middleware every request goes through (request ID, panic recovery, access
// log, Prometheus metrics, security headers, CORS, body limit, authentication,
// rate limiting), an error handler that renders every error as RFC 9457
// application/problem+json, strict JSON and query binding, the operational
// endpoints /healthz, /readyz and /metrics, and graceful shutdown.
//
// Modules mount their routes on Server.Echo(); handlers return errors (usually
// *apperr.Error) and let ErrorHandler render them.
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/bellhop/bellhop/platform/observability"
)

// Defaults applied by New to zero Config values.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultShutdownTimeout   = 15 * time.Second
	DefaultBodyLimit         = 1 << 20 // 1 MiB
	// DefaultReadyCheckTimeout bounds each readiness check.
	DefaultReadyCheckTimeout = 2 * time.Second
)

// Paths of the operational endpoints. They skip rate limiting and are access
// logged at debug level only.
const (
	PathHealthz = "/healthz"
	PathReadyz  = "/readyz"
	PathMetrics = "/metrics"
)

// RateLimitConfig configures a token-bucket rate limit per caller (the
// authenticated principal, else the client IP).
type RateLimitConfig struct {
	Enabled bool
	RPS     float64       // sustained requests per second per key; must be > 0 when Enabled
	Burst   int           // bucket size; 0 means max(1, ceil(RPS))
	TTL     time.Duration // forget keys idle this long; 0 means 10 minutes (never less than a full refill)
}

// Config is the HTTP server's configuration. Zero durations and a zero
// BodyLimit take the Default* values.
type Config struct {
	Addr string

	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration

	BodyLimit int64 // bytes

	// TrustedProxies are CIDRs (or single IPs) whose X-Forwarded-For header is
	// believed. Empty: the direct peer address is the client IP.
	TrustedProxies []string
	// CORSAllowedOrigins are the origins allowed cross-origin access. Empty: no CORS headers.
	CORSAllowedOrigins []string

	RateLimit RateLimitConfig
	// FailedAuthLimit limits, per client IP, requests whose credentials fail
	// Deps.Authenticate, refusing further ones before they are verified
	// (see LimitFailedAuthentication). Zero: DefaultFailedAuthLimit.
	FailedAuthLimit RateLimitConfig
	AccessLog       bool
	// MetricsToken, when set, is the bearer token /metrics requires; when
	// empty, /metrics answers only peers connected over loopback (404 to
	// others, so its existence is not advertised).
	MetricsToken string
}

// Validate reports the first problem with the configuration, in words an
// operator can act on. New panics on a configuration that does not validate,
// so the composition root should call Validate first.
func (c Config) Validate() error {
	for name, d := range map[string]time.Duration{
		"read_header_timeout": c.ReadHeaderTimeout,
		"read_timeout":        c.ReadTimeout,
		"write_timeout":       c.WriteTimeout,
		"idle_timeout":        c.IdleTimeout,
		"shutdown_timeout":    c.ShutdownTimeout,
	} {
		if d < 0 {
			return fmt.Errorf("http %s is negative (%s)", name, d)
		}
	}
	if c.BodyLimit < 0 {
		return fmt.Errorf("http body_limit is negative (%d)", c.BodyLimit)
	}
	if _, err := parseTrustedProxies(c.TrustedProxies); err != nil {
		return err
	}
	for _, o := range c.CORSAllowedOrigins {
		if strings.TrimSpace(o) == "" {
			return errors.New("http cors_allowed_origins contains an empty origin")
		}
	}
	if err := c.FailedAuthLimit.validate(); err != nil {
		return fmt.Errorf("failed_auth_limit: %w", err)
	}
	return c.RateLimit.validate()
}

func (r RateLimitConfig) validate() error {
	if !r.Enabled {
		return nil
	}
	if !(r.RPS > 0) {
		return fmt.Errorf("http rate_limit.rps must be greater than 0 when the rate limit is enabled (got %v)", r.RPS)
	}
	if r.Burst < 0 {
		return fmt.Errorf("http rate_limit.burst is negative (%d)", r.Burst)
	}
	if r.TTL < 0 {
		return fmt.Errorf("http rate_limit.ttl is negative (%s)", r.TTL)
	}
	return nil
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&c.ReadTimeout, DefaultReadTimeout)
	def(&c.WriteTimeout, DefaultWriteTimeout)
	def(&c.IdleTimeout, DefaultIdleTimeout)
	def(&c.ShutdownTimeout, DefaultShutdownTimeout)
	if c.BodyLimit == 0 {
		c.BodyLimit = DefaultBodyLimit
	}
	return c
}

// ReadyCheck is one readiness probe (a database ping, the event connection).
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// Deps are the server's collaborators.
type Deps struct {
	Log *slog.Logger // nil: discard
	// Registry receives the HTTP metrics and is served on /metrics (the caller
	// registers Go/process collectors). Nil: a private registry.
	Registry *prometheus.Registry
	// Ready are run by /readyz, in parallel, each bounded by DefaultReadyCheckTimeout.
	Ready []ReadyCheck
	// Authenticate is optional; it runs before rate limiting so limits key on
	// the principal it puts in the request context.
	Authenticate echo.MiddlewareFunc
	// Tracing, if set, makes every request (but the operational endpoints) a
	// server span named by its route, continuing the trace of an incoming
	// traceparent. Nil: no spans.
	Tracing trace.TracerProvider
}

// Server is the configured Echo instance plus what it needs to serve and shut down.
type Server struct {
	cfg      Config
	log      *slog.Logger
	e        *echo.Echo
	ready    []ReadyCheck
	metrics  *httpMetrics
	tracer   trace.Tracer // nil: no spans
	draining atomic.Bool
	// cspSkip holds path prefixes that get no default Content-Security-Policy.
	cspSkip atomic.Pointer[[]string]
	hdr     struct{ nosniff, deny, noReferrer, csp, noStore []string }
}

// New builds the server: Echo with Bellhop's middleware stack and the
// operational endpoints. It starts nothing; call Serve. It panics if cfg does
// not pass Validate (a programming or configuration error caught at start).
//
// Middleware order: request ID; panic recovery (a safety net for the
// middleware above the handlers); access log + metrics, which also render
// returned errors and recover handler panics so both see the final status,
// and the request's span (Deps.Tracing);
// security headers; CORS (only with origins); body limit; Deps.Authenticate
// behind the per-IP limit of failed authentications (Config.FailedAuthLimit);
// rate limit (Config.RateLimit).
func New(cfg Config, deps Deps) *Server {
	if err := cfg.Validate(); err != nil {
		panic("httpserver.New: invalid config: " + err.Error())
	}
	cfg = cfg.withDefaults()
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := deps.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}

	s := &Server{
		cfg:     cfg,
		log:     log,
		e:       echo.New(),
		ready:   append([]ReadyCheck(nil), deps.Ready...),
		metrics: newHTTPMetrics(reg),
		tracer:  observability.Tracer(deps.Tracing, "bellhop/httpserver"),
	}
	s.hdr.nosniff = []string{"nosniff"}
	s.hdr.deny = []string{"DENY"}
	s.hdr.noReferrer = []string{"no-referrer"}
	s.hdr.csp = []string{DefaultCSP}
	s.hdr.noStore = []string{"no-store"}
	e := s.e
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = ErrorHandler(log)
	e.JSONSerializer = newJSONSerializer()
	proxies, _ := parseTrustedProxies(cfg.TrustedProxies) // validated above
	e.IPExtractor = ipExtractor(proxies)

	e.Use(requestID)
	e.Use(s.recoverPanics)
	e.Use(s.instrument)
	e.Use(s.securityHeaders)
	if len(cfg.CORSAllowedOrigins) > 0 {
		e.Use(middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins:  cfg.CORSAllowedOrigins,
			AllowHeaders:  []string{echo.HeaderAuthorization, echo.HeaderContentType, echo.HeaderXRequestID, "Idempotency-Key"},
			ExposeHeaders: []string{echo.HeaderXRequestID, echo.HeaderRetryAfter, echo.HeaderLocation},
			MaxAge:        600,
		}))
	}
	e.Use(bodyLimit(cfg.BodyLimit))
	if deps.Authenticate != nil {
		failedAuth := cfg.FailedAuthLimit
		if failedAuth == (RateLimitConfig{}) {
			failedAuth = DefaultFailedAuthLimit
		}
		authenticate := LimitFailedAuthentication(failedAuth, deps.Authenticate)
		e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
			withAuth := authenticate(next)
			return func(c echo.Context) error {
				// /metrics checks its own scrape token (MetricsToken), which
				// is not a user's JWT: verifying it as one refused every scrape.
				if c.Request().URL.Path == PathMetrics {
					return next(c)
				}
				return withAuth(c)
			}
		})
	}
	if cfg.RateLimit.Enabled {
		e.Use(RateLimit(cfg.RateLimit, ReasonRateLimited))
	}

	s.routes(reg)
	return s
}

// Echo is the underlying Echo instance, for modules to mount their routes.
func (s *Server) Echo() *echo.Echo { return s.e }

// Serve serves HTTP on ln until ctx is done, then shuts down gracefully: it
// stops accepting, lets in-flight requests finish within ShutdownTimeout, and
// then closes whatever is left. It returns nil after a clean shutdown, the
// serving error if serving failed, or an error if the drain timed out. Serve
// closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Addr:              ln.Addr().String(),
		Handler:           s.e,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.draining.Store(false)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return fmt.Errorf("http serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}

	s.draining.Store(true) // /readyz answers 503 from now on
	s.log.Info("http server shutting down", slog.String("addr", ln.Addr().String()),
		slog.Duration("timeout", s.cfg.ShutdownTimeout))
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close() // force: drop the requests still running
		<-errc
		return fmt.Errorf("http graceful shutdown within %s: %w", s.cfg.ShutdownTimeout, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http serve on %s: %w", ln.Addr(), err)
	}
	s.log.Info("http server stopped", slog.String("addr", ln.Addr().String()))
	return nil
}

// Listen opens a TCP listener on addr ("127.0.0.1:0" picks a free port).
func Listen(addr string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http listen on %s: %w", addr, err)
	}
	return ln, nil
}

// parseTrustedProxies reads CIDRs; a bare IP is a single-address prefix.
func parseTrustedProxies(list []string) ([]*net.IPNet, error) {
	out := make([]*net.IPNet, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("http trusted_proxies: %q is neither a CIDR nor an IP address", s)
			}
			s = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()).String()
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("http trusted_proxies: %q is not a valid CIDR (like 10.0.0.0/8)", s)
		}
		out = append(out, n)
	}
	return out, nil
}
