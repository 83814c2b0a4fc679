// Package authlocal is the in-process auth module: users and their argon2id
// password hashes, OAuth clients, refresh tokens and signing keys in its own
// database, the token issuing and the module's lifecycle. cmd/bellhop builds
// it with New and hosts it; KeySet lets this process verify tokens without
// an HTTP hop.
package authlocal

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/validation"
)

// Defaults of Deps.
const (
	DefaultAccessTokenTTL  = 15 * time.Minute
	DefaultRefreshTokenTTL = 30 * 24 * time.Hour
	DefaultCodeTTL         = time.Minute
	DefaultConsentTTL      = 10 * time.Minute
)

// DefaultRoleScopes are the scopes each role grants a user's tokens: staff
// edit the catalog (search's "catalog:write") and read the reports
// (reporting's "reports:read"); admins also manage users and OAuth clients.
func DefaultRoleScopes() map[string][]string {
	return map[string][]string{
		authn.RoleGuest: nil,
		authn.RoleStaff: {"catalog:write", "reports:read"},
		authn.RoleAdmin: {"catalog:write", "reports:read", auth.ScopeUsersAdmin, auth.ScopeClientsAdmin},
	}
}

// Deps are what the module needs from its host.
type Deps struct {
	DB  *db.DB // the module's own database, migrated with Migrations
	Log *slog.Logger
	// Bus carries the module's events; nil in tests that need no backbone
	// (events then stay in the outbox).
	Bus *events.Bus
	// OutboxRetention is how long published events stay in the outbox (0: the relay's default).
	OutboxRetention time.Duration

	// Issuer and Audience are the iss and aud of the access tokens; every
	// verifier (config auth.issuer and auth.audience) must expect the same.
	Issuer, Audience string
	// AccessTokenTTL is the lifetime of access tokens (0: 15 minutes). A
	// rotated-out signing key stays published this long plus a margin.
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is the lifetime of a refresh token; each rotation
	// starts a new one (0: 30 days).
	RefreshTokenTTL time.Duration
	// CodeTTL is the lifetime of an authorization code (0: 1 minute).
	CodeTTL time.Duration
	// Password is the argon2id cost of new password hashes (zero:
	// DefaultPasswordParams). Tests use a cheap one.
	Password PasswordParams
	// Throttle paces failed password checks (zero: DefaultThrottle): sign-ins
	// per (email, client IP), current_password checks per account.
	Throttle ThrottleConfig
	// RoleScopes maps roles to the scopes they grant (nil: DefaultRoleScopes()).
	RoleScopes map[string][]string
	// Now is the clock (nil: time.Now), for tests.
	Now func() time.Time
}

// Module is the auth module hosted in this process.
type Module struct {
	svc    *Service
	log    *slog.Logger
	events *events.ModuleEvents
}

