// Package authtest is the auth contract suite, run against every
// auth.Service (in-process and over HTTP) with the same assertions.
package authtest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bellhop/bellhop/modules/auth/authmodule"
	"github.com/bellhop/bellhop/platform/observability/contractcov"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/apperr/apperrtest"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/authn/authntest"
)

// Target is an implementation under test with the operator hooks the suite
// needs (what cmd/bellhop's CLI does with authlocal.Module directly).
type Target struct {
	Service auth.Service
	// Verifier checks the access tokens Service issues, as a host's
	// middleware does; the suite calls as the principals it returns.
	Verifier *authn.Verifier
	// CreateAdmin creates an admin account without a caller.
	CreateAdmin func(ctx context.Context, email, name, password string) error
	// EnsureServiceClient creates a confidential client-credentials client.
	EnsureServiceClient func(ctx context.Context, id, secret string, scopes []string) error
}

// NewTarget builds a fresh, empty implementation under test. Auth signs its
// own tokens, so the suite's iss (the same for every module's suite) goes
// unused here.
type NewTarget func(t *testing.T, iss *authntest.Issuer) Target

// Password is a password that passes the rules, used for every account the
// suite creates.
const Password = "correct horse battery staple"

type suite struct {
	t     Target
	svc   auth.Service
	seq   atomic.Int64
	admin context.Context
}

// RunContract runs the auth contract against the implementation newTarget builds.
func RunContract(t *testing.T, newTarget NewTarget) {
	target := newTarget(t, authntest.NewIssuer(t, "bellhop-contract", "bellhop"))
	// Every method must answer successfully at least once: one a Client
	// does not implement fails the suite.
	cov := contractcov.New(auth.Module)
	target.Service = authmodule.Instrument(target.Service, cov.Edge())
	s := &suite{t: target, svc: target.Service}
	ctx := context.Background()
	if err := target.CreateAdmin(ctx, "root@bellhop.test", "Root", Password); err != nil {
		t.Fatalf("CreateAdmin: %v", err)
	}
	s.admin = s.signIn(t, "root@bellhop.test", Password)

	t.Run("Register", s.testRegister)
	t.Run("SignIn", s.testSignIn)
	t.Run("Me", s.testMe)
	t.Run("UpdateMe", s.testUpdateMe)
	t.Run("ChangePassword", s.testChangePassword)
	t.Run("ListUsers", s.testListUsers)
	t.Run("SetRoles", s.testSetRoles)
	t.Run("Refresh", s.testRefresh)
	t.Run("SignOut", s.testSignOut)
	t.Run("Clients", s.testClients)
	t.Run("ClientCredentials", s.testClientCredentials)
	t.Run("AuthorizationCode", s.testAuthorizationCode)
	t.Run("Consent", s.testConsent)
	t.Run("Revoke", s.testRevoke)
	t.Run("Introspect", s.testIntrospect)
	t.Run("JWKS", s.testJWKS)
	// Last: it changes the key that signs.
	t.Run("SigningKeys", s.testSigningKeys)
	cov.CheckIfWhole(t, reflect.TypeFor[auth.Service]())
}

// wantErr fails unless err is target (errors.Is) and names exactly fields.
var wantErr = apperrtest.Want

// result is a call's value and error, so one line can fail the test.
type result[T any] struct {
	v   T
	err error
}

func get[T any](v T, err error) result[T] { return result[T]{v, err} }

