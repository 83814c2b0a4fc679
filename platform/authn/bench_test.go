package authn_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/authn/authntest"
)

// Token verification in the middleware against raw Ed25519 verification of
// the same signing input with the same key (target: the middleware at 80% or
// more of raw). Compare them with:
//
//	go test -run '^$' -bench 'Verify_' ./platform/authn/
//
// Each reports verifies/s on one core; the ratio is Middleware's verifies/s
// over RawEd25519's. Both check the token in full every time
// (WithoutRemembering); _Remembered is the same request with the Verifier
// as serve builds it, which checks a token it saw before with a map lookup.

var benchPrincipal = authn.Principal{
	Subject: "usr_01JBENCH0000000000000000",
	Kind:    authn.KindUser,
	Email:   "bench@bellhop.test",
	Name:    "Bench Mark",
	Roles:   []string{"staff"},
	Scopes:  []string{"catalog:write"},
}

// benchToken is a real access token of the shape the auth module issues,
// with the issuer that signed it.
func benchToken(b *testing.B) (*authntest.Issuer, string) {
	b.Helper()
	iss := authntest.NewIssuer(b, "bellhop", "bellhop")
	return iss, iss.Token(b, benchPrincipal, time.Hour)
}

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the request path, not a recorder's buffers.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkVerify_Middleware is a request with a bearer token through an
// Echo app whose only middleware is the Verifier's: routing, the
// Authorization header, Verify (parse, kid lookup, EdDSA, claims), the
// principal into the context, and a handler that reads it.
func BenchmarkVerify_Middleware(b *testing.B) {
	benchMiddleware(b, authn.WithoutRemembering())
}

func BenchmarkVerify_MiddlewareRemembered(b *testing.B) { benchMiddleware(b) }

func benchMiddleware(b *testing.B, opts ...authn.VerifierOption) {
	iss, tok := benchToken(b)
	v, err := authn.NewVerifier(iss.KeySet(), "bellhop", "bellhop", opts...)
	if err != nil {
		b.Fatal(err)
	}
	e := echo.New()
	e.Use(v.Middleware())
	e.GET("/api/v1/users/me", func(c echo.Context) error {
		if _, ok := authn.FromContext(c.Request().Context()); !ok {
			return echo.ErrUnauthorized
		}
		return c.NoContent(http.StatusNoContent)
	})
	req := httptest.NewRequest(http.MethodGet, "/api/v1/users/me", nil)
	req.Header.Set(echo.HeaderAuthorization, "Bearer "+tok)
	w := &discardWriter{h: http.Header{}}
	// The first request checks the set-up answers 204, not 401.
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent {
		b.Fatalf("set-up request: %d %s", rec.Code, rec.Body)
	}
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		e.ServeHTTP(w, req)
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "verifies/s")
}

// BenchmarkVerify_Verifier is Verifier.Verify alone on the same token: the
// middleware minus Echo.
func BenchmarkVerify_Verifier(b *testing.B) {
	iss, tok := benchToken(b)
	v, err := authn.NewVerifier(iss.KeySet(), "bellhop", "bellhop", authn.WithoutRemembering())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := v.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "verifies/s")
}

// BenchmarkVerify_RawEd25519 is ed25519.Verify of the same token's signing
// input and signature with the same public key: the floor the middleware is
// measured against.
func BenchmarkVerify_RawEd25519(b *testing.B) {
	iss, tok := benchToken(b)
	dot := strings.LastIndexByte(tok, '.')
	input := []byte(tok[:dot])
	sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
	if err != nil {
		b.Fatal(err)
	}
	key, err := iss.KeySet().PublicKey(context.Background(), iss.KID())
	if err != nil {
		b.Fatal(err)
	}
	pub := key.(ed25519.PublicKey)
	if !ed25519.Verify(pub, input, sig) {
		b.Fatal("the token's signature does not verify")
	}
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		if !ed25519.Verify(pub, input, sig) {
			b.Fatal("verify failed")
		}
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "verifies/s")
}
