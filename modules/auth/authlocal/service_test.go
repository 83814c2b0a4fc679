package authlocal_test

import (
	"context"
	"testing"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/auth/authlocal"
	"github.com/bellhop/bellhop/modules/auth/authtest"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/db/pgtest"
)

// TestService runs the auth contract in-process, on a real SQLite file.
func TestService(t *testing.T) { runContract(t, nil) }

// TestService_Postgres runs it on PostgreSQL (a cluster the test starts).
func TestService_Postgres(t *testing.T) {
	runContract(t, func(t *testing.T) *db.DB { return pgtest.Open(t, auth.Module, authlocal.Migrations) })
}

// runContract runs the auth contract in-process on the database open gives
// (nil: SQLite in a temp dir).
func runContract(t *testing.T, open func(*testing.T) *db.DB) {
	authtest.RunContract(t, func(t *testing.T, _ *authntest.Issuer) authtest.Target {
		var d authlocal.Deps
		if open != nil {
			d.DB = open(t)
		}
		m := newModule(t, d)
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

// TestMain stops the PostgreSQL cluster (started by the first test that
// needs it) when the package's tests are done.
func TestMain(m *testing.M) { pgtest.Main(m) }