func (r result[T]) must(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

// email is a fresh address for one test.
func (s *suite) email(name string) string {
	return fmt.Sprintf("%s.%d@bellhop.test", name, s.seq.Add(1))
}

// user registers a fresh guest and returns it with a context signed in as it.
func (s *suite) user(t *testing.T, name string) (auth.User, context.Context) {
	t.Helper()
	u := get(s.svc.Register(context.Background(), auth.RegisterRequest{Email: s.email(name), Name: name, Password: Password})).must(t)
	return u, s.signIn(t, u.Email, Password)
}

// signIn signs in and returns a context carrying the verified principal,
// as the HTTP middleware would set it.
func (s *suite) signIn(t *testing.T, email, password string) context.Context {
	t.Helper()
	tok := get(s.svc.SignIn(context.Background(), auth.SignInRequest{Email: email, Password: password})).must(t)
	return s.as(t, tok.AccessToken)
}

func (s *suite) as(t *testing.T, accessToken string) context.Context {
	t.Helper()
	p := get(s.t.Verifier.Verify(context.Background(), accessToken)).must(t)
	return authn.WithPrincipal(context.Background(), p)
}

func (s *suite) principal(t *testing.T, accessToken string) authn.Principal {
	t.Helper()
	return get(s.t.Verifier.Verify(context.Background(), accessToken)).must(t)
}

func (s *suite) testRegister(t *testing.T) {
	email := s.email("Ada")
	t.Run("OK", func(t *testing.T) {
		u := get(s.svc.Register(context.Background(), auth.RegisterRequest{Email: " " + strings.ToUpper(email[:1]) + email[1:], Name: " Ada ", Password: Password})).must(t)
		if u.ID == "" || !strings.EqualFold(u.Email, email) || u.Name != "Ada" || !slices.Equal(u.Roles, []string{authn.RoleGuest}) || u.CreatedAt.IsZero() {
			t.Fatalf("user = %+v", u)
		}
	})
	t.Run("ErrEmailTaken", func(t *testing.T) {
		_, err := s.svc.Register(context.Background(), auth.RegisterRequest{Email: strings.ToUpper(email), Name: "Ada", Password: Password})
		wantErr(t, err, auth.ErrEmailTaken)
	})
	t.Run("ErrWeakPassword", func(t *testing.T) {
		for _, pw := range []string{"short", "password123", "Password2024!", "qwertyuiop", "aaaaaaaaaaaa", "weak.1@bellhop.test"} {
			_, err := s.svc.Register(context.Background(), auth.RegisterRequest{Email: "weak.1@bellhop.test", Name: "Weak", Password: pw})
			wantErr(t, err, auth.ErrWeakPassword, "password")
			if strings.Contains(err.Error(), pw) {
				t.Fatalf("the error quotes the password: %v", err)
			}
		}
	})
	t.Run("ErrInvalidRequest", func(t *testing.T) {
		_, err := s.svc.Register(context.Background(), auth.RegisterRequest{Email: "not-an-email", Name: " ", Password: Password})
		wantErr(t, err, auth.ErrInvalidRequest, "email", "name")
	})
	t.Run("EveryBadFieldAtOnce", func(t *testing.T) {
		// A bad email, an empty name and a weak password: one answer names all three.
		_, err := s.svc.Register(context.Background(), auth.RegisterRequest{Email: "not-an-email", Name: " ", Password: "short"})
		wantErr(t, err, auth.ErrInvalidRequest, "email", "name", "password")
	})
}

func (s *suite) testSignIn(t *testing.T) {
	u, _ := s.user(t, "Grace")
	t.Run("OK", func(t *testing.T) {
		tok := get(s.svc.SignIn(context.Background(), auth.SignInRequest{Email: strings.ToUpper(u.Email), Password: Password})).must(t)
		if tok.TokenType != auth.TokenTypeBearer || tok.ExpiresIn <= 0 || tok.ExpiresIn > 3600 || tok.RefreshToken == "" || tok.AccessToken == "" {
			t.Fatalf("tokens = %+v", tok)
		}
		p := s.principal(t, tok.AccessToken)
		if p.Subject != u.ID || p.Kind != authn.KindUser || p.Email != u.Email || p.Name != "Grace" || !slices.Equal(p.Roles, []string{authn.RoleGuest}) {
			t.Fatalf("principal = %+v", p)
		}
	})
	t.Run("ErrInvalidCredentials", func(t *testing.T) {
		_, wrong := s.svc.SignIn(context.Background(), auth.SignInRequest{Email: u.Email, Password: Password + "!"})
		wantErr(t, wrong, auth.ErrInvalidCredentials)
		_, unknown := s.svc.SignIn(context.Background(), auth.SignInRequest{Email: s.email("nobody"), Password: Password})
		wantErr(t, unknown, auth.ErrInvalidCredentials)
		// No account enumeration: the two answers are the same.
		if apperr.As(wrong).Message != apperr.As(unknown).Message {
			t.Fatalf("wrong password %q, unknown email %q", apperr.As(wrong).Message, apperr.As(unknown).Message)
		}
	})
	t.Run("ErrInvalidRequest", func(t *testing.T) {
		_, err := s.svc.SignIn(context.Background(), auth.SignInRequest{})
		wantErr(t, err, auth.ErrInvalidRequest, "email", "password")
	})
}

func (s *suite) testMe(t *testing.T) {
	u, ctx := s.user(t, "Linus")
	t.Run("OK", func(t *testing.T) {
		me := get(s.svc.Me(ctx)).must(t)
		if me.ID != u.ID || me.Email != u.Email || me.Name != "Linus" {
			t.Fatalf("me = %+v, want %+v", me, u)
		}
	})
	t.Run("ErrUnauthenticated", func(t *testing.T) {
		_, err := s.svc.Me(context.Background())
		wantErr(t, err, authn.ErrUnauthenticated)
	})
}

func (s *suite) testUpdateMe(t *testing.T) {
	u, ctx := s.user(t, "Barbara")
	other, _ := s.user(t, "Other")
	str := func(v string) *string { return &v }
	t.Run("Name", func(t *testing.T) {
		me := get(s.svc.UpdateMe(ctx, auth.UpdateMeRequest{Name: str("Barbara L.")})).must(t)
		if me.Name != "Barbara L." || me.Email != u.Email {
			t.Fatalf("me = %+v", me)
		}
	})
	t.Run("EmailNeedsPassword", func(t *testing.T) {
		_, err := s.svc.UpdateMe(ctx, auth.UpdateMeRequest{Email: str(s.email("barbara"))})
		wantErr(t, err, auth.ErrInvalidRequest, "current_password")
		_, err = s.svc.UpdateMe(ctx, auth.UpdateMeRequest{Email: str(s.email("barbara")), CurrentPassword: "not the password"})
		wantErr(t, err, auth.ErrWrongPassword)
	})
	t.Run("ErrEmailTaken", func(t *testing.T) {
		_, err := s.svc.UpdateMe(ctx, auth.UpdateMeRequest{Email: str(strings.ToUpper(other.Email)), CurrentPassword: Password})
		wantErr(t, err, auth.ErrEmailTaken)
	})
	t.Run("Email", func(t *testing.T) {
		email := s.email("barbara")
		me := get(s.svc.UpdateMe(ctx, auth.UpdateMeRequest{Email: str(email), CurrentPassword: Password})).must(t)
		if me.Email != email {
			t.Fatalf("me = %+v", me)
		}
		s.signIn(t, email, Password)
	})
	t.Run("ErrInvalidRequest", func(t *testing.T) {
		_, err := s.svc.UpdateMe(ctx, auth.UpdateMeRequest{Name: str(" "), Email: str("nope")})
		wantErr(t, err, auth.ErrInvalidRequest, "name", "email")
	})
	t.Run("ErrUnauthenticated", func(t *testing.T) {
		_, err := s.svc.UpdateMe(context.Background(), auth.UpdateMeRequest{Name: str("x")})
		wantErr(t, err, authn.ErrUnauthenticated)
	})
}

func (s *suite) testChangePassword(t *testing.T) {
	u, _ := s.user(t, "Ken")
	session := get(s.svc.SignIn(context.Background(), auth.SignInRequest{Email: u.Email, Password: Password})).must(t)
	ctx := s.as(t, session.AccessToken)
	const newPassword = "a much longer passphrase, 2 be sure"
	t.Run("ErrWrongPassword", func(t *testing.T) {
		err := s.svc.ChangePassword(ctx, auth.ChangePasswordRequest{CurrentPassword: "wrong wrong wrong", NewPassword: newPassword})
		wantErr(t, err, auth.ErrWrongPassword)
	})
	t.Run("ErrWeakPassword", func(t *testing.T) {
		err := s.svc.ChangePassword(ctx, auth.ChangePasswordRequest{CurrentPassword: Password, NewPassword: "iloveyou"})
		wantErr(t, err, auth.ErrWeakPassword, "new_password")
	})
	t.Run("OK", func(t *testing.T) {
		if err := s.svc.ChangePassword(ctx, auth.ChangePasswordRequest{CurrentPassword: Password, NewPassword: newPassword}); err != nil {
			t.Fatal(err)
		}
		_, err := s.svc.SignIn(context.Background(), auth.SignInRequest{Email: u.Email, Password: Password})
		wantErr(t, err, auth.ErrInvalidCredentials)
		s.signIn(t, u.Email, newPassword)
		// Every earlier session ended with the change.
		_, err = s.svc.Token(context.Background(), auth.TokenRequest{GrantType: auth.GrantRefreshToken, RefreshToken: session.RefreshToken})
		wantErr(t, err, auth.ErrInvalidGrant)
	})
}

func (s *suite) testListUsers(t *testing.T) {
	u, guest := s.user(t, "Margaret")
	t.Run("OK", func(t *testing.T) {
		var seen []string
		req := auth.ListUsersRequest{Limit: 2}
		for range 100 {
			page := get(s.svc.ListUsers(s.admin, req)).must(t)
			if len(page.Users) > 2 {
				t.Fatalf("page of %d users", len(page.Users))
			}
			for _, x := range page.Users {
				seen = append(seen, x.ID)
			}
			if page.NextCursor == "" {
				break
			}
			req.Cursor = page.NextCursor
		}
		if !slices.Contains(seen, u.ID) || !slices.IsSorted(seen) || len(slices.Compact(slices.Clone(seen))) != len(seen) {
			t.Fatalf("ids = %v, want %s among them, sorted, once each", seen, u.ID)
		}
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		_, err := s.svc.ListUsers(guest, auth.ListUsersRequest{})
		wantErr(t, err, authn.ErrForbidden)
	})
	t.Run("ErrUnauthenticated", func(t *testing.T) {
		_, err := s.svc.ListUsers(context.Background(), auth.ListUsersRequest{})
		wantErr(t, err, authn.ErrUnauthenticated)
	})
	t.Run("ErrInvalidRequest", func(t *testing.T) {
		_, err := s.svc.ListUsers(s.admin, auth.ListUsersRequest{Limit: 1000})
		wantErr(t, err, auth.ErrInvalidRequest, "limit")
	})
}

func (s *suite) testSetRoles(t *testing.T) {
	u, guest := s.user(t, "Frances")
	t.Run("ErrForbidden", func(t *testing.T) {
		_, err := s.svc.SetRoles(guest, auth.SetRolesRequest{UserID: u.ID, Roles: []string{authn.RoleAdmin}})
		wantErr(t, err, authn.ErrForbidden)
	})
	t.Run("OK", func(t *testing.T) {
		got := get(s.svc.SetRoles(s.admin, auth.SetRolesRequest{UserID: u.ID, Roles: []string{authn.RoleStaff, authn.RoleGuest}})).must(t)
		if !slices.Equal(got.Roles, []string{authn.RoleGuest, authn.RoleStaff}) {
			t.Fatalf("roles = %v", got.Roles)
		}
		tok := get(s.svc.SignIn(context.Background(), auth.SignInRequest{Email: u.Email, Password: Password})).must(t)
		p := s.principal(t, tok.AccessToken)
		if !p.HasRole(authn.RoleStaff) || !p.HasScope("catalog:write") || p.HasScope(auth.ScopeUsersAdmin) {
			t.Fatalf("principal after promotion = %+v", p)
		}
	})
	t.Run("ErrUserNotFound", func(t *testing.T) {
		_, err := s.svc.SetRoles(s.admin, auth.SetRolesRequest{UserID: "usr_nobody", Roles: []string{authn.RoleStaff}})
		wantErr(t, err, auth.ErrUserNotFound)
	})
	t.Run("ErrInvalidRequest", func(t *testing.T) {
		_, err := s.svc.SetRoles(s.admin, auth.SetRolesRequest{UserID: u.ID, Roles: []string{"king"}})
		wantErr(t, err, auth.ErrInvalidRequest, "roles[0]")
	})
	t.Run("ErrLastAdmin", func(t *testing.T) {
		me := get(s.svc.Me(s.admin)).must(t)
		_, err := s.svc.SetRoles(s.admin, auth.SetRolesRequest{UserID: me.ID, Roles: []string{authn.RoleGuest}})
		wantErr(t, err, auth.ErrLastAdmin)
	})
}

func (s *suite) testRefresh(t *testing.T) {
	u, _ := s.user(t, "Dennis")
	first := get(s.svc.SignIn(context.Background(), auth.SignInRequest{Email: u.Email, Password: Password})).must(t)
	refresh := func(tok string) (auth.Tokens, error) {
		return s.svc.Token(context.Background(), auth.TokenRequest{GrantType: auth.GrantRefreshToken, RefreshToken: tok})
	}
	var second auth.Tokens
	t.Run("OK", func(t *testing.T) {
		second = get(refresh(first.RefreshToken)).must(t)
		if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken || s.principal(t, second.AccessToken).Subject != u.ID {
			t.Fatalf("refreshed = %+v", second)
		}
		// The session client may be named explicitly too.
		third := get(s.svc.Token(context.Background(), auth.TokenRequest{GrantType: auth.GrantRefreshToken, RefreshToken: second.RefreshToken, ClientID: auth.SessionClientID})).must(t)
		second = third
	})
	t.Run("ReuseRevokesFamily", func(t *testing.T) {
		_, err := refresh(first.RefreshToken) // used already: stolen
		wantErr(t, err, auth.ErrInvalidGrant)
		_, err = refresh(second.RefreshToken) // the legitimate successor dies with it
		wantErr(t, err, auth.ErrInvalidGrant)
	})
	t.Run("ErrInvalidGrant", func(t *testing.T) {
		_, err := refresh("not-a-refresh-token")
		wantErr(t, err, auth.ErrInvalidGrant)
	})
	t.Run("ErrInvalidRequest", func(t *testing.T) {
		_, err := refresh("")
		wantErr(t, err, auth.ErrInvalidRequest)
	})
}

func (s *suite) testSignOut(t *testing.T) {
	u, _ := s.user(t, "Alan")
	tok := get(s.svc.SignIn(context.Background(), auth.SignInRequest{Email: u.Email, Password: Password})).must(t)
	t.Run("OK", func(t *testing.T) {
		if err := s.svc.SignOut(context.Background(), auth.SignOutRequest{RefreshToken: tok.RefreshToken}); err != nil {
			t.Fatal(err)
		}
		_, err := s.svc.Token(context.Background(), auth.TokenRequest{GrantType: auth.GrantRefreshToken, RefreshToken: tok.RefreshToken})
		wantErr(t, err, auth.ErrInvalidGrant)
	})
	t.Run("Unknown", func(t *testing.T) {
		if err := s.svc.SignOut(context.Background(), auth.SignOutRequest{RefreshToken: "never-issued"}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrInvalidRequest", func(t *testing.T) {
		wantErr(t, s.svc.SignOut(context.Background(), auth.SignOutRequest{}), auth.ErrInvalidRequest, "refresh_token")
	})
}

func (s *suite) testClients(t *testing.T) {
	_, guest := s.user(t, "Eve")
	var created auth.CreatedClient
	t.Run("Create", func(t *testing.T) {
		created = get(s.svc.CreateClient(s.admin, auth.CreateClientRequest{
			Name: "Partner app", Confidential: true, RedirectURIs: []string{"https://partner.example/cb"}, Scopes: []string{"catalog:write", "catalog:write"},
		})).must(t)
		if created.ID == "" || len(created.Secret) < 43 || !created.Confidential || created.FirstParty ||
			!slices.Equal(created.Scopes, []string{"catalog:write"}) ||
			!slices.Equal(created.GrantTypes, []string{auth.GrantAuthorizationCode, auth.GrantRefreshToken}) {
			t.Fatalf("client = %+v", created)
		}
	})
	t.Run("ListAndGet", func(t *testing.T) {
		list := get(s.svc.ListClients(s.admin)).must(t)
		if !slices.ContainsFunc(list.Clients, func(c auth.Client) bool { return c.ID == created.ID }) {
			t.Fatalf("clients = %+v", list)
		}
		got := get(s.svc.GetClient(s.admin, auth.GetClientRequest{ID: created.ID})).must(t)
		if got.Name != "Partner app" || !slices.Equal(got.RedirectURIs, created.RedirectURIs) {
			t.Fatalf("client = %+v", got)
		}
	})
	t.Run("Update", func(t *testing.T) {
		name, fp := "Partner", true
		uris := []string{"https://partner.example/cb", "com.partner.app:/cb"}
		got := get(s.svc.UpdateClient(s.admin, auth.UpdateClientRequest{ID: created.ID, Name: &name, FirstParty: &fp, RedirectURIs: &uris})).must(t)
		if got.Name != name || !got.FirstParty || !slices.Equal(got.RedirectURIs, uris) || !got.Confidential {
			t.Fatalf("client = %+v", got)
		}
	})
	t.Run("ErrInvalidRequest", func(t *testing.T) {
		_, err := s.svc.CreateClient(s.admin, auth.CreateClientRequest{
			Name: "Bad", RedirectURIs: []string{"http://evil.example/cb", "https://ok.example/cb#frag"}, GrantTypes: []string{auth.GrantClientCredentials, auth.GrantAuthorizationCode},
		})
		wantErr(t, err, auth.ErrInvalidRequest, "grant_types", "redirect_uris[0]", "redirect_uris[1]")
		_, err = s.svc.CreateClient(s.admin, auth.CreateClientRequest{Name: "Bad", GrantTypes: []string{"password"}})
		wantErr(t, err, auth.ErrInvalidRequest, "grant_types[0]")
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		_, err := s.svc.CreateClient(guest, auth.CreateClientRequest{Name: "Mine", Confidential: true})
		wantErr(t, err, authn.ErrForbidden)
		_, err = s.svc.ListClients(guest)
		wantErr(t, err, authn.ErrForbidden)
	})
	t.Run("Delete", func(t *testing.T) {
		if err := s.svc.DeleteClient(s.admin, auth.DeleteClientRequest{ID: created.ID}); err != nil {
			t.Fatal(err)
		}
		_, err := s.svc.GetClient(s.admin, auth.GetClientRequest{ID: created.ID})
		wantErr(t, err, auth.ErrClientNotFound)
		wantErr(t, s.svc.DeleteClient(s.admin, auth.DeleteClientRequest{ID: created.ID}), auth.ErrClientNotFound)
	})
}

func (s *suite) testClientCredentials(t *testing.T) {
	svc := get(s.svc.CreateClient(s.admin, auth.CreateClientRequest{Name: "Reports", Confidential: true, Scopes: []string{"a:read", "b:write"}})).must(t)
	public := get(s.svc.CreateClient(s.admin, auth.CreateClientRequest{Name: "SPA", RedirectURIs: []string{"http://127.0.0.1:9/cb"}})).must(t)
	token := func(req auth.TokenRequest) (auth.Tokens, error) {
		req.GrantType = auth.GrantClientCredentials
		return s.svc.Token(context.Background(), req)
	}
	t.Run("OK", func(t *testing.T) {
		tok := get(token(auth.TokenRequest{ClientID: svc.ID, ClientSecret: svc.Secret})).must(t)
		if tok.RefreshToken != "" || tok.Scope != "a:read b:write" || tok.ExpiresIn <= 0 {
			t.Fatalf("tokens = %+v", tok)
		}
		p := s.principal(t, tok.AccessToken)
		if p.Kind != authn.KindService || p.Subject != svc.ID || !slices.Equal(p.Scopes, []string{"a:read", "b:write"}) || len(p.Roles) != 0 {
			t.Fatalf("principal = %+v", p)
		}
	})
	t.Run("NarrowerScope", func(t *testing.T) {
		tok := get(token(auth.TokenRequest{ClientID: svc.ID, ClientSecret: svc.Secret, Scope: "b:write"})).must(t)
		if p := s.principal(t, tok.AccessToken); !slices.Equal(p.Scopes, []string{"b:write"}) {
			t.Fatalf("scopes = %v", p.Scopes)
		}
	})
	t.Run("ErrInvalidScope", func(t *testing.T) {
		_, err := token(auth.TokenRequest{ClientID: svc.ID, ClientSecret: svc.Secret, Scope: "a:read admin:all"})
		wantErr(t, err, auth.ErrInvalidScope)
	})
	t.Run("ErrInvalidClient", func(t *testing.T) {
		_, err := token(auth.TokenRequest{ClientID: svc.ID, ClientSecret: svc.Secret + "x"})
		wantErr(t, err, auth.ErrInvalidClient)
		_, err = token(auth.TokenRequest{ClientID: svc.ID})
		wantErr(t, err, auth.ErrInvalidClient)
		_, err = token(auth.TokenRequest{ClientID: "cli_nobody", ClientSecret: svc.Secret})
		wantErr(t, err, auth.ErrInvalidClient)
		_, err = token(auth.TokenRequest{})
		wantErr(t, err, auth.ErrInvalidClient)
	})
	t.Run("ErrUnauthorizedClient", func(t *testing.T) {
		_, err := token(auth.TokenRequest{ClientID: public.ID})
		wantErr(t, err, auth.ErrUnauthorizedClient)
	})
	t.Run("ErrUnsupportedGrantType", func(t *testing.T) {
		for _, g := range []string{"password", "implicit", "urn:ietf:params:oauth:grant-type:device_code"} {
			_, err := s.svc.Token(context.Background(), auth.TokenRequest{GrantType: g, ClientID: svc.ID, ClientSecret: svc.Secret})
			wantErr(t, err, auth.ErrUnsupportedGrantType)
		}
	})
	t.Run("ErrInvalidRequest", func(t *testing.T) {
		_, err := s.svc.Token(context.Background(), auth.TokenRequest{ClientID: svc.ID, ClientSecret: svc.Secret})
		wantErr(t, err, auth.ErrInvalidRequest)
	})
	t.Run("ServiceClient", func(t *testing.T) {
		secret := strings.Repeat("s3cr3t-", 6)
		if err := s.t.EnsureServiceClient(context.Background(), "bookings", secret, []string{"search:quote"}); err != nil {
			t.Fatal(err)
		}
		tok := get(token(auth.TokenRequest{ClientID: "bookings", ClientSecret: secret})).must(t)
		if p := s.principal(t, tok.AccessToken); p.Subject != "bookings" || !p.HasScope("search:quote") {
			t.Fatalf("principal = %+v", p)
		}
	})
}

// PKCE is a code verifier and its S256 challenge.
type PKCE struct{ Verifier, Challenge string }

// NewPKCE derives a PKCE pair from seed (43+ characters of the verifier alphabet).
func NewPKCE(seed string) PKCE {
	v := strings.Repeat(seed, 1+43/len(seed))
	sum := sha256.Sum256([]byte(v))
	return PKCE{Verifier: v, Challenge: base64.RawURLEncoding.EncodeToString(sum[:])}
}

func (s *suite) testAuthorizationCode(t *testing.T) {
	const redirect = "http://127.0.0.1:9/callback"
	app := get(s.svc.CreateClient(s.admin, auth.CreateClientRequest{
		Name: "Dashboard", FirstParty: true, RedirectURIs: []string{redirect}, Scopes: []string{"catalog:write", "x:read"},
	})).must(t)
	other := get(s.svc.CreateClient(s.admin, auth.CreateClientRequest{Name: "Other", FirstParty: true, RedirectURIs: []string{redirect}})).must(t)
	u, _ := s.user(t, "Hedy")
	get(s.svc.SetRoles(s.admin, auth.SetRolesRequest{UserID: u.ID, Roles: []string{authn.RoleStaff}})).must(t)
	pkce := NewPKCE("verifier-of-the-contract-suite")
	req := auth.AuthorizationRequest{ResponseType: "code", ClientID: app.ID, RedirectURI: redirect, Scope: "catalog:write x:read",
		State: "xyz", CodeChallenge: pkce.Challenge, CodeChallengeMethod: "S256"}
	code := func(t *testing.T) string {
		t.Helper()
		res := get(s.svc.Authorize(context.Background(), auth.AuthorizeRequest{AuthorizationRequest: req, Email: u.Email, Password: Password})).must(t)
		if res.Code == "" || res.ConsentTicket != "" || res.RedirectURI != redirect {
			t.Fatalf("result = %+v", res)
		}
		return res.Code
	}
	exchange := func(code, verifier, redirectURI, clientID string) (auth.Tokens, error) {
		return s.svc.Token(context.Background(), auth.TokenRequest{GrantType: auth.GrantAuthorizationCode, Code: code,
			CodeVerifier: verifier, RedirectURI: redirectURI, ClientID: clientID})
	}

	t.Run("Check", func(t *testing.T) {
		info := get(s.svc.CheckAuthorization(context.Background(), req)).must(t)
		if info.ClientName != "Dashboard" || !info.FirstParty || info.RedirectURI != redirect || !slices.Equal(info.Scopes, []string{"catalog:write", "x:read"}) {
			t.Fatalf("info = %+v", info)
		}
	})
	t.Run("CheckErrors", func(t *testing.T) {
		cases := []struct {
			name   string
			change func(*auth.AuthorizationRequest)
			want   *apperr.Error
		}{
			{"UnknownClient", func(r *auth.AuthorizationRequest) { r.ClientID = "cli_nobody" }, auth.ErrInvalidClient},
			{"RedirectNotRegistered", func(r *auth.AuthorizationRequest) { r.RedirectURI = redirect + "/x" }, auth.ErrInvalidRedirectURI},
			{"RedirectMissing", func(r *auth.AuthorizationRequest) { r.RedirectURI = "" }, auth.ErrInvalidRedirectURI},
			{"ResponseTypeToken", func(r *auth.AuthorizationRequest) { r.ResponseType = "token" }, auth.ErrUnsupportedResponse},
			{"NoPKCE", func(r *auth.AuthorizationRequest) { r.CodeChallenge, r.CodeChallengeMethod = "", "" }, auth.ErrInvalidRequest},
			{"PlainPKCE", func(r *auth.AuthorizationRequest) { r.CodeChallengeMethod = "plain" }, auth.ErrInvalidRequest},
			{"BadChallenge", func(r *auth.AuthorizationRequest) { r.CodeChallenge = "short" }, auth.ErrInvalidRequest},
			{"Scope", func(r *auth.AuthorizationRequest) { r.Scope = "catalog:write users:admin" }, auth.ErrInvalidScope},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := req
				c.change(&r)
				_, err := s.svc.CheckAuthorization(context.Background(), r)
				wantErr(t, err, c.want)
				_, err = s.svc.Authorize(context.Background(), auth.AuthorizeRequest{AuthorizationRequest: r, Email: u.Email, Password: Password})
				wantErr(t, err, c.want)
			})
		}
	})
	t.Run("ErrInvalidCredentials", func(t *testing.T) {
		_, err := s.svc.Authorize(context.Background(), auth.AuthorizeRequest{AuthorizationRequest: req, Email: u.Email, Password: "not the password"})
		wantErr(t, err, auth.ErrInvalidCredentials)
	})
	t.Run("OK", func(t *testing.T) {
		tok := get(exchange(code(t), pkce.Verifier, redirect, app.ID)).must(t)
		p := s.principal(t, tok.AccessToken)
		// x:read was granted to the client, but the user's roles do not carry it.
		if p.Subject != u.ID || !slices.Equal(p.Scopes, []string{"catalog:write"}) || tok.RefreshToken == "" {
			t.Fatalf("tokens %+v, principal %+v", tok, p)
		}
		refreshed := get(s.svc.Token(context.Background(), auth.TokenRequest{GrantType: auth.GrantRefreshToken, RefreshToken: tok.RefreshToken, ClientID: app.ID})).must(t)
		if s.principal(t, refreshed.AccessToken).Subject != u.ID {
			t.Fatal("refreshed token for someone else")
		}
	})
	t.Run("CodeReuseRevokes", func(t *testing.T) {
		c := code(t)
		tok := get(exchange(c, pkce.Verifier, redirect, app.ID)).must(t)
		_, err := exchange(c, pkce.Verifier, redirect, app.ID)
		wantErr(t, err, auth.ErrInvalidGrant)
		_, err = s.svc.Token(context.Background(), auth.TokenRequest{GrantType: auth.GrantRefreshToken, RefreshToken: tok.RefreshToken, ClientID: app.ID})
		wantErr(t, err, auth.ErrInvalidGrant)
	})
	t.Run("ExchangeErrors", func(t *testing.T) {
		cases := []struct {
			name                       string
			verifier, redirect, client string
			want                       *apperr.Error
		}{
			{"WrongVerifier", NewPKCE("another-verifier-entirely").Verifier, redirect, app.ID, auth.ErrInvalidGrant},
			{"ShortVerifier", "abc", redirect, app.ID, auth.ErrInvalidGrant},
			{"WrongRedirect", pkce.Verifier, redirect + "/", app.ID, auth.ErrInvalidGrant},
			{"OtherClient", pkce.Verifier, redirect, other.ID, auth.ErrInvalidGrant},
			{"NoVerifier", "", redirect, app.ID, auth.ErrInvalidRequest},
			{"UnknownClient", pkce.Verifier, redirect, "cli_nobody", auth.ErrInvalidClient},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				cd := code(t)
				_, err := exchange(cd, c.verifier, c.redirect, c.client)
				wantErr(t, err, c.want)
				if c.want == auth.ErrInvalidGrant {
					// A failed exchange used the code up.
					_, err = exchange(cd, pkce.Verifier, redirect, app.ID)
					wantErr(t, err, auth.ErrInvalidGrant)
				}
			})
		}
		_, err := exchange("never-issued", pkce.Verifier, redirect, app.ID)
		wantErr(t, err, auth.ErrInvalidGrant)
	})
	t.Run("OtherClientsRefreshToken", func(t *testing.T) {
		tok := get(exchange(code(t), pkce.Verifier, redirect, app.ID)).must(t)
		_, err := s.svc.Token(context.Background(), auth.TokenRequest{GrantType: auth.GrantRefreshToken, RefreshToken: tok.RefreshToken, ClientID: other.ID})
		wantErr(t, err, auth.ErrInvalidGrant)
		_, err = s.svc.Token(context.Background(), auth.TokenRequest{GrantType: auth.GrantRefreshToken, RefreshToken: tok.RefreshToken})
		wantErr(t, err, auth.ErrInvalidGrant) // not a session's token either
	})
}

