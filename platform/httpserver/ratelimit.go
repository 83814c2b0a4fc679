package httpserver

import (
	"hash/maphash"
	"math"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
)

const (
	limiterShards       = 64      // power of two
	maxKeysPerShard     = 1 << 14 // ~1M keys in all: a hard cap on memory under a key-spraying attack
	defaultRateLimitTTL = 10 * time.Minute
)

// RateLimit is a token-bucket limit per caller: the authenticated principal's
// subject when the request carries one (so put it after authentication),
// else the client IP (ClientIP; IPv6 by /64). Over the limit it returns a 429
// apperr with code rate_limited, the given reason ("" means
// "http.rate_limited") and a RetryAfter, which the error handler sends as
// Retry-After in whole seconds. /healthz, /readyz and /metrics are never
// limited. A disabled cfg gives a pass-through middleware; an enabled one
// that does not validate (RPS <= 0) panics, as a programming error.
//
// Each call has its own buckets, so routes can stack stricter limits
// (sign-in, payments) on top of the server-wide one. Buckets live in a
// sharded map and are forgotten after cfg.TTL idle.
func RateLimit(cfg RateLimitConfig, reason string) echo.MiddlewareFunc {
	return rateLimit(cfg, reason, false)
}

// RateLimitByIP is RateLimit keyed on the client IP always, even when the
// request carries a principal: for routes meant for callers who are not
// signed in (sign-in, registration, token endpoints), where keying on a
// principal would let any valid token lift the per-IP limit.
func RateLimitByIP(cfg RateLimitConfig, reason string) echo.MiddlewareFunc {
	return rateLimit(cfg, reason, true)
}

func rateLimit(cfg RateLimitConfig, reason string, byIP bool) echo.MiddlewareFunc {
	if !cfg.Enabled {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	if err := cfg.validate(); err != nil {
		panic("httpserver.RateLimit: " + err.Error())
	}
	if reason == "" {
		reason = ReasonRateLimited
	}
	store := newLimiterStore(cfg)
	errLimited := apperr.New(apperr.CodeRateLimited, reason, "too many requests")
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if isOpsPath(req.URL.Path) {
				return next(c)
			}
			var key string
			if p, ok := authn.FromContext(req.Context()); ok && p.Subject != "" && !byIP {
				key = "sub:" + p.Subject
			} else {
				key = ipKey(ClientIP(c))
			}
			if wait, ok := store.allow(key, time.Now()); !ok {
				secs := retryAfterSeconds(wait)
				return errLimited.With("too many requests: try again in %d s", secs).
					WithRetryAfter(time.Duration(secs) * time.Second)
			}
			return next(c)
		}
	}
}

// limiterStore maps keys to token buckets. Sharding by key hash keeps lock
// contention low at tens of thousands of requests per second; each shard
// sweeps its idle keys lazily, so no goroutine needs stopping.
type limiterStore struct {
	seed   maphash.Seed
	limit  rate.Limit
	burst  int
	ttl    time.Duration
	shards [limiterShards]limiterShard
}

type limiterShard struct {
	mu        sync.Mutex
	m         map[string]*limiterEntry
	nextSweep time.Time
	_         [64]byte // keep neighbouring shards' locks off one cache line
}

type limiterEntry struct {
	lim  *rate.Limiter
	seen time.Time // guarded by the shard's mutex
}

func newLimiterStore(cfg RateLimitConfig) *limiterStore {
	burst := cfg.Burst
	if burst <= 0 {
		burst = max(1, int(math.Ceil(cfg.RPS)))
	}
	ttl := cfg.TTL
	if ttl <= 0 {
		ttl = defaultRateLimitTTL
	}
	// Forgetting a bucket before it has refilled would hand its owner a fresh burst.
	if refill := time.Duration(float64(burst) / cfg.RPS * float64(time.Second)); ttl < refill {
		ttl = refill
	}
	s := &limiterStore{seed: maphash.MakeSeed(), limit: rate.Limit(cfg.RPS), burst: burst, ttl: ttl}
	for i := range s.shards {
		s.shards[i].m = make(map[string]*limiterEntry)
	}
	return s
}

