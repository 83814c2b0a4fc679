package httpserver_test

import (
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/httpserver"
)

// The per-IP limits key on the client behind a trusted proxy (nginx at the
// edge), so clients behind it get a bucket each; from a peer that is not a
// trusted proxy, X-Forwarded-For is ignored, so a forged header buys no
// fresh bucket. Both limits meant for callers who are not signed in are
// checked: RateLimitByIP (sign-in routes) and LimitFailedAuthentication
// (invalid tokens, before verification).
func TestPerIPLimits_TrustXForwardedForOnlyFromTrustedProxies(t *testing.T) {
	t.Parallel()
	limit := httpserver.RateLimitConfig{Enabled: true, RPS: 0.01, Burst: 2}
	// rejectTokens stands in for token verification: every token fails.
	rejectTokens := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Request().Header.Get(echo.HeaderAuthorization) != "" {
				return apperr.Unauthenticated("authn.invalid_token", "the token is not valid")
			}
			return next(c)
		}
	}
	limits := []struct {
		name   string
		cfg    httpserver.Config
		deps   httpserver.Deps
		routes func(e *echo.Echo)
		header map[string]string
		reason string
	}{{
		name: "RateLimitByIP",
		routes: func(e *echo.Echo) {
			e.POST("/sign-in", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) },
				httpserver.RateLimitByIP(limit, "auth.sign_in_rate_limited"))
		},
		reason: "auth.sign_in_rate_limited",
	}, {
		name: "LimitFailedAuthentication",
		cfg:  httpserver.Config{FailedAuthLimit: limit},
		deps: httpserver.Deps{Authenticate: rejectTokens},
		routes: func(e *echo.Echo) {
			e.POST("/sign-in", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
		},
		header: map[string]string{"Authorization": "Bearer forged"},
		reason: httpserver.ReasonAuthFailuresLimited,
	}}
	for _, l := range limits {
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			send := func(url, forwardedFor string) response {
				t.Helper()
				h := map[string]string{"X-Forwarded-For": forwardedFor}
				for k, v := range l.header {
					h[k] = v
				}
				return do(t, http.MethodPost, url+"/sign-in", nil, h)
			}
			limited := func(r response) bool {
				t.Helper()
				if r.Status != http.StatusTooManyRequests {
					return false
				}
				if p := problem(t, r, http.StatusTooManyRequests); p.Reason != l.reason {
					t.Fatalf("429 with reason %q, want %q", p.Reason, l.reason)
				}
				return true
			}

			t.Run("BehindTrustedProxy", func(t *testing.T) {
				t.Parallel()
				// The test speaks from loopback, as nginx on the same host does.
				cfg := l.cfg
				cfg.TrustedProxies = []string{"127.0.0.1/32"}
				ts := start(t, cfg, l.deps, l.routes)
				for i := range limit.Burst {
					if r := send(ts.URL, "203.0.113.1"); limited(r) {
						t.Fatalf("client A, request %d within the burst: 429", i+1)
					}
				}
				if r := send(ts.URL, "203.0.113.1"); !limited(r) {
					t.Fatalf("client A over the burst: %d %s, want 429", r.Status, r.Body)
				}
				// Another client behind the same proxy has a bucket of its own.
				if r := send(ts.URL, "203.0.113.2"); limited(r) {
					t.Fatal("client B behind the proxy is limited by client A's requests")
				}
				// A proxy that appends keeps the client's own entries on the
				// left: A writing a fresh address there stays A.
				if r := send(ts.URL, "198.51.100.77, 203.0.113.1"); !limited(r) {
					t.Fatalf("client A with a forged entry before its own: %d, want 429", r.Status)
				}
			})

			t.Run("FromUntrustedPeer", func(t *testing.T) {
				t.Parallel()
				for _, proxies := range [][]string{nil, {"10.0.0.0/8"}} {
					cfg := l.cfg
					cfg.TrustedProxies = proxies
					ts := start(t, cfg, l.deps, l.routes)
					for i := range limit.Burst {
						if r := send(ts.URL, "203.0.113.1"); limited(r) {
							t.Fatalf("proxies %v: request %d within the burst: 429", proxies, i+1)
						}
					}
					// A forged header names a fresh address: ignored, the peer
					// (loopback) is the client and its bucket is empty.
					if r := send(ts.URL, "203.0.113.2"); !limited(r) {
						t.Fatalf("proxies %v: forged X-Forwarded-For lifted the limit: %d", proxies, r.Status)
					}
				}
			})
		})
	}
}
