package provider

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/bellhop/bellhop/platform/money"
	"github.com/bellhop/bellhop/platform/retry"
)

// Policy tunes [Guard]. Zero values take the defaults.
type Policy struct {
	// AttemptTimeout bounds one attempt (default 5s).
	AttemptTimeout time.Duration
	// Attempts is how many times a call is tried, always with the same
	// idempotency key (default 3).
	Attempts int
	// Backoff is the base of the exponential backoff with full jitter between
	// attempts (default 100ms; each wait is capped at 2s).
	Backoff time.Duration
	// BreakerFailures is how many attempts failing in a row (no answer) open
	// the circuit breaker (default 5).
	BreakerFailures uint32
	// BreakerOpen is how long the breaker stays open before it lets one
	// probe call through (default 10s).
	BreakerOpen time.Duration
	Log         *slog.Logger
}

// Defaults of Policy.
const (
	DefaultAttemptTimeout  = 5 * time.Second
	DefaultAttempts        = 3
	DefaultBackoff         = 100 * time.Millisecond
	DefaultBreakerFailures = 5
	DefaultBreakerOpen     = 10 * time.Second
	maxBackoff             = 2 * time.Second
)

func (p Policy) withDefaults() Policy {
	if p.AttemptTimeout <= 0 {
		p.AttemptTimeout = DefaultAttemptTimeout
	}
	if p.Attempts <= 0 {
		p.Attempts = DefaultAttempts
	}
	if p.Backoff <= 0 {
		p.Backoff = DefaultBackoff
	}
	if p.BreakerFailures == 0 {
		p.BreakerFailures = DefaultBreakerFailures
	}
	if p.BreakerOpen <= 0 {
		p.BreakerOpen = DefaultBreakerOpen
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	return p
}

// MaxDuration is the longest a call through a Guard with this policy can
// take: every attempt timing out, with the longest backoffs between them.
func (p Policy) MaxDuration() time.Duration {
	p = p.withDefaults()
	return time.Duration(p.Attempts)*p.AttemptTimeout + time.Duration(p.Attempts-1)*maxBackoff
}

// Guarded is a Provider whose calls have a timeout per attempt, are retried
// with the same idempotency key when the provider did not answer, and go
// through a circuit breaker: once the provider has failed BreakerFailures
// attempts in a row, calls fail at once with [ErrNotAttempted] until a probe
// call succeeds. Answers (a declined card, ErrRejected, ErrNotFound) count as
// successes: the provider is up.
type Guarded struct {
	p       Provider
	pol     Policy
	log     *slog.Logger
	breaker *gobreaker.CircuitBreaker[struct{}]
	opened  atomic.Int64 // times the breaker opened, for tests and metrics
}

var _ Provider = (*Guarded)(nil)

// Guard wraps p with pol's timeouts, retries and circuit breaker.
func Guard(p Provider, pol Policy) *Guarded {
	pol = pol.withDefaults()
	g := &Guarded{p: p, pol: pol, log: pol.Log.With("component", "payments.provider", "provider", p.Name())}
	failures := pol.BreakerFailures
	g.breaker = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:    "payments->" + p.Name(),
		Timeout: pol.BreakerOpen,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= failures
		},
		OnStateChange: func(_ string, from, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				g.opened.Add(1)
			}
			g.log.Warn("payment provider circuit breaker", "from", from.String(), "to", to.String())
		},
		IsExcluded: func(err error) bool { return errors.Is(err, errCallerGone) },
	})
	return g
}

// Name implements Provider.
func (g *Guarded) Name() string { return g.p.Name() }

// Unwrap returns the guarded provider.
func (g *Guarded) Unwrap() Provider { return g.p }

// BreakerOpen reports whether calls are currently refused without being sent.
func (g *Guarded) BreakerOpen() bool { return g.breaker.State() == gobreaker.StateOpen }

// TimesOpened is how often the breaker has opened since Guard.
func (g *Guarded) TimesOpened() int64 { return g.opened.Load() }

// Policy is the policy in force, with its defaults.
func (g *Guarded) Policy() Policy { return g.pol }

// Charge implements Provider. The answer is [Normalize]d.
func (g *Guarded) Charge(ctx context.Context, req ChargeRequest) (ChargeResult, error) {
	var res ChargeResult
	err := g.call(ctx, "charge", req.IdempotencyKey, func(ctx context.Context) error {
		r, err := g.p.Charge(ctx, req)
		if err == nil {
			res = Normalize(r)
		}
		return err
	})
	return res, err
}

// Refund implements Provider. The answer is [NormalizeRefund]d.
func (g *Guarded) Refund(ctx context.Context, key, providerRef string, amount money.Money) (RefundResult, error) {
	var res RefundResult
	err := g.call(ctx, "refund", key, func(ctx context.Context) error {
		r, err := g.p.Refund(ctx, key, providerRef, amount)
		if err == nil {
			res = NormalizeRefund(r)
		}
		return err
	})
	return res, err
}

// Lookup implements Provider. The answer is [Normalize]d.
func (g *Guarded) Lookup(ctx context.Context, key string) (ChargeResult, error) {
	var res ChargeResult
	err := g.call(ctx, "lookup", key, func(ctx context.Context) error {
		r, err := g.p.Lookup(ctx, key)
		if err == nil {
			res = Normalize(r)
		}
		return err
	})
	return res, err
}

var errCallerGone = errors.New("caller went away")

// call runs fn up to Attempts times through the breaker. It returns nil, the
// provider's answer as an error (ErrRejected, ErrNotFound, ...), the last
// ErrUnavailable, or ErrNotAttempted if no attempt was ever sent.
func (g *Guarded) call(ctx context.Context, op, key string, fn func(context.Context) error) error {
	sent := false
	var last error
	for attempt := 1; attempt <= g.pol.Attempts; attempt++ {
		if attempt > 1 && !retry.Sleep(ctx, retry.Backoff(g.pol.Backoff, maxBackoff, attempt-1)) {
			break
		}
		var callErr error
		_, err := g.breaker.Execute(func() (struct{}, error) {
			sent = true
			actx, cancel := context.WithTimeout(ctx, g.pol.AttemptTimeout)
			defer cancel()
			callErr = fn(actx)
			if callErr != nil && !errors.Is(callErr, ErrUnavailable) && !errors.Is(callErr, ErrRejected) &&
				!errors.Is(callErr, ErrNotFound) {
				// An error the provider did not classify (a deadline, say): no answer.
				callErr = Unavailable(callErr)
			}
			switch {
			case callErr == nil || !errors.Is(callErr, ErrUnavailable):
				return struct{}{}, nil // an answer: the provider is up
			case ctx.Err() != nil:
				return struct{}{}, fmt.Errorf("%w: %w", errCallerGone, callErr) // not the provider's fault
			}
			return struct{}{}, callErr
		})
		if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
			if !sent {
				return fmt.Errorf("%s: %w", op, ErrNotAttempted)
			}
			return Unavailable(fmt.Errorf("%s: circuit breaker opened after an attempt that got no answer: %w", op, last))
		}
		if callErr == nil || !errors.Is(callErr, ErrUnavailable) {
			return callErr
		}
		last = callErr
		g.log.Warn("payment provider did not answer", "op", op, "key", key, "attempt", attempt, "of", g.pol.Attempts, "err", callErr)
		if ctx.Err() != nil {
			break
		}
	}
	return last
}
