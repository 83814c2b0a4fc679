package authlocal_test

import (
	"context"
	"testing"

	"github.com/bellhop/bellhop/modules/auth/authlocal"
	"github.com/bellhop/bellhop/modules/auth/authtest"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/authn/authntest"
)

// TestService runs the auth contract in-process, on a real SQLite file.
func TestService(t *testing.T) {
	authtest.RunContract(t, func(t *testing.T, _ *authntest.Issuer) authtest.Target {
		m := newModule(t, authlocal.Deps{})
		v, err := authn.NewVerifier(m.KeySet(), issuer, audience)
		if err != nil {
			t.Fatal(err)
		}
		return authtest.Target{
			Service:  m.Service(),
			Verifier: v,
			CreateAdmin: func(ctx context.Context, email, name, password string) error {
				_, err := m.CreateAdmin(ctx, email, name, password)
				return err
			},
			EnsureServiceClient: func(ctx context.Context, id, secret string, scopes []string) error {
				return m.EnsureServiceClients(ctx, []authlocal.ServiceClient{{ID: id, Secret: secret, Scopes: scopes}})
			},
		}
	})
}
