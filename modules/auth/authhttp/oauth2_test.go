package authhttp_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/bellhop/bellhop/modules/auth/authhttp"
	"github.com/bellhop/bellhop/modules/auth/authlocal"
)

// A program that knows only golang.org/x/oauth2 gets service tokens.
func TestOAuth2_ClientCredentials(t *testing.T) {
	s := newSetup(t, authhttp.Options{}, authlocal.Deps{})
	ctx := context.Background()
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleAutoDetect, oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		cc := clientcredentials.Config{ClientID: s.svcID, ClientSecret: s.svcSecret, TokenURL: s.url + "/oauth/token", Scopes: []string{"a:read"}, AuthStyle: style}
		tok, err := cc.Token(ctx)
		if err != nil {
			t.Fatalf("style %d: %v", style, err)
		}
		p, err := s.verifier.Verify(ctx, tok.AccessToken)
		if err != nil || p.Subject != s.svcID || !p.HasScope("a:read") || p.HasScope("b:write") || time.Until(tok.Expiry) < 10*time.Minute {
			t.Fatalf("token %+v, principal %+v, %v", tok, p, err)
		}
	}
	bad := clientcredentials.Config{ClientID: s.svcID, ClientSecret: "wrong", TokenURL: s.url + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}
	_, err := bad.Token(ctx)
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != 401 {
		t.Fatalf("err = %v", err)
	}
}

// The authorization-code flow with PKCE, driven by golang.org/x/oauth2 with
// the sign-in form filled in over HTTP, then a refresh through its
// TokenSource.
func TestOAuth2_AuthorizationCode(t *testing.T) {
	s := newSetup(t, authhttp.Options{}, authlocal.Deps{})
	ctx := context.Background()
	conf := oauth2.Config{
		ClientID:    s.app.ID,
		Endpoint:    oauth2.Endpoint{AuthURL: s.url + "/oauth/authorize", TokenURL: s.url + "/oauth/token"},
		RedirectURL: redirect,
	}
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("state-123", oauth2.S256ChallengeOption(verifier))

	b := browser(t)
	page := get(t, b, authURL)
	if page.status != 200 {
		t.Fatalf("sign-in page: %d %s", page.status, page.body)
	}
	form := hidden(t, page.body)
	form.Set("email", s.user.Email)
	form.Set("password", password)
	a := postForm(t, b, s.url+"/oauth/authorize", form, "", "")
	loc, err := url.Parse(a.header.Get("Location"))
	if err != nil || a.status != 303 || loc.Query().Get("state") != "state-123" || !strings.HasPrefix(loc.String(), redirect) {
		t.Fatalf("after sign-in: %d %s", a.status, a.header)
	}

	tok, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.verifier.Verify(ctx, tok.AccessToken)
	if err != nil || p.Subject != s.user.ID || tok.RefreshToken == "" {
		t.Fatalf("token %+v, principal %+v, %v", tok, p, err)
	}

	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	fresh, err := conf.TokenSource(ctx, &expired).Token()
	if err != nil {
		t.Fatal(err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken {
		t.Fatal("the refresh did not rotate the tokens")
	}
	if _, err := s.verifier.Verify(ctx, fresh.AccessToken); err != nil {
		t.Fatal(err)
	}

	// A second exchange of the same code is refused, and revokes what the
	// code bought: the refreshed session too.
	if _, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("a code was exchanged twice")
	}
	fresh.Expiry = time.Now().Add(-time.Minute)
	_, err = conf.TokenSource(ctx, fresh).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("refresh after code replay: err = %v", err)
	}
}
