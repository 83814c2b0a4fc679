package authhttp_test

import (
	"context"
	"testing"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/auth/authhttp"
	"github.com/bellhop/bellhop/modules/auth/authlocal"
	"github.com/bellhop/bellhop/modules/auth/authtest"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/httpclient/httpclienttest"
)

// TestClient runs the auth contract through authhttp.Client talking to
// authhttp.Register(authlocal) over loopback: same assertions as in-process.
func TestClient(t *testing.T) {
	authtest.RunContract(t, func(t *testing.T, _ *authntest.Issuer) authtest.Target {
		e := serve(t, authhttp.Options{}, authlocal.Deps{})
		// Tokens are verified against the JWKS the server publishes, as a
		// process that does not host auth would.
		keys, err := authn.NewRemoteKeySet(e.url+"/.well-known/jwks.json", nil)
		if err != nil {
			t.Fatal(err)
		}
		v, err := authn.NewVerifier(keys, issuer, audience)
		if err != nil {
			t.Fatal(err)
		}
		return authtest.Target{
			Service:  e.client(t),
			Verifier: v,
			CreateAdmin: func(ctx context.Context, email, name, password string) error {
				_, err := e.m.CreateAdmin(ctx, email, name, password)
				return err
			},
			EnsureServiceClient: func(ctx context.Context, id, secret string, scopes []string) error {
				return e.m.EnsureServiceClients(ctx, []authlocal.ServiceClient{{ID: id, Secret: secret, Scopes: scopes}})
			},
		}
	})
}

// An auth process that is not there is unavailable, quickly, on the JSON
// routes and on the OAuth endpoints alike.
func TestClient_Unavailable(t *testing.T) {
	t.Parallel()
	httpclienttest.CheckUnreachable(t, authhttp.NewClient, map[string]func(context.Context, *authhttp.Client) error{
		"SignIn": func(ctx context.Context, c *authhttp.Client) error {
			_, err := c.SignIn(ctx, auth.SignInRequest{Email: "a@b.test", Password: "x"})
			return err
		},
		"Token": func(ctx context.Context, c *authhttp.Client) error {
			_, err := c.Token(ctx, auth.TokenRequest{GrantType: auth.GrantClientCredentials, ClientID: "x", ClientSecret: "y"})
			return err
		},
	})
}
