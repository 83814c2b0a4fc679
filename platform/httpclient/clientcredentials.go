package httpclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/bellhop/bellhop/platform/apperr"
)

// ClientCredentialsConfig configures ClientCredentials.
type ClientCredentialsConfig struct {
	// TokenURL is the OAuth2 token endpoint (absolute http or https URL;
	// use https wherever the endpoint is not on a trusted network).
	TokenURL string
	// ClientID and ClientSecret authenticate the client with HTTP Basic
	// (RFC 6749 §2.3.1). The secret is never logged nor put in an error.
	ClientID, ClientSecret string
	// Scopes are requested space-joined in "scope"; none: the client's
	// default scopes.
	Scopes []string
	// HTTPClient talks to the token endpoint. The default has a
	// DefaultTokenTimeout timeout, follows no redirects and uses no proxy.
	HTTPClient *http.Client
	// EarlyExpiry is how long before its expiry a token is refreshed
	// (default DefaultEarlyExpiry; at most half the token's lifetime).
	EarlyExpiry time.Duration
}

// Defaults of ClientCredentials.
const (
	// DefaultTokenTimeout bounds one request to the token endpoint (with a
	// caller-supplied HTTPClient: when it has no Timeout of its own).
	DefaultTokenTimeout = 5 * time.Second
	DefaultEarlyExpiry  = 30 * time.Second
)

// ErrTokenUnavailable is the error of a service token that cannot be had:
// the token endpoint failed, refused the client (its OAuth error code, e.g.
// invalid_client, is in the message) or is misconfigured. It never carries
// the client secret.
var ErrTokenUnavailable = apperr.Unavailable("auth.token_unavailable", "a service token could not be obtained")

// Validate reports what makes cfg unusable (ClientCredentials' Token returns
// it as ErrTokenUnavailable; call Validate at start-up to fail early).
func (cfg ClientCredentialsConfig) Validate() error {
	u, err := url.Parse(cfg.TokenURL)
	switch {
	case cfg.TokenURL == "":
		return errors.New("httpclient: client credentials: no token URL")
	case err != nil:
		return errors.New("httpclient: client credentials: the token URL cannot be parsed")
	case (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return fmt.Errorf("httpclient: client credentials: token URL %q: want an absolute http(s) URL", u.Redacted())
	case u.User != nil || u.Fragment != "":
		return fmt.Errorf("httpclient: client credentials: token URL %q: want no user info or fragment", u.Redacted())
	case cfg.ClientID == "":
		return errors.New("httpclient: client credentials: no client ID")
	case cfg.ClientSecret == "":
		return errors.New("httpclient: client credentials: no client secret")
	case cfg.EarlyExpiry < 0:
		return fmt.Errorf("httpclient: client credentials: negative early expiry %s", cfg.EarlyExpiry)
	}
	return nil
}

// String shows cfg without its secret (so does %#v, and slog).
func (cfg ClientCredentialsConfig) String() string {
	return fmt.Sprintf("ClientCredentialsConfig{TokenURL: %q, ClientID: %q, ClientSecret: %s, Scopes: %q, EarlyExpiry: %s}",
		redactedURL(cfg.TokenURL), cfg.ClientID, secretMark(cfg.ClientSecret), cfg.Scopes, cfg.EarlyExpiry)
}

// GoString is String, for %#v.
func (cfg ClientCredentialsConfig) GoString() string { return cfg.String() }

// LogValue logs cfg without its secret.
func (cfg ClientCredentialsConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("token_url", redactedURL(cfg.TokenURL)),
		slog.String("client_id", cfg.ClientID),
		slog.String("client_secret", secretMark(cfg.ClientSecret)),
		slog.Any("scopes", cfg.Scopes),
		slog.Duration("early_expiry", cfg.EarlyExpiry),
	)
}