// New builds the module. It starts nothing: Run does. Hashing a dummy
// password at start costs one password hash.
func New(d Deps) (*Module, error) {
	if d.DB == nil {
		return nil, errors.New("authlocal: Deps.DB is required")
	}
	if d.Issuer == "" || d.Audience == "" {
		return nil, errors.New("authlocal: Deps.Issuer and Deps.Audience are required")
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("module", auth.Module)
	now := d.Now
	if now == nil {
		now = time.Now
	}
	utcNow := func() time.Time { return now().UTC().Truncate(time.Microsecond) }
	cfg := config{
		issuer: d.Issuer, audience: d.Audience,
		accessTTL:  orDefault(d.AccessTokenTTL, DefaultAccessTokenTTL),
		refreshTTL: orDefault(d.RefreshTokenTTL, DefaultRefreshTokenTTL),
		codeTTL:    orDefault(d.CodeTTL, DefaultCodeTTL),
		consentTTL: DefaultConsentTTL,
		roleScopes: d.RoleScopes,
	}
	if cfg.roleScopes == nil {
		cfg.roleScopes = DefaultRoleScopes()
	}
	hasher, err := newPasswordHasher(d.Password)
	if err != nil {
		return nil, err
	}
	// Auth publishes its accounts' registrations, attempts to register an
	// email that has an account, and token revocations; it consumes nothing.
	wired, err := events.Wire(events.Declaration{
		Module:    auth.Module,
		Publishes: []string{auth.EventUserRegistered, auth.EventRegistrationAttempted, auth.EventTokensRevoked, auth.EventSigningKeyRotated},
	}, events.Wiring{DB: d.DB.DB, Bus: d.Bus, OutboxRetention: d.OutboxRetention, Log: log})
	if err != nil {
		return nil, err
	}
	st := &gormStore{db: d.DB.DB, outbox: wired.Outbox()}
	// A retired key stays published until the last token it signed has
	// expired, with room for clock skew and for caches of the JWKS.
	keys := newKeyring(st, utcNow, cfg.accessTTL+authn.DefaultLeeway+5*time.Minute)
	revoked := authn.NewRevocations(cfg.accessTTL+authn.DefaultLeeway, now)
	verifier, err := authn.NewVerifier(keys, cfg.issuer, cfg.audience, authn.WithClock(now), authn.WithRevocations(revoked))
	if err != nil {
		return nil, err
	}
	return &Module{
		svc: &Service{
			store: st, log: log, cfg: cfg, validate: validation.New(), hasher: hasher, keys: keys,
			verifier: verifier, revoked: revoked, throttle: newThrottle(d.Throttle), now: utcNow,
		},
		log:    log,
		events: wired,
	}, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Service is the module's auth.Service.
func (m *Module) Service() auth.Service { return m.svc }

// KeySet verifies this module's tokens in-process: the keys it signs with
// and those it retired less than a token lifetime ago.
func (m *Module) KeySet() authn.KeySet { return m.svc.keys }

// Revocations are the not-before times of users' access tokens this module
// sets (after a demotion or a password change) the moment it
// commits: the process's verifier uses them, so the change takes effect at
// once here; other processes learn them from auth.EventTokensRevoked.
func (m *Module) Revocations() *authn.Revocations { return m.svc.revoked }

// Run runs the module's background work until ctx is done: the relay that
// publishes its outbox.
func (m *Module) Run(ctx context.Context) error { return m.events.Run(ctx) }

// RotateKeys adds a signing key and makes it the one new tokens are signed
// with (`bellhop keys rotate`). The previous key stays in the JWKS until the
// tokens it signed have expired. It returns the new key's id.
func (m *Module) RotateKeys(ctx context.Context) (string, error) { return m.svc.keys.rotate(ctx) }

// CreateUser creates an account with roles (guest if none) without a
// caller: for operators and the demo data. Same rules and event as Register.
func (m *Module) CreateUser(ctx context.Context, email, name, password string, roles ...string) (auth.User, error) {
	return m.svc.createUser(ctx, auth.RegisterRequest{Email: email, Name: name, Password: password}, roles)
}

// CreateAdmin creates an account with the admin role
// (`bellhop users create-admin`).
func (m *Module) CreateAdmin(ctx context.Context, email, name, password string) (auth.User, error) {
	return m.CreateUser(ctx, email, name, password, authn.RoleAdmin)
}

// CreateClient registers an OAuth client without a caller
// (`bellhop clients create`). The secret is in the answer only.
func (m *Module) CreateClient(ctx context.Context, req auth.CreateClientRequest) (auth.CreatedClient, error) {
	return m.svc.createClient(ctx, req)
}

// ServiceClient is a confidential client a module calls others as, with the
// client-credentials grant.
type ServiceClient struct {
	ID     string   // e.g. "bookings"; also the subject of its tokens
	Name   string   // "" means ID
	Secret string   // at least 32 characters; only its SHA-256 is stored
	Scopes []string // the scopes it may be granted, e.g. search:quote
}

// EnsureServiceClients creates or updates the service clients named in
// configuration: their secret, scopes and name follow the configuration.
func (m *Module) EnsureServiceClients(ctx context.Context, clients []ServiceClient) error {
	return m.svc.ensureServiceClients(ctx, clients)
}
