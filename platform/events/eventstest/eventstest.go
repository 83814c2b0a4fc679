// Package eventstest starts the event backbone for tests: an embedded NATS
// server with JetStream, no listener (in-process clients only) and its store
// in the test's temp directory, and background runners for relays and
// consumers that stop when the test ends.
//
// Starting a server costs tens of milliseconds; a package with many tests
// may share one by calling events.StartEmbedded in TestMain instead, with a
// module name of its own per test (each source module has its own stream).
package eventstest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/bellhop/bellhop/platform/events"
)

// Bus starts an embedded bus for tb and closes it when tb ends (after the
// runners started with Run have stopped).
func Bus(tb testing.TB) *events.Bus {
	tb.Helper()
	b, err := events.StartEmbedded(context.Background(), events.EmbeddedOptions{StoreDir: tb.TempDir()})
	if err != nil {
		tb.Fatalf("start the event bus: %v", err)
	}
	tb.Cleanup(func() { _ = b.Close() })
	return b
}

// Runner is anything with a blocking Run: a *events.Relay, a *events.Consumer,
// a module.
type Runner interface {
	Run(ctx context.Context) error
}

// Run runs r in the background until tb ends, and fails tb if Run returns an
// error. The returned stop ends it earlier (a restart, say); it waits for Run
// to return.
func Run(tb testing.TB, r Runner) (stop func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := r.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			tb.Errorf("run: %v", err)
		}
	})
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	tb.Cleanup(stop)
	return stop
}