func (s *suite) testConsent(t *testing.T) {
	const redirect = "https://third.example/cb"
	app := get(s.svc.CreateClient(s.admin, auth.CreateClientRequest{Name: "Third party", Confidential: true, RedirectURIs: []string{redirect}})).must(t)
	u, _ := s.user(t, "Mary")
	pkce := NewPKCE("consent-verifier-consent-verifier")
	req := auth.AuthorizeRequest{AuthorizationRequest: auth.AuthorizationRequest{ResponseType: "code", ClientID: app.ID, RedirectURI: redirect,
		CodeChallenge: pkce.Challenge, CodeChallengeMethod: "S256"}, Email: u.Email, Password: Password}
	t.Run("Allow", func(t *testing.T) {
		res := get(s.svc.Authorize(context.Background(), req)).must(t)
		if res.Code != "" || res.ConsentTicket == "" || res.ClientName != "Third party" {
			t.Fatalf("result = %+v", res)
		}
		ok := get(s.svc.Consent(context.Background(), auth.ConsentRequest{Ticket: res.ConsentTicket, Allow: true})).must(t)
		if ok.Code == "" || ok.RedirectURI != redirect || ok.Denied {
			t.Fatalf("consent = %+v", ok)
		}
		tok := get(s.svc.Token(context.Background(), auth.TokenRequest{GrantType: auth.GrantAuthorizationCode, Code: ok.Code,
			CodeVerifier: pkce.Verifier, RedirectURI: redirect, ClientID: app.ID, ClientSecret: app.Secret})).must(t)
		if s.principal(t, tok.AccessToken).Subject != u.ID {
			t.Fatal("token for someone else")
		}
		_, err := s.svc.Consent(context.Background(), auth.ConsentRequest{Ticket: res.ConsentTicket, Allow: true})
		wantErr(t, err, auth.ErrInvalidGrant)
	})
	t.Run("Deny", func(t *testing.T) {
		res := get(s.svc.Authorize(context.Background(), req)).must(t)
		no := get(s.svc.Consent(context.Background(), auth.ConsentRequest{Ticket: res.ConsentTicket})).must(t)
		if !no.Denied || no.Code != "" || no.RedirectURI != redirect {
			t.Fatalf("consent = %+v", no)
		}
	})
	t.Run("ErrInvalidGrant", func(t *testing.T) {
		_, err := s.svc.Consent(context.Background(), auth.ConsentRequest{Ticket: "made-up", Allow: true})
		wantErr(t, err, auth.ErrInvalidGrant)
	})
}

