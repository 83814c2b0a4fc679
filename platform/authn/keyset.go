package authn

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// KeySet resolves the public key that verifies tokens signed under a key id
// (the JWT "kid" header). The auth module satisfies it in-process; a process
// that does not host auth uses a RemoteKeySet on auth's JWKS URL.
type KeySet interface {
	// PublicKey returns the verification key for kid. An unknown kid is an
	// error that wraps ErrUnknownKey.
	PublicKey(ctx context.Context, kid string) (crypto.PublicKey, error)
}

// ErrUnknownKey is wrapped by KeySet errors for a kid the set does not hold.
var ErrUnknownKey = errors.New("authn: unknown signing key id")

// maxJWKSSize bounds a JWKS document read from a file or over HTTP.
const maxJWKSSize = 1 << 20

// keyMap is a parsed JWKS: kid → public key.
type keyMap map[string]crypto.PublicKey

func (m keyMap) lookup(kid string) (crypto.PublicKey, error) {
	if k, ok := m[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownKey, kid)
}

// parseJWKS reads a JWKS document and keeps the keys Verify can use: Ed25519
// (EdDSA) and ECDSA P-256 (ES256) keys with a kid and no "use" other than
// "sig". Private keys contribute their public half only.
func parseJWKS(doc []byte) (keyMap, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("authn: parse JWKS: %w", err)
	}
	keys := make(keyMap, len(set.Keys))
	for _, jwk := range set.Keys {
		if jwk.KeyID == "" || (jwk.Use != "" && jwk.Use != "sig") {
			continue
		}
		pub := jwk.Public()
		if !pub.Valid() {
			continue
		}
		switch k := pub.Key.(type) {
		case ed25519.PublicKey:
			if jwk.Algorithm != "" && jwk.Algorithm != "EdDSA" {
				continue
			}
			keys[jwk.KeyID] = k
		case *ecdsa.PublicKey:
			if k.Curve != elliptic.P256() || (jwk.Algorithm != "" && jwk.Algorithm != "ES256") {
				continue
			}
			keys[jwk.KeyID] = k
		}
	}
	return keys, nil
}

// staticKeySet is a JWKS parsed once.
type staticKeySet struct{ keys keyMap }

func (s staticKeySet) PublicKey(_ context.Context, kid string) (crypto.PublicKey, error) {
	return s.keys.lookup(kid)
}

// NewStaticKeySet parses a JWKS JSON document (RFC 7517) into a fixed KeySet.
// Only Ed25519 and P-256 signing keys with a kid are kept; a document with
// none of them is an error.
func NewStaticKeySet(jwks []byte) (KeySet, error) {
	keys, err := parseJWKS(jwks)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, errors.New("authn: the JWKS holds no usable signing key (Ed25519 or P-256 with a kid)")
	}
	return staticKeySet{keys: keys}, nil
}

// NewFileKeySet reads a JWKS document from path; see NewStaticKeySet.
func NewFileKeySet(path string) (KeySet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("authn: read JWKS: %w", err)
	}
	defer f.Close()
	doc, err := io.ReadAll(io.LimitReader(f, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("authn: read JWKS %s: %w", path, err)
	}
	if len(doc) > maxJWKSSize {
		return nil, fmt.Errorf("authn: JWKS %s is larger than %d bytes", path, maxJWKSSize)
	}
	ks, err := NewStaticKeySet(doc)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return ks, nil
}

// RemoteKeySet is a KeySet backed by a JWKS URL. It fetches the document on
// first use, caches it, and fetches it again when asked for a kid it does not
// know (the issuer rotated its keys) or when the cache is older than its max
// age — but never more often than once per minimum refresh interval, so a
// flood of tokens with made-up kids cannot hammer the issuer. Concurrent
// callers share one fetch. It is safe for concurrent use.
type RemoteKeySet struct {
	url         string
	hc          *http.Client
	minInterval time.Duration
	maxAge      time.Duration
	fetchLimit  time.Duration
	now         func() time.Time

	mu          sync.Mutex
	keys        keyMap
	fetchedAt   time.Time // last successful fetch
	lastAttempt time.Time
	lastErr     error      // error of the last fetch, nil if it succeeded
	inflight    *jwksFetch // the fetch under way, if any
}

type jwksFetch struct{ done chan struct{} }

// RemoteKeySetOption configures a RemoteKeySet.
type RemoteKeySetOption func(*RemoteKeySet)

