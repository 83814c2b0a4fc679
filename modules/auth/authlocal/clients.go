package authlocal

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/ids"
)

// CreateClient implements auth.Service.
func (s *Service) CreateClient(ctx context.Context, req auth.CreateClientRequest) (auth.CreatedClient, error) {
	if _, err := s.requireAdmin(ctx); err != nil {
		return auth.CreatedClient{}, err
	}
	return s.createClient(ctx, req)
}

func (s *Service) createClient(ctx context.Context, req auth.CreateClientRequest) (auth.CreatedClient, error) {
	if err := s.validate.Struct(auth.ErrInvalidRequest.Reason, req); err != nil {
		return auth.CreatedClient{}, err
	}
	grants := slices.Clone(req.GrantTypes)
	if len(grants) == 0 {
		grants = []string{auth.GrantAuthorizationCode, auth.GrantRefreshToken}
		if req.Confidential && len(req.RedirectURIs) == 0 {
			grants = []string{auth.GrantClientCredentials}
		}
	}
	slices.Sort(grants)
	now := s.now()
	row := clientRow{
		ID: ids.New("cli"), Name: strings.TrimSpace(req.Name), Confidential: req.Confidential, FirstParty: req.FirstParty,
		RedirectURIs: nonNil(req.RedirectURIs), Scopes: cleanScopes(req.Scopes), GrantTypes: grants, CreatedAt: now, UpdatedAt: now,
	}
	if err := checkClient(row); err != nil {
		return auth.CreatedClient{}, err
	}
	var secret string
	if row.Confidential {
		secret = newSecret()
		row.SecretHash = hashSecret(secret)
	}
	if err := s.store.insertClient(ctx, row); err != nil {
		return auth.CreatedClient{}, apperr.Internal(fmt.Errorf("create client: %w", err))
	}
	return auth.CreatedClient{Client: toClient(row), Secret: secret}, nil
}

// checkClient enforces what the validator tags cannot: grants that fit the
// client type, redirect URIs that are safe to send codes to, scope syntax.
func checkClient(c clientRow) error {
	var fields []apperr.FieldError
	bad := func(field, reason, detail string) {
		fields = append(fields, apperr.FieldError{Field: field, Reason: reason, Detail: detail})
	}
	if slices.Contains(c.GrantTypes, auth.GrantClientCredentials) && !c.Confidential {
		bad("grant_types", "needs_confidential", "client_credentials needs a confidential client")
	}
	if slices.Contains(c.GrantTypes, auth.GrantAuthorizationCode) && len(c.RedirectURIs) == 0 {
		bad("redirect_uris", "required", "the authorization_code grant needs at least one redirect URI")
	}
	for i, u := range c.RedirectURIs {
		if detail := checkRedirectURI(u); detail != "" {
			bad(fmt.Sprintf("redirect_uris[%d]", i), "redirect_uri", detail)
		}
	}
	for i, sc := range c.Scopes {
		if !validScopeToken(sc) {
			bad(fmt.Sprintf("scopes[%d]", i), "scope", "must be printable ASCII without spaces, quotes or backslashes")
		}
	}
	if len(fields) > 0 {
		return auth.ErrInvalidRequest.WithFields(fields...)
	}
	return nil
}

// checkRedirectURI says what is wrong with a redirect URI, or "": an
// absolute URI without fragment that is https, http on a loopback address
// (RFC 8252 §7.3) or a private-use scheme with a dot (RFC 8252 §7.1).
func checkRedirectURI(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return "must be an absolute URI"
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "must not have a fragment"
	}
	if u.User != nil {
		return "must not carry user info"
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return "must name a host"
		}
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return "http is allowed only on a loopback address (localhost, 127.0.0.1, [::1]); use https"
		}
	default:
		if !strings.Contains(u.Scheme, ".") {
			return "must be https, http on loopback, or a private-use scheme such as com.example.app"
		}
	}
	return ""
}