func (s *suite) testRevoke(t *testing.T) {
	const redirect = "https://revoke.example/cb"
	app := get(s.svc.CreateClient(s.admin, auth.CreateClientRequest{Name: "Revoker", Confidential: true, FirstParty: true, RedirectURIs: []string{redirect}})).must(t)
	u, _ := s.user(t, "Radia")
	pkce := NewPKCE("revoke-verifier-revoke-verifier")
	res := get(s.svc.Authorize(context.Background(), auth.AuthorizeRequest{AuthorizationRequest: auth.AuthorizationRequest{
		ResponseType: "code", ClientID: app.ID, RedirectURI: redirect, CodeChallenge: pkce.Challenge, CodeChallengeMethod: "S256"}, Email: u.Email, Password: Password})).must(t)
	tok := get(s.svc.Token(context.Background(), auth.TokenRequest{GrantType: auth.GrantAuthorizationCode, Code: res.Code,
		CodeVerifier: pkce.Verifier, RedirectURI: redirect, ClientID: app.ID, ClientSecret: app.Secret})).must(t)
	t.Run("ErrInvalidClient", func(t *testing.T) {
		err := s.svc.Revoke(context.Background(), auth.RevokeRequest{Token: tok.RefreshToken, ClientID: app.ID, ClientSecret: "wrong"})
		wantErr(t, err, auth.ErrInvalidClient)
	})
	t.Run("OK", func(t *testing.T) {
		if err := s.svc.Revoke(context.Background(), auth.RevokeRequest{Token: tok.RefreshToken, TokenTypeHint: auth.HintRefreshToken, ClientID: app.ID, ClientSecret: app.Secret}); err != nil {
			t.Fatal(err)
		}
		_, err := s.svc.Token(context.Background(), auth.TokenRequest{GrantType: auth.GrantRefreshToken, RefreshToken: tok.RefreshToken, ClientID: app.ID, ClientSecret: app.Secret})
		wantErr(t, err, auth.ErrInvalidGrant)
	})
	t.Run("UnknownAndAccessTokens", func(t *testing.T) {
		for _, token := range []string{"never-issued", tok.AccessToken} {
			if err := s.svc.Revoke(context.Background(), auth.RevokeRequest{Token: token, ClientID: app.ID, ClientSecret: app.Secret}); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("ErrInvalidRequest", func(t *testing.T) {
		err := s.svc.Revoke(context.Background(), auth.RevokeRequest{ClientID: app.ID, ClientSecret: app.Secret})
		wantErr(t, err, auth.ErrInvalidRequest)
	})
}

func (s *suite) testIntrospect(t *testing.T) {
	rs := get(s.svc.CreateClient(s.admin, auth.CreateClientRequest{Name: "Resource server", Confidential: true, Scopes: []string{"x:read"}})).must(t)
	spa := get(s.svc.CreateClient(s.admin, auth.CreateClientRequest{Name: "SPA", RedirectURIs: []string{"http://localhost:9/cb"}})).must(t)
	u, _ := s.user(t, "Sophie")
	session := get(s.svc.SignIn(context.Background(), auth.SignInRequest{Email: u.Email, Password: Password})).must(t)
	introspect := func(token string) (auth.Introspection, error) {
		return s.svc.Introspect(context.Background(), auth.IntrospectRequest{Token: token, ClientID: rs.ID, ClientSecret: rs.Secret})
	}
	t.Run("AccessToken", func(t *testing.T) {
		got := get(introspect(session.AccessToken)).must(t)
		if !got.Active || got.Sub != u.ID || got.Username != u.Email || got.Exp == 0 || got.Iss == "" || got.Kind != authn.KindUser || got.ClientID != auth.SessionClientID {
			t.Fatalf("introspection = %+v", got)
		}
		svcTok := get(s.svc.Token(context.Background(), auth.TokenRequest{GrantType: auth.GrantClientCredentials, ClientID: rs.ID, ClientSecret: rs.Secret})).must(t)
		got = get(introspect(svcTok.AccessToken)).must(t)
		if !got.Active || got.Sub != rs.ID || got.Scope != "x:read" || got.Kind != authn.KindService {
			t.Fatalf("introspection = %+v", got)
		}
	})
	t.Run("Inactive", func(t *testing.T) {
		// Garbage, a tampered token, and another client's refresh token.
		tampered := session.AccessToken[:len(session.AccessToken)-4] + "AAAA"
		for _, token := range []string{"garbage", tampered, session.RefreshToken} {
			got := get(introspect(token)).must(t)
			if !reflect.DeepEqual(got, auth.Introspection{}) {
				t.Fatalf("introspection of %.10s... = %+v, want only active: false", token, got)
			}
		}
	})
	t.Run("ErrInvalidClient", func(t *testing.T) {
		_, err := s.svc.Introspect(context.Background(), auth.IntrospectRequest{Token: session.AccessToken, ClientID: spa.ID})
		wantErr(t, err, auth.ErrInvalidClient)
		_, err = s.svc.Introspect(context.Background(), auth.IntrospectRequest{Token: session.AccessToken, ClientID: rs.ID, ClientSecret: "x"})
		wantErr(t, err, auth.ErrInvalidClient)
	})
}

func (s *suite) testJWKS(t *testing.T) {
	set := get(s.svc.JWKS(context.Background())).must(t)
	if len(set.Keys) == 0 {
		t.Fatal("no keys")
	}
	for _, k := range set.Keys {
		if k.Kty != "OKP" || k.Crv != "Ed25519" || k.Alg != "EdDSA" || k.Use != "sig" || k.Kid == "" || len(k.X) != 43 {
			t.Fatalf("key = %+v", k)
		}
	}
}

func (s *suite) testSigningKeys(t *testing.T) {
	before := get(s.svc.SigningKeys(s.admin)).must(t)
	if len(before.Keys) == 0 || before.Keys[0].Status != auth.KeyActive || before.Keys[0].RetiredAt != nil {
		t.Fatalf("keys before rotating = %+v, want the active one first", before.Keys)
	}
	// The guest signs in before the rotation: a verifier in another process
	// learns of a new key when it next fetches the JWKS (at most every 10 s
	// by default), so a token signed a moment after a rotation can be
	// refused there for that long.
	_, guest := s.user(t, "keyguest")
	t.Run("ErrForbidden", func(t *testing.T) {
		_, err := s.svc.SigningKeys(guest)
		wantErr(t, err, authn.ErrForbidden)
		_, err = s.svc.RotateSigningKey(guest)
		wantErr(t, err, authn.ErrForbidden)
		_, err = s.svc.RotateSigningKey(context.Background())
		wantErr(t, err, authn.ErrUnauthenticated)
	})
	t.Run("Rotate", func(t *testing.T) {
		k := get(s.svc.RotateSigningKey(s.admin)).must(t)
		if k.KID == "" || k.KID == before.Keys[0].KID || k.Status != auth.KeyActive || k.Alg != "EdDSA" || k.CreatedAt.IsZero() {
			t.Fatalf("rotated key = %+v", k)
		}
		after := get(s.svc.SigningKeys(s.admin)).must(t)
		if len(after.Keys) != len(before.Keys)+1 || after.Keys[0].KID != k.KID {
			t.Fatalf("keys after rotating = %+v, want %s first and one more", after.Keys, k.KID)
		}
		old := after.Keys[1]
		if old.KID != before.Keys[0].KID || old.Status != auth.KeyRetired || old.RetiredAt == nil || old.PublishedUntil == nil ||
			!old.PublishedUntil.After(*old.RetiredAt) {
			t.Fatalf("the replaced key = %+v, want it retired and published for a while", old)
		}
		// Both stay in the JWKS: tokens the old key signed still verify.
		set := get(s.svc.JWKS(context.Background())).must(t)
		kids := map[string]bool{}
		for _, j := range set.Keys {
			kids[j.Kid] = true
		}
		if !kids[k.KID] || !kids[old.KID] {
			t.Fatalf("JWKS kids %v, want %s and %s", kids, k.KID, old.KID)
		}
		// The admin's session, signed by the old key, still works.
		get(s.svc.SigningKeys(s.admin)).must(t)
	})
}
