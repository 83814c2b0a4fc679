package authhttp_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/auth/authhttp"
	"github.com/bellhop/bellhop/modules/auth/authlocal"
)

// Who may call what, at the HTTP edge: 401 without a valid token, 403 for
// the wrong kind of caller.
func TestProtectedRoutes(t *testing.T) {
	s := newSetup(t, authhttp.Options{}, authlocal.Deps{})
	ctx := context.Background()
	if _, err := s.m.CreateAdmin(ctx, "admin@bellhop.test", "Admin", password); err != nil {
		t.Fatal(err)
	}
	signIn := func(email string) string {
		tok, err := s.m.Service().SignIn(ctx, auth.SignInRequest{Email: email, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		return tok.AccessToken
	}
	guest, admin := signIn(s.user.Email), signIn("admin@bellhop.test")
	svc, err := s.m.Service().Token(ctx, auth.TokenRequest{GrantType: auth.GrantClientCredentials, ClientID: s.svcID, ClientSecret: s.svcSecret})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(guest, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"`+s.user.ID+`","roles":["admin"]}`)) + "." + parts[2]
	algNone := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."

	call := func(method, path, token, body string) int {
		t.Helper()
		req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return do(t, nil, req).status
	}
	cases := []struct {
		name, method, path, token, body string
		want                            int
	}{
		{"MeAnonymous", "GET", "/api/v1/users/me", "", "", 401},
		{"MeGuest", "GET", "/api/v1/users/me", guest, "", 200},
		{"MeTampered", "GET", "/api/v1/users/me", tampered, "", 401},
		{"MeAlgNone", "GET", "/api/v1/users/me", algNone, "", 401},
		{"MeService", "GET", "/api/v1/users/me", svc.AccessToken, "", 403},
		{"UsersGuest", "GET", "/api/v1/users", guest, "", 403},
		{"UsersAdmin", "GET", "/api/v1/users", admin, "", 200},
		{"RolesGuest", "PUT", "/api/v1/users/" + s.user.ID + "/roles", guest, `{"roles":["admin"]}`, 403},
		{"ClientsGuest", "GET", "/api/v1/oauth-clients", guest, "", 403},
		{"ClientsAdmin", "GET", "/api/v1/oauth-clients", admin, "", 200},
		{"InternalUser", "POST", "/internal/v1/auth/authorizations/check", admin, `{}`, 403},
		{"InternalServiceWithoutScope", "POST", "/internal/v1/auth/authorizations/check", svc.AccessToken, `{}`, 403},
		{"InternalAnonymous", "POST", "/internal/v1/auth/authorizations", "", `{}`, 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := call(c.method, c.path, c.token, c.body); got != c.want {
				t.Fatalf("%s %s = %d, want %d", c.method, c.path, got, c.want)
			}
		})
	}
}
