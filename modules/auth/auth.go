// Package auth is the contract of the auth module: who is calling. It holds
// users (guests, staff, admins) and their passwords, first-party sessions,
// OAuth 2.0 clients, and the authorization server that issues the access
// tokens every other module verifies. Callers depend on Service only; whether
// it runs in this process (authlocal) or behind HTTP (authhttp) is chosen by
// configuration in cmd/bellhop.
package auth

import (
	"context"
	"time"

	"github.com/bellhop/bellhop/platform/apperr"
)

// Module is the module's name: its database file, metrics label and config key.
const Module = "auth"

// Scopes the auth module grants or checks itself. Scopes of other modules
// (catalog:write, ...) are granted from roles or to clients by configuration.
const (
	// ScopeUsersAdmin is granted to admins: list users and change their roles.
	ScopeUsersAdmin = "users:admin"
	// ScopeClientsAdmin is granted to admins: manage OAuth clients.
	ScopeClientsAdmin = "clients:admin"
	// ScopeAuthorize lets a process that hosts auth's sign-in page without
	// hosting auth (a gateway) run the authorization flow on the internal routes.
	ScopeAuthorize = "auth:authorize"
)

// OAuth 2.0 grant types the token endpoint accepts. There is deliberately no
// password grant and no implicit grant (RFC 9700 §2.4, §2.1.2).
const (
	GrantAuthorizationCode = "authorization_code"
	GrantClientCredentials = "client_credentials"
	GrantRefreshToken      = "refresh_token"
)

// SessionClientID is the client first-party sessions (SignIn) belong to: a
// public client that needs no registration. Refresh a session's tokens with
// Token (grant refresh_token) and this client id, or none.
const SessionClientID = "bellhop-session"

// TokenTypeBearer is the token_type of every access token.
const TokenTypeBearer = "Bearer"

// Token type hints of Revoke and Introspect (RFC 7009 §2.1).
const (
	HintAccessToken  = "access_token"
	HintRefreshToken = "refresh_token"
)

// Password rules.
const (
	MinPasswordLength = 10
	MaxPasswordLength = 256
)

// Limits of a page of users.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Errors returned by Service methods. Compare with errors.Is: they match
// after an HTTP hop too (the OAuth endpoints' RFC 6749 error codes are mapped
// back to these values by authhttp.Client).
var (
	ErrInvalidRequest = apperr.Invalid("auth.invalid_request", "the request has invalid values")
	ErrEmailTaken     = apperr.Conflict("auth.email_taken", "an account with that email already exists")
	ErrWeakPassword   = apperr.Invalid("auth.weak_password", "the password is too weak")
	// ErrInvalidCredentials is the one answer to a wrong password and to an
	// unknown email alike, so a caller cannot tell which accounts exist.
	ErrInvalidCredentials = apperr.Unauthenticated("auth.invalid_credentials", "the email or password is not correct")
	// ErrTooManyAttempts follows repeated failed password checks: sign-ins
	// for one email (existing or not) from one source, or current_password
	// checks for one account; it carries a RetryAfter that grows with each failure.
	ErrTooManyAttempts = apperr.New(apperr.CodeRateLimited, "auth.too_many_attempts", "too many failed sign-ins: wait before trying again")
	ErrWrongPassword   = apperr.Forbidden("auth.wrong_password", "the current password is not correct")
	ErrUserNotFound    = apperr.NotFound("auth.user_not_found", "no user has that id")
	ErrLastAdmin       = apperr.Conflict("auth.last_admin", "the last admin cannot give up the admin role")
	ErrClientNotFound  = apperr.NotFound("auth.client_not_found", "no OAuth client has that id")
	// ErrClientConfigured refuses to change or delete a service identity
	// that auth.service_clients configures: the next start would bring it
	// back as configured, and until then the modules calling with it fail.
	ErrClientConfigured = apperr.Conflict("auth.client_configured", "this client is a service identity configured in auth.service_clients: change or remove it there")

	// OAuth 2.0 errors (RFC 6749 §5.2, §4.1.2.1); the reason's suffix is the
	// RFC's error code.
	ErrInvalidClient        = apperr.Unauthenticated("auth.invalid_client", "client authentication failed")
	ErrInvalidGrant         = apperr.Invalid("auth.invalid_grant", "the grant is invalid, expired, revoked or was issued to another client")
	ErrInvalidScope         = apperr.Invalid("auth.invalid_scope", "the requested scope is invalid or exceeds what the client may ask for")
	ErrUnauthorizedClient   = apperr.Invalid("auth.unauthorized_client", "the client may not use this grant type")
	ErrUnsupportedGrantType = apperr.Invalid("auth.unsupported_grant_type", "the grant type is not supported")
	ErrUnsupportedResponse  = apperr.Invalid("auth.unsupported_response_type", "the response type is not supported: use code")
	ErrAccessDenied         = apperr.Forbidden("auth.access_denied", "the user or the server denied the request")
	// ErrInvalidRedirectURI means the authorization request names no
	// registered redirect URI: it must not be redirected anywhere.
	ErrInvalidRedirectURI = apperr.Invalid("auth.invalid_redirect_uri", "the redirect_uri is not registered for this client")
)

