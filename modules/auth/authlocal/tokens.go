package authlocal

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/ids"
)

// maxParam bounds the OAuth parameters the token endpoint reads.
const maxParam = 2048

// sessionClient is the public client first-party sessions belong to.
var sessionClient = clientRow{ID: auth.SessionClientID, Name: "Bellhop", FirstParty: true, GrantTypes: []string{auth.GrantRefreshToken}}

// dummySecretHash is compared against for an unknown client, so that answer
// takes as long as a wrong secret's.
var dummySecretHash = hashSecret("no client has this secret")

// Token implements auth.Service.
func (s *Service) Token(ctx context.Context, req auth.TokenRequest) (auth.Tokens, error) {
	for name, v := range map[string]string{"code": req.Code, "redirect_uri": req.RedirectURI, "code_verifier": req.CodeVerifier,
		"refresh_token": req.RefreshToken, "scope": req.Scope, "client_id": req.ClientID, "client_secret": req.ClientSecret} {
		if len(v) > maxParam {
			return auth.Tokens{}, auth.ErrInvalidRequest.With("%s is too long", name)
		}
	}
	switch req.GrantType {
	case "":
		return auth.Tokens{}, auth.ErrInvalidRequest.With("grant_type is required")
	case auth.GrantClientCredentials:
		return s.clientCredentials(ctx, req)
	case auth.GrantAuthorizationCode:
		return s.exchangeCode(ctx, req)
	case auth.GrantRefreshToken:
		return s.refresh(ctx, req)
	}
	return auth.Tokens{}, auth.ErrUnsupportedGrantType.With("the grant type %q is not supported: use authorization_code, client_credentials or refresh_token", clip(req.GrantType))
}

// authClient authenticates the client of a request: a confidential client
// by its secret (compared in constant time), a public one by its id alone.
// A client that may not use grant is ErrUnauthorizedClient.
func (s *Service) authClient(ctx context.Context, id, secret, grant string) (clientRow, error) {
	if id == "" {
		return clientRow{}, auth.ErrInvalidClient.With("client authentication is required")
	}
	c := sessionClient
	if id != auth.SessionClientID {
		var err error
		c, err = s.store.client(ctx, id)
		if errors.Is(err, auth.ErrClientNotFound) {
			subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(dummySecretHash))
			return clientRow{}, auth.ErrInvalidClient
		}
		if err != nil {
			return clientRow{}, err
		}
	}
	switch {
	case c.Confidential && secret == "":
		return clientRow{}, auth.ErrInvalidClient.With("the client must authenticate with its secret")
	case c.Confidential && subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(c.SecretHash)) != 1:
		return clientRow{}, auth.ErrInvalidClient
	case !c.Confidential && secret != "":
		return clientRow{}, auth.ErrInvalidClient.With("a public client has no secret")
	}
	if grant != "" && !slices.Contains(c.GrantTypes, grant) {
		return clientRow{}, auth.ErrUnauthorizedClient.With("the client may not use the %s grant", grant)
	}
	return c, nil
}

// clientCredentials issues a service token (no refresh token: the client
// can always ask again).
func (s *Service) clientCredentials(ctx context.Context, req auth.TokenRequest) (auth.Tokens, error) {
	c, err := s.authClient(ctx, req.ClientID, req.ClientSecret, auth.GrantClientCredentials)
	if err != nil {
		return auth.Tokens{}, err
	}
	if !c.Confidential {
		return auth.Tokens{}, auth.ErrUnauthorizedClient.With("only confidential clients may use client_credentials")
	}
	scopes := slices.Clone(c.Scopes)
	if req.Scope != "" {
		scopes = scopeList(req.Scope)
		if !subset(scopes, c.Scopes) {
			return auth.Tokens{}, auth.ErrInvalidScope.With("the client may be granted only: %s", strings.Join(c.Scopes, " "))
		}
	}
	slices.Sort(scopes)
	p := authn.Principal{Subject: c.ID, Kind: authn.KindService, Name: c.Name, Scopes: scopes}
	access, err := s.signAccess(ctx, p, c.ID)
	if err != nil {
		return auth.Tokens{}, err
	}
	return auth.Tokens{AccessToken: access, TokenType: auth.TokenTypeBearer, ExpiresIn: int(s.cfg.accessTTL / time.Second), Scope: strings.Join(scopes, " ")}, nil
}

