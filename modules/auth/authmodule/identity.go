package authmodule

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/auth/authlocal"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/config"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/host"
	"github.com/bellhop/bellhop/platform/httpclient"
)

// Verifier builds the process's token verification: keys named in config (a
// JWKS file or URL), else the auth module's own keys in-process (built in h),
// else auth's JWKS over HTTP when auth is remote. With none of those there is
// no verifier (nil), and routes that need a token answer 401.
//
// It refuses a user's tokens issued before their roles or password last
// changed, and the tokens of a session that ended (signed out): with auth here, from auth's own record the moment it commits;
// elsewhere, from auth's auth.EventTokensRevoked events on
// bus, read back over the last token lifetime at start and then as they
// come, until ctx is done.
func Verifier(ctx context.Context, cfg *config.Config, h *host.Host, bus *events.Bus) (*authn.Verifier, error) {
	ac := Settings(cfg)
	var keys authn.KeySet
	var err error
	local, hosted := host.LocalModule[*authlocal.Module](h, auth.Module)
	switch {
	case ac.JWKSFile != "":
		keys, err = authn.NewFileKeySet(ac.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("auth.jwks_file: %w", err)
		}
	case ac.JWKSURL != "":
		keys, err = authn.NewRemoteKeySet(ac.JWKSURL, &http.Client{Timeout: 5 * time.Second})
		if err != nil {
			return nil, fmt.Errorf("auth.jwks_url: %w", err)
		}
	case hosted:
		keys = local.KeySet()
	case cfg.Modules[auth.Module].URL != "":
		u := strings.TrimSuffix(cfg.Modules[auth.Module].URL, "/") + "/.well-known/jwks.json"
		remote, err := authn.NewRemoteKeySet(u, &http.Client{Timeout: 5 * time.Second})
		if err != nil {
			return nil, fmt.Errorf("modules.auth.url: %w", err)
		}
		if bus != nil {
			followKeyRotations(ctx, bus, remote)
		}
		keys = remote
	default:
		return nil, nil
	}
	var opts []authn.VerifierOption
	switch {
	case hosted:
		// Auth's own not-before times: a demotion or a password change
		// takes effect on this process's routes the moment it commits.
		opts = append(opts, authn.WithRevocations(local.Revocations()))
	case bus != nil:
		opts = append(opts, authn.WithRevocations(followRevocations(ctx, bus, ac.AccessTokenTTL)))
	}
	return authn.NewVerifier(keys, ac.Issuer, ac.Audience, opts...)
}

// ServiceTokens is this process's service identity on other modules'
// /internal routes: client credentials from the auth module, in-process when
// cfg hosts auth here (h's, once built), else from its token endpoint.
// Without auth.client_id there is none (nil), and /internal calls carry no
// token.
func ServiceTokens(cfg *config.Config, h *host.Host) (httpclient.TokenSource, error) {
	ac := Settings(cfg)
	if ac.ClientID == "" {
		return nil, nil
	}
	if cfg.Hosts(auth.Module) {
		// Tokens are asked for only once the process serves, when auth is built.
		svc := func() (auth.Service, bool) { return host.LocalService[auth.Service](h, auth.Module) }
		return &localTokens{svc: svc, id: ac.ClientID, secret: ac.ClientSecret}, nil
	}
	base := cfg.Modules[auth.Module].URL
	if base == "" {
		return nil, errors.New("auth.client_id is set but the auth module is neither hosted here nor remote (modules.auth.url)")
	}
	cc := httpclient.ClientCredentialsConfig{
		TokenURL: strings.TrimSuffix(base, "/") + "/oauth/token", ClientID: ac.ClientID, ClientSecret: ac.ClientSecret,
	}
	if err := cc.Validate(); err != nil {
		return nil, fmt.Errorf("auth.client_id: %w", err)
	}
	return httpclient.ClientCredentials(cc), nil
}

// localTokens gets service tokens from the auth module hosted in this
// process, with the same client-credentials grant a remote caller uses, and
// reuses each until shortly before it expires.
type localTokens struct {
	svc        func() (auth.Service, bool)
	id, secret string

	mu      sync.Mutex
	token   string
	expires time.Time
}

func (l *localTokens) Token(ctx context.Context) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.token != "" && time.Now().Before(l.expires) {
		return l.token, nil
	}
	svc, ok := l.svc()
	if !ok {
		return "", errors.New("authmodule: the auth module hosted here is not built yet")
	}
	t, err := svc.Token(ctx, auth.TokenRequest{GrantType: "client_credentials", ClientID: l.id, ClientSecret: l.secret})
	if err != nil {
		return "", err
	}
	l.token = t.AccessToken
	l.expires = time.Now().Add(time.Duration(t.ExpiresIn)*time.Second - 30*time.Second)
	return l.token, nil
}

// Invalidate drops the cached token (httpclient calls it after a 401).
func (l *localTokens) Invalidate() {
	l.mu.Lock()
	l.token = ""
	l.mu.Unlock()
}

// followKeyRotations fetches auth's JWKS again on each of its key rotations
// (auth.EventSigningKeyRotated), until ctx is done: the new key's tokens
// verify here as soon as the event arrives, not once the key set's refetch
// interval (which stops made-up kids from forcing fetches) has passed.
func followKeyRotations(ctx context.Context, bus *events.Bus, keys *authn.RemoteKeySet) {
	subject := events.Subject(auth.Module, auth.EventSigningKeyRotated)
	go bus.Watch(ctx, auth.Module, subject, time.Now(), func(events.Event) {
		go func() { // Watch's callback must be quick: the fetch is not
			fetchCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			_ = keys.Refresh(fetchCtx) // on failure the next lookup fetches again
		}()
	})
}

// followRevocations keeps not-before times of users' tokens from auth's
// events: those of the last token lifetime (older ones refuse only expired
// tokens), then each new one.
func followRevocations(ctx context.Context, bus *events.Bus, ttl time.Duration) *authn.Revocations {
	keep := ttl + authn.DefaultLeeway
	r := authn.NewRevocations(keep, nil)
	subject := events.Subject(auth.Module, auth.EventTokensRevoked)
	go bus.Watch(ctx, auth.Module, subject, time.Now().Add(-keep), func(evt events.Event) {
		var p auth.TokensRevoked
		if err := evt.Decode(&p); err == nil {
			if p.SessionID != "" {
				r.EndSession(p.SessionID, p.EndedAt)
			} else {
				r.Revoke(p.UserID, p.NotBefore)
			}
		}
	})
	return r
}
