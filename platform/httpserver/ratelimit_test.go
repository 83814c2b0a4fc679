package httpserver_test

import (
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/httpserver"
)

// Requests whose token fails authentication are limited per IP, and once
// over the limit they are refused before the token is verified at all.
func TestFailedAuthenticationIsLimitedBeforeVerifying(t *testing.T) {
	t.Parallel()
	var verified atomic.Int64
	// verify stands in for a signature check: "Bearer good" passes.
	verify := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Request().Header.Get(echo.HeaderAuthorization)
			if h == "" {
				return next(c)
			}
			verified.Add(1)
			if h != "Bearer good" {
				return apperr.Unauthenticated("authn.invalid_token", "the token is not valid")
			}
			req := c.Request()
			c.SetRequest(req.WithContext(authn.WithPrincipal(req.Context(), authn.Principal{Subject: "u1", Kind: authn.KindUser})))
			return next(c)
		}
	}
	ts := start(t, httpserver.Config{FailedAuthLimit: httpserver.RateLimitConfig{Enabled: true, RPS: 0.01, Burst: 3}},
		httpserver.Deps{Authenticate: verify}, func(e *echo.Echo) {
			// A handler's own 401 (a wrong password, say) is not an authentication failure.
			e.GET("/x", func(c echo.Context) error {
				if c.QueryParam("deny") != "" {
					return apperr.Unauthenticated("test.denied", "denied by the handler")
				}
				return c.NoContent(204)
			})
		})
	good := map[string]string{"Authorization": "Bearer good"}
	forged := map[string]string{"Authorization": "Bearer forged"}
	for range 5 {
		if r := get(t, ts.URL+"/x?deny=1", good); r.Status != http.StatusUnauthorized {
			t.Fatalf("handler's 401: %d %s", r.Status, r.Body)
		}
	}
	for i := range 3 {
		if r := get(t, ts.URL+"/x", forged); r.Status != http.StatusUnauthorized {
			t.Fatalf("forged token %d: %d %s, want 401", i+1, r.Status, r.Body)
		}
	}
	before := verified.Load()
	r := get(t, ts.URL+"/x", forged)
	if p := problem(t, r, http.StatusTooManyRequests); p.Reason != httpserver.ReasonAuthFailuresLimited || r.Header.Get("Retry-After") == "" {
		t.Fatalf("fourth forged token: %+v, Retry-After %q", p, r.Header.Get("Retry-After"))
	}
	if n := verified.Load() - before; n != 0 {
		t.Fatalf("a refused request was verified %d times", n)
	}
	// Requests without credentials are not affected.
	if r := get(t, ts.URL+"/x", nil); r.Status != 204 {
		t.Fatalf("anonymous request: %d %s", r.Status, r.Body)
	}
}