// Service is the auth module. Every method checks the caller itself, so an
// in-process call is checked like an HTTP one: the "me" methods need a user
// principal, the admin methods a principal with the admin role; the OAuth
// methods authenticate the client (and, for Authorize, the user) from the
// request itself.
type Service interface {
	// Register asks for a guest account. The answer is the same whether or
	// not the email already has one, and takes about as long (the password
	// is hashed either way), so it does not reveal who has an account: a new
	// email gets its account and EventUserRegistered (a welcome mail); an
	// email with an account changes nothing and publishes
	// EventRegistrationAttempted (its owner is told by mail). Sign in to
	// learn the new account's id.
	// Errors: ErrInvalidRequest, ErrWeakPassword.
	Register(ctx context.Context, req RegisterRequest) (Registration, error)
	// Me returns the calling user. Errors: authn errors, ErrUserNotFound.
	Me(ctx context.Context) (User, error)
	// UpdateMe changes the calling user's fields that are set; a new email
	// needs the current password. Errors: ErrInvalidRequest, ErrEmailTaken,
	// ErrWrongPassword, authn errors.
	UpdateMe(ctx context.Context, req UpdateMeRequest) (User, error)
	// ChangePassword sets a new password and ends every session of the user
	// (their refresh tokens are revoked). Errors: ErrInvalidRequest,
	// ErrWrongPassword, ErrWeakPassword, authn errors.
	ChangePassword(ctx context.Context, req ChangePasswordRequest) error
	// ListUsers pages through users by id (admins only).
	// Errors: ErrInvalidRequest, authn errors.
	ListUsers(ctx context.Context, req ListUsersRequest) (UserList, error)
	// SetRoles replaces a user's roles (admins only).
	// Errors: ErrInvalidRequest, ErrUserNotFound, ErrLastAdmin, authn errors.
	SetRoles(ctx context.Context, req SetRolesRequest) (User, error)

	// SignIn checks an email and password and starts a first-party session:
	// an access token and a refresh token (of SessionClientID).
	// Errors: ErrInvalidRequest, ErrInvalidCredentials, ErrTooManyAttempts.
	SignIn(ctx context.Context, req SignInRequest) (Tokens, error)
	// SignOut ends the session the refresh token belongs to. An unknown or
	// already revoked token is not an error (RFC 7009 §2.2).
	// Errors: ErrInvalidRequest.
	SignOut(ctx context.Context, req SignOutRequest) error

	// Token is the OAuth 2.0 token endpoint: client_credentials,
	// authorization_code (PKCE S256) and refresh_token (rotated; a reused
	// refresh token revokes its whole family). Errors: ErrInvalidRequest,
	// ErrInvalidClient, ErrInvalidGrant, ErrInvalidScope,
	// ErrUnauthorizedClient, ErrUnsupportedGrantType.
	Token(ctx context.Context, req TokenRequest) (Tokens, error)
	// Revoke revokes a refresh token of the authenticated client (RFC 7009);
	// unknown tokens and access tokens are accepted and change nothing
	// (access tokens are short-lived and expire on their own).
	// Errors: ErrInvalidRequest, ErrInvalidClient.
	Revoke(ctx context.Context, req RevokeRequest) error
	// Introspect tells a confidential client whether a token is active and
	// what it carries (RFC 7662). Errors: ErrInvalidRequest, ErrInvalidClient.
	Introspect(ctx context.Context, req IntrospectRequest) (Introspection, error)
	// JWKS is the public half of the signing keys whose tokens may still be
	// valid (RFC 7517).
	JWKS(ctx context.Context) (JWKS, error)

	// CheckAuthorization validates an authorization request before the
	// sign-in page is shown. ErrInvalidClient and ErrInvalidRedirectURI must
	// not be sent to the redirect URI; any other error is (RFC 6749 §4.1.2.1).
	// Errors: ErrInvalidClient, ErrInvalidRedirectURI, ErrInvalidRequest,
	// ErrUnsupportedResponse, ErrInvalidScope, ErrUnauthorizedClient.
	CheckAuthorization(ctx context.Context, req AuthorizationRequest) (AuthorizationInfo, error)
	// Authorize signs the user in for an authorization request: a
	// first-party client gets its code at once, any other client a consent
	// ticket for Consent. Errors: those of CheckAuthorization,
	// ErrInvalidCredentials, ErrTooManyAttempts.
	Authorize(ctx context.Context, req AuthorizeRequest) (AuthorizeResult, error)
	// Consent records the user's answer to a consent ticket: a code if
	// allowed, Denied if not. A ticket works once. Errors: ErrInvalidRequest,
	// ErrInvalidGrant (unknown, used or expired ticket).
	Consent(ctx context.Context, req ConsentRequest) (AuthorizeResult, error)

	// CreateClient registers an OAuth client (admins only). A confidential
	// client's secret is in the answer and nowhere else, ever.
	// Errors: ErrInvalidRequest, authn errors.
	CreateClient(ctx context.Context, req CreateClientRequest) (CreatedClient, error)
	// ListClients lists the OAuth clients (admins only). Errors: authn errors.
	ListClients(ctx context.Context) (ClientList, error)
	// GetClient returns one OAuth client (admins only).
	// Errors: ErrClientNotFound, authn errors.
	GetClient(ctx context.Context, req GetClientRequest) (Client, error)
	// UpdateClient changes the fields that are set (admins only).
	// Errors: ErrInvalidRequest, ErrClientNotFound, ErrClientConfigured,
	// authn errors.
	UpdateClient(ctx context.Context, req UpdateClientRequest) (Client, error)
	// DeleteClient removes a client and ends every token it was given
	// (admins only). Errors: ErrClientNotFound, ErrClientConfigured, authn
	// errors.
	DeleteClient(ctx context.Context, req DeleteClientRequest) error

	// SigningKeys lists the token signing keys still published in the JWKS:
	// the active one and those retired recently enough that tokens they
	// signed may still be valid, newest first (admins only).
	// Errors: authn errors.
	SigningKeys(ctx context.Context) (SigningKeyList, error)
	// RotateSigningKey makes a new key the one that signs; the key it
	// replaces stays published until the tokens it signed have expired, so
	// no one is signed out (admins only). Errors: authn errors.
	RotateSigningKey(ctx context.Context) (SigningKey, error)
}

