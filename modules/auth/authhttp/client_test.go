package authhttp_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/auth/authhttp"
	"github.com/bellhop/bellhop/modules/auth/authlocal"
	"github.com/bellhop/bellhop/modules/auth/authtest"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/httpclient"
)

// TestClient runs the auth contract through authhttp.Client talking to
// authhttp.Register(authlocal) over loopback: same assertions as in-process.
func TestClient(t *testing.T) {
	authtest.RunContract(t, func(t *testing.T) authtest.Target {
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := authhttp.NewClient("http://"+addr, httpclient.Options{Caller: "test", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.SignIn(context.Background(), auth.SignInRequest{Email: "a@b.test", Password: "x"})
	if !errors.Is(err, apperr.UnavailableAny) {
		t.Fatalf("SignIn: err = %v, want unavailable", err)
	}
	_, err = c.Token(context.Background(), auth.TokenRequest{GrantType: auth.GrantClientCredentials, ClientID: "x", ClientSecret: "y"})
	if !errors.Is(err, apperr.UnavailableAny) {
		t.Fatalf("Token: err = %v, want unavailable", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %s", d)
	}
}
