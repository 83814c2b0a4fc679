// Package authntest mints real, signed bearer tokens for tests: an Issuer
// holds fresh Ed25519 keys, publishes them as a JWKS and as an authn.KeySet,
// and signs good tokens as well as deliberately bad ones (expired, wrong
// issuer or audience, alg "none", HS256 key confusion, unknown kid, forged).
package authntest

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/bellhop/bellhop/platform/authn"
)

// DefaultTTL is the lifetime of tokens minted with a ttl <= 0 and by Context.
const DefaultTTL = time.Hour

// Issuer signs tokens for one issuer and audience. Its current key signs; keys
// it rotated away from stay published, as a real issuer's would for a while.
// It is safe for concurrent use (an httptest server may serve JWKS while a
// test rotates).
type Issuer struct {
	issuer, audience string

	mu   sync.Mutex
	keys []signingKey // keys[len-1] is current
}

type signingKey struct {
	kid  string
	priv ed25519.PrivateKey
}

// NewIssuer returns an Issuer with a fresh Ed25519 key under a random kid.
func NewIssuer(t testing.TB, issuer, audience string) *Issuer {
	t.Helper()
	i := &Issuer{issuer: issuer, audience: audience}
	i.Rotate(t)
	return i
}

func newKey(t testing.TB) signingKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("authntest: generate key: %v", err)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	return signingKey{kid: "test-" + hex.EncodeToString(id[:]), priv: priv}
}

// Rotate makes a fresh key current and returns its kid. Earlier keys stay in
// the JWKS and KeySet.
func (i *Issuer) Rotate(t testing.TB) string {
	t.Helper()
	k := newKey(t)
	i.mu.Lock()
	defer i.mu.Unlock()
	i.keys = append(i.keys, k)
	return k.kid
}

// Retire drops every key but the current one from the JWKS and KeySet.
func (i *Issuer) Retire() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.keys = i.keys[len(i.keys)-1:]
}

func (i *Issuer) current() signingKey {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.keys[len(i.keys)-1]
}

// IssuerName is the iss the Issuer signs with.
func (i *Issuer) IssuerName() string { return i.issuer }

// Audience is the aud the Issuer signs with.
func (i *Issuer) Audience() string { return i.audience }

// KID is the key id of the current key.
func (i *Issuer) KID() string { return i.current().kid }

// Claims are the claims Token would sign for p.
func (i *Issuer) Claims(p authn.Principal, ttl time.Duration) authn.Claims {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if p.Kind == "" {
		p.Kind = authn.KindUser
	}
	return authn.NewClaims(p, i.issuer, []string{i.audience}, time.Now(), ttl)
}

// Sign signs arbitrary claims with the current key.
func (i *Issuer) Sign(t testing.TB, c authn.Claims) string {
	t.Helper()
	k := i.current()
	return sign(t, c, k.kid, k.priv)
}

func sign(t testing.TB, c authn.Claims, kid string, key crypto.Signer) string {
	t.Helper()
	tok, err := authn.SignToken(c, kid, key)
	if err != nil {
		t.Fatalf("authntest: sign: %v", err)
	}
	return tok
}

// SignMap signs arbitrary JSON claims with the current key (EdDSA, current
// kid), for tests of claim shapes Claims cannot express (aud as a plain
// string, exp missing, a scope of the wrong type).
func (i *Issuer) SignMap(t testing.TB, claims map[string]any) string {
	t.Helper()
	k := i.current()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims(claims))
	tok.Header["kid"] = k.kid
	s, err := tok.SignedString(k.priv)
	if err != nil {
		t.Fatalf("authntest: sign: %v", err)
	}
	return s
}

// Token signs an access token for p valid for ttl (DefaultTTL if ttl <= 0):
// its scopes space-joined into "scope", its kind ("user" if empty) in "kind".
func (i *Issuer) Token(t testing.TB, p authn.Principal, ttl time.Duration) string {
	t.Helper()
	return i.Sign(t, i.Claims(p, ttl))
}

// Context returns ctx carrying p with Token set to a freshly signed token, so
// the same context works for in-process calls and for HTTP calls that
// forward the token.
func (i *Issuer) Context(t testing.TB, ctx context.Context, p authn.Principal) context.Context {
	t.Helper()
	if p.Kind == "" {
		p.Kind = authn.KindUser
	}
	p.Token = i.Token(t, p, DefaultTTL)
	return authn.WithPrincipal(ctx, p)
}

