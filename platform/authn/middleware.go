package authn

import (
	"fmt"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/platform/apperr"
)

// Middleware authenticates requests that carry a bearer token; it does not
// require one. Without an Authorization header the request passes through
// with no principal (routes that need one use RequireScopes/RequireRoles, and
// services call RequireScope). With "Authorization: Bearer <token>" the token
// is verified and its principal put in the request context; an invalid token
// or a header that is not a bearer token is answered 401 (the returned
// apperr error, rendered by the app's error handler) with a WWW-Authenticate
// challenge (RFC 6750 §3).
//
// A nil *Verifier's Middleware lets every request through unauthenticated.
func (v *Verifier) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			header := req.Header.Get(echo.HeaderAuthorization)
			if v == nil || header == "" {
				return next(c)
			}
			raw, ok := bearerToken(header)
			if !ok {
				challenge(c, "invalid_request", "the Authorization header must be: Bearer <token>")
				return ErrInvalidToken.With("the Authorization header must be: Bearer <token>")
			}
			p, err := v.Verify(req.Context(), raw)
			if err != nil {
				challenge(c, "invalid_token", apperr.As(err).Message)
				return err
			}
			c.SetRequest(req.WithContext(WithPrincipal(req.Context(), p)))
			return next(c)
		}
	}
}

// bearerToken extracts the token of a "Bearer <token>" header value (the
// scheme is case-insensitive, RFC 9110 §11.1).
func bearerToken(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || strings.ContainsAny(tok, " \t") {
		return "", false
	}
	return tok, true
}

// challenge sets the RFC 6750 WWW-Authenticate header. An empty code is the
// bare challenge sent when no credentials were presented.
func challenge(c echo.Context, code, description string, params ...string) {
	v := "Bearer"
	if code != "" {
		v += fmt.Sprintf(` error=%q`, code)
		if description != "" {
			v += fmt.Sprintf(`, error_description="%s"`, quoteSafe(description))
		}
	}
	for i := 0; i+1 < len(params); i += 2 {
		v += fmt.Sprintf(`, %s="%s"`, params[i], quoteSafe(params[i+1]))
	}
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, v)
}

// quoteSafe keeps only the characters RFC 6750 allows in error_description
// and scope values (printable ASCII without '"' and '\').
func quoteSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}

// RequireScopes answers 401 (ErrUnauthenticated) when the request carries no
// principal and 403 (ErrForbidden, naming the missing scopes) unless the
// principal was granted every one of scopes. Mount it after Middleware.
func RequireScopes(scopes ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, ok := FromContext(c.Request().Context())
			if !ok {
				challenge(c, "", "")
				return ErrUnauthenticated
			}
			var missing []string
			for _, s := range scopes {
				if !p.HasScope(s) {
					missing = append(missing, s)
				}
			}
			if len(missing) > 0 {
				challenge(c, "insufficient_scope", "", "scope", strings.Join(scopes, " "))
				if len(missing) == 1 {
					return ErrForbidden.With("this needs the %q scope", missing[0])
				}
				return ErrForbidden.With("this needs the scopes %s", quoteList(missing))
			}
			return next(c)
		}
	}
}

// RequireRoles answers 401 (ErrUnauthenticated) when the request carries no
// principal and 403 (ErrForbidden) unless the principal has at least one of
// roles.
func RequireRoles(roles ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, ok := FromContext(c.Request().Context())
			if !ok {
				challenge(c, "", "")
				return ErrUnauthenticated
			}
			for _, r := range roles {
				if p.HasRole(r) {
					return next(c)
				}
			}
			if len(roles) == 1 {
				return ErrForbidden.With("this needs the %q role", roles[0])
			}
			return ErrForbidden.With("this needs one of the roles %s", quoteList(roles))
		}
	}
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}
