package authlocal_test

import (
	"context"
	"testing"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/auth/authlocal"
)

// Client-credentials issuance: client lookup, secret check, one Ed25519
// signature (target: 2,000/s per core or more).
func BenchmarkClientCredentials(b *testing.B) {
	m := newModule(b, authlocal.Deps{})
	ctx := context.Background()
	secret := "bench-secret-bench-secret-bench-secret"
	if err := m.EnsureServiceClients(ctx, []authlocal.ServiceClient{{ID: "bench", Secret: secret, Scopes: []string{"search:quote"}}}); err != nil {
		b.Fatal(err)
	}
	req := auth.TokenRequest{GrantType: auth.GrantClientCredentials, ClientID: "bench", ClientSecret: secret}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Service().Token(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// Sign-in with the production password cost (argon2id 19 MiB, t=2): the
// hash bounds it; also one refresh token written.
func BenchmarkSignIn(b *testing.B) {
	m := newModule(b, authlocal.Deps{Password: authlocal.DefaultPasswordParams})
	ctx := context.Background()
	if _, err := m.CreateUser(ctx, "bench@bellhop.test", "Bench", password); err != nil {
		b.Fatal(err)
	}
	req := auth.SignInRequest{Email: "bench@bellhop.test", Password: password}
	for b.Loop() {
		if _, err := m.Service().SignIn(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
