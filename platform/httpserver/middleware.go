package httpserver

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/observability"
)

// maxRequestIDLen bounds an accepted incoming X-Request-ID.
const maxRequestIDLen = 128

// requestID accepts a sane incoming X-Request-ID (1..128 of [A-Za-z0-9._-]) or
// generates one, echoes it in the response and puts it in the request context.
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		id := req.Header.Get(observability.RequestIDHeader)
		if !validRequestID(id) {
			id = rand.Text() // 26 base32 characters, 130 random bits
		}
		c.Response().Header().Set(observability.RequestIDHeader, id)
		c.SetRequest(req.WithContext(observability.WithRequestID(req.Context(), id)))
		return next(c)
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch b := id[i]; {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9', b == '.', b == '_', b == '-':
		default:
			return false
		}
	}
	return true
}

// panicError is a recovered panic: the value and the stack where it happened.
// ErrorHandler logs the stack; the client sees only a generic 500.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// Unwrap exposes a panicked error value to errors.Is/As.
func (p *panicError) Unwrap() error {
	err, _ := p.value.(error)
	return err
}

// recoverPanics turns a panic below it into a 500 problem. It is the safety
// net for the middleware above the handlers' own recovery point (instrument,
// which recovers so that the access log and metrics see the 500 it sends).
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				renderPanic(c, r)
				err = nil
			}
		}()
		return next(c)
	}
}

// renderPanic answers a recovered panic with a generic 500 problem; the error
// handler logs it once, with the stack (taken here, while the panicking frames
// are still on it). http.ErrAbortHandler is re-panicked: net/http uses it to
// abort a response on purpose.
func renderPanic(c echo.Context, r any) {
	if r == http.ErrAbortHandler {
		panic(r)
	}
	c.Error(apperr.Internal(&panicError{value: r, stack: debug.Stack()}))
}

// instrument renders any error returned from below and recovers panics (so
// the final status is known), then records the request's metrics, span and
// access log line.
func (s *Server) instrument(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		s.metrics.inFlight.Inc()
		span := s.startSpan(c)
		var err error
		returned := false
		defer func() {
			s.metrics.inFlight.Dec()
			if !returned {
				r := recover()
				if r == http.ErrAbortHandler {
					s.record(c, start, nil)
					endServerSpan(span, c)
				}
				if r != nil {
					renderPanic(c, r)
				}
			}
			s.record(c, start, err)
			endServerSpan(span, c)
		}()
		err = next(c)
		returned = true
		if err != nil {
			c.Error(err)
		}
		return nil
	}
}

// startSpan starts the request's server span, continuing the trace of an
// incoming traceparent, and puts it in the request context. Its name is the
// route template ("GET /api/v1/hotels/:id"): never the path with its ids,
// the query string or any header but traceparent. Nil without a tracer, and
// for the operational endpoints (probes every few seconds are noise).
func (s *Server) startSpan(c echo.Context) trace.Span {
	req := c.Request()
	if s.tracer == nil || isOpsPath(req.URL.Path) {
		return nil
	}
	route := c.Path()
	if route == "" {
		route = routeUnmatched
	}
	ctx := observability.ExtractTrace(req.Context(), req.Header)
	ctx, span := s.tracer.Start(ctx, req.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("http.request.method", req.Method),
			attribute.String("http.route", route),
			attribute.String("bellhop.request_id", observability.RequestID(ctx)),
		))
	c.SetRequest(req.WithContext(ctx))
	return span
}

// endServerSpan ends a request's span with the status sent (a 5xx marks it
// failed; a 4xx is the client's doing). A nil span is ignored.
func endServerSpan(span trace.Span, c echo.Context) {
	if span == nil {
		return
	}
	status := c.Response().Status
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}

// record observes the request's metrics and writes its access log line.
func (s *Server) record(c echo.Context, start time.Time, err error) {
	route := c.Path()
	if route == "" || errors.Is(err, echo.ErrNotFound) {
		route = routeUnmatched // unknown paths must not mint label values
	}
	status := c.Response().Status
	elapsed := time.Since(start)
	s.metrics.observe(route, c.Request().Method, status, elapsed)
	if s.cfg.AccessLog {
		s.accessLog(c, route, status, elapsed)
	}
}

// isOpsPath reports the operational endpoints, which skip rate limits and
// log at debug level.
func isOpsPath(p string) bool {
	return p == PathHealthz || p == PathReadyz || p == PathMetrics
}

func (s *Server) accessLog(c echo.Context, route string, status int, elapsed time.Duration) {
	req := c.Request()
	level := slog.LevelInfo
	if isOpsPath(req.URL.Path) {
		level = slog.LevelDebug
	}
	ctx := req.Context()
	if !s.log.Enabled(ctx, level) {
		return
	}
	// Deliberately absent: headers (Authorization, cookies), query values, bodies.
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs,
		slog.String("method", req.Method),
		slog.String("route", route),
		slog.String("path", req.URL.Path),
		slog.Int("status", status),
		slog.Float64("latency_ms", float64(elapsed.Microseconds())/1000),
		slog.Int64("bytes_out", c.Response().Size),
		slog.String("ip", ClientIP(c)),
	)
	if p, ok := authn.FromContext(ctx); ok && p.Subject != "" {
		attrs = append(attrs, slog.String("sub", p.Subject))
	}
	logAttrs(ctx, s.log, level, "http request", attrs...)
}

