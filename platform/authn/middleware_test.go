package authn_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/authn/authntest"
)

// newApp is a tiny Echo app rendering errors as problem+json, the way
// platform/httpserver does.
func newApp(v *authn.Verifier) *echo.Echo {
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			err = apperr.New(apperr.CodeForStatus(he.Code), "", fmt.Sprint(he.Message))
		}
		p := apperr.ToProblem(err)
		c.Response().Header().Set(echo.HeaderContentType, apperr.ProblemMediaType)
		c.Response().WriteHeader(p.Status)
		_ = json.NewEncoder(c.Response()).Encode(p)
	}
	e.Use(v.Middleware())
	who := func(c echo.Context) error {
		p, ok := authn.FromContext(c.Request().Context())
		if !ok {
			return c.String(http.StatusOK, "anonymous")
		}
		return c.String(http.StatusOK, p.Subject)
	}
	e.GET("/public", who)
	e.GET("/bookings", who, authn.RequireScopes("bookings:read"))
	e.GET("/both", who, authn.RequireScopes("bookings:read", "payments:write"))
	e.GET("/admin", who, authn.RequireRoles("admin", "ops"))
	return e
}

type response struct {
	status  int
	body    string
	problem apperr.Problem
	header  http.Header
}

func get(t *testing.T, e *echo.Echo, path, authorization string) response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	r := response{status: rec.Code, body: rec.Body.String(), header: rec.Header()}
	if rec.Code >= 400 {
		if ct := rec.Header().Get("Content-Type"); ct != apperr.ProblemMediaType {
			t.Fatalf("%s: content type %q, want %s", path, ct, apperr.ProblemMediaType)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &r.problem); err != nil {
			t.Fatalf("%s: problem body: %v", path, err)
		}
	}
	return r
}

func TestMiddleware(t *testing.T) {
	iss := authntest.NewIssuer(t, testIssuer, testAudience)
	e := newApp(iss.Verifier())
	reader := iss.Token(t, authn.Principal{Subject: "usr_r", Scopes: []string{"bookings:read"}}, 0)
	nobody := iss.Token(t, authn.Principal{Subject: "usr_n"}, 0)
	ops := iss.Token(t, authn.Principal{Subject: "usr_o", Roles: []string{"ops"}}, 0)

	t.Run("no header passes through anonymously", func(t *testing.T) {
		if r := get(t, e, "/public", ""); r.status != 200 || r.body != "anonymous" {
			t.Fatalf("got %d %q", r.status, r.body)
		}
	})
	t.Run("valid token puts the principal in the context", func(t *testing.T) {
		if r := get(t, e, "/public", "Bearer "+reader); r.status != 200 || r.body != "usr_r" {
			t.Fatalf("got %d %q", r.status, r.body)
		}
		if r := get(t, e, "/public", "bearer "+reader); r.status != 200 {
			t.Fatalf("lower-case scheme: got %d", r.status)
		}
	})
	t.Run("invalid token is 401 problem+json with a challenge", func(t *testing.T) {
		r := get(t, e, "/public", "Bearer "+iss.ExpiredToken(t, guest))
		if r.status != 401 || r.problem.Reason != "authn.invalid_token" || !strings.Contains(r.problem.Detail, "expired") {
			t.Fatalf("got %d %+v", r.status, r.problem)
		}
		if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, `Bearer error="invalid_token"`) {
			t.Fatalf("WWW-Authenticate = %q", got)
		}
		if !errors.Is(r.problem.Err(), authn.ErrInvalidToken) {
			t.Fatalf("problem does not decode to ErrInvalidToken: %v", r.problem.Err())
		}
	})
	t.Run("non-bearer Authorization is 401", func(t *testing.T) {
		for _, h := range []string{"Basic dXNlcjpwYXNz", "Bearer", "Bearer  ", "Token abc", "Bearer a b"} {
			r := get(t, e, "/public", h)
			if r.status != 401 || r.problem.Code != apperr.CodeUnauthenticated {
				t.Fatalf("%q: got %d %+v", h, r.status, r.problem)
			}
			if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, `Bearer error="invalid_request"`) {
				t.Fatalf("%q: WWW-Authenticate = %q", h, got)
			}
		}
	})
	t.Run("scope required without a principal is 401", func(t *testing.T) {
		r := get(t, e, "/bookings", "")
		if r.status != 401 || r.problem.Reason != "authn.unauthenticated" {
			t.Fatalf("got %d %+v", r.status, r.problem)
		}
		if got := r.header.Get("WWW-Authenticate"); got != "Bearer" {
			t.Fatalf("WWW-Authenticate = %q", got)
		}
	})
	t.Run("missing scope is 403 naming it", func(t *testing.T) {
		r := get(t, e, "/bookings", "Bearer "+nobody)
		if r.status != 403 || r.problem.Reason != "authn.forbidden" || !strings.Contains(r.problem.Detail, `"bookings:read"`) {
			t.Fatalf("got %d %+v", r.status, r.problem)
		}
		if got := r.header.Get("WWW-Authenticate"); !strings.Contains(got, `error="insufficient_scope"`) {
			t.Fatalf("WWW-Authenticate = %q", got)
		}
		r = get(t, e, "/both", "Bearer "+reader)
		if r.status != 403 || !strings.Contains(r.problem.Detail, `"payments:write"`) || strings.Contains(r.problem.Detail, `"bookings:read"`) {
			t.Fatalf("got %d %+v", r.status, r.problem)
		}
	})
	t.Run("granted scope passes", func(t *testing.T) {
		if r := get(t, e, "/bookings", "Bearer "+reader); r.status != 200 || r.body != "usr_r" {
			t.Fatalf("got %d %q", r.status, r.body)
		}
	})
	t.Run("roles are any-of", func(t *testing.T) {
		if r := get(t, e, "/admin", "Bearer "+ops); r.status != 200 {
			t.Fatalf("ops: got %d %+v", r.status, r.problem)
		}
		if r := get(t, e, "/admin", "Bearer "+reader); r.status != 403 || r.problem.Reason != "authn.forbidden" {
			t.Fatalf("reader: got %d %+v", r.status, r.problem)
		}
		if r := get(t, e, "/admin", ""); r.status != 401 {
			t.Fatalf("anonymous: got %d", r.status)
		}
	})
}

func TestNilVerifierMiddleware(t *testing.T) {
	iss := authntest.NewIssuer(t, testIssuer, testAudience)
	e := newApp(nil)
	tok := iss.Token(t, authn.Principal{Subject: "usr_r", Scopes: []string{"bookings:read"}}, 0)
	if r := get(t, e, "/public", "Bearer "+tok); r.status != 200 || r.body != "anonymous" {
		t.Fatalf("public: got %d %q", r.status, r.body)
	}
	if r := get(t, e, "/bookings", "Bearer "+tok); r.status != 401 {
		t.Fatalf("scoped: got %d, want 401", r.status)
	}
}
