// Package authhttp is the auth module's HTTP transport: Register mounts its
// APIs, OAuth 2.0 endpoints and sign-in pages; Client implements auth.Service over them.
package authhttp

import (
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/httpserver"
)

// Routes, shared by the server and the client.
const (
	pathUsers         = "/api/v1/users"
	pathMe            = "/api/v1/users/me"
	pathMyPassword    = "/api/v1/users/me/password"
	pathSessions      = "/api/v1/sessions"
	pathClients       = "/api/v1/oauth-clients"
	pathSigningKeys   = "/api/v1/signing-keys"
	pathToken         = "/oauth/token"
	pathAuthorize     = "/oauth/authorize"
	pathRevoke        = "/oauth/revoke"
	pathIntrospect    = "/oauth/introspect"
	pathJWKS          = "/.well-known/jwks.json"
	pathMetadata      = "/.well-known/oauth-authorization-server"
	pathAuthzCheck    = "/internal/v1/auth/authorizations/check"
	pathAuthz         = "/internal/v1/auth/authorizations"
	pathAuthzConsent  = "/internal/v1/auth/authorizations/consent"
	oauthPathPrefix   = "/oauth/"
	reasonRateLimited = "auth.rate_limited"
)

// Options configure the routes.
type Options struct {
	// Issuer is the iss of the tokens the service issues (authlocal's
	// Deps.Issuer); RFC 8414 wants it to be the server's https URL.
	Issuer string
	// PublicURL is where clients reach these routes, e.g.
	// https://bellhop.example ("": Issuer if it is an http(s) URL; Register
	// fails when neither is). The metadata and every absolute URL the routes
	// build use it, never the request's Host header: a forged Host would
	// otherwise point clients (and caches) at an attacker's endpoints.
	PublicURL string
	// SignInRateLimit is stacked on the routes that check passwords or
	// create accounts: POST /api/v1/sessions, POST /oauth/authorize and POST
	// /api/v1/users. It keys on the client IP, even when a bearer token is sent.
	SignInRateLimit httpserver.RateLimitConfig
	// TokenRateLimit is stacked on /oauth/token, /oauth/revoke and /oauth/introspect.
	TokenRateLimit httpserver.RateLimitConfig
	// CSRFKey signs the sign-in page's CSRF tokens: at least 32 bytes, the
	// same on every instance behind one load balancer (nil: random per process).
	CSRFKey []byte
	// SecureCookies marks the CSRF cookie Secure (and names it __Host-...)
	// even on plain HTTP, for a process behind a TLS-terminating proxy.
	// Requests that arrive over TLS always get Secure cookies.
	SecureCookies bool
	// ScopesSupported is advertised in the metadata (optional).
	ScopesSupported []string
	Log             *slog.Logger
}

