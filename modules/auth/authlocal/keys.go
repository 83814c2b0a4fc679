package authlocal

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/platform/authn"
)

const (
	// keyReload is how long the keys read from the database are trusted
	// before they are read again (another process — `bellhop keys rotate`,
	// another auth instance — may have rotated them).
	keyReload = time.Minute
	// keyMissInterval bounds the database reads an unknown kid can cause.
	keyMissInterval = 5 * time.Second
)

// keyring holds the module's signing keys, read from its database and cached.
// It is the in-process authn.KeySet: only keys still published (active, or
// retired less than window ago) verify.
type keyring struct {
	store  keyStore
	now    func() time.Time
	window time.Duration // how long a retired key stays published

	mu       sync.RWMutex
	loadedAt time.Time
	lastMiss time.Time
	active   *signingKey
	keys     map[string]*signingKey // published keys by kid
	order    []*signingKey          // newest first
	create   sync.Mutex             // one first key at a time in this process
}

type signingKey struct {
	kid       string
	priv      ed25519.PrivateKey
	pub       ed25519.PublicKey
	retiredAt time.Time // zero while active
}

var _ authn.KeySet = (*keyring)(nil)

// keyStore is what the keyring needs of the database (gormStore in
// store.go).
type keyStore interface {
	// publishedKeys are the keys not retired or retired after retiredAfter:
	// the active one first, then the most recently retired.
	publishedKeys(ctx context.Context, retiredAfter time.Time) ([]signingKeyRow, error)
	// publishedKeyInfo is publishedKeys without the key material.
	publishedKeyInfo(ctx context.Context, retiredAfter time.Time) ([]signingKeyRow, error)
	// write runs fn in one writing transaction.
	write(ctx context.Context, fn func(tx storeTx) error) error
}

func newKeyring(st keyStore, now func() time.Time, window time.Duration) *keyring {
	return &keyring{store: st, now: now, window: window}
}

// published reports whether tokens signed by k may still be valid at now.
func (r *keyring) published(k *signingKey, now time.Time) bool {
	return k.retiredAt.IsZero() || now.Sub(k.retiredAt) < r.window
}

// load reads the published keys from the database.
func (r *keyring) load(ctx context.Context) error {
	now := r.now()
	rows, err := r.store.publishedKeys(ctx, now.Add(-r.window))
	if err != nil {
		return err
	}
	keys := make(map[string]*signingKey, len(rows))
	order := make([]*signingKey, 0, len(rows))
	var active *signingKey
	for _, row := range rows {
		if len(row.PrivateKey) != ed25519.SeedSize {
			return fmt.Errorf("signing key %s: private key of %d bytes", row.KID, len(row.PrivateKey))
		}
		priv := ed25519.NewKeyFromSeed(row.PrivateKey)
		k := &signingKey{kid: row.KID, priv: priv, pub: priv.Public().(ed25519.PublicKey)}
		if row.RetiredAt != nil {
			k.retiredAt = *row.RetiredAt
		} else if active == nil {
			active = k
		}
		keys[k.kid] = k
		order = append(order, k)
	}
	r.mu.Lock()
	r.keys, r.order, r.active, r.loadedAt = keys, order, active, now
	r.mu.Unlock()
	return nil
}

// fresh loads the keys if they were never loaded or are older than keyReload.
func (r *keyring) fresh(ctx context.Context) error {
	r.mu.RLock()
	stale := r.loadedAt.IsZero() || r.now().Sub(r.loadedAt) > keyReload
	r.mu.RUnlock()
	if !stale {
		return nil
	}
	return r.load(ctx)
}

