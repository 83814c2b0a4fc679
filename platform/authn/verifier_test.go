package authn_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/authn/authntest"
)

const (
	testIssuer   = "https://auth.bellhop.test"
	testAudience = "bellhop"
)

var guest = authn.Principal{
	Subject: "usr_42",
	Kind:    authn.KindUser,
	Email:   "ada@example.com",
	Name:    "Ada Lovelace",
	Roles:   []string{"guest", "staff"},
	Scopes:  []string{"bookings:read", "bookings:write"},
}

func TestVerifyValidToken(t *testing.T) {
	iss := authntest.NewIssuer(t, testIssuer, testAudience)
	tok := iss.Token(t, guest, time.Minute)

	p, err := iss.Verifier().Verify(t.Context(), tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := guest
	want.Token = tok
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("principal = %+v\nwant %+v", p, want)
	}
	if !p.HasScope("bookings:write") || !p.HasRole("staff") {
		t.Fatalf("scopes/roles not usable: %+v", p)
	}
}

func TestVerifyKindAndAudienceShapes(t *testing.T) {
	iss := authntest.NewIssuer(t, testIssuer, testAudience)
	v := iss.Verifier()
	now := time.Now()
	base := func() map[string]any {
		return map[string]any{
			"iss": testIssuer, "aud": testAudience, // aud as a plain string
			"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "jti": "j1",
		}
	}
	tests := []struct {
		name     string
		extra    map[string]any
		wantKind string
	}{
		{"sub equals client_id is a service", map[string]any{"sub": "svc_bookings", "client_id": "svc_bookings", "scope": "search:quote"}, authn.KindService},
		{"user acting through a client", map[string]any{"sub": "usr_1", "client_id": "web"}, authn.KindUser},
		{"no client_id is a user", map[string]any{"sub": "usr_1"}, authn.KindUser},
		{"explicit kind wins", map[string]any{"sub": "svc_x", "client_id": "other", "kind": "service"}, authn.KindService},
		{"aud as an array containing ours", map[string]any{"sub": "usr_1", "aud": []string{"other", testAudience}}, authn.KindUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims := base()
			for k, val := range tt.extra {
				claims[k] = val
			}
			p, err := v.Verify(t.Context(), iss.SignMap(t, claims))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if p.Kind != tt.wantKind {
				t.Fatalf("kind = %q, want %q", p.Kind, tt.wantKind)
			}
		})
	}
	t.Run("scope split on spaces", func(t *testing.T) {
		claims := base()
		claims["sub"], claims["client_id"], claims["scope"] = "svc_b", "svc_b", "search:quote  bookings:internal"
		p, err := v.Verify(t.Context(), iss.SignMap(t, claims))
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"search:quote", "bookings:internal"}; !reflect.DeepEqual(p.Scopes, want) {
			t.Fatalf("scopes = %q, want %q", p.Scopes, want)
		}
	})
}

func TestVerifyRejects(t *testing.T) {
	iss := authntest.NewIssuer(t, testIssuer, testAudience)
	v := iss.Verifier()
	now := time.Now()
	valid := iss.Token(t, guest, time.Minute)
	tests := []struct {
		name    string
		token   string
		wantMsg string
	}{
		{"expired", iss.ExpiredToken(t, guest), "expired"},
		{"wrong issuer", iss.WrongIssuerToken(t, guest), "untrusted issuer"},
		{"wrong audience", iss.WrongAudienceToken(t, guest), "audience"},
		{"alg none", iss.AlgNoneToken(t, guest), "algorithm is not accepted"},
		{"HS256 with the public key as secret", iss.HS256Token(t, guest), "algorithm is not accepted"},
		{"unknown kid", iss.UnknownKIDToken(t, guest), "unknown key"},
		{"signed by another key", iss.ForeignKeyToken(t, guest), "signature is invalid"},
		{"tampered payload", iss.TamperedToken(t, guest), "signature is invalid"},
		{"signature cut off", valid[:strings.LastIndexByte(valid, '.')+1], "signature is invalid"},
		{"garbage", "not-a-jwt", "malformed"},
		{"empty", "", "empty"},
		{"no exp", iss.SignMap(t, map[string]any{"sub": "usr_1", "iss": testIssuer, "aud": testAudience, "iat": now.Unix()}), "required claim"},
		{"no subject", iss.SignMap(t, map[string]any{"iss": testIssuer, "aud": testAudience, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}), "no subject"},
		{"issued in the future", iss.SignMap(t, map[string]any{"sub": "usr_1", "iss": testIssuer, "aud": testAudience, "iat": now.Add(time.Hour).Unix(), "exp": now.Add(2 * time.Hour).Unix()}), "not valid yet"},
		{"unknown kind", iss.SignMap(t, map[string]any{"sub": "usr_1", "kind": "robot", "iss": testIssuer, "aud": testAudience, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}), "principal kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(t.Context(), tt.token)
			if err == nil {
				t.Fatalf("Verify accepted the token: %+v", p)
			}
			if !errors.Is(err, authn.ErrInvalidToken) {
				t.Fatalf("err = %v, want authn.ErrInvalidToken", err)
			}
			msg := apperr.As(err).Message
			if !strings.Contains(msg, tt.wantMsg) {
				t.Fatalf("message %q does not say %q", msg, tt.wantMsg)
			}
			if tt.token != "" && (strings.Contains(err.Error(), tt.token) || strings.Contains(msg, tt.token)) {
				t.Fatalf("error leaks the token: %v", err)
			}
			if !reflect.DeepEqual(p, authn.Principal{}) {
				t.Fatalf("principal returned on failure: %+v", p)
			}
		})
	}
}

