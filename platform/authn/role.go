package authn

import "context"

// RequireRole returns the principal in ctx if it has role, else
// ErrUnauthenticated (no principal) or ErrForbidden: the check a handler of
// role-only routes repeats where the work is done, not only in the route.
func RequireRole(ctx context.Context, role string) (Principal, error) {
	p, ok := FromContext(ctx)
	if !ok {
		return Principal{}, ErrUnauthenticated
	}
	if !p.HasRole(role) {
		return p, ErrForbidden.With("this needs the %q role", role)
	}
	return p, nil
}