// ClientCredentials returns a TokenSource of service tokens obtained with
// the OAuth2 client credentials grant (RFC 6749 §4.4), the client
// authenticating with HTTP Basic. It is safe for concurrent use:
//
//   - A token is cached and reused until EarlyExpiry before it expires
//     (never later than halfway through its lifetime). From then on Token
//     still returns it, until it expires, while one background request
//     fetches its successor; a failed refresh is retried by the next Token.
//   - Without a usable token, concurrent callers wait for one shared request
//     to the token endpoint. A caller whose context ends stops waiting
//     (ErrTokenUnavailable wrapping ctx.Err()) without cancelling the request
//     the others wait for, which DefaultTokenTimeout (or the HTTPClient's
//     Timeout) bounds.
//   - Invalidate drops the cached token, so the next Token fetches a fresh
//     one (Client calls it when a target answers 401). A request already in
//     flight is not cancelled: it was started after the dropped token was
//     cached, so its answer is fresh.
//
// Errors are ErrTokenUnavailable values. The secret and the tokens are never
// logged nor put in an error.
func ClientCredentials(cfg ClientCredentialsConfig) TokenSource {
	s := &clientCredentials{
		conf: &clientcredentials.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			TokenURL:     cfg.TokenURL,
			Scopes:       slices.Clone(cfg.Scopes),
			AuthStyle:    oauth2.AuthStyleInHeader,
		},
		hc:    cfg.HTTPClient,
		early: cfg.EarlyExpiry,
	}
	s.tokenURL = s.redact(redactedURL(cfg.TokenURL))
	if err := cfg.Validate(); err != nil {
		s.invalid = ErrTokenUnavailable.With("the service token source is misconfigured").WithCause(err)
	}
	if s.hc == nil {
		s.hc = defaultTokenHTTPClient()
	}
	if s.hc.Timeout <= 0 {
		s.timeout = DefaultTokenTimeout
	}
	if s.early == 0 {
		s.early = DefaultEarlyExpiry
	}
	return s
}

