package authlocal

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/validation"
)

// Service is the in-process auth.Service.
type Service struct {
	db       *db.DB
	log      *slog.Logger
	cfg      config
	validate *validation.Validator
	hasher   *passwordHasher
	keys     *keyring
	verifier *authn.Verifier
	revoked  *authn.Revocations // the not-before times of users' tokens, shared with this process's verifiers
	throttle *throttle
	now      func() time.Time
	store    store
}

type config struct {
	issuer, audience                           string
	accessTTL, refreshTTL, codeTTL, consentTTL time.Duration
	roleScopes                                 map[string][]string
}

var _ auth.Service = (*Service)(nil)

// requireUser returns the calling user's principal: ErrUnauthenticated
// without one, ErrForbidden for a service.
func requireUser(ctx context.Context) (authn.Principal, error) {
	p, ok := authn.FromContext(ctx)
	if !ok {
		return authn.Principal{}, authn.ErrUnauthenticated
	}
	if p.Kind != authn.KindUser {
		return p, authn.ErrForbidden.With("this needs a user, not a service")
	}
	return p, nil
}

// requireAdmin lets through a user who has the admin role now: the roles
// are read again rather than trusted from a token up to 15 minutes old.
func (s *Service) requireAdmin(ctx context.Context) (authn.Principal, error) {
	p, err := requireUser(ctx)
	if err != nil {
		return p, err
	}
	if !p.HasRole(authn.RoleAdmin) {
		return p, authn.ErrForbidden.With("this needs the %q role", authn.RoleAdmin)
	}
	u, err := s.userByID(ctx, s.db.DB, p.Subject)
	if err != nil || !slices.Contains(u.Roles, authn.RoleAdmin) {
		return p, authn.ErrForbidden.With("this needs the %q role", authn.RoleAdmin)
	}
	return p, nil
}

// scopesOf is what a user's roles grant, sorted and without repeats.
func (s *Service) scopesOf(roles []string) []string {
	var out []string
	for _, r := range roles {
		out = append(out, s.cfg.roleScopes[r]...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// newSecret is a 256-bit random value, base64url without padding (43 characters).
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics rather)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// hashSecret is how secrets are stored and looked up: they are 256-bit
// random values, so a fast hash is enough (no dictionary to attack).
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// emailKey is the form emails are compared in.
func emailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// notFound turns gorm's not-found into nf; other errors are internal.
func notFound(err error, nf *apperr.Error, what string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nf
	}
	return apperr.Internal(fmt.Errorf("load %s: %w", what, err))
}

// scopeList splits a space-separated scope parameter (RFC 6749 §3.3).
func scopeList(scope string) []string {
	f := strings.Fields(scope)
	slices.Sort(f)
	return slices.Compact(f)
}

// subset reports whether every element of a is in b.
func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// intersect keeps the elements of a that are in b.
func intersect(a, b []string) []string {
	out := []string{}
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// validScopeToken is RFC 6749 §3.3's scope-token: printable ASCII without
// space, '"' and '\'.
func validScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
