package authlocal

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/validation"
)

// Service is the in-process auth.Service.
type Service struct {
	store    store
	log      *slog.Logger
	cfg      config
	validate *validation.Validator
	hasher   *passwordHasher
	keys     *keyring
	verifier *authn.Verifier
	revoked  *authn.Revocations // the not-before times of users' tokens, shared with this process's verifiers
	throttle *throttle
	now      func() time.Time
	// configured are the service clients auth.service_clients configures
	// (EnsureServiceClients): the API neither changes nor deletes them.
	configured clientSet
}

type config struct {
	issuer, audience                           string
	accessTTL, refreshTTL, codeTTL, consentTTL time.Duration
	roleScopes                                 map[string][]string
}

var _ auth.Service = (*Service)(nil)

// store is what the service needs of its database (gormStore in
// store.go). Writes of one statement stand alone; those of several, and
// every write that records an event, go through write.
type store interface {
	reader
	// listUsers reads up to limit users by id, after afterID ("": from the first).
	listUsers(ctx context.Context, afterID string, limit int) ([]userRow, error)
	// updateUser changes a user's name or email; auth.ErrEmailTaken if the
	// new email has an account.
	updateUser(ctx context.Context, id string, c userChanges) error
	// rehashPassword replaces a user's password hash by one of the same password.
	rehashPassword(ctx context.Context, id, hash string) error
	// clients are every OAuth client, by name.
	clients(ctx context.Context) ([]clientRow, error)
	insertClient(ctx context.Context, row clientRow) error
	insertRefreshToken(ctx context.Context, row refreshTokenRow) error
	// claimRefreshToken uses up a refresh token that is not used, revoked
	// or expired at now; false if there is none such.
	claimRefreshToken(ctx context.Context, hash string, now time.Time) (bool, error)
	// refreshTokenUsed tells whether the refresh token was used.
	refreshTokenUsed(ctx context.Context, hash string) (bool, error)
	insertGrant(ctx context.Context, g grantRow) error
	// claimCode uses up an authorization code not used before, recording
	// the refresh-token family it buys; false if there is none such.
	claimCode(ctx context.Context, hash, family string, now time.Time) (bool, error)
	// claimConsent uses up a consent ticket not used nor expired at now;
	// false if there is none such.
	claimConsent(ctx context.Context, hash string, now time.Time) (bool, error)
	// write runs fn in one writing transaction and, once it has committed,
	// wakes the relay that publishes the events fn recorded.
	write(ctx context.Context, fn func(tx storeTx) error) error
}

// reader reads the module's rows, in a transaction or not. Lookups that
// may find nothing say so with found; errors are internal ones.
type reader interface {
	// user reads a user; auth.ErrUserNotFound if none has that id.
	user(ctx context.Context, id string) (userRow, error)
	// userByEmail finds the user whose email has key (see emailKey).
	userByEmail(ctx context.Context, key string) (u userRow, found bool, err error)
	// client reads a client; auth.ErrClientNotFound if none has that id.
	client(ctx context.Context, id string) (clientRow, error)
	// refreshToken finds a refresh token by the hash of its secret.
	refreshToken(ctx context.Context, hash string) (rt refreshTokenRow, found bool, err error)
	// grant finds a code or consent ticket (kind) by the hash of its secret.
	grant(ctx context.Context, hash, kind string) (g grantRow, found bool, err error)
}

// storeTx is the store inside a writing transaction.
type storeTx interface {
	reader
	// emailOwner finds the user whose email has key: id, email and name only.
	emailOwner(ctx context.Context, key string) (u userRow, found bool, err error)
	// insertUser adds a user; auth.ErrEmailTaken if the email has an account.
	insertUser(ctx context.Context, row userRow) error
	// setPassword replaces a user's password hash.
	setPassword(ctx context.Context, id, hash string, now time.Time) error
	// setRoles writes u's roles and update time.
	setRoles(ctx context.Context, u userRow) error
	// countAdmins counts the users with the admin role.
	countAdmins(ctx context.Context) (int, error)
	// familyUser is the user of a refresh-token family, "" if it has no token.
	familyUser(ctx context.Context, family string) (string, error)
	// revokeFamilyTokens, revokeUserTokens and revokeClientTokens revoke,
	// at now, the refresh tokens of a family, a user or a client not
	// revoked yet.
	revokeFamilyTokens(ctx context.Context, family string, now time.Time) error
	revokeUserTokens(ctx context.Context, userID string, now time.Time) error
	revokeClientTokens(ctx context.Context, clientID string, now time.Time) error
	// updateClient writes row's name, first-party flag, redirect URIs,
	// scopes and update time.
	updateClient(ctx context.Context, row clientRow) error
	// saveServiceClient updates a configured service client, or adds it.
	saveServiceClient(ctx context.Context, row clientRow) error
	// deleteClient deletes a client; false if none has that id.
	deleteClient(ctx context.Context, id string) (bool, error)
	// deleteClientGrants deletes a client's codes and consent tickets.
	deleteClientGrants(ctx context.Context, clientID string) error
	// clientSessions are the sign-in sessions (refresh-token families) of
	// a client that issued an access token since: a refresh, or a code
	// exchanged.
	clientSessions(ctx context.Context, clientID string, since time.Time) ([]string, error)
	// retireSigningKeys retires, at now, the keys not retired yet.
	retireSigningKeys(ctx context.Context, now time.Time) error
	// deleteSigningKeysRetiredBy deletes the keys retired at t or before.
	deleteSigningKeysRetiredBy(ctx context.Context, t time.Time) error
	insertSigningKey(ctx context.Context, row signingKeyRow) error
	// record adds an event of the auth module to the outbox.
	record(ctx context.Context, typ string, payload any) error
}

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
	u, err := s.store.user(ctx, p.Subject)
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