// exchangeCode redeems an authorization code. Any presentation uses the
// code up, even a failed one; a code presented again revokes the tokens it
// was exchanged for (RFC 6749 §4.1.2).
func (s *Service) exchangeCode(ctx context.Context, req auth.TokenRequest) (auth.Tokens, error) {
	c, err := s.authClient(ctx, req.ClientID, req.ClientSecret, auth.GrantAuthorizationCode)
	if err != nil {
		return auth.Tokens{}, err
	}
	switch {
	case req.Code == "":
		return auth.Tokens{}, auth.ErrInvalidRequest.With("code is required")
	case req.RedirectURI == "":
		return auth.Tokens{}, auth.ErrInvalidRequest.With("redirect_uri is required")
	case req.CodeVerifier == "":
		return auth.Tokens{}, auth.ErrInvalidRequest.With("code_verifier is required (PKCE)")
	}
	now := s.now()
	hash := hashSecret(req.Code)
	family := ids.New("fam")
	claimed, err := s.store.claimCode(ctx, hash, family, now)
	if err != nil {
		return auth.Tokens{}, apperr.Internal(fmt.Errorf("claim code: %w", err))
	}
	code, found, err := s.store.grant(ctx, hash, grantCode)
	if err != nil {
		return auth.Tokens{}, err
	}
	if !found {
		return auth.Tokens{}, auth.ErrInvalidGrant.With("the authorization code is not valid")
	}
	if !claimed {
		// Used before: someone replays it. What it bought is revoked.
		if code.FamilyID != "" {
			if err := s.revokeFamily(ctx, code.FamilyID); err != nil {
				return auth.Tokens{}, err
			}
		}
		s.log.WarnContext(ctx, "authorization code used twice: its tokens are revoked", "client", code.ClientID, "user", code.UserID)
		return auth.Tokens{}, auth.ErrInvalidGrant.With("the authorization code was already used")
	}
	switch {
	case !now.Before(code.ExpiresAt):
		return auth.Tokens{}, auth.ErrInvalidGrant.With("the authorization code has expired")
	case code.ClientID != c.ID:
		return auth.Tokens{}, auth.ErrInvalidGrant.With("the authorization code was issued to another client")
	case code.RedirectURI != req.RedirectURI:
		return auth.Tokens{}, auth.ErrInvalidGrant.With("redirect_uri does not match the authorization request")
	case !pkceMatches(req.CodeVerifier, code.CodeChallenge):
		return auth.Tokens{}, auth.ErrInvalidGrant.With("code_verifier does not match the code_challenge")
	}
	u, err := s.store.user(ctx, code.UserID)
	if err != nil {
		return auth.Tokens{}, auth.ErrInvalidGrant.With("the user no longer exists")
	}
	return s.issueUserTokens(ctx, u, c.ID, family, code.Scope, nil, slices.Contains(c.GrantTypes, auth.GrantRefreshToken))
}

