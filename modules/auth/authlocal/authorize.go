package authlocal

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/platform/apperr"
)

// CheckAuthorization implements auth.Service. The client and the redirect
// URI are checked first: until both are known good, nothing may be sent to
// the redirect URI.
func (s *Service) CheckAuthorization(ctx context.Context, req auth.AuthorizationRequest) (auth.AuthorizationInfo, error) {
	info, _, err := s.checkAuthorization(ctx, req)
	return info, err
}

func (s *Service) checkAuthorization(ctx context.Context, req auth.AuthorizationRequest) (auth.AuthorizationInfo, clientRow, error) {
	if req.ClientID == "" || len(req.ClientID) > 64 || req.ClientID == auth.SessionClientID {
		return auth.AuthorizationInfo{}, clientRow{}, auth.ErrInvalidClient.With("client_id names no client")
	}
	c, err := s.store.client(ctx, req.ClientID)
	if errors.Is(err, auth.ErrClientNotFound) {
		return auth.AuthorizationInfo{}, clientRow{}, auth.ErrInvalidClient.With("client_id names no client")
	}
	if err != nil {
		return auth.AuthorizationInfo{}, clientRow{}, err
	}
	// Exact string comparison: no prefix, no normalization (RFC 9700 §4.1.3).
	if req.RedirectURI == "" || !slices.Contains(c.RedirectURIs, req.RedirectURI) {
		return auth.AuthorizationInfo{}, clientRow{}, auth.ErrInvalidRedirectURI
	}
	info := auth.AuthorizationInfo{ClientID: c.ID, ClientName: c.Name, FirstParty: c.FirstParty, RedirectURI: req.RedirectURI}
	switch {
	case req.ResponseType != "code":
		return info, c, auth.ErrUnsupportedResponse
	case !slices.Contains(c.GrantTypes, auth.GrantAuthorizationCode):
		return info, c, auth.ErrUnauthorizedClient.With("the client may not use the authorization_code grant")
	case req.CodeChallenge == "":
		return info, c, auth.ErrInvalidRequest.With("code_challenge is required (PKCE with S256)")
	case req.CodeChallengeMethod != "S256":
		return info, c, auth.ErrInvalidRequest.With("code_challenge_method must be S256")
	case len(req.State) > 1000 || len(req.Scope) > 1000:
		return info, c, auth.ErrInvalidRequest.With("state and scope must be at most 1000 characters")
	}
	if !validChallenge(req.CodeChallenge) {
		return info, c, auth.ErrInvalidRequest.With("code_challenge must be the 43-character base64url SHA-256 of the code verifier")
	}
	scopes := slices.Clone(c.Scopes)
	if req.Scope != "" {
		scopes = scopeList(req.Scope)
		if !subset(scopes, c.Scopes) {
			return info, c, auth.ErrInvalidScope.With("the client may ask only for: %s", strings.Join(c.Scopes, " "))
		}
	}
	slices.Sort(scopes)
	info.Scopes = scopes
	return info, c, nil
}

// validChallenge is a base64url SHA-256: 43 characters of the URL-safe alphabet.
func validChallenge(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Authorize implements auth.Service.
func (s *Service) Authorize(ctx context.Context, req auth.AuthorizeRequest) (auth.AuthorizeResult, error) {
	info, c, err := s.checkAuthorization(ctx, req.AuthorizationRequest)
	if err != nil {
		return auth.AuthorizeResult{}, err
	}
	if req.Email == "" || req.Password == "" || len(req.Email) > 254 || len(req.Password) > auth.MaxPasswordLength*4 {
		return auth.AuthorizeResult{}, auth.ErrInvalidCredentials
	}
	u, err := s.authenticate(ctx, req.Email, req.Password, req.ClientIP)
	if err != nil {
		return auth.AuthorizeResult{}, err
	}
	g := grantRow{UserID: u.ID, ClientID: c.ID, RedirectURI: info.RedirectURI, Scope: strings.Join(info.Scopes, " "), CodeChallenge: req.CodeChallenge}
	if c.FirstParty {
		code, err := s.storeGrant(ctx, g, grantCode)
		if err != nil {
			return auth.AuthorizeResult{}, err
		}
		return auth.AuthorizeResult{RedirectURI: info.RedirectURI, Code: code}, nil
	}
	ticket, err := s.storeGrant(ctx, g, grantConsent)
	if err != nil {
		return auth.AuthorizeResult{}, err
	}
	return auth.AuthorizeResult{RedirectURI: info.RedirectURI, ConsentTicket: ticket, ClientName: c.Name, Scopes: info.Scopes}, nil
}

// storeGrant stores g as a new code or consent ticket and returns its secret.
func (s *Service) storeGrant(ctx context.Context, g grantRow, kind string) (string, error) {
	secret := newSecret()
	now := s.now()
	ttl := s.cfg.codeTTL
	if kind == grantConsent {
		ttl = s.cfg.consentTTL
	}
	g.Hash, g.Kind, g.CreatedAt, g.ExpiresAt = hashSecret(secret), kind, now, now.Add(ttl)
	if err := s.store.insertGrant(ctx, g); err != nil {
		return "", apperr.Internal(fmt.Errorf("store %s: %w", kind, err))
	}
	return secret, nil
}

// Consent implements auth.Service.
func (s *Service) Consent(ctx context.Context, req auth.ConsentRequest) (auth.AuthorizeResult, error) {
	if err := s.validate.Struct(auth.ErrInvalidRequest.Reason, req); err != nil {
		return auth.AuthorizeResult{}, err
	}
	now := s.now()
	hash := hashSecret(req.Ticket)
	claimed, err := s.store.claimConsent(ctx, hash, now)
	if err != nil {
		return auth.AuthorizeResult{}, apperr.Internal(fmt.Errorf("claim consent ticket: %w", err))
	}
	if !claimed {
		return auth.AuthorizeResult{}, auth.ErrInvalidGrant.With("the consent request is unknown, used or expired: start again")
	}
	t, found, err := s.store.grant(ctx, hash, grantConsent)
	if err == nil && !found {
		err = apperr.Internal(errors.New("load consent ticket: deleted (with its client) since it was claimed"))
	}
	if err != nil {
		return auth.AuthorizeResult{}, err
	}
	if !req.Allow {
		return auth.AuthorizeResult{RedirectURI: t.RedirectURI, Denied: true}, nil
	}
	t.UsedAt, t.FamilyID = nil, ""
	code, err := s.storeGrant(ctx, t, grantCode)
	if err != nil {
		return auth.AuthorizeResult{}, err
	}
	return auth.AuthorizeResult{RedirectURI: t.RedirectURI, Code: code}, nil
}