// JWKS is the JSON Web Key Set publishing the Issuer's public keys.
func (i *Issuer) JWKS() []byte {
	i.mu.Lock()
	defer i.mu.Unlock()
	var set jose.JSONWebKeySet
	for _, k := range i.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{
			Key:       k.priv.Public(),
			KeyID:     k.kid,
			Algorithm: "EdDSA",
			Use:       "sig",
		})
	}
	doc, err := json.Marshal(set)
	if err != nil {
		panic("authntest: marshal JWKS: " + err.Error()) // cannot happen for Ed25519 keys
	}
	return doc
}

// KeySet is a live authn.KeySet over the Issuer's keys (it sees rotations).
func (i *Issuer) KeySet() authn.KeySet { return keySet{i} }

type keySet struct{ i *Issuer }

func (s keySet) PublicKey(ctx context.Context, kid string) (crypto.PublicKey, error) {
	s.i.mu.Lock()
	defer s.i.mu.Unlock()
	for _, k := range s.i.keys {
		if k.kid == kid {
			return k.priv.Public(), nil
		}
	}
	return nil, fmt.Errorf("%w %q", authn.ErrUnknownKey, kid)
}

// Verifier is an authn.Verifier that trusts this Issuer.
func (i *Issuer) Verifier() *authn.Verifier {
	v, err := authn.NewVerifier(i.KeySet(), i.issuer, i.audience)
	if err != nil {
		panic("authntest: " + err.Error()) // only for an empty issuer or audience
	}
	return v
}

// ExpiredToken is a token for p that expired well beyond the verifier's leeway.
func (i *Issuer) ExpiredToken(t testing.TB, p authn.Principal) string {
	t.Helper()
	c := i.Claims(p, time.Hour)
	past := time.Now().Add(-2 * time.Hour)
	c.IssuedAt = jwt.NewNumericDate(past)
	c.ExpiresAt = jwt.NewNumericDate(past.Add(time.Hour))
	return i.Sign(t, c)
}

// WrongIssuerToken is a token for p signed by this Issuer's key but naming
// another issuer.
func (i *Issuer) WrongIssuerToken(t testing.TB, p authn.Principal) string {
	t.Helper()
	c := i.Claims(p, 0)
	c.Issuer = i.issuer + "-impostor"
	return i.Sign(t, c)
}

// WrongAudienceToken is a token for p meant for another audience.
func (i *Issuer) WrongAudienceToken(t testing.TB, p authn.Principal) string {
	t.Helper()
	c := i.Claims(p, 0)
	c.Audience = jwt.ClaimStrings{i.audience + "-elsewhere"}
	return i.Sign(t, c)
}

// AlgNoneToken is an unsigned token ("alg": "none") for p, with the current kid.
func (i *Issuer) AlgNoneToken(t testing.TB, p authn.Principal) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodNone, i.Claims(p, 0))
	tok.Header["kid"] = i.KID()
	s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatalf("authntest: sign alg none: %v", err)
	}
	return s
}

// HS256Token is the key-confusion attack: a token for p signed with HMAC-SHA256
// using the current public key's bytes as the shared secret.
func (i *Issuer) HS256Token(t testing.TB, p authn.Principal) string {
	t.Helper()
	k := i.current()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, i.Claims(p, 0))
	tok.Header["kid"] = k.kid
	s, err := tok.SignedString([]byte(k.priv.Public().(ed25519.PublicKey)))
	if err != nil {
		t.Fatalf("authntest: sign HS256: %v", err)
	}
	return s
}

// ForeignKeyToken is a token for p that claims the current kid but is signed
// by another key: its signature does not verify.
func (i *Issuer) ForeignKeyToken(t testing.TB, p authn.Principal) string {
	t.Helper()
	other := newKey(t)
	return sign(t, i.Claims(p, 0), i.KID(), other.priv)
}

// UnknownKIDToken is a token for p signed by a key whose kid is not published.
func (i *Issuer) UnknownKIDToken(t testing.TB, p authn.Principal) string {
	t.Helper()
	other := newKey(t)
	return sign(t, i.Claims(p, 0), other.kid, other.priv)
}

// TamperedToken is a validly signed token for p whose payload was then
// altered (roles swapped for "admin"), so its signature no longer matches.
func (i *Issuer) TamperedToken(t testing.TB, p authn.Principal) string {
	t.Helper()
	tok := i.Token(t, p, 0)
	parts := splitJWT(t, tok)
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("authntest: decode payload: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatalf("authntest: decode payload: %v", err)
	}
	claims["roles"] = []string{"admin"}
	payload, _ = json.Marshal(claims)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]
}

func splitJWT(t testing.TB, tok string) []string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("authntest: token has %d segments, want 3", len(parts))
	}
	return parts
}
