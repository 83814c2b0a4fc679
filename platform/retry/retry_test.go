package retry_test

import (
	"context"
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
