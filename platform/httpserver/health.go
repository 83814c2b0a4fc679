package httpserver

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/observability"
)

// healthzBody is /healthz's constant answer.
const healthzBody = `{"status":"ok"}`

func (s *Server) routes(reg *prometheus.Registry) {
	get := []string{http.MethodGet, http.MethodHead}
	body := []byte(healthzBody)
	s.e.Match(get, PathHealthz, func(c echo.Context) error {
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, body)
	})
	s.e.Match(get, PathReadyz, s.readyz)
	metrics := echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	s.e.GET(PathMetrics, func(c echo.Context) error {
		if !mayScrape(c.Request(), s.cfg.MetricsToken) {
			return echo.ErrNotFound
		}
		return metrics(c)
	})
}

// mayScrape reports whether r may read /metrics: with a token configured,
// when it carries it as a bearer token; without one, when the peer itself
// (never X-Forwarded-For) is on loopback.
func mayScrape(r *http.Request, token string) bool {
	if token != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		return ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// readyBody is /readyz's 200 answer.
type readyBody struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// notReadyBody is /readyz's 503 answer: a problem document whose errors list
// the failing checks, plus every check's outcome.
type notReadyBody struct {
	apperr.Problem
	Checks map[string]string `json:"checks"`
}

// readyz runs every readiness check in parallel, each bounded by
// DefaultReadyCheckTimeout. Failures are logged with their error; the body
// says only "failed" or "timed out", so no internal address leaks.
func (s *Server) readyz(c echo.Context) error {
	ctx := c.Request().Context()
	results := make([]string, len(s.ready))
	var wg sync.WaitGroup
	for i, rc := range s.ready {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, DefaultReadyCheckTimeout)
			defer cancel()
			err := runCheck(cctx, rc.Check)
			switch {
			case err == nil:
				results[i] = "ok"
				return
			case errors.Is(err, context.DeadlineExceeded) || cctx.Err() != nil:
				results[i] = "timed out"
			default:
				results[i] = "failed"
			}
			logAttrs(ctx, s.log, slog.LevelWarn, "readiness check failed",
				slog.String("check", rc.Name), slog.String("error", err.Error()))
		})
	}
	wg.Wait()

	checks := make(map[string]string, len(s.ready))
	var failing []apperr.FieldError
	for i, rc := range s.ready {
		checks[rc.Name] = results[i]
		if results[i] != "ok" {
			failing = append(failing, apperr.FieldError{Field: rc.Name, Reason: "check_failed", Detail: results[i]})
		}
	}
	if len(failing) == 0 && !s.draining.Load() {
		return c.JSON(http.StatusOK, readyBody{Status: "ready", Checks: checks})
	}

	slices.SortFunc(failing, func(a, b apperr.FieldError) int { return strings.Compare(a.Field, b.Field) })
	var e *apperr.Error
	if len(failing) == 0 {
		e = apperr.Unavailable(ReasonNotReady, "the server is shutting down")
	} else {
		names := make([]string, len(failing))
		for i, f := range failing {
			names[i] = f.Field
		}
		e = apperr.Unavailable(ReasonNotReady, "not ready: "+strings.Join(names, ", ")).WithFields(failing...)
	}
	p := apperr.ToProblem(e)
	p.RequestID = observability.RequestID(ctx)
	p.Instance = c.Request().URL.Path
	b, err := json.Marshal(notReadyBody{Problem: p, Checks: checks})
	if err != nil {
		return apperr.Internal(err)
	}
	return c.Blob(http.StatusServiceUnavailable, apperr.ProblemMediaType, b)
}

// runCheck runs one check until it returns or ctx is done (a check that
// ignores its context must not hang /readyz; its goroutine finishes on its
// own), turning a panic into an error so one bad check cannot take the
// process down.
func runCheck(ctx context.Context, check func(context.Context) error) error {
	if check == nil {
		return errors.New("no check function")
	}
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- &panicError{value: r}
			}
		}()
		done <- check(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
