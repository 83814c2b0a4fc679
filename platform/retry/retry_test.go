package retry_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/bellhop/bellhop/platform/retry"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	for n := 1; n <= 70; n++ { // past 63 doublings: no overflow
		d := retry.Backoff(10*time.Millisecond, time.Second, n)
		limit := min(time.Second, 10*time.Millisecond<<(min(n, 40)-1))
		if d < 0 || d > limit {
			t.Fatalf("Backoff(n=%d) = %s, want within [0, %s]", n, d, limit)
		}
	}
	if d := retry.Backoff(0, 0, 3); d != 0 {
		t.Fatalf("Backoff with no base and no cap = %s, want 0", d)
	}
}

func TestSleep(t *testing.T) {
	t.Parallel()
	t.Run("Waits", func(t *testing.T) {
		t.Parallel()
		if !retry.Sleep(context.Background(), time.Millisecond) {
			t.Fatal("Sleep on a live context reported false")
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if retry.Sleep(ctx, time.Hour) {
			t.Fatal("Sleep on a cancelled context reported true")
		}
	})
	t.Run("DeadlineTooSoon", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		start := time.Now()
		if retry.Sleep(ctx, time.Hour) || time.Since(start) > time.Second {
			t.Fatal("Sleep past the deadline waited or reported true")
		}
	})
}

func TestParseAfter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in       string
		min, max time.Duration
	}{
		{"", 0, 0},
		{"3", 3 * time.Second, 3 * time.Second},
		{" 120 ", 2 * time.Minute, 2 * time.Minute},
		{"0", 0, 0},
		{"-5", 0, 0},
		{"soon", 0, 0},
		{time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), 59 * time.Minute, time.Hour},
		{time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat), 0, 0},
	} {
		if got := retry.ParseAfter(tc.in); got < tc.min || got > tc.max {
			t.Errorf("ParseAfter(%q) = %s, want within [%s, %s]", tc.in, got, tc.min, tc.max)
		}
	}
}