func TestVerifyLeeway(t *testing.T) {
	iss := authntest.NewIssuer(t, testIssuer, testAudience)
	tok := iss.Token(t, guest, time.Minute)
	at := func(d time.Duration) *authn.Verifier {
		v, err := authn.NewVerifier(iss.KeySet(), testIssuer, testAudience,
			authn.WithClock(func() time.Time { return time.Now().Add(d) }))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if _, err := at(time.Minute+10*time.Second).Verify(t.Context(), tok); err != nil {
		t.Fatalf("10s past exp (within leeway): %v", err)
	}
	if _, err := at(time.Minute+time.Minute).Verify(t.Context(), tok); err == nil {
		t.Fatal("60s past exp was accepted")
	}
}

func TestNilVerifier(t *testing.T) {
	var v *authn.Verifier
	if _, err := v.Verify(t.Context(), "x.y.z"); !errors.Is(err, authn.ErrInvalidToken) {
		t.Fatalf("nil Verifier: err = %v", err)
	}
}

func TestStaticAndFileKeySetES256(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &priv.PublicKey, KeyID: "ec-1", Algorithm: "ES256", Use: "sig"},
		{Key: &priv.PublicKey, KeyID: "ec-enc", Use: "enc"}, // not for signatures: ignored
	}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	claims := authn.NewClaims(guest, testIssuer, []string{testAudience}, time.Now(), time.Minute)
	tok, err := authn.SignToken(claims, "ec-1", priv)
	if err != nil {
		t.Fatal(err)
	}
	encTok, err := authn.SignToken(claims, "ec-enc", priv)
	if err != nil {
		t.Fatal(err)
	}

	static, err := authn.NewStaticKeySet(jwks)
	if err != nil {
		t.Fatal(err)
	}
	file, err := authn.NewFileKeySet(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, ks := range map[string]authn.KeySet{"static": static, "file": file} {
		t.Run(name, func(t *testing.T) {
			v, err := authn.NewVerifier(ks, testIssuer, testAudience)
			if err != nil {
				t.Fatal(err)
			}
			p, err := v.Verify(t.Context(), tok)
			if err != nil {
				t.Fatalf("Verify ES256: %v", err)
			}
			if p.Subject != guest.Subject {
				t.Fatalf("subject = %q", p.Subject)
			}
			if _, err := v.Verify(t.Context(), encTok); err == nil || !strings.Contains(apperr.As(err).Message, "unknown key") {
				t.Fatalf("token under an encryption key: err = %v", err)
			}
			if _, err := ks.PublicKey(context.Background(), "nope"); !errors.Is(err, authn.ErrUnknownKey) {
				t.Fatalf("unknown kid: err = %v, want ErrUnknownKey", err)
			}
		})
	}
}

func TestKeySetConstructorErrors(t *testing.T) {
	for name, doc := range map[string]string{
		"not JSON":       `{`,
		"no keys":        `{"keys":[]}`,
		"only HMAC keys": `{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}`,
	} {
		if _, err := authn.NewStaticKeySet([]byte(doc)); err == nil {
			t.Errorf("%s: NewStaticKeySet accepted it", name)
		}
	}
	if _, err := authn.NewFileKeySet(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("NewFileKeySet accepted a missing file")
	}
	if _, err := authn.NewVerifier(nil, testIssuer, testAudience); err == nil {
		t.Error("NewVerifier accepted a nil KeySet")
	}
	if _, err := authn.NewRemoteKeySet("ftp://auth/jwks", nil); err == nil {
		t.Error("NewRemoteKeySet accepted a non-http URL")
	}
}

// forgettingKeys is a key set whose keys can be taken away (a rotation).
type forgettingKeys struct {
	authn.KeySet
	gone atomic.Bool
}

func (k *forgettingKeys) PublicKey(ctx context.Context, kid string) (crypto.PublicKey, error) {
	if k.gone.Load() {
		return nil, authn.ErrUnknownKey
	}
	return k.KeySet.PublicKey(ctx, kid)
}

// A token verified once is not verified again while it is valid — but the
// remembered answer never outlives the token's expiry or its signing key,
// and callers cannot write into it.
func TestVerifyRemembersVerifiedTokens(t *testing.T) {
	iss := authntest.NewIssuer(t, testIssuer, testAudience)
	keys := &forgettingKeys{KeySet: iss.KeySet()}
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	v, err := authn.NewVerifier(keys, testIssuer, testAudience, authn.WithClock(func() time.Time { return time.Unix(0, now.Load()) }))
	if err != nil {
		t.Fatal(err)
	}
	tok := iss.Token(t, guest, time.Minute)
	first, err := v.Verify(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	first.Scopes = append(first.Scopes, "admin:everything")
	again, err := v.Verify(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	want := guest
	want.Token = tok
	if !reflect.DeepEqual(again, want) {
		t.Fatalf("second answer = %+v, want %+v", again, want)
	}

	// Past exp + leeway: refused, remembered or not.
	now.Add(int64(time.Minute + authn.DefaultLeeway + time.Second))
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, authn.ErrInvalidToken) {
		t.Fatalf("expired token: %v", err)
	}

	// Its key rotated out: refused at once.
	now.Store(time.Now().UnixNano())
	tok2 := iss.Token(t, guest, time.Minute)
	if _, err := v.Verify(t.Context(), tok2); err != nil {
		t.Fatal(err)
	}
	keys.gone.Store(true)
	if _, err := v.Verify(t.Context(), tok2); !errors.Is(err, authn.ErrInvalidToken) {
		t.Fatalf("token of a key rotated out: %v", err)
	}
}
