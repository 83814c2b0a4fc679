package authn_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/authn/authntest"
)

// FuzzVerify sends Authorization headers as an attacker would: the only
// header that authenticates anyone is one carrying a token the issuer
// signed, and it authenticates exactly the principal signed into it (no
// change to a token's bytes changes who it names or what it may do).
// Anything else is a 401 with a WWW-Authenticate challenge, never a panic.
func FuzzVerify(f *testing.F) {
	iss := authntest.NewIssuer(f, testIssuer, testAudience)
	valid := iss.Token(f, guest, time.Hour)
	for _, tok := range []string{valid, iss.AlgNoneToken(f, guest), iss.HS256Token(f, guest), iss.TamperedToken(f, guest),
		iss.ExpiredToken(f, guest), iss.ForeignKeyToken(f, guest), iss.UnknownKIDToken(f, guest), iss.WrongIssuerToken(f, guest),
		iss.WrongAudienceToken(f, guest), valid + ".", valid[:len(valid)-2], "a.b.c", "...."} {
		f.Add("Bearer " + tok)
	}
	f.Add("bearer  " + valid + " ")
	f.Add("Basic dXNlcjpwYXNz")
	f.Add("Bearer " + valid + " x")
	v, err := authn.NewVerifier(iss.KeySet(), testIssuer, testAudience, authn.WithoutRemembering())
	if err != nil {
		f.Fatal(err)
	}
	e := echo.New()
	f.Fuzz(func(t *testing.T, header string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Authorization", header)
		rec := httptest.NewRecorder()
		c := e.NewContext(req, rec)
		var seen *authn.Principal
		err := v.Middleware()(func(c echo.Context) error {
			if p, ok := authn.FromContext(c.Request().Context()); ok {
				seen = &p
			}
			return nil
		})(c)
		switch {
		case err != nil:
			if apperr.As(err).Status() != http.StatusUnauthorized || !errors.Is(err, authn.ErrInvalidToken) {
				t.Fatalf("header %q: %v, want a 401 invalid token", header, err)
			}
			if rec.Header().Get("WWW-Authenticate") == "" {
				t.Fatalf("header %q refused without a challenge", header)
			}
		case seen == nil:
			if header != "" && req.Header.Get("Authorization") != "" {
				t.Fatalf("header %q let through unauthenticated", header)
			}
		default:
			got := *seen
			got.Token = ""
			if !reflect.DeepEqual(got, guest) {
				t.Fatalf("header %q authenticated %+v, not the principal signed (%+v)", header, got, guest)
			}
			if _, err := v.Verify(context.Background(), seen.Token); err != nil {
				t.Fatalf("the token the middleware accepted does not verify: %v", err)
			}
		}
	})
}
