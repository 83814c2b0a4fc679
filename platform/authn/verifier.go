package authn

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Algorithms are the JWS algorithms Verify accepts. Everything else — "none",
// HS256 and the other shared-secret algorithms, RSA — is rejected.
var Algorithms = []string{"EdDSA", "ES256"}

// DefaultLeeway is the clock skew Verify tolerates on exp, nbf and iat.
const DefaultLeeway = 30 * time.Second

// Claims are the JWT claims of a Bellhop access token (RFC 9068 style).
type Claims struct {
	jwt.RegisteredClaims
	// Scope is the space-separated list of granted scopes (RFC 8693 §4.2).
	Scope    string   `json:"scope,omitempty"`
	Roles    []string `json:"roles,omitempty"`
	Email    string   `json:"email,omitempty"`
	Name     string   `json:"name,omitempty"`
	ClientID string   `json:"client_id,omitempty"`
	// Kind is "user" or "service"; when absent, a token whose subject is its
	// client_id is a service's, any other a user's.
	Kind string `json:"kind,omitempty"`
	// SessionID ("sid", as in OpenID Connect) names the sign-in session the
	// token was issued in, so ending that session refuses its tokens too.
	SessionID string `json:"sid,omitempty"`
}

// NewClaims builds the claims of an access token for p, issued by issuer for
// audience at now and valid for ttl. A service principal's client_id is its
// subject. The token id (jti) is random.
func NewClaims(p Principal, issuer string, audience []string, now time.Time, ttl time.Duration) Claims {
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   p.Subject,
			Audience:  jwt.ClaimStrings(audience),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        hex.EncodeToString(jti[:]),
		},
		Scope: strings.Join(p.Scopes, " "),
		Roles: slices.Clone(p.Roles),
		Email: p.Email,
		Name:  p.Name,
		Kind:  p.Kind,

		SessionID: p.SessionID,
	}
	if p.Kind == KindService {
		c.ClientID = p.Subject
	}
	return c
}

// Principal is the principal the claims describe (without its Token).
func (c *Claims) Principal() (Principal, error) {
	kind := c.Kind
	switch kind {
	case KindUser, KindService:
	case "":
		kind = KindUser
		if c.ClientID != "" && c.Subject == c.ClientID {
			kind = KindService
		}
	default:
		return Principal{}, fmt.Errorf("unknown principal kind %q", c.Kind)
	}
	return Principal{
		Subject: c.Subject,
		Kind:    kind,
		Email:   c.Email,
		Name:    c.Name,
		Roles:   slices.Clone(c.Roles),
		Scopes:  strings.Fields(c.Scope),

		SessionID: c.SessionID,
	}, nil
}

// SignToken signs claims with key under kid: EdDSA for an ed25519.PrivateKey,
// ES256 for a P-256 *ecdsa.PrivateKey. It is what an issuer (the auth module,
// authntest) uses to mint tokens Verify accepts.
func SignToken(c Claims, kid string, key crypto.Signer) (string, error) {
	var method jwt.SigningMethod
	switch k := key.(type) {
	case ed25519.PrivateKey:
		method = jwt.SigningMethodEdDSA
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return "", errors.New("authn: ES256 needs a P-256 key")
		}
		method = jwt.SigningMethodES256
	default:
		return "", fmt.Errorf("authn: cannot sign with a %T (want Ed25519 or P-256)", key)
	}
	if kid == "" {
		return "", errors.New("authn: a token needs a key id (kid)")
	}
	t := jwt.NewWithClaims(method, c)
	t.Header["kid"] = kid
	return t.SignedString(key)
}

// Verifier checks bearer tokens: signature by a key of its KeySet under an
// accepted algorithm, kid present, issuer, audience, expiry. It is safe for
// concurrent use. A nil *Verifier authenticates nobody.
type Verifier struct {
	keys     KeySet
	issuer   string
	audience string
	leeway   time.Duration
	now      func() time.Time
	parser   *jwt.Parser
	verified verifiedTokens
	revoked  *Revocations
}

// verifiedTokens remembers tokens that passed verification, so a client
// sending the same token again (every request of a session) costs a map
// lookup rather than a signature check and a JSON parse. An entry is used
// only while the token has not expired and its signing key is still in the
// key set (a key rotated out stops its tokens at once); the map is bounded
// and cleared when full.
type verifiedTokens struct {
	off bool
	mu  sync.Mutex
	m   map[string]verifiedToken
}

type verifiedToken struct {
	p       Principal
	kid     string
	issued  time.Time // iat (zero when the token has none)
	expires time.Time // exp + leeway
}

const maxVerifiedTokens = 10_000