// logAttrs logs with ctx (so handlers can read trace data from it) and with
// request_id as an explicit attribute. The request ID in ctx is blanked so a
// logger from observability.NewLogger, which adds it from the context, does
// not write it twice.
func logAttrs(ctx context.Context, log *slog.Logger, level slog.Level, msg string, attrs ...slog.Attr) {
	id := observability.RequestID(ctx)
	if id != "" {
		ctx = observability.WithRequestID(ctx, "")
		attrs = append(attrs, slog.String("request_id", id))
	}
	log.LogAttrs(ctx, level, msg, attrs...)
}

// DefaultCSP is the Content-Security-Policy sent with every response unless
// a path prefix is exempted (Server.SkipCSP) or a route group overrides it
// (ContentSecurityPolicy). JSON APIs load nothing and are framed nowhere.
const DefaultCSP = "default-src 'none'; frame-ancestors 'none'"

// securityHeaders sets headers that make browsers treat responses strictly.
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		// Shared value slices assigned under canonical keys: no per-request
		// allocation. Later Set, Add and Del replace or copy them, never write
		// into them.
		h[echo.HeaderXContentTypeOptions] = s.hdr.nosniff
		h[echo.HeaderXFrameOptions] = s.hdr.deny
		h[echo.HeaderReferrerPolicy] = s.hdr.noReferrer
		if !s.cspSkipped(c.Request().URL.Path) {
			h[echo.HeaderContentSecurityPolicy] = s.hdr.csp
		}
		if !isPrivatePath(c.Request().URL.Path) {
			return next(c)
		}
		// Answers here carry personal, payment or token data: no cache may
		// keep them unless the handler says otherwise (a public document
		// sets its own Cache-Control, which replaces this default). An error
		// answer is never cacheable, whatever the handler set before failing.
		h[echo.HeaderCacheControl] = s.hdr.noStore
		err := next(c)
		if err != nil && !c.Response().Committed {
			h[echo.HeaderCacheControl] = s.hdr.noStore
		}
		return err
	}
}

// privatePrefixes are the path prefixes whose answers are no-store by default.
var privatePrefixes = []string{"/api/", "/internal/", "/oauth/"}

func isPrivatePath(p string) bool {
	for _, prefix := range privatePrefixes {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// SkipCSP exempts paths under each prefix (such as "/app" or "/api/docs")
// from the default Content-Security-Policy, for pages that load scripts and
// styles; they should set their own (see ContentSecurityPolicy). A prefix
// matches the path itself and paths below it ("/app" matches "/app" and
// "/app/x", not "/apple"). Safe to call at any time; calls accumulate.
func (s *Server) SkipCSP(prefixes ...string) {
	for {
		old := s.cspSkip.Load()
		var next []string
		if old != nil {
			next = append(next, *old...)
		}
		for _, p := range prefixes {
			next = append(next, strings.TrimSuffix(p, "/"))
		}
		if s.cspSkip.CompareAndSwap(old, &next) {
			return
		}
	}
}

func (s *Server) cspSkipped(path string) bool {
	list := s.cspSkip.Load()
	if list == nil {
		return false
	}
	for _, p := range *list {
		if strings.HasPrefix(path, p) && (len(path) == len(p) || path[len(p)] == '/') {
			return true
		}
	}
	return false
}

// ContentSecurityPolicy is route-group middleware that replaces the default
// Content-Security-Policy with policy ("" removes the header), e.g. for the
// dashboard: g := e.Group("/app", httpserver.ContentSecurityPolicy("default-src 'self'")).
func ContentSecurityPolicy(policy string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if policy == "" {
				c.Response().Header().Del(echo.HeaderContentSecurityPolicy)
			} else {
				c.Response().Header().Set(echo.HeaderContentSecurityPolicy, policy)
			}
			return next(c)
		}
	}
}

// errTooLarge is the 413 for a request body over the limit.
var errTooLarge = apperr.New(apperr.CodeTooLarge, ReasonBodyTooLarge, "the request body is too large")

func tooLarge(limit int64) *apperr.Error {
	return errTooLarge.With("the request body exceeds the limit of %d bytes", limit)
}

// bodyLimit rejects a declared Content-Length over limit at once, and caps
// the body at limit for readers (who then get *http.MaxBytesError, which the
// error handler and BindJSON answer with 413).
func bodyLimit(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.ContentLength > limit {
				return tooLarge(limit)
			}
			if req.Body != nil && req.Body != http.NoBody {
				req.Body = http.MaxBytesReader(c.Response().Writer, req.Body, limit)
			}
			return next(c)
		}
	}
}