func cleanScopes(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

func toClient(r clientRow) auth.Client {
	return auth.Client{
		ID: r.ID, Name: r.Name, Confidential: r.Confidential, FirstParty: r.FirstParty,
		RedirectURIs: nonNil(slices.Clone(r.RedirectURIs)), Scopes: nonNil(slices.Clone(r.Scopes)),
		GrantTypes: nonNil(slices.Clone(r.GrantTypes)), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

// ListClients implements auth.Service.
func (s *Service) ListClients(ctx context.Context) (auth.ClientList, error) {
	if _, err := s.requireAdmin(ctx); err != nil {
		return auth.ClientList{}, err
	}
	rows, err := s.store.clients(ctx)
	if err != nil {
		return auth.ClientList{}, err
	}
	out := auth.ClientList{Clients: make([]auth.Client, len(rows))}
	for i, r := range rows {
		out.Clients[i] = toClient(r)
	}
	return out, nil
}

// GetClient implements auth.Service.
func (s *Service) GetClient(ctx context.Context, req auth.GetClientRequest) (auth.Client, error) {
	if _, err := s.requireAdmin(ctx); err != nil {
		return auth.Client{}, err
	}
	if err := s.validate.Struct(auth.ErrInvalidRequest.Reason, req); err != nil {
		return auth.Client{}, err
	}
	row, err := s.store.client(ctx, req.ID)
	if err != nil {
		return auth.Client{}, err
	}
	return toClient(row), nil
}

// UpdateClient implements auth.Service.
func (s *Service) UpdateClient(ctx context.Context, req auth.UpdateClientRequest) (auth.Client, error) {
	if _, err := s.requireAdmin(ctx); err != nil {
		return auth.Client{}, err
	}
	if err := s.validate.Struct(auth.ErrInvalidRequest.Reason, req); err != nil {
		return auth.Client{}, err
	}
	if s.configured.has(req.ID) {
		return auth.Client{}, auth.ErrClientConfigured
	}
	var row clientRow
	err := s.store.write(ctx, func(tx storeTx) error {
		var err error
		if row, err = tx.client(ctx, req.ID); err != nil {
			return err
		}
		if req.Name != nil {
			row.Name = strings.TrimSpace(*req.Name)
		}
		if req.FirstParty != nil {
			row.FirstParty = *req.FirstParty
		}
		if req.RedirectURIs != nil {
			row.RedirectURIs = nonNil(*req.RedirectURIs)
		}
		if req.Scopes != nil {
			row.Scopes = cleanScopes(*req.Scopes)
		}
		if err := checkClient(row); err != nil {
			return err
		}
		row.UpdatedAt = s.now()
		return tx.updateClient(ctx, row)
	})
	if err != nil {
		return auth.Client{}, apperr.OrInternal(err, "update client")
	}
	return toClient(row), nil
}

// DeleteClient implements auth.Service.
func (s *Service) DeleteClient(ctx context.Context, req auth.DeleteClientRequest) error {
	if _, err := s.requireAdmin(ctx); err != nil {
		return err
	}
	if err := s.validate.Struct(auth.ErrInvalidRequest.Reason, req); err != nil {
		return err
	}
	if s.configured.has(req.ID) {
		return auth.ErrClientConfigured
	}
	now := s.now()
	notBefore := s.revoked.Next(req.ID, now)
	var sessions []string
	err := s.store.write(ctx, func(tx storeTx) error {
		// The sessions whose access tokens may still be live: those that
		// issued one within a token's lifetime.
		var err error
		if sessions, err = tx.clientSessions(ctx, req.ID, now.Add(-s.cfg.accessTTL-authn.DefaultLeeway)); err != nil {
			return err
		}
		deleted, err := tx.deleteClient(ctx, req.ID)
		if err != nil {
			return err
		}
		if !deleted {
			return auth.ErrClientNotFound
		}
		// What the client was given goes with it: its sessions and its
		// codes and consent tickets not used yet.
		if err := tx.revokeClientTokens(ctx, req.ID, now); err != nil {
			return err
		}
		if err := tx.deleteClientGrants(ctx, req.ID); err != nil {
			return err
		}
		// And its access tokens, here and in every process that verifies
		// them: those it got for itself (client credentials: its id is
		// their subject) and those of its users' sessions.
		if err := recordTokensRevoked(ctx, tx, req.ID, notBefore, "client_deleted"); err != nil {
			return err
		}
		for _, sid := range sessions {
			if err := tx.record(ctx, auth.EventTokensRevoked, auth.TokensRevoked{SessionID: sid, EndedAt: now, Reason: "client_deleted"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return apperr.OrInternal(err, "delete client")
	}
	s.revoked.Revoke(req.ID, notBefore)
	for _, sid := range sessions {
		s.revoked.EndSession(sid, now)
	}
	return nil
}

var serviceClientID = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// minServiceSecret is the shortest configured secret accepted: it is stored
// as a fast hash, which is only safe for a long random value.
const minServiceSecret = 32

func (s *Service) ensureServiceClients(ctx context.Context, clients []ServiceClient) error {
	for _, sc := range clients {
		switch {
		case !serviceClientID.MatchString(sc.ID) || sc.ID == auth.SessionClientID:
			return fmt.Errorf("service client %q: the id must be 1-64 of a-z, 0-9, '_', '.', '-'", sc.ID)
		case len(sc.Secret) < minServiceSecret:
			return fmt.Errorf("service client %q: the secret must be at least %d characters (a random value, e.g. openssl rand -base64 32)", sc.ID, minServiceSecret)
		}
		name := sc.Name
		if name == "" {
			name = sc.ID
		}
		now := s.now()
		row := clientRow{ID: sc.ID, Name: name, SecretHash: hashSecret(sc.Secret), Confidential: true,
			RedirectURIs: []string{}, Scopes: cleanScopes(sc.Scopes), GrantTypes: []string{auth.GrantClientCredentials}, CreatedAt: now, UpdatedAt: now}
		if err := checkClient(row); err != nil {
			return fmt.Errorf("service client %q: %w", sc.ID, err)
		}
		if err := s.store.write(ctx, func(tx storeTx) error { return tx.saveServiceClient(ctx, row) }); err != nil {
			return fmt.Errorf("service client %q: %w", sc.ID, err)
		}
		s.configured.add(sc.ID)
	}
	return nil
}

// clientSet is a set of client ids, safe for concurrent use.
type clientSet struct {
	mu  sync.RWMutex
	ids map[string]bool
}

func (c *clientSet) add(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil {
		c.ids = map[string]bool{}
	}
	c.ids[id] = true
}

func (c *clientSet) has(id string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.ids[id]
}

// SigningKeys implements auth.Service.
func (s *Service) SigningKeys(ctx context.Context) (auth.SigningKeyList, error) {
	if _, err := s.requireAdmin(ctx); err != nil {
		return auth.SigningKeyList{}, err
	}
	keys, err := s.keys.list(ctx)
	if err != nil {
		return auth.SigningKeyList{}, apperr.Internal(err)
	}
	return auth.SigningKeyList{Keys: keys}, nil
}

// RotateSigningKey implements auth.Service.
func (s *Service) RotateSigningKey(ctx context.Context) (auth.SigningKey, error) {
	p, err := s.requireAdmin(ctx)
	if err != nil {
		return auth.SigningKey{}, err
	}
	kid, err := s.keys.rotate(ctx)
	if err != nil {
		return auth.SigningKey{}, apperr.Internal(err)
	}
	s.log.InfoContext(ctx, "signing key rotated", "kid", kid, "by", p.Subject)
	keys, err := s.keys.list(ctx)
	if err != nil {
		return auth.SigningKey{}, apperr.Internal(err)
	}
	for _, k := range keys {
		if k.KID == kid {
			return k, nil
		}
	}
	return auth.SigningKey{}, apperr.Internal(fmt.Errorf("rotated key %s is not listed", kid))
}
