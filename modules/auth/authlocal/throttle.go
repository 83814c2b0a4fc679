package authlocal

import (
	"sync"
	"time"
)

// ThrottleConfig paces password checks: sign-in attempts per (email
// address, client IP) (whether an account has the address or not, so the
// pacing tells nothing about accounts) and current_password checks per account.
// After FreeFailures failures in a row, each further failure makes the
// address wait BaseDelay, doubled per failure up to MaxDelay. A success
// clears the count; an address forgotten for Forget starts afresh.
type ThrottleConfig struct {
	FreeFailures int
	BaseDelay    time.Duration
	MaxDelay     time.Duration
	Forget       time.Duration
}

// DefaultThrottle: 5 free failures, then 1 s, 2 s, 4 s ... up to 5 minutes.
var DefaultThrottle = ThrottleConfig{FreeFailures: 5, BaseDelay: time.Second, MaxDelay: 5 * time.Minute, Forget: 30 * time.Minute}

// maxThrottled bounds the addresses remembered (a flood of made-up emails
// must not take memory without bound); past it the oldest half is dropped.
const maxThrottled = 100_000

type throttle struct {
	cfg ThrottleConfig
	mu  sync.Mutex
	m   map[string]*failures
}

type failures struct {
	n     int
	last  time.Time
	until time.Time
}

func newThrottle(cfg ThrottleConfig) *throttle {
	if cfg.FreeFailures <= 0 {
		cfg.FreeFailures = DefaultThrottle.FreeFailures
	}
	if cfg.BaseDelay <= 0 {
		cfg.BaseDelay = DefaultThrottle.BaseDelay
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = DefaultThrottle.MaxDelay
	}
	if cfg.Forget <= 0 {
		cfg.Forget = DefaultThrottle.Forget
	}
	return &throttle{cfg: cfg, m: map[string]*failures{}}
}

// wait is how long key must wait before its next attempt (0: go ahead).
func (t *throttle) wait(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.m[key]
	if f == nil || now.Sub(f.last) > t.cfg.Forget {
		return 0
	}
	if d := f.until.Sub(now); d > 0 {
		return d
	}
	return 0
}

// fail counts a failure for key.
func (t *throttle) fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.m[key]
	if f == nil || now.Sub(f.last) > t.cfg.Forget {
		if len(t.m) >= maxThrottled {
			t.prune(now)
		}
		f = &failures{}
		t.m[key] = f
	}
	f.n++
	f.last = now
	if over := f.n - t.cfg.FreeFailures; over > 0 {
		d := t.cfg.MaxDelay
		if over < 30 {
			d = min(t.cfg.BaseDelay<<(over-1), t.cfg.MaxDelay)
		}
		f.until = now.Add(d)
	}
}

// succeed clears key's failures.
func (t *throttle) succeed(key string) {
	t.mu.Lock()
	delete(t.m, key)
	t.mu.Unlock()
}

// prune drops forgotten entries, and if that is not enough, the older half.
// Called with the lock held.
func (t *throttle) prune(now time.Time) {
	for k, f := range t.m {
		if now.Sub(f.last) > t.cfg.Forget {
			delete(t.m, k)
		}
	}
	if len(t.m) < maxThrottled {
		return
	}
	cut := now.Add(-t.cfg.Forget / 2)
	for k, f := range t.m {
		if f.last.Before(cut) || len(t.m) >= maxThrottled {
			delete(t.m, k)
		}
	}
}
