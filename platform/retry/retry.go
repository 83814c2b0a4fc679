// Package retry holds the waiting between attempts that every retrying
// caller shares: exponential backoff with full jitter, and a sleep that ends
// with its context.
package retry

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Backoff is the wait before attempt n+1 after n failures (n ≥ 1):
// exponential with full jitter, uniform in [0, min(max, base·2^(n-1))].
func Backoff(base, max time.Duration, n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := base << (n - 1)
	if d <= 0 || d > max {
		d = max
	}
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}

// Sleep waits d and reports true, or reports false at once when ctx is done
// or when its deadline would pass before d has (no point waiting for an
// attempt there is no time left to make).
func Sleep(ctx context.Context, d time.Duration) bool {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
		return false
	}
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// ParseAfter reads a Retry-After header value: delay-seconds or an HTTP date
// (RFC 9110 §10.2.3). It is 0 when the value is empty, malformed, negative or
// a date already past, and at most MaxAfter (a huge value overflowed into a
// negative wait; a remote may not park its callers for days).
func ParseAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0
		}
		return min(time.Duration(min(s, int64(MaxAfter/time.Second)))*time.Second, MaxAfter)
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return min(d, MaxAfter)
		}
	}
	return 0
}

// MaxAfter is the longest Retry-After ParseAfter gives.
const MaxAfter = 24 * time.Hour
