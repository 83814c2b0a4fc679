package authhttp_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/auth/authhttp"
	"github.com/bellhop/bellhop/modules/auth/authlocal"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/db/dbtest"
	"github.com/bellhop/bellhop/platform/httpclient"
	"github.com/bellhop/bellhop/platform/httpserver/httpservertest"
)

const (
	issuer   = "https://auth.bellhop.test"
	audience = "bellhop"
	// gateway is the service client the HTTP Client runs the
	// authorization flow as.
	gatewayID     = "gateway"
	gatewaySecret = "gateway-secret-gateway-secret-gateway-secret"
)

var cheap = authlocal.PasswordParams{Time: 1, MemoryKiB: 64, Threads: 1}

// env is the module served over loopback.
type env struct {
	m        *authlocal.Module
	url      string
	verifier *authn.Verifier
}

// serve hosts a fresh auth module's routes on a loopback port, verifying
// tokens with the module's own keys, as cmd/bellhop does.
func serve(t *testing.T, opts authhttp.Options, deps authlocal.Deps) *env {
	t.Helper()
	return serveWith(t, opts, deps, nil)
}

// serveWith is serve with configure (may be nil) applied to the server's
// Echo before the routes are mounted.
func serveWith(t *testing.T, opts authhttp.Options, deps authlocal.Deps, configure func(*echo.Echo)) *env {
	t.Helper()
	deps.DB = dbtest.Open(t, auth.Module, authlocal.Migrations)
	deps.Issuer, deps.Audience = issuer, audience
	if deps.Password == (authlocal.PasswordParams{}) {
		deps.Password = cheap
	}
	m, err := authlocal.New(deps)
	if err != nil {
		t.Fatal(err)
	}
	v, err := authn.NewVerifier(m.KeySet(), issuer, audience)
	if err != nil {
		t.Fatal(err)
	}
	opts.Issuer = issuer
	url := httpservertest.Serve(t, authhttp.Authenticate(v), func(e *echo.Echo) {
		if configure != nil {
			configure(e)
		}
		if err := authhttp.Register(e.Group(""), m.Service(), opts); err != nil {
			t.Fatal(err)
		}
	})
	return &env{m: m, url: url, verifier: v}
}

// client is an authhttp.Client for e, whose service token (for the
// internal authorization routes) comes from the gateway client.
func (e *env) client(t *testing.T) *authhttp.Client {
	t.Helper()
	ctx := context.Background()
	if err := e.m.EnsureServiceClients(ctx, []authlocal.ServiceClient{{ID: gatewayID, Secret: gatewaySecret, Scopes: []string{auth.ScopeAuthorize}}}); err != nil {
		t.Fatal(err)
	}
	c, err := authhttp.NewClient(e.url, httpclient.Options{Caller: "test", Timeout: 5 * time.Second, ServiceTokens: gatewayTokens{e.m.Service()}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type gatewayTokens struct{ svc auth.Service }

func (g gatewayTokens) Token(ctx context.Context) (string, error) {
	tok, err := g.svc.Token(ctx, auth.TokenRequest{GrantType: auth.GrantClientCredentials, ClientID: gatewayID, ClientSecret: gatewaySecret})
	return tok.AccessToken, err
}

// browser is an HTTP client with cookies that does not follow redirects.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
