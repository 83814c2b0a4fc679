package searchhttp_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/modules/search/searchhttp"
	"github.com/bellhop/bellhop/modules/search/searchlocal"
	"github.com/bellhop/bellhop/modules/search/searchtest"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/db/dbtest"
	"github.com/bellhop/bellhop/platform/httpclient"
	"github.com/bellhop/bellhop/platform/httpserver/httpservertest"
)

// serve hosts svc's routes on a loopback port, verifying tokens from iss.
func serve(t *testing.T, svc search.Service, iss *authntest.Issuer) string {
	t.Helper()
	return httpservertest.Serve(t, iss.Verifier().Middleware(), func(e *echo.Echo) { searchhttp.Register(e, svc) })
}

// TestClient runs the search contract through searchhttp.Client talking to
// searchhttp.Register(searchlocal) over loopback: same assertions as in-process.
func TestClient(t *testing.T) {
	searchtest.RunContract(t, func(t *testing.T, iss *authntest.Issuer) search.Service {
		d := dbtest.Open(t, search.Module, searchlocal.Migrations)
		url := serve(t, newModule(t, searchlocal.Deps{DB: d}).Service(), iss)
		c, err := searchhttp.NewClient(url, httpclient.Options{Caller: "test", Timeout: 5 * time.Second, ServiceTokens: contextToken{}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}

// contextToken sends the context's principal as the service token on
// /internal routes: the suite calls Quote as the bookings service, which is
// what a calling module does in-process (its service identity travels in the
// context) and what its client-credentials token says over HTTP.
type contextToken struct{}

func (contextToken) Token(ctx context.Context) (string, error) {
	p, _ := authn.FromContext(ctx)
	return p.Token, nil
}

// A search process that is not there is unavailable, quickly.
func TestClient_Unavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := searchhttp.NewClient("http://"+addr, httpclient.Options{Caller: "test", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.GetHotel(context.Background(), search.GetHotelRequest{ID: "htl_1"})
	if !errors.Is(err, apperr.UnavailableAny) {
		t.Fatalf("err = %v, want unavailable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s", d)
	}
}