// WithMinRefreshInterval sets the least time between two fetches of the JWKS
// (default 10s).
func WithMinRefreshInterval(d time.Duration) RemoteKeySetOption {
	return func(s *RemoteKeySet) {
		if d >= 0 {
			s.minInterval = d
		}
	}
}

// WithMaxAge sets how long a fetched JWKS is trusted before it is fetched
// again on the next lookup (default 15 minutes). If that fetch fails, the
// stale keys keep working until a fetch succeeds.
func WithMaxAge(d time.Duration) RemoteKeySetOption {
	return func(s *RemoteKeySet) {
		if d > 0 {
			s.maxAge = d
		}
	}
}

// WithFetchTimeout bounds one fetch of the JWKS (default 5s).
func WithFetchTimeout(d time.Duration) RemoteKeySetOption {
	return func(s *RemoteKeySet) {
		if d > 0 {
			s.fetchLimit = d
		}
	}
}

// NewRemoteKeySet returns a KeySet that fetches the JWKS at jwksURL with hc
// (nil: a client of its own with a timeout). Nothing is fetched until the
// first lookup.
func NewRemoteKeySet(jwksURL string, hc *http.Client, opts ...RemoteKeySetOption) (*RemoteKeySet, error) {
	u, err := url.Parse(jwksURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("authn: JWKS URL %q: want an absolute http(s) URL", jwksURL)
	}
	s := &RemoteKeySet{
		url:         u.String(),
		hc:          hc,
		minInterval: 10 * time.Second,
		maxAge:      15 * time.Minute,
		fetchLimit:  5 * time.Second,
		now:         time.Now,
	}
	for _, o := range opts {
		o(s)
	}
	if s.hc == nil {
		s.hc = &http.Client{Timeout: s.fetchLimit}
	}
	return s, nil
}

// PublicKey implements KeySet. When the JWKS cannot be fetched and no cached
// key matches, the error wraps the fetch failure.
func (s *RemoteKeySet) PublicKey(ctx context.Context, kid string) (crypto.PublicKey, error) {
	// A lookup waits for at most one fetch (its own or one already under
	// way), then answers from whatever the cache holds.
	waited := false
	for {
		s.mu.Lock()
		key, known := s.keys[kid]
		now := s.now()
		if known && now.Sub(s.fetchedAt) < s.maxAge {
			s.mu.Unlock()
			return key, nil
		}
		f := s.inflight
		rateLimited := !s.lastAttempt.IsZero() && now.Sub(s.lastAttempt) < s.minInterval
		if waited || (f == nil && rateLimited) {
			lastErr := s.lastErr
			s.mu.Unlock()
			switch {
			case known: // stale, but better than nothing while the JWKS is unreachable
				return key, nil
			case lastErr != nil:
				return nil, fmt.Errorf("authn: fetch JWKS: %w", lastErr)
			default:
				return nil, fmt.Errorf("%w %q", ErrUnknownKey, kid)
			}
		}
		if f == nil {
			f = &jwksFetch{done: make(chan struct{})}
			s.inflight = f
			s.lastAttempt = now
			// The fetch outlives a caller that gives up, so the callers
			// waiting on it are not failed by someone else's cancellation.
			go s.fetch(context.WithoutCancel(ctx), f)
		}
		s.mu.Unlock()
		select {
		case <-f.done:
			waited = true
		case <-ctx.Done():
			return nil, fmt.Errorf("authn: waiting for the JWKS: %w", ctx.Err())
		}
	}
}

// Refresh fetches the JWKS now, ignoring the cache and the refresh interval.
func (s *RemoteKeySet) Refresh(ctx context.Context) error {
	keys, err := s.download(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastAttempt = s.now()
	s.lastErr = err
	if err == nil {
		s.keys, s.fetchedAt = keys, s.lastAttempt
	}
	return err
}

func (s *RemoteKeySet) fetch(ctx context.Context, f *jwksFetch) {
	keys, err := s.download(ctx)
	s.mu.Lock()
	s.lastErr = err
	if err == nil {
		s.keys, s.fetchedAt = keys, s.now()
	}
	s.inflight = nil
	s.mu.Unlock()
	close(f.done)
}

func (s *RemoteKeySet) download(ctx context.Context) (keyMap, error) {
	ctx, cancel := context.WithTimeout(ctx, s.fetchLimit)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxJWKSSize))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", s.url, resp.Status)
	}
	doc, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", s.url, err)
	}
	if len(doc) > maxJWKSSize {
		return nil, fmt.Errorf("GET %s: JWKS larger than %d bytes", s.url, maxJWKSSize)
	}
	keys, err := parseJWKS(doc)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", s.url, err)
	}
	return keys, nil
}