// allow takes a token for key at now, or reports how long until one is due.
func (s *limiterStore) allow(key string, now time.Time) (time.Duration, bool) {
	sh := &s.shards[maphash.String(s.seed, key)&(limiterShards-1)]
	sh.mu.Lock()
	if now.After(sh.nextSweep) {
		sh.sweep(now, s.ttl)
	}
	e := sh.m[key]
	if e == nil {
		if len(sh.m) >= maxKeysPerShard {
			sh.evictOne()
		}
		e = &limiterEntry{lim: rate.NewLimiter(s.limit, s.burst)}
		sh.m[key] = e
	}
	e.seen = now
	sh.mu.Unlock()

	// The limiter has its own lock; the shard's is not held while using it.
	if e.lim.AllowN(now, 1) {
		return 0, true
	}
	missing := 1 - e.lim.TokensAt(now)
	return time.Duration(missing / float64(s.limit) * float64(time.Second)), false
}

// sweep drops keys idle longer than ttl. Called with the lock held.
func (sh *limiterShard) sweep(now time.Time, ttl time.Duration) {
	for k, e := range sh.m {
		if now.Sub(e.seen) > ttl {
			delete(sh.m, k)
		}
	}
	sh.nextSweep = now.Add(min(ttl/2, time.Minute))
}

// evictOne drops the least recently seen of a few keys sampled from a full
// shard (map iteration starts at a random place). Called with the lock held;
// only reached when more keys than the cap are active at once, i.e. under a
// key-spraying attack, where O(1) matters more than picking the very oldest.
func (sh *limiterShard) evictOne() {
	var oldK string
	var oldT time.Time
	n := 0
	for k, e := range sh.m {
		if n == 0 || e.seen.Before(oldT) {
			oldK, oldT = k, e.seen
		}
		if n++; n == 8 {
			break
		}
	}
	delete(sh.m, oldK)
}

// DefaultFailedAuthLimit is the pace of failed authentications allowed per
// client IP when Config.FailedAuthLimit is left zero: a burst of 60, then
// one a second. Generous for a client whose token just expired, yet a flood
// of forged tokens costs one signature check a second per address at most.
var DefaultFailedAuthLimit = RateLimitConfig{Enabled: true, RPS: 1, Burst: 60}

// LimitFailedAuthentication wraps authenticate (a middleware that verifies
// the request's credentials and puts the principal in its context) so that
// requests carrying an Authorization header are refused with 429 once their
// client IP has failed authentication more than cfg allows, before
// authenticate runs: invalid tokens are limited before any signature check.
// A failure is authenticate returning an error without calling the next
// handler; what the handlers answer later does not count. A disabled cfg
// returns authenticate unchanged.
func LimitFailedAuthentication(cfg RateLimitConfig, authenticate echo.MiddlewareFunc) echo.MiddlewareFunc {
	if !cfg.Enabled {
		return authenticate
	}
	if err := cfg.validate(); err != nil {
		panic("httpserver.LimitFailedAuthentication: " + err.Error())
	}
	store := newLimiterStore(cfg)
	errLimited := apperr.New(apperr.CodeRateLimited, ReasonAuthFailuresLimited, "too many requests with invalid credentials")
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Request().Header.Get(echo.HeaderAuthorization) == "" {
				return authenticate(next)(c)
			}
			key := ipKey(ClientIP(c))
			if wait, ok := store.peek(key, time.Now()); !ok {
				secs := retryAfterSeconds(wait)
				return errLimited.With("too many requests with invalid credentials: try again in %d s", secs).
					WithRetryAfter(time.Duration(secs) * time.Second)
			}
			passed := false
			err := authenticate(func(c echo.Context) error {
				passed = true
				return next(c)
			})(c)
			if err != nil && !passed {
				store.allow(key, time.Now()) // count the failure
			}
			return err
		}
	}
}

// ReasonAuthFailuresLimited is the reason of LimitFailedAuthentication's 429.
const ReasonAuthFailuresLimited = "http.auth_failures_limited"

// peek reports whether key has a token at now without taking it, or how long
// until one is due.
func (s *limiterStore) peek(key string, now time.Time) (time.Duration, bool) {
	sh := &s.shards[maphash.String(s.seed, key)&(limiterShards-1)]
	sh.mu.Lock()
	e := sh.m[key]
	sh.mu.Unlock()
	if e == nil {
		return 0, true
	}
	if tokens := e.lim.TokensAt(now); tokens < 1 {
		return time.Duration((1 - tokens) / float64(s.limit) * float64(time.Second)), false
	}
	return 0, true
}
