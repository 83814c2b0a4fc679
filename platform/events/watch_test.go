package events

import (
	"context"
	"sync"
	"testing"
	"time"
)

// Watch hands over the events published before it started (since its start
// time) and those published after, each once, and stops with its context.
func TestWatchDeliversPastAndNewEvents(t *testing.T) {
	t.Parallel()
	pub := uniq("watched")
	d := openDB(t, pub)
	r := newRelay(t, pub, d.DB, RelayOptions{})
	background(t, r.Run)
	first := changeRoom(t, d.DB, r, pub, 1)

	var mu sync.Mutex
	var seen []string
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		testBus.Watch(ctx, pub, Subject(pub, roomChangedV1), time.Now().Add(-time.Minute), func(evt Event) {
			mu.Lock()
			seen = append(seen, evt.ID)
			mu.Unlock()
		})
	}()
	second := changeRoom(t, d.DB, r, pub, 2)
	eventually(t, 5*time.Second, "both events watched", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) >= 2
	})
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return when its context ended")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0] != first.ID || seen[1] != second.ID {
		t.Fatalf("watched %v, want [%s %s]", seen, first.ID, second.ID)
	}
}
