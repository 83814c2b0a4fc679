package db

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitQueued waits until the gate has n waiters.
func waitQueued(t *testing.T, g *writeGate, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		g.mu.Lock()
		got := len(g.high) + len(g.low)
		g.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d waiters, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Work under way goes first; within a priority, first come first served;
// a waiter whose context ends leaves the queue and the gate works on.
func TestWriteGate_Order(t *testing.T) {
	g := &writeGate{}
	ctx := context.Background()
	if err := g.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	enter := func(name string, ctx context.Context, queued int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.acquire(ctx); err != nil {
				mu.Lock()
				order = append(order, name+":"+err.Error())
				mu.Unlock()
				return
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			g.release()
		}()
		waitQueued(t, g, queued)
	}
	gone, cancel := context.WithCancel(ctx)
	enter("new-1", ctx, 1)
	enter("new-2", gone, 2)
	enter("new-3", ctx, 3)
	enter("saga-1", WithPriority(ctx), 4)
	enter("saga-2", WithPriority(ctx), 5)
	cancel()
	waitQueued(t, g, 4)
	g.release()
	wg.Wait()
	want := []string{"new-2:context canceled", "saga-1", "saga-2", "new-1", "new-3"}
	if len(order) != len(want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %v, want %v", order, want)
		}
	}
	if err := g.acquire(ctx); err != nil { // free again
		t.Fatal(err)
	}
	g.release()
}

// Many writers, some giving up: never two inside at once, and the gate ends
// free.
func TestWriteGate_Exclusive(t *testing.T) {
	g := &writeGate{}
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			if i%3 == 0 {
				ctx = WithPriority(ctx)
			}
			if i%5 == 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, time.Duration(i)*50*time.Microsecond)
				defer cancel()
			}
			for range 50 {
				if err := g.acquire(ctx); err != nil {
					if !errors.Is(err, context.DeadlineExceeded) {
						t.Error(err)
					}
					return
				}
				n := inside.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				inside.Add(-1)
				g.release()
			}
		}()
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Fatalf("%d writers inside at once", most.Load())
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.busy || len(g.high)+len(g.low) != 0 {
		t.Fatalf("gate not free at the end: busy %v, %d waiting", g.busy, len(g.high)+len(g.low))
	}
}