func defaultTokenHTTPClient() *http.Client {
	return &http.Client{
		Timeout: DefaultTokenTimeout,
		Transport: &http.Transport{
			DialContext: (&net.Dialer{
				Timeout:   2 * time.Second,
				KeepAlive: 30 * time.Second,
			}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   5 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		// A redirect could take the credentials elsewhere: report it instead.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// clientCredentials is the TokenSource ClientCredentials returns.
type clientCredentials struct {
	conf     *clientcredentials.Config
	tokenURL string // redacted, for String
	hc       *http.Client
	timeout  time.Duration // bounds a fetch when hc has no Timeout; 0: hc's
	early    time.Duration
	invalid  *apperr.Error // a misconfiguration, returned by every Token

	mu     sync.Mutex
	cur    *cachedToken // nil: none, or invalidated
	flight *tokenFetch  // the request to the token endpoint under way, if any
}

type cachedToken struct {
	access    string
	refreshAt time.Time // a successor is fetched from then on
	expiry    time.Time // zero: the endpoint gave no expires_in
}

// usable: not expired. The target's verifier has its own leeway for the
// time the call takes.
func (t *cachedToken) usable(now time.Time) bool {
	return t.expiry.IsZero() || now.Before(t.expiry)
}

func (t *cachedToken) stale(now time.Time) bool {
	return !t.expiry.IsZero() && !now.Before(t.refreshAt)
}

// tokenFetch is one request to the token endpoint; tok and err are set
// before done is closed.
type tokenFetch struct {
	done chan struct{}
	tok  *cachedToken
	err  *apperr.Error
}

// Token returns the cached token, or waits for a fresh one.
func (s *clientCredentials) Token(ctx context.Context) (string, error) {
	if s.invalid != nil {
		return "", s.invalid
	}
	now := time.Now()
	s.mu.Lock()
	if t := s.cur; t != nil && t.usable(now) {
		if t.stale(now) {
			s.startLocked(ctx)
		}
		s.mu.Unlock()
		return t.access, nil
	}
	f := s.startLocked(ctx)
	s.mu.Unlock()

	select {
	case <-f.done:
		if f.err != nil {
			return "", f.err
		}
		return f.tok.access, nil
	case <-ctx.Done():
		return "", ErrTokenUnavailable.With("gave up waiting for a service token").WithCause(ctx.Err())
	}
}

// Invalidate drops the cached token: the next Token fetches a fresh one.
func (s *clientCredentials) Invalidate() {
	s.mu.Lock()
	s.cur = nil
	s.mu.Unlock()
}

// startLocked returns the fetch under way, starting one if there is none.
// The fetch keeps ctx's values but not its cancellation: other callers may
// come to wait for it.
func (s *clientCredentials) startLocked(ctx context.Context) *tokenFetch {
	if s.flight == nil {
		s.flight = &tokenFetch{done: make(chan struct{})}
		go s.fetch(context.WithoutCancel(ctx), s.flight)
	}
	return s.flight
}

func (s *clientCredentials) fetch(ctx context.Context, f *tokenFetch) {
	if s.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.hc)
	start := time.Now()
	tok, err := s.conf.Token(ctx)
	var (
		ct   *cachedToken
		aerr *apperr.Error
	)
	if err != nil {
		aerr = s.fetchError(err)
	} else {
		ct, aerr = s.cacheable(tok, start)
	}

	s.mu.Lock()
	if aerr == nil {
		s.cur = ct
	} // a failed refresh leaves the current token until it expires
	s.flight = nil
	s.mu.Unlock()
	f.tok, f.err = ct, aerr
	close(f.done)
}

// cacheable checks a token fetched at start and schedules its refresh.
func (s *clientCredentials) cacheable(tok *oauth2.Token, start time.Time) (*cachedToken, *apperr.Error) {
	if typ := tok.Type(); typ != "Bearer" {
		return nil, ErrTokenUnavailable.With("the token endpoint issued a token of type %q, not a bearer token", clip(typ, 32))
	}
	if !validBearer(tok.AccessToken) {
		return nil, ErrTokenUnavailable.With("the token endpoint issued an access token that cannot be sent as a bearer token")
	}
	t := &cachedToken{access: tok.AccessToken, expiry: tok.Expiry}
	if !t.expiry.IsZero() {
		early := min(s.early, t.expiry.Sub(start)/2)
		t.refreshAt = t.expiry.Add(-max(early, 0))
	}
	return t, nil
}

// fetchError turns a failed grant into ErrTokenUnavailable: the OAuth error
// code (RFC 6749 §5.2) or the status in the message, details in the cause,
// never the secret nor a response body.
func (s *clientCredentials) fetchError(err error) *apperr.Error {
	var re *oauth2.RetrieveError
	var ue *url.Error
	switch {
	case errors.As(err, &re):
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		if code := s.oauthErrorCode(re.ErrorCode); code != "" {
			cause := fmt.Errorf("token endpoint %s answered %d: OAuth error %s", s.tokenURL, status, code)
			if re.ErrorDescription != "" {
				cause = fmt.Errorf("%w: %q", cause, clip(s.redact(re.ErrorDescription), 200))
			}
			return ErrTokenUnavailable.With("the token endpoint refused the client credentials grant: %s", code).WithCause(cause)
		}
		return ErrTokenUnavailable.With("the token endpoint answered %d %s", status, http.StatusText(status)).
			WithCause(fmt.Errorf("token endpoint %s answered %d without an OAuth error code", s.tokenURL, status))
	case errors.As(err, &ue):
		return ErrTokenUnavailable.With("the token endpoint could not be reached").WithCause(s.redactErr(err))
	}
	return ErrTokenUnavailable.With("the token endpoint sent an answer that cannot be used").WithCause(s.redactErr(err))
}

// oauthErrorCode is code if it is a well-formed OAuth error code without the
// secret, else "".
func (s *clientCredentials) oauthErrorCode(code string) string {
	if code == "" || len(code) > 64 || s.redact(code) != code {
		return ""
	}
	for _, r := range code {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return ""
		}
	}
	return code
}

// redact removes the secret (plain, and escaped as sent in Basic) from text
// the token endpoint or the transport produced.
func (s *clientCredentials) redact(text string) string {
	secret := s.conf.ClientSecret
	if secret == "" {
		return text
	}
	text = strings.ReplaceAll(text, secret, "[redacted]")
	return strings.ReplaceAll(text, url.QueryEscape(secret), "[redacted]")
}

func (s *clientCredentials) redactErr(err error) error {
	if msg := err.Error(); s.redact(msg) != msg {
		return errors.New(s.redact(msg))
	}
	return err
}

// String names the source without its secret or token (so does %#v).
func (s *clientCredentials) String() string {
	return fmt.Sprintf("httpclient.ClientCredentials(client %q at %s)", s.conf.ClientID, s.tokenURL)
}

// GoString is String, for %#v.
func (s *clientCredentials) GoString() string { return s.String() }

// validBearer: a non-empty token of visible ASCII characters, sendable as
// "Authorization: Bearer <token>" (RFC 6750 §2.1 is stricter; issuers are not).
func validBearer(tok string) bool {
	if tok == "" {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] > '~' {
			return false
		}
	}
	return true
}

func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func secretMark(secret string) string {
	if secret == "" {
		return `""`
	}
	return "[redacted]"
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
