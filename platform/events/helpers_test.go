package events

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/db/dbtest"
)

// testBus is the one embedded NATS server (no listener) of this package's
// tests; every test uses module names of its own, hence streams of its own.
var testBus *Bus

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "events-test-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testBus, err = StartEmbedded(context.Background(), EmbeddedOptions{StoreDir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = testBus.Close()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

var nameSeq atomic.Int64

// uniq returns a fresh module name ("pub7"), so tests never share a stream.
func uniq(prefix string) string { return fmt.Sprintf("%s%d", prefix, nameSeq.Add(1)) }

// room is a module's state in these tests; effect is what a consumer did.
type room struct {
	ID    int `gorm:"primaryKey"`
	Total int
}

type effect struct {
	ID      int64 `gorm:"primaryKey;autoIncrement"`
	EventID string
	Note    string
}

var stateSteps = []db.Migration{
	{ID: "0001_state", Up: func(tx *gorm.DB) error {
		return tx.Migrator().CreateTable(&room{}, &effect{})
	}},
}

// openDB opens a migrated module database: the test state plus Migrations.
func openDB(tb testing.TB, module string) *db.DB {
	tb.Helper()
	return dbtest.Open(tb, module, append(append([]db.Migration{}, stateSteps...), Migrations...))
}

// background runs fn until the test ends (or stop is called) and fails the
// test if fn returns an error.
func background(tb testing.TB, fn func(ctx context.Context) error) (stop func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := fn(ctx); err != nil && !errors.Is(err, context.Canceled) {
			tb.Errorf("background run: %v", err)
		}
	})
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	tb.Cleanup(stop)
	return stop
}

// eventually polls cond until it holds or timeout passes.
func eventually(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func count(tb testing.TB, d *gorm.DB, model any, where ...any) int64 {
	tb.Helper()
	var n int64
	q := d.Model(model)
	if len(where) > 0 {
		q = q.Where(where[0], where[1:]...)
	}
	if err := q.Count(&n).Error; err != nil {
		tb.Fatalf("count: %v", err)
	}
	return n
}

// roomChanged is the payload of the test events.
type roomChanged struct {
	RoomID int `json:"room_id"`
	Total  int `json:"total"`
	Seq    int `json:"seq"`
}

const roomChangedV1 = "bellhop.catalog.room_type.changed.v1"

// changeRoom is a module's write: the state change and its event, in one
// transaction, then a nudge to the relay (when there is one).
func changeRoom(tb testing.TB, d *gorm.DB, r *Relay, source string, seq int) Event {
	tb.Helper()
	evt, err := New(context.Background(), source, roomChangedV1, roomChanged{RoomID: seq, Total: seq * 2, Seq: seq})
	if err != nil {
		tb.Fatal(err)
	}
	err = d.Transaction(func(tx *gorm.DB) error {
		if err := tx.Save(&room{ID: seq, Total: seq * 2}).Error; err != nil {
			return err
		}
		return Record(tx, evt)
	})
	if err != nil {
		tb.Fatal(err)
	}
	if r != nil {
		r.Notify()
	}
	return evt
}

// recordingHandler writes an effect row per applied event.
func recordingHandler(note string) Handler {
	return func(ctx context.Context, tx *gorm.DB, evt Event) error {
		return tx.Create(&effect{EventID: evt.ID, Note: note}).Error
	}
}

func newRelay(tb testing.TB, module string, d *gorm.DB, o RelayOptions) *Relay {
	tb.Helper()
	o.Module, o.DB = module, d
	r, err := NewRelay(testBus, o)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// fastRetries keep the retry tests short.
var fastRetries = Backoff{Initial: 10 * time.Millisecond, Max: 40 * time.Millisecond}
