package authlocal_test

import (
	"context"
	"testing"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/auth/authlocal"
	"github.com/bellhop/bellhop/modules/auth/authtest"
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
	v := revokingVerifier(t, m)
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

// Deleting an OAuth client ends every access token it was given at once: its
// own (client credentials) and those of its users' sessions (authorization
// code, refreshed or not); another client's tokens and the users' own
// sign-ins keep working.
func TestDeleteClient_EndsItsAccessTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := newModule(t, authlocal.Deps{})
	svc := m.Service()
	const email, password = "client.user@bellhop.test", "a long enough passphrase"
	if _, err := m.CreateAdmin(ctx, "root@bellhop.test", "Root", password); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateUser(ctx, email, "Cleo", password); err != nil {
		t.Fatal(err)
	}
	v := revokingVerifier(t, m)
	adminTok, err := svc.SignIn(ctx, auth.SignInRequest{Email: "root@bellhop.test", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	adminP, err := v.Verify(ctx, adminTok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	admin := authn.WithPrincipal(ctx, adminP)

	const redirect = "https://partner.example/cb"
	newClient := func(name string) auth.CreatedClient {
		t.Helper()
		c, err := svc.CreateClient(admin, auth.CreateClientRequest{Name: name, Confidential: true, FirstParty: true, RedirectURIs: []string{redirect},
			GrantTypes: []string{auth.GrantAuthorizationCode, auth.GrantRefreshToken, auth.GrantClientCredentials}, Scopes: []string{"reports:read"}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// tokens are what client c holds: its own token, and a user's session
	// through the code flow, refreshed once.
	tokens := func(c auth.CreatedClient) map[string]string {
		t.Helper()
		own, err := svc.Token(ctx, auth.TokenRequest{GrantType: auth.GrantClientCredentials, ClientID: c.ID, ClientSecret: c.Secret})
		if err != nil {
			t.Fatal(err)
		}
		pkce := authtest.NewPKCE("delete-client-verifier-delete-client-verifier")
		res, err := svc.Authorize(ctx, auth.AuthorizeRequest{AuthorizationRequest: auth.AuthorizationRequest{
			ResponseType: "code", ClientID: c.ID, RedirectURI: redirect, CodeChallenge: pkce.Challenge, CodeChallengeMethod: "S256"},
			Email: email, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		user, err := svc.Token(ctx, auth.TokenRequest{GrantType: auth.GrantAuthorizationCode, Code: res.Code,
			CodeVerifier: pkce.Verifier, RedirectURI: redirect, ClientID: c.ID, ClientSecret: c.Secret})
		if err != nil {
			t.Fatal(err)
		}
		refreshed, err := svc.Token(ctx, auth.TokenRequest{GrantType: auth.GrantRefreshToken, RefreshToken: user.RefreshToken, ClientID: c.ID, ClientSecret: c.Secret})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{"own": own.AccessToken, "user's": user.AccessToken, "user's refreshed": refreshed.AccessToken}
		for name, tok := range got {
			if _, err := v.Verify(ctx, tok); err != nil {
				t.Fatalf("%s %s token before any deletion: %v", c.Name, name, err)
			}
		}
		return got
	}
	deleted, kept := newClient("Partner"), newClient("Other partner")
	deletedTokens, keptTokens := tokens(deleted), tokens(kept)
	ownSignIn, err := svc.SignIn(ctx, auth.SignInRequest{Email: email, Password: password})
	if err != nil {
		t.Fatal(err)
	}

	if err := svc.DeleteClient(admin, auth.DeleteClientRequest{ID: deleted.ID}); err != nil {
		t.Fatal(err)
	}
	for name, tok := range deletedTokens {
		if _, err := v.Verify(ctx, tok); err == nil {
			t.Errorf("the deleted client's %s access token still verifies", name)
		}
	}
	for name, tok := range keptTokens {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Errorf("the other client's %s access token after the deletion: %v", name, err)
		}
	}
	if _, err := v.Verify(ctx, ownSignIn.AccessToken); err != nil {
		t.Errorf("the user's own sign-in after the deletion: %v", err)
	}
}

// revokingVerifier verifies m's tokens as a host does: with m's
// revocations, so what m revokes is refused at once.
func revokingVerifier(t *testing.T, m *authlocal.Module) *authn.Verifier {
	t.Helper()
	v, err := authn.NewVerifier(m.KeySet(), issuer, audience, authn.WithRevocations(m.Revocations()))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// revokingVerifierPrincipal is the principal m's token carries, verified as
// a host does.
func revokingVerifierPrincipal(t *testing.T, m *authlocal.Module, token string) authn.Principal {
	t.Helper()
	p, err := revokingVerifier(t, m).Verify(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
