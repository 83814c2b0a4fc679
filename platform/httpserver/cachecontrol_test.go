package httpserver_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/httpserver/httpservertest"
)

func TestPrivateAnswersAreNoStore(t *testing.T) {
	t.Parallel()
	url := httpservertest.Serve(t, nil, func(e *echo.Echo) {
		ok := func(c echo.Context) error { return c.JSON(200, map[string]string{"email": "a@example.com"}) }
		e.GET("/api/v1/me", ok)
		e.POST("/oauth/token", ok)
		e.GET("/internal/v1/payments", ok)
		e.GET("/api/docs/openapi.json", func(c echo.Context) error {
			c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=300")
			return c.JSON(200, map[string]string{"openapi": "3.1.0"})
		})
		e.GET("/api/v1/public-then-fails", func(c echo.Context) error {
			c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=300")
			return apperr.Internal(errors.New("boom"))
		})
		e.GET("/app/logo.svg", func(c echo.Context) error { return c.String(200, "<svg/>") })
	})
	cases := []struct{ method, path, want string }{
		{http.MethodGet, "/api/v1/me", "no-store"},
		{http.MethodPost, "/oauth/token", "no-store"},
		{http.MethodGet, "/internal/v1/payments", "no-store"},
		{http.MethodGet, "/api/v1/no-such-route", "no-store"},
		{http.MethodGet, "/api/v1/public-then-fails", "no-store"},
		{http.MethodGet, "/api/docs/openapi.json", "public, max-age=300"},
		{http.MethodGet, "/app/logo.svg", ""},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			t.Parallel()
			r := do(t, tc.method, url+tc.path, nil, nil)
			if got := r.Header.Get("Cache-Control"); got != tc.want {
				t.Errorf("Cache-Control = %q (status %d), want %q", got, r.Status, tc.want)
			}
		})
	}
}
