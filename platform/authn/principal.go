// Package authn verifies bearer tokens (JWTs signed by keys from a KeySet),
// checks scopes and roles, and carries the authenticated principal in the
// context so services, not handlers, can enforce who may do what.
package authn

import (
	"context"
	"slices"

	"github.com/bellhop/bellhop/platform/apperr"
)

// Principal kinds.
const (
	KindUser    = "user"
	KindService = "service"
)

// Roles a user can have. Every user has at least one; new users are guests.
// They live here, not in the auth module, because every module checks them.
const (
	RoleGuest = "guest"
	RoleStaff = "staff"
	RoleAdmin = "admin"
)

// Roles lists the roles in order of privilege.
var Roles = []string{RoleGuest, RoleStaff, RoleAdmin}

// Principal is who is calling: a user (with roles) or a service (client credentials).
type Principal struct {
	Subject string   `json:"sub"`
	Kind    string   `json:"kind"`
	Email   string   `json:"email,omitempty"`
	Name    string   `json:"name,omitempty"`
	Roles   []string `json:"roles,omitempty"`
	Scopes  []string `json:"scopes,omitempty"`
	// SessionID is the sign-in session a user's token belongs to (its "sid"
	// claim; "" for a service or a token without one): signing out ends that
	// session's tokens and no other.
	SessionID string `json:"sid,omitempty"`
	// Token is the raw bearer token the principal presented. platform/httpclient
	// forwards it on /api routes so a remote module sees the real caller.
	Token string `json:"-"`
}

// HasScope reports whether the principal was granted scope.
func (p Principal) HasScope(scope string) bool { return slices.Contains(p.Scopes, scope) }

// HasRole reports whether the principal has role.
func (p Principal) HasRole(role string) bool { return slices.Contains(p.Roles, role) }

// IsService reports whether the principal is a service (client credentials), not a user.
func (p Principal) IsService() bool { return p.Kind == KindService }

// IsStaff reports whether the principal is a user with the staff or admin
// role: one who manages every guest's bookings and payments.
func (p Principal) IsStaff() bool {
	return !p.IsService() && (p.HasRole(RoleStaff) || p.HasRole(RoleAdmin))
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal in ctx, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// Errors returned when a caller is not allowed.
var (
	ErrUnauthenticated = apperr.Unauthenticated("authn.unauthenticated", "authentication is required: send a valid bearer token")
	ErrInvalidToken    = apperr.Unauthenticated("authn.invalid_token", "the bearer token is invalid")
	ErrForbidden       = apperr.Forbidden("authn.forbidden", "the caller lacks the permission this needs")
)

// Caller returns the principal in ctx, or ErrUnauthenticated without one.
func Caller(ctx context.Context) (Principal, error) {
	p, ok := FromContext(ctx)
	if !ok {
		return Principal{}, ErrUnauthenticated
	}
	return p, nil
}

// RequireUser returns the calling user: ErrUnauthenticated without a
// principal, ErrForbidden for a service.
func RequireUser(ctx context.Context) (Principal, error) {
	p, err := Caller(ctx)
	if err != nil {
		return p, err
	}
	if p.Kind != KindUser || p.Subject == "" {
		return p, ErrForbidden.With("this needs a user, not a service")
	}
	return p, nil
}

// RequireScope returns nil if ctx carries a principal granted scope, else
// ErrUnauthenticated (no principal) or ErrForbidden. Services call it so an
// in-process call is checked exactly like an HTTP one.
func RequireScope(ctx context.Context, scope string) (Principal, error) {
	p, ok := FromContext(ctx)
	if !ok {
		return Principal{}, ErrUnauthenticated
	}
	if !p.HasScope(scope) {
		return p, ErrForbidden.With("this needs the %q scope", scope)
	}
	return p, nil
}