// pkceMatches checks an S256 code verifier (RFC 7636 §4.6) in constant time.
func pkceMatches(verifier, challenge string) bool {
	if !validVerifier(verifier) {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

// validVerifier is RFC 7636 §4.1: 43 to 128 unreserved characters.
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// refresh rotates a refresh token: the presented one is used up and a new
// one of the same family issued. A used one presented again means it was
// stolen (or the client is broken): the whole family is revoked (RFC 9700
// §4.14.2), so the thief's copy and the victim's successor both stop working.
func (s *Service) refresh(ctx context.Context, req auth.TokenRequest) (auth.Tokens, error) {
	clientID := req.ClientID
	if clientID == "" && req.ClientSecret == "" {
		clientID = auth.SessionClientID // first-party sessions need not name their client
	}
	c, err := s.authClient(ctx, clientID, req.ClientSecret, auth.GrantRefreshToken)
	if err != nil {
		return auth.Tokens{}, err
	}
	if req.RefreshToken == "" {
		return auth.Tokens{}, auth.ErrInvalidRequest.With("refresh_token is required")
	}
	now := s.now()
	hash := hashSecret(req.RefreshToken)
	rt, found, err := s.store.refreshToken(ctx, hash)
	if err != nil {
		return auth.Tokens{}, err
	}
	if !found {
		return auth.Tokens{}, auth.ErrInvalidGrant.With("the refresh token is not valid")
	}
	if rt.ClientID != c.ID {
		return auth.Tokens{}, auth.ErrInvalidGrant.With("the refresh token was issued to another client")
	}
	var narrowed []string
	if req.Scope != "" {
		narrowed = scopeList(req.Scope)
		if rt.ClientID != auth.SessionClientID && !subset(narrowed, scopeList(rt.Scope)) {
			return auth.Tokens{}, auth.ErrInvalidScope.With("a refresh may only narrow the scope granted")
		}
	}
	claimed, err := s.store.claimRefreshToken(ctx, hash, now)
	if err != nil {
		return auth.Tokens{}, apperr.Internal(fmt.Errorf("claim refresh token: %w", err))
	}
	if !claimed {
		used := rt.UsedAt != nil
		if !used {
			// Used since it was read, by a concurrent refresh? (Unable to
			// tell, it is refused all the same, as revoked or expired.)
			used, _ = s.store.refreshTokenUsed(ctx, hash)
		}
		if used {
			if err := s.revokeFamily(ctx, rt.FamilyID); err != nil {
				return auth.Tokens{}, err
			}
			s.log.WarnContext(ctx, "refresh token reused: its family is revoked", "client", rt.ClientID, "user", rt.UserID, "family", rt.FamilyID)
			return auth.Tokens{}, auth.ErrInvalidGrant.With("the refresh token was already used; its session is revoked")
		}
		return auth.Tokens{}, auth.ErrInvalidGrant.With("the refresh token is revoked or expired")
	}
	u, err := s.store.user(ctx, rt.UserID)
	if err != nil {
		return auth.Tokens{}, auth.ErrInvalidGrant.With("the user no longer exists")
	}
	return s.issueUserTokens(ctx, u, c.ID, rt.FamilyID, rt.Scope, narrowed, true)
}

// issueUserTokens issues an access token for u through client and, with
// withRefresh, a refresh token of family (a new family if "") carrying
// grant. A session's access token carries every scope of the user's roles;
// any other client's only what was granted and the roles still allow.
func (s *Service) issueUserTokens(ctx context.Context, u userRow, client, family, grant string, narrowed []string, withRefresh bool) (auth.Tokens, error) {
	scopes := s.scopesOf(u.Roles)
	if client != auth.SessionClientID {
		scopes = intersect(scopeList(grant), scopes)
	}
	if narrowed != nil {
		scopes = intersect(scopes, narrowed)
	}
	if family == "" && withRefresh {
		family = ids.New("fam")
	}
	// The refresh-token family is the session: its access tokens carry it
	// as "sid", so ending the session (sign-out, revocation, a replayed
	// refresh token or code) refuses them too, and no other session's.
	p := s.userPrincipal(u, scopes)
	p.SessionID = family
	access, err := s.signAccess(ctx, p, client)
	if err != nil {
		return auth.Tokens{}, err
	}
	out := auth.Tokens{AccessToken: access, TokenType: auth.TokenTypeBearer, ExpiresIn: int(s.cfg.accessTTL / time.Second), Scope: strings.Join(scopes, " ")}
	if !withRefresh {
		return out, nil
	}
	refresh := newSecret()
	now := s.now()
	row := refreshTokenRow{Hash: hashSecret(refresh), FamilyID: family, UserID: u.ID, ClientID: client, Scope: grant,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.refreshTTL)}
	if err := s.store.insertRefreshToken(ctx, row); err != nil {
		return auth.Tokens{}, apperr.Internal(fmt.Errorf("store refresh token: %w", err))
	}
	out.RefreshToken = refresh
	return out, nil
}

// signAccess signs an access token for p with the active key.
func (s *Service) signAccess(ctx context.Context, p authn.Principal, client string) (string, error) {
	k, err := s.keys.signer(ctx)
	if err != nil {
		return "", apperr.Internal(err)
	}
	// Not before the subject's last revocation, or the token would be
	// refused by it (a sign-in right after a password change).
	iat := s.revoked.IssueTime(p.Subject, s.now())
	claims := authn.NewClaims(p, s.cfg.issuer, []string{s.cfg.audience}, iat, s.cfg.accessTTL)
	claims.ClientID = client
	tok, err := authn.SignToken(claims, k.kid, k.priv)
	if err != nil {
		return "", apperr.Internal(fmt.Errorf("sign access token: %w", err))
	}
	return tok, nil
}

// revokeFamily ends a session: every refresh token of its family is revoked
// and, at once in this process and through auth.EventTokensRevoked in the
// others, the access tokens issued in it ("sid" = family).
func (s *Service) revokeFamily(ctx context.Context, family string) error {
	now := s.now()
	err := s.store.write(ctx, func(tx storeTx) error {
		// "" for a code whose client gets no refresh tokens: its access
		// token still carries the family.
		userID, err := tx.familyUser(ctx, family)
		if err != nil {
			return err
		}
		if err := tx.revokeFamilyTokens(ctx, family, now); err != nil {
			return err
		}
		return tx.record(ctx, auth.EventTokensRevoked, auth.TokensRevoked{
			UserID: userID, SessionID: family, EndedAt: now, Reason: "session_ended",
		})
	})
	if err != nil {
		return apperr.Internal(fmt.Errorf("revoke refresh tokens: %w", err))
	}
	s.revoked.EndSession(family, now)
	return nil
}

// Revoke implements auth.Service.
func (s *Service) Revoke(ctx context.Context, req auth.RevokeRequest) error {
	if req.Token == "" || len(req.Token) > maxParam {
		return auth.ErrInvalidRequest.With("token is required")
	}
	c, err := s.authClient(ctx, req.ClientID, req.ClientSecret, "")
	if err != nil {
		return err
	}
	rt, found, err := s.store.refreshToken(ctx, hashSecret(req.Token))
	switch {
	case err != nil:
		return err
	case !found || rt.ClientID != c.ID:
		return nil // unknown, an access token, or not this client's: nothing to do (RFC 7009 §2.2)
	}
	return s.revokeFamily(ctx, rt.FamilyID)
}

// Introspect implements auth.Service.
func (s *Service) Introspect(ctx context.Context, req auth.IntrospectRequest) (auth.Introspection, error) {
	if req.Token == "" || len(req.Token) > 8192 {
		return auth.Introspection{}, auth.ErrInvalidRequest.With("token is required")
	}
	c, err := s.authClient(ctx, req.ClientID, req.ClientSecret, "")
	if err != nil {
		return auth.Introspection{}, err
	}
	if !c.Confidential {
		return auth.Introspection{}, auth.ErrInvalidClient.With("only confidential clients may introspect tokens")
	}
	if req.TokenTypeHint != auth.HintRefreshToken && strings.Count(req.Token, ".") == 2 {
		if out, ok := s.introspectAccess(ctx, req.Token); ok {
			return out, nil
		}
	}
	rt, found, err := s.store.refreshToken(ctx, hashSecret(req.Token))
	switch {
	case err != nil:
		return auth.Introspection{}, err
	case !found:
		return auth.Introspection{Active: false}, nil
	}
	now := s.now()
	// Only the client a refresh token was issued to learns about it.
	if rt.ClientID != c.ID || rt.UsedAt != nil || rt.RevokedAt != nil || !now.Before(rt.ExpiresAt) {
		return auth.Introspection{Active: false}, nil
	}
	return auth.Introspection{Active: true, Scope: rt.Scope, ClientID: rt.ClientID, Sub: rt.UserID, TokenType: "refresh_token",
		Exp: rt.ExpiresAt.Unix(), Iat: rt.CreatedAt.Unix(), Iss: s.cfg.issuer}, nil
}

func (s *Service) introspectAccess(ctx context.Context, token string) (auth.Introspection, bool) {
	p, err := s.verifier.Verify(ctx, token)
	if err != nil {
		return auth.Introspection{}, false
	}
	// Verify checked the claims; read them again for the times and ids.
	var c authn.Claims
	if err := decodeClaims(token, &c); err != nil {
		return auth.Introspection{}, false
	}
	out := auth.Introspection{
		Active: true, Scope: c.Scope, ClientID: c.ClientID, Username: p.Email, TokenType: auth.TokenTypeBearer,
		Sub: c.Subject, Aud: c.Audience, Iss: c.Issuer, Jti: c.ID, Roles: p.Roles, Kind: p.Kind,
	}
	if c.ExpiresAt != nil {
		out.Exp = c.ExpiresAt.Unix()
	}
	if c.IssuedAt != nil {
		out.Iat = c.IssuedAt.Unix()
	}
	return out, true
}

// JWKS implements auth.Service.
func (s *Service) JWKS(ctx context.Context) (auth.JWKS, error) {
	set, err := s.keys.jwks(ctx)
	if err != nil {
		return auth.JWKS{}, apperr.Internal(err)
	}
	return set, nil
}

// clip shortens a caller's value before it is quoted back in a message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// decodeClaims reads the claims of a token Verify has already checked.
func decodeClaims(token string, c *authn.Claims) error {
	_, _, err := jwt.NewParser().ParseUnverified(token, c)
	return err
}