// signer returns the active key, creating the first one if there is none.
func (r *keyring) signer(ctx context.Context) (*signingKey, error) {
	if err := r.fresh(ctx); err != nil {
		return nil, err
	}
	r.mu.RLock()
	k := r.active
	r.mu.RUnlock()
	if k != nil {
		return k, nil
	}
	r.create.Lock()
	defer r.create.Unlock()
	if err := r.load(ctx); err != nil {
		return nil, err
	}
	r.mu.RLock()
	k = r.active
	r.mu.RUnlock()
	if k != nil {
		return k, nil
	}
	if _, err := r.rotate(ctx); err != nil {
		return nil, err
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.active == nil {
		return nil, errors.New("no active signing key after creating one")
	}
	return r.active, nil
}

// rotate adds a new key and makes it the active one. The key it replaces
// stays published for the window; keys retired longer ago are deleted.
func (r *keyring) rotate(ctx context.Context) (string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	now := r.now()
	row := signingKeyRow{KID: thumbprint(pub), Alg: "EdDSA", PrivateKey: priv.Seed(), PublicKey: pub, CreatedAt: now}
	err = r.store.write(ctx, func(tx storeTx) error {
		if err := tx.retireSigningKeys(ctx, now); err != nil {
			return err
		}
		if err := tx.deleteSigningKeysRetiredBy(ctx, now.Add(-r.window)); err != nil {
			return err
		}
		if err := tx.insertSigningKey(ctx, row); err != nil {
			return err
		}
		return tx.record(ctx, auth.EventSigningKeyRotated, auth.SigningKeyRotated{KID: row.KID, RotatedAt: now})
	})
	if err != nil {
		return "", fmt.Errorf("rotate signing keys: %w", err)
	}
	return row.KID, r.load(ctx)
}

// PublicKey implements authn.KeySet.
func (r *keyring) PublicKey(ctx context.Context, kid string) (crypto.PublicKey, error) {
	if err := r.fresh(ctx); err != nil {
		return nil, err
	}
	if k, ok := r.lookup(kid); ok {
		return k.pub, nil
	}
	// Perhaps another process rotated: read again, but not for every made-up kid.
	r.mu.Lock()
	now := r.now()
	again := now.Sub(r.lastMiss) >= keyMissInterval
	if again {
		r.lastMiss = now
	}
	r.mu.Unlock()
	if again {
		if err := r.load(ctx); err != nil {
			return nil, err
		}
		if k, ok := r.lookup(kid); ok {
			return k.pub, nil
		}
	}
	return nil, fmt.Errorf("%w %q", authn.ErrUnknownKey, kid)
}

func (r *keyring) lookup(kid string) (*signingKey, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.keys[kid]
	if !ok || !r.published(k, r.now()) {
		return nil, false
	}
	return k, true
}

// jwks is the published keys as a JWK Set, newest first.
func (r *keyring) jwks(ctx context.Context) (auth.JWKS, error) {
	if _, err := r.signer(ctx); err != nil { // publish a key before the first token needs it
		return auth.JWKS{}, err
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := auth.JWKS{Keys: make([]auth.JWK, 0, len(r.order))}
	now := r.now()
	for _, k := range r.order {
		if r.published(k, now) {
			out.Keys = append(out.Keys, auth.JWK{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k.pub), Kid: k.kid, Alg: "EdDSA", Use: "sig"})
		}
	}
	return out, nil
}

// thumbprint is the RFC 7638 JWK thumbprint of an Ed25519 public key: a kid
// anyone can recompute from the key.
func thumbprint(pub ed25519.PublicKey) string {
	canonical := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// list reads the published keys from the database (not the cache: an
// operator wants what is there now), newest first.
func (r *keyring) list(ctx context.Context) ([]auth.SigningKey, error) {
	now := r.now()
	rows, err := r.store.publishedKeyInfo(ctx, now.Add(-r.window))
	if err != nil {
		return nil, err
	}
	out := make([]auth.SigningKey, 0, len(rows))
	for i, row := range rows {
		k := auth.SigningKey{KID: row.KID, Alg: row.Alg, Status: auth.KeyActive, CreatedAt: row.CreatedAt.UTC()}
		// Only the newest unretired key signs (as in load).
		if row.RetiredAt != nil || i > 0 {
			k.Status = auth.KeyRetired
		}
		if row.RetiredAt != nil {
			at, until := row.RetiredAt.UTC(), row.RetiredAt.Add(r.window).UTC()
			k.RetiredAt, k.PublishedUntil = &at, &until
		}
		out = append(out, k)
	}
	return out, nil
}
