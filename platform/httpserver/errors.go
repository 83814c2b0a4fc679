package httpserver

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/observability"
)

// Reasons of the errors this package produces itself.
const (
	ReasonRouteNotFound        = "http.route_not_found"
	ReasonMethodNotAllowed     = "http.method_not_allowed"
	ReasonUnsupportedMediaType = "http.unsupported_media_type"
	ReasonBodyTooLarge         = "http.body_too_large"
	ReasonUnreadable           = "http.unreadable"
	ReasonUnreadableBody       = "http.unreadable_body"
	ReasonUnreadableQuery      = "http.unreadable_query"
	ReasonRateLimited          = "http.rate_limited"
	ReasonNotReady             = "http.not_ready"
	ReasonRequestCanceled      = "http.request_canceled"
)

// ErrorHandler renders every error as an RFC 9457 application/problem+json
// document (apperr.ToProblem) with request_id from the context and instance =
// the request path. *apperr.Error values are rendered as they are; Echo's
// HTTPErrors are mapped (404 route not found, 405, 413, 400, others by
// status); *http.MaxBytesError is 413; anything else is a generic 500.
// A RetryAfter becomes a Retry-After header. 5xx errors are logged once at
// error level with their cause (and a panic's stack); 4xx at debug level.
// HEAD requests get no body. If the response is already committed the error
// is only logged.
func ErrorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(err error, c echo.Context) {
		if err == nil {
			return
		}
		req := c.Request()
		ctx := req.Context()
		ae := toAppErr(err, ctx)
		status := ae.Status()
		res := c.Response()

		logError(ctx, log, c, err, ae, res.Committed)
		if res.Committed {
			return
		}

		p := apperr.ToProblem(ae)
		p.RequestID = observability.RequestID(ctx)
		p.Instance = req.URL.Path
		h := res.Header()
		if p.RetryAfterSeconds > 0 {
			h.Set(echo.HeaderRetryAfter, strconv.Itoa(p.RetryAfterSeconds))
		}
		h.Set(echo.HeaderContentType, apperr.ProblemMediaType)
		if req.Method == http.MethodHead {
			res.WriteHeader(status)
			return
		}
		body, mErr := json.Marshal(p)
		if mErr != nil { // cannot happen with Problem's field types
			body = []byte(`{"type":"urn:bellhop:problem:internal","title":"Internal Server Error","status":500,"code":"internal","reason":"internal"}`)
			status = http.StatusInternalServerError
		}
		res.WriteHeader(status)
		_, _ = res.Write(body)
	}
}

// toAppErr maps any error to the *apperr.Error that describes it to the client.
func toAppErr(err error, ctx context.Context) *apperr.Error {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return ae
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge(mbe.Limit).WithCause(err)
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		msg := http.StatusText(he.Code)
		if s, ok := he.Message.(string); ok && s != "" {
			msg = s
		}
		var e *apperr.Error
		switch he.Code {
		case http.StatusNotFound:
			e = apperr.NotFound(ReasonRouteNotFound, "no route matches this path")
		case http.StatusMethodNotAllowed:
			e = apperr.New(apperr.CodeMethodNotAllowed, ReasonMethodNotAllowed, "this route does not accept this method")
		case http.StatusRequestEntityTooLarge:
			e = errTooLarge
		case http.StatusBadRequest:
			e = apperr.Unreadable(ReasonUnreadable, msg)
		default:
			code := apperr.CodeForStatus(he.Code)
			if code == apperr.CodeInternal {
				return apperr.Internal(err)
			}
			e = apperr.New(code, "http."+strings.ToLower(strings.ReplaceAll(http.StatusText(he.Code), " ", "_")), msg)
		}
		return e.WithCause(err)
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		// The client went away; nobody reads this answer.
		return apperr.Unavailable(ReasonRequestCanceled, "the request was canceled").WithCause(err)
	}
	return apperr.Internal(err)
}

func logError(ctx context.Context, log *slog.Logger, c echo.Context, err error, ae *apperr.Error, committed bool) {
	level := slog.LevelDebug
	if ae.Status() >= 500 && ae.Reason != ReasonRequestCanceled {
		level = slog.LevelError
	}
	if !log.Enabled(ctx, level) {
		return
	}
	req := c.Request()
	route := c.Path()
	if route == "" {
		route = routeUnmatched
	}
	attrs := []slog.Attr{
		slog.String("method", req.Method),
		slog.String("route", route),
		slog.String("path", req.URL.Path),
		slog.Int("status", ae.Status()),
		slog.String("code", string(ae.Code)),
		slog.String("reason", ae.Reason),
		slog.String("error", err.Error()),
	}
	var pe *panicError
	if errors.As(err, &pe) {
		attrs = append(attrs, slog.String("stack", string(pe.stack)))
	}
	msg := "request failed"
	if committed {
		msg = "request failed after the response was committed"
	}
	logAttrs(ctx, log, level, msg, attrs...)
}

// retryAfterSeconds is d rounded up to whole seconds, at least 1.
func retryAfterSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}