// Register mounts the auth routes on g. Admin routes need the admin role and
// the internal authorization routes a service token with auth:authorize;
// the service checks again, so the rules hold in-process too.
//
// The OAuth endpoints authenticate clients themselves (HTTP Basic or form
// credentials): mount Authenticate, not the Verifier's middleware, as the
// server's Deps.Authenticate so a Basic header reaches them.
func Register(g *echo.Group, svc auth.Service, opts Options) error {
	if opts.Issuer == "" {
		return errors.New("authhttp: Options.Issuer is required")
	}
	if opts.CSRFKey == nil {
		opts.CSRFKey = make([]byte, 32)
		_, _ = rand.Read(opts.CSRFKey)
	} else if len(opts.CSRFKey) < 32 {
		return errors.New("authhttp: Options.CSRFKey must be at least 32 bytes")
	}
	if opts.PublicURL == "" {
		if u, err := url.Parse(opts.Issuer); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
			opts.PublicURL = opts.Issuer
		}
	}
	if opts.PublicURL == "" {
		return errors.New("authhttp: Options.PublicURL is required when the Issuer is not an http(s) URL")
	}
	opts.PublicURL = strings.TrimSuffix(opts.PublicURL, "/")
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := handlers{svc: svc, opts: opts, log: log, csrf: csrf{key: opts.CSRFKey, secure: opts.SecureCookies}}
	// Keyed on the IP even when a bearer token is sent: a valid token must
	// not lift the limits of routes meant for callers not yet signed in.
	signIn := httpserver.RateLimitByIP(opts.SignInRateLimit, reasonRateLimited)
	token := httpserver.RateLimitByIP(opts.TokenRateLimit, reasonRateLimited)
	admin := authn.RequireRoles(authn.RoleAdmin)
	signedIn := authn.RequireScopes()

	g.POST(pathUsers, h.register, signIn)
	g.GET(pathMe, h.me, signedIn)
	g.PATCH(pathMe, h.updateMe, signedIn)
	g.POST(pathMyPassword, h.changePassword, signedIn)
	g.GET(pathUsers, h.listUsers, admin)
	g.PUT(pathUsers+"/:id/roles", h.setRoles, admin)

	g.POST(pathSessions, h.signIn, signIn)
	g.DELETE(pathSessions, h.signOut)

	g.POST(pathClients, h.createClient, admin)
	g.GET(pathClients, h.listClients, admin)
	g.GET(pathClients+"/:id", h.getClient, admin)
	g.PATCH(pathClients+"/:id", h.updateClient, admin)
	g.DELETE(pathClients+"/:id", h.deleteClient, admin)
	g.GET(pathSigningKeys, h.signingKeys, admin)
	g.POST(pathSigningKeys, h.rotateSigningKey, admin)

	g.POST(pathToken, h.token, token)
	g.POST(pathRevoke, h.revoke, token)
	g.POST(pathIntrospect, h.introspect, token)
	g.GET(pathJWKS, h.jwks)
	g.GET(pathMetadata, h.metadata)
	g.GET(pathAuthorize, h.authorizePage)
	g.POST(pathAuthorize, h.authorizeSubmit, signIn)

	// The gateway calling these limits its own sign-in page per IP; a limit
	// here would key on the gateway's service identity and throttle every
	// user at once. The per-(email, browser IP) pacing in the service still
	// applies: the gateway passes the browser's address as client_ip.
	authorizing := authn.RequireScopes(auth.ScopeAuthorize)
	g.POST(pathAuthzCheck, h.checkAuthorization, authorizing)
	g.POST(pathAuthz, h.authorize, authorizing)
	g.POST(pathAuthzConsent, h.consent, authorizing)
	return nil
}

// Authenticate is the Verifier's middleware for every route but the OAuth
// endpoints under /oauth/, which authenticate clients themselves and must
// see an "Authorization: Basic" header rather than have it refused as a
// malformed bearer token. Use it as httpserver.Deps.Authenticate in a
// process that mounts these routes.
func Authenticate(v *authn.Verifier) echo.MiddlewareFunc {
	verify := v.Middleware()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		checked := verify(next)
		return func(c echo.Context) error {
			if strings.HasPrefix(c.Request().URL.Path, oauthPathPrefix) {
				return next(c)
			}
			return checked(c)
		}
	}
}

type handlers struct {
	svc  auth.Service
	opts Options
	log  *slog.Logger
	csrf csrf
}

func (h handlers) register(c echo.Context) error {
	var req auth.RegisterRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	res, err := h.svc.Register(c.Request().Context(), req)
	return httpserver.RespondCreated(c, pathMe, res, err)
}

func (h handlers) me(c echo.Context) error {
	res, err := h.svc.Me(c.Request().Context())
	return httpserver.Respond(c, http.StatusOK, res, err)
}

func (h handlers) updateMe(c echo.Context) error {
	var req auth.UpdateMeRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	res, err := h.svc.UpdateMe(c.Request().Context(), req)
	return httpserver.Respond(c, http.StatusOK, res, err)
}

func (h handlers) changePassword(c echo.Context) error {
	var req auth.ChangePasswordRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	return httpserver.RespondEmpty(c, h.svc.ChangePassword(c.Request().Context(), req))
}

func (h handlers) listUsers(c echo.Context) error {
	var req auth.ListUsersRequest
	if err := httpserver.BindQuery(c, &req); err != nil {
		return err
	}
	res, err := h.svc.ListUsers(c.Request().Context(), req)
	return httpserver.Respond(c, http.StatusOK, res, err)
}

func (h handlers) setRoles(c echo.Context) error {
	var req auth.SetRolesRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	req.UserID = c.Param("id")
	res, err := h.svc.SetRoles(c.Request().Context(), req)
	return httpserver.Respond(c, http.StatusOK, res, err)
}

func (h handlers) signIn(c echo.Context) error {
	var req auth.SignInRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	req.ClientIP = httpserver.ClientIP(c)
	res, err := h.svc.SignIn(c.Request().Context(), req)
	noStore(c)
	return httpserver.Respond(c, http.StatusOK, res, err)
}

func (h handlers) signOut(c echo.Context) error {
	var req auth.SignOutRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	return httpserver.RespondEmpty(c, h.svc.SignOut(c.Request().Context(), req))
}

