package authntest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/authn/authntest"
)

func TestContextRoundTrip(t *testing.T) {
	iss := authntest.NewIssuer(t, "https://auth.test", "bellhop")
	want := authn.Principal{Subject: "usr_1", Email: "a@example.com", Roles: []string{"guest"}, Scopes: []string{"a", "b"}}
	ctx := iss.Context(t, context.Background(), want)

	p, ok := authn.FromContext(ctx)
	if !ok || p.Token == "" || p.Kind != authn.KindUser {
		t.Fatalf("principal in ctx = %+v", p)
	}
	got, err := iss.Verifier().Verify(ctx, p.Token)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != want.Subject || got.Email != want.Email || !got.HasRole("guest") || !got.HasScope("b") || got.Kind != authn.KindUser {
		t.Fatalf("verified %+v", got)
	}
}

func TestRotateAndRetire(t *testing.T) {
	iss := authntest.NewIssuer(t, "https://auth.test", "bellhop")
	v := iss.Verifier()
	old := iss.Token(t, authn.Principal{Subject: "svc_a", Kind: authn.KindService}, 0)
	iss.Rotate(t)
	if _, err := v.Verify(t.Context(), old); err != nil {
		t.Fatalf("token under a rotated-away key: %v", err)
	}
	static, err := authn.NewStaticKeySet(iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := static.PublicKey(t.Context(), iss.KID()); err != nil {
		t.Fatalf("JWKS lacks the current key: %v", err)
	}
	iss.Retire()
	if _, err := v.Verify(t.Context(), old); !errors.Is(err, authn.ErrInvalidToken) {
		t.Fatalf("token under a retired key: err = %v", err)
	}
}