func (c *verifiedTokens) get(raw string, now time.Time) (verifiedToken, bool) {
	if c.off {
		return verifiedToken{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[raw]
	if ok && !now.Before(t.expires) {
		delete(c.m, raw)
		return verifiedToken{}, false
	}
	return t, ok
}

func (c *verifiedTokens) put(raw string, t verifiedToken) {
	if c.off {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxVerifiedTokens {
		c.m = make(map[string]verifiedToken)
	}
	c.m[raw] = t
}

// VerifierOption configures a Verifier.
type VerifierOption func(*Verifier)

// WithLeeway sets the tolerated clock skew (default DefaultLeeway).
func WithLeeway(d time.Duration) VerifierOption {
	return func(v *Verifier) {
		if d >= 0 {
			v.leeway = d
		}
	}
}

// WithoutRemembering makes the Verifier check every token in full, however
// often it saw it (benchmarks of the verification itself).
func WithoutRemembering() VerifierOption {
	return func(v *Verifier) { v.verified.off = true }
}

// WithRevocations makes the Verifier refuse a token issued before its
// subject's not-before time in r, whether it checks the token in full or
// remembers it.
func WithRevocations(r *Revocations) VerifierOption {
	return func(v *Verifier) { v.revoked = r }
}

// WithClock sets the source of the current time (for tests).
func WithClock(now func() time.Time) VerifierOption {
	return func(v *Verifier) {
		if now != nil {
			v.now = now
		}
	}
}

// NewVerifier returns a Verifier for tokens issued by issuer for audience
// (the token's aud may be a string or an array that contains it).
func NewVerifier(keys KeySet, issuer, audience string, opts ...VerifierOption) (*Verifier, error) {
	if keys == nil {
		return nil, errors.New("authn: NewVerifier needs a KeySet")
	}
	if issuer == "" || audience == "" {
		return nil, errors.New("authn: NewVerifier needs an issuer and an audience")
	}
	v := &Verifier{keys: keys, issuer: issuer, audience: audience, leeway: DefaultLeeway, now: time.Now}
	for _, o := range opts {
		o(v)
	}
	v.parser = jwt.NewParser(
		jwt.WithValidMethods(Algorithms),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithLeeway(v.leeway),
		jwt.WithTimeFunc(v.now),
		jwt.WithStrictDecoding(),
	)
	return v, nil
}

var errNoKid = errors.New("no kid header")

// errRevoked refuses a token issued before its subject's roles or password
// changed (its subject's not-before time is later), or whose session ended.
var errRevoked = ErrInvalidToken.With("the token was revoked (the user's roles or password changed, or the session was signed out): sign in again")

// Verify checks rawToken and returns the principal it carries, with Token set
// to rawToken. Every failure is ErrInvalidToken with a message saying why
// (never quoting the token) and the underlying cause wrapped for logs.
func (v *Verifier) Verify(ctx context.Context, rawToken string) (Principal, error) {
	if v == nil {
		return Principal{}, ErrInvalidToken.With("no token verifier is configured")
	}
	if rawToken == "" {
		return Principal{}, ErrInvalidToken.With("the bearer token is empty")
	}
	if t, ok := v.verified.get(rawToken, v.now()); ok {
		if v.revoked.Revoked(t.p.Subject, t.issued) || v.revoked.SessionEnded(t.p.SessionID) {
			return Principal{}, errRevoked
		}
		if _, err := v.keys.PublicKey(ctx, t.kid); err == nil {
			p := t.p
			p.Roles, p.Scopes = slices.Clip(p.Roles), slices.Clip(p.Scopes)
			return p, nil
		}
	}
	var claims Claims
	var kid string
	tok, err := v.parser.ParseWithClaims(rawToken, &claims, func(t *jwt.Token) (any, error) {
		kid, _ = t.Header["kid"].(string)
		if kid == "" {
			return nil, errNoKid
		}
		return v.keys.PublicKey(ctx, kid)
	})
	if err != nil {
		return Principal{}, v.classify(tok, err)
	}
	if claims.Subject == "" {
		return Principal{}, ErrInvalidToken.With("the token has no subject")
	}
	p, err := claims.Principal()
	if err != nil {
		return Principal{}, ErrInvalidToken.With("the token names an unknown principal kind").WithCause(err)
	}
	var issued time.Time
	if claims.IssuedAt != nil {
		issued = claims.IssuedAt.Time
	}
	if v.revoked.Revoked(claims.Subject, issued) || v.revoked.SessionEnded(claims.SessionID) {
		return Principal{}, errRevoked
	}
	p.Token = rawToken
	if claims.ExpiresAt != nil {
		// Clipped: a caller appending to a role or scope list gets a copy
		// rather than writing into the cached principal.
		cached := p
		cached.Roles, cached.Scopes = slices.Clip(slices.Clone(p.Roles)), slices.Clip(slices.Clone(p.Scopes))
		v.verified.put(rawToken, verifiedToken{p: cached, kid: kid, issued: issued, expires: claims.ExpiresAt.Add(v.leeway)})
	}
	return p, nil
}

// classify turns a jwt error into ErrInvalidToken with a reason a client can
// act on. The most fundamental failure wins (a forged token is reported as
// such, not as expired).
func (v *Verifier) classify(tok *jwt.Token, err error) error {
	msg := "the bearer token is invalid"
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		msg = "the bearer token is malformed"
	case tok != nil && tok.Method != nil && !slices.Contains(Algorithms, tok.Method.Alg()):
		msg = fmt.Sprintf("the token's signing algorithm is not accepted (want one of %s)", strings.Join(Algorithms, ", "))
	case errors.Is(err, errNoKid):
		msg = "the token header has no key id (kid)"
	case errors.Is(err, ErrUnknownKey):
		msg = "the token was signed by an unknown key"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		msg = "the token's signing key could not be retrieved"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		msg = "the token signature is invalid"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		msg = "the token lacks a required claim (exp, iss or aud)"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		msg = "the token was issued by an untrusted issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		msg = "the token is not meant for this audience"
	case errors.Is(err, jwt.ErrTokenExpired):
		msg = "the token has expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		msg = "the token is not valid yet"
	}
	return ErrInvalidToken.With("%s", msg).WithCause(err)
}