func (h handlers) createClient(c echo.Context) error {
	var req auth.CreateClientRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	res, err := h.svc.CreateClient(c.Request().Context(), req)
	noStore(c)
	return httpserver.RespondCreated(c, pathClients+"/"+url.PathEscape(res.ID), res, err)
}

func (h handlers) listClients(c echo.Context) error {
	res, err := h.svc.ListClients(c.Request().Context())
	return httpserver.Respond(c, http.StatusOK, res, err)
}

func (h handlers) getClient(c echo.Context) error {
	res, err := h.svc.GetClient(c.Request().Context(), auth.GetClientRequest{ID: c.Param("id")})
	return httpserver.Respond(c, http.StatusOK, res, err)
}

func (h handlers) updateClient(c echo.Context) error {
	var req auth.UpdateClientRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	req.ID = c.Param("id")
	res, err := h.svc.UpdateClient(c.Request().Context(), req)
	return httpserver.Respond(c, http.StatusOK, res, err)
}

func (h handlers) deleteClient(c echo.Context) error {
	return httpserver.RespondEmpty(c, h.svc.DeleteClient(c.Request().Context(), auth.DeleteClientRequest{ID: c.Param("id")}))
}

func (h handlers) signingKeys(c echo.Context) error {
	res, err := h.svc.SigningKeys(c.Request().Context())
	return httpserver.Respond(c, http.StatusOK, res, err)
}

func (h handlers) rotateSigningKey(c echo.Context) error {
	res, err := h.svc.RotateSigningKey(c.Request().Context())
	return httpserver.Respond(c, http.StatusCreated, res, err)
}

func (h handlers) jwks(c echo.Context) error {
	set, err := h.svc.JWKS(c.Request().Context())
	if err != nil {
		return err
	}
	// Short enough that a rotation reaches caches soon; verifiers also
	// fetch again when they meet an unknown kid.
	c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=300")
	c.Response().Header().Set(echo.HeaderContentType, "application/jwk-set+json")
	return httpserver.Respond(c, http.StatusOK, set, nil)
}

// metadata is RFC 8414's authorization server metadata.
func (h handlers) metadata(c echo.Context) error {
	base := h.baseURL()
	scopes := h.opts.ScopesSupported
	if scopes == nil {
		scopes = []string{}
	}
	clientAuth := []string{"client_secret_basic", "client_secret_post", "none"}
	c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=3600")
	return httpserver.Respond(c, http.StatusOK, map[string]any{
		"issuer":                                           h.opts.Issuer,
		"authorization_endpoint":                           base + pathAuthorize,
		"token_endpoint":                                   base + pathToken,
		"jwks_uri":                                         base + pathJWKS,
		"revocation_endpoint":                              base + pathRevoke,
		"introspection_endpoint":                           base + pathIntrospect,
		"scopes_supported":                                 scopes,
		"response_types_supported":                         []string{"code"},
		"response_modes_supported":                         []string{"query"},
		"grant_types_supported":                            []string{auth.GrantAuthorizationCode, auth.GrantClientCredentials, auth.GrantRefreshToken},
		"token_endpoint_auth_methods_supported":            clientAuth,
		"revocation_endpoint_auth_methods_supported":       clientAuth,
		"introspection_endpoint_auth_methods_supported":    []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":                 []string{"S256"},
		"authorization_response_iss_parameter_supported":   true,
		"token_endpoint_auth_signing_alg_values_supported": []string{},
		"service_documentation":                            base + "/api/docs",
	}, nil)
}

// baseURL is where clients reach this deployment: configuration, never the
// request's Host.
func (h handlers) baseURL() string {
	return h.opts.PublicURL
}

func (h handlers) checkAuthorization(c echo.Context) error {
	var req auth.AuthorizationRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	res, err := h.svc.CheckAuthorization(c.Request().Context(), req)
	return httpserver.Respond(c, http.StatusOK, res, err)
}

func (h handlers) authorize(c echo.Context) error {
	var req auth.AuthorizeRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	res, err := h.svc.Authorize(c.Request().Context(), req)
	noStore(c)
	return httpserver.Respond(c, http.StatusOK, res, err)
}

func (h handlers) consent(c echo.Context) error {
	var req auth.ConsentRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	res, err := h.svc.Consent(c.Request().Context(), req)
	noStore(c)
	return httpserver.Respond(c, http.StatusOK, res, err)
}

// noStore keeps tokens out of caches (RFC 6749 §5.1).
func noStore(c echo.Context) {
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	c.Response().Header().Set("Pragma", "no-cache")
}
