// Package httpservertest serves routes over real loopback HTTP for tests,
// through the same server (middleware, error handler) as production.
package httpservertest

import (
	"context"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/platform/httpserver"
)

// Serve starts a server on a free loopback port with authenticate (may be
// nil) in front of the routes register mounts, and returns its base URL.
// The server drains and stops when tb ends.
func Serve(tb testing.TB, authenticate echo.MiddlewareFunc, register func(e *echo.Echo)) string {
	tb.Helper()
	return ServeWith(tb, httpserver.Deps{Authenticate: authenticate}, register)
}

// ServeWith is Serve with the server's collaborators given (tracing, say).
func ServeWith(tb testing.TB, deps httpserver.Deps, register func(e *echo.Echo)) string {
	tb.Helper()
	srv := httpserver.New(httpserver.Config{Addr: "127.0.0.1:0"}, deps)
	register(srv.Echo())
	ln, err := httpserver.Listen("127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}
