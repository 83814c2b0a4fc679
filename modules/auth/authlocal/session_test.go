package authlocal_test

import (
	"context"
	"testing"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/auth/authlocal"
	"github.com/bellhop/bellhop/platform/authn"
)

// Signing out ends that session's access token at once (its "sid"), and
// no other session's; a replayed refresh token ends its session's access
// token too. Every access token of a session carries the session's id.
func TestSignOut_EndsTheSessionsAccessTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := newModule(t, authlocal.Deps{})
	svc := m.Service()
	const email, password = "sid@bellhop.test", "a long enough passphrase"
	if _, err := m.CreateUser(ctx, email, "Sid", password); err != nil {
		t.Fatal(err)
	}
	v, err := authn.NewVerifier(m.KeySet(), issuer, audience, authn.WithRevocations(m.Revocations()))
	if err != nil {
		t.Fatal(err)
	}
	signIn := func() (auth.Tokens, authn.Principal) {
		t.Helper()
		tok, err := svc.SignIn(ctx, auth.SignInRequest{Email: email, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		p, err := v.Verify(ctx, tok.AccessToken)
		if err != nil || p.SessionID == "" {
			t.Fatalf("a fresh session's token: %+v, %v (want a session id)", p, err)
		}
		return tok, p
	}
	a, pa := signIn()
	b, pb := signIn()
	if pa.SessionID == pb.SessionID {
		t.Fatalf("two sign-ins share session %s", pa.SessionID)
	}
	refreshed, err := svc.Token(ctx, auth.TokenRequest{GrantType: auth.GrantRefreshToken, RefreshToken: a.RefreshToken})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := v.Verify(ctx, refreshed.AccessToken); err != nil || p.SessionID != pa.SessionID {
		t.Fatalf("a refreshed token keeps its session: %+v, %v", p, err)
	}

	if err := svc.SignOut(ctx, auth.SignOutRequest{RefreshToken: refreshed.RefreshToken}); err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"first": a.AccessToken, "refreshed": refreshed.AccessToken} {
		if _, err := v.Verify(ctx, tok); err == nil {
			t.Errorf("the signed-out session's %s access token still verifies", name)
		}
	}
	if _, err := v.Verify(ctx, b.AccessToken); err != nil {
		t.Fatalf("the other session's token after the sign-out: %v", err)
	}

	// A refresh token presented twice (stolen): the family ends, with its access tokens.
	if _, err := svc.Token(ctx, auth.TokenRequest{GrantType: auth.GrantRefreshToken, RefreshToken: b.RefreshToken}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Token(ctx, auth.TokenRequest{GrantType: auth.GrantRefreshToken, RefreshToken: b.RefreshToken}); err == nil {
		t.Fatal("a used refresh token worked again")
	}
	if _, err := v.Verify(ctx, b.AccessToken); err == nil {
		t.Fatal("the replayed session's access token still verifies")
	}
}