// User is an account. Its password never leaves the module.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Roles     []string  `json:"roles"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// RegisterRequest creates an account. The email is compared case-insensitively.
type RegisterRequest struct {
	Email    string `json:"email" validate:"required,max=254,email"`
	Name     string `json:"name" validate:"notblank,max=200,safetext"`
	Password string `json:"password" validate:"required"`
}

// RegistrationAccepted is Registration.Status: the request was taken, and
// what happens next comes by email.
const RegistrationAccepted = "accepted"

// Registration is Register's answer. It holds nothing that depends on
// whether the email already had an account: Email is the address as the
// request gave it (trimmed), not as an existing account spells it.
type Registration struct {
	Status string `json:"status"`
	Email  string `json:"email"`
}

// UpdateMeRequest changes the fields that are not nil. Changing the email
// needs CurrentPassword.
type UpdateMeRequest struct {
	Name            *string `json:"name" validate:"omitnil,notblank,max=200,safetext"`
	Email           *string `json:"email" validate:"omitnil,max=254,email"`
	CurrentPassword string  `json:"current_password" validate:"max=256"`
}

// ChangePasswordRequest replaces the caller's password.
type ChangePasswordRequest struct {
	CurrentPassword string `json:"current_password" validate:"required,max=256"`
	NewPassword     string `json:"new_password" validate:"required"`
}

// ListUsersRequest asks for a page of users after Cursor (a user id), by id.
type ListUsersRequest struct {
	Limit  int    `query:"limit" json:"limit" validate:"gte=0,lte=200"` // 0: DefaultLimit
	Cursor string `query:"cursor" json:"cursor" validate:"max=64"`
}

// UserList is a page of users.
type UserList struct {
	Users      []User `json:"users"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// SetRolesRequest replaces a user's roles.
type SetRolesRequest struct {
	UserID string   `param:"id" json:"-" validate:"notblank,max=64"`
	Roles  []string `json:"roles" validate:"min=1,max=3,unique,dive,oneof=guest staff admin"`
}

// SignInRequest is a first-party sign-in.
type SignInRequest struct {
	Email    string `json:"email" validate:"required,max=254"`
	Password string `json:"password" validate:"required,max=256"`
	// ClientIP is where the attempt comes from (set by the HTTP handler from
	// httpserver.ClientIP, never read from the body). Failures are paced per
	// (email, ClientIP), so guesses from one source do not lock the owner out
	// of another. In-process callers should set it; "" is one shared source.
	ClientIP string `json:"-"`
}

// SignOutRequest ends a session.
type SignOutRequest struct {
	RefreshToken string `json:"refresh_token" validate:"required,max=512"`
}

// Tokens is a successful token response (RFC 6749 §5.1).
type Tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"` // seconds
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// TokenRequest is a request to the token endpoint (RFC 6749 §4). The client
// authenticates with ClientID and ClientSecret (a public client sends its id
// only); over HTTP they travel as Basic credentials or form fields.
type TokenRequest struct {
	GrantType    string `json:"grant_type"`
	Code         string `json:"code,omitempty"`
	RedirectURI  string `json:"redirect_uri,omitempty"`
	CodeVerifier string `json:"code_verifier,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"` // space-separated
	ClientID     string `json:"client_id,omitempty"`
	ClientSecret string `json:"client_secret,omitempty"`
}

// RevokeRequest revokes a token (RFC 7009).
type RevokeRequest struct {
	Token         string `json:"token"`
	TokenTypeHint string `json:"token_type_hint,omitempty"`
	ClientID      string `json:"client_id,omitempty"`
	ClientSecret  string `json:"client_secret,omitempty"`
}

// IntrospectRequest asks about a token (RFC 7662). Only confidential
// clients may introspect.
type IntrospectRequest struct {
	Token         string `json:"token"`
	TokenTypeHint string `json:"token_type_hint,omitempty"`
	ClientID      string `json:"client_id,omitempty"`
	ClientSecret  string `json:"client_secret,omitempty"`
}

// Introspection is the answer of Introspect (RFC 7662 §2.2). An inactive
// token says nothing but Active: false.
type Introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Username  string   `json:"username,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	Exp       int64    `json:"exp,omitempty"`
	Iat       int64    `json:"iat,omitempty"`
	Sub       string   `json:"sub,omitempty"`
	Aud       []string `json:"aud,omitempty"`
	Iss       string   `json:"iss,omitempty"`
	Jti       string   `json:"jti,omitempty"`
	Roles     []string `json:"roles,omitempty"`
	Kind      string   `json:"kind,omitempty"`
}

// JWKS is a JSON Web Key Set (RFC 7517) of public signing keys.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWK is one public key: Ed25519 keys are OKP keys with crv Ed25519 (RFC 8037).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// AuthorizationRequest is an OAuth 2.0 authorization request (RFC 6749
// §4.1.1 with PKCE, RFC 7636). ResponseType must be "code",
// CodeChallengeMethod "S256", and RedirectURI one the client registered,
// character for character.
type AuthorizationRequest struct {
	ResponseType        string `json:"response_type"`
	ClientID            string `json:"client_id"`
	RedirectURI         string `json:"redirect_uri"`
	Scope               string `json:"scope,omitempty"`
	State               string `json:"state,omitempty"`
	CodeChallenge       string `json:"code_challenge"`
	CodeChallengeMethod string `json:"code_challenge_method"`
}

// AuthorizationInfo is what the sign-in page shows about a valid request.
type AuthorizationInfo struct {
	ClientID    string   `json:"client_id"`
	ClientName  string   `json:"client_name"`
	FirstParty  bool     `json:"first_party"`
	RedirectURI string   `json:"redirect_uri"`
	Scopes      []string `json:"scopes"`
}

// AuthorizeRequest signs a user in for an authorization request.
type AuthorizeRequest struct {
	AuthorizationRequest
	Email    string `json:"email"`
	Password string `json:"password"`
	// ClientIP is the browser's address, for the sign-in pacing as in
	// SignInRequest. The sign-in page sets it; a gateway calling the internal
	// route passes the browser's address it saw.
	ClientIP string `json:"client_ip,omitempty"`
}

// AuthorizeResult is where the browser goes next: back to RedirectURI with
// Code (or with error=access_denied when Denied), or to the consent page
// with ConsentTicket.
type AuthorizeResult struct {
	RedirectURI   string   `json:"redirect_uri"`
	Code          string   `json:"code,omitempty"`
	Denied        bool     `json:"denied,omitempty"`
	ConsentTicket string   `json:"consent_ticket,omitempty"`
	ClientName    string   `json:"client_name,omitempty"`
	Scopes        []string `json:"scopes,omitempty"`
}

// ConsentRequest is the user's answer on the consent page.
type ConsentRequest struct {
	Ticket string `json:"ticket" validate:"required,max=128"`
	Allow  bool   `json:"allow"`
}

// Client is a registered OAuth 2.0 client.
type Client struct {
	ID string `json:"id"`
	// Name is shown to users on the sign-in and consent pages.
	Name string `json:"name"`
	// Confidential clients hold a secret; public ones (SPAs, native apps) do not.
	Confidential bool `json:"confidential"`
	// FirstParty clients skip the consent page.
	FirstParty   bool      `json:"first_party"`
	RedirectURIs []string  `json:"redirect_uris"`
	Scopes       []string  `json:"scopes"`      // the most the client may be granted
	GrantTypes   []string  `json:"grant_types"` // what the token endpoint lets it use
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// CreateClientRequest registers a client. GrantTypes defaults to
// authorization_code + refresh_token; client_credentials needs a
// confidential client, authorization_code at least one redirect URI (https,
// http on a loopback address, or a private-use scheme such as com.example.app:/cb).
type CreateClientRequest struct {
	Name         string   `json:"name" validate:"notblank,max=100,safetext"`
	Confidential bool     `json:"confidential"`
	FirstParty   bool     `json:"first_party"`
	RedirectURIs []string `json:"redirect_uris" validate:"max=10,dive,required,max=2000"`
	Scopes       []string `json:"scopes" validate:"max=50,dive,required,max=100"`
	GrantTypes   []string `json:"grant_types" validate:"max=3,unique,dive,oneof=authorization_code client_credentials refresh_token"`
}

// CreatedClient is a new client and, for a confidential one, its secret:
// shown once, stored only as a hash.
type CreatedClient struct {
	Client
	Secret string `json:"client_secret,omitempty"`
}

// ClientList is every registered client.
type ClientList struct {
	Clients []Client `json:"clients"`
}

// GetClientRequest names a client.
type GetClientRequest struct {
	ID string `param:"id" json:"id" validate:"notblank,max=64"`
}

// UpdateClientRequest changes the fields that are not nil.
type UpdateClientRequest struct {
	ID           string    `param:"id" json:"-" validate:"notblank,max=64"`
	Name         *string   `json:"name" validate:"omitnil,notblank,max=100,safetext"`
	FirstParty   *bool     `json:"first_party"`
	RedirectURIs *[]string `json:"redirect_uris" validate:"omitnil,max=10,dive,required,max=2000"`
	Scopes       *[]string `json:"scopes" validate:"omitnil,max=50,dive,required,max=100"`
}

// DeleteClientRequest names the client to delete.
type DeleteClientRequest struct {
	ID string `param:"id" json:"id" validate:"notblank,max=64"`
}

// Signing key statuses.
const (
	KeyActive  = "active"  // signs new tokens
	KeyRetired = "retired" // verifies the tokens it signed until PublishedUntil
)

// SigningKey is a token signing key as an operator sees it: never its
// private half.
type SigningKey struct {
	KID       string     `json:"kid"`
	Alg       string     `json:"alg"`
	Status    string     `json:"status"` // KeyActive or KeyRetired
	CreatedAt time.Time  `json:"created_at"`
	RetiredAt *time.Time `json:"retired_at,omitempty"`
	// PublishedUntil is when a retired key leaves the JWKS (the tokens it
	// signed have expired by then).
	PublishedUntil *time.Time `json:"published_until,omitempty"`
}

// SigningKeyList is the published signing keys, newest first.
type SigningKeyList struct {
	Keys []SigningKey `json:"keys"`
}

// EventUserRegistered is published (as UserRegistered) when an account is
// created, by Register or by an operator.
const EventUserRegistered = "bellhop.user.registered.v1"

// EventRegistrationAttempted is published (as RegistrationAttempted) when
// Register is asked for an email that already has an account: the account
// is left alone and its owner is told by mail instead of the caller.
const EventRegistrationAttempted = "bellhop.user.registration_attempted.v1"

// RegistrationAttemptExistingAccount is RegistrationAttempted.Kind when the
// email already had an account (the only kind so far).
const RegistrationAttemptExistingAccount = "existing_account"

// RegistrationAttempted is the payload of EventRegistrationAttempted. UserID,
// Email and Name are the existing account's (never what the attempt said,
// so a stranger cannot put words in the owner's mail); there is no password
// or hash.
type RegistrationAttempted struct {
	UserID      string    `json:"user_id,omitempty"`
	Email       string    `json:"email"`
	Name        string    `json:"name"`
	Kind        string    `json:"kind"`
	AttemptedAt time.Time `json:"attempted_at"`
}

// EventTokensRevoked is published (as TokensRevoked) when a user's access
// tokens issued so far lose their power (their roles were reduced or their
// password changed), or those of one sign-in session do (it was signed out,
// or its refresh token revoked or replayed), or an OAuth client was deleted
// (its own client-credentials tokens, and one event per session of its
// users). Every process that verifies tokens consumes it.
const EventTokensRevoked = "bellhop.user.tokens_revoked.v1"

// EventSigningKeyRotated is published (as SigningKeyRotated) when a new key
// starts signing access tokens. Every process that verifies tokens through
// auth's JWKS fetches it again at once, rather than refusing the new key's
// tokens until its next allowed refetch.
const EventSigningKeyRotated = "bellhop.signing_key.rotated.v1"

// SigningKeyRotated is the payload of EventSigningKeyRotated.
type SigningKeyRotated struct {
	KID       string    `json:"kid"`
	RotatedAt time.Time `json:"rotated_at"`
}

// TokensRevoked is the payload of EventTokensRevoked: the access tokens of
// UserID (a user, or a deleted client: the subject of its own tokens) issued
// before NotBefore are refused; or, when SessionID is set,
// those of that session (their "sid" claim), whenever issued, and NotBefore
// is zero (so a consumer that knows no sessions revokes nothing).
type TokensRevoked struct {
	UserID    string    `json:"user_id"`
	NotBefore time.Time `json:"not_before"`
	SessionID string    `json:"session_id,omitempty"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	Reason    string    `json:"reason"` // "roles_changed", "password_changed", "session_ended", "client_deleted"
}

// UserRegistered is the payload of EventUserRegistered: enough to greet the
// user without calling auth.
type UserRegistered struct {
	UserID       string    `json:"user_id"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	Roles        []string  `json:"roles"`
	RegisteredAt time.Time `json:"registered_at"`
}
