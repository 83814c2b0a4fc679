package events

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"
)

// woken reports whether r has a pending wake-up, and takes it.
func woken(r *Relay) bool {
	select {
	case <-r.wake:
		return true
	default:
		return false
	}
}

// writeRoom is a module's write through its outbox: a room and its event.
func writeRoom(ctx context.Context, o *Outbox, source string, seq int, fail error) (Event, error) {
	evt, err := New(ctx, source, roomChangedV1, roomChanged{RoomID: seq, Total: seq, Seq: seq})
	if err != nil {
		return Event{}, err
	}
	return evt, o.Transaction(ctx, func(tx *gorm.DB) error {
		if err := tx.Save(&room{ID: seq, Total: seq}).Error; err != nil {
			return err
		}
		if err := Record(tx, evt); err != nil {
			return err
		}
		return fail
	})
}

// The relay is woken after a commit, never after a rollback, and the state
// and the event commit or roll back together.
func TestOutbox_WakesTheRelayAfterCommitOnly(t *testing.T) {
	t.Parallel()
	module := uniq("obx")
	d := openDB(t, module)
	relay := newRelay(t, module, d.DB, RelayOptions{}) // not running: its wake-ups stay pending
	o := NewOutbox(d.DB, relay)
	ctx := context.Background()

	boom := errors.New("boom")
	if _, err := writeRoom(ctx, o, module, 1, boom); !errors.Is(err, boom) {
		t.Fatalf("a failing write: err = %v, want %v", err, boom)
	}
	if woken(relay) {
		t.Error("the relay was woken after a rollback")
	}
	if n := count(t, d.DB, &room{}); n != 0 {
		t.Errorf("rooms after a rollback = %d, want 0", n)
	}
	if n := count(t, d.DB, &outboxRow{}); n != 0 {
		t.Errorf("outbox rows after a rollback = %d, want 0", n)
	}

	evt, err := writeRoom(ctx, o, module, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !woken(relay) {
		t.Error("the relay was not woken after a commit")
	}
	if n := count(t, d.DB, &room{}, "id = ?", 2); n != 1 {
		t.Errorf("rooms after a commit = %d, want 1", n)
	}
	if n := count(t, d.DB, &outboxRow{}, "event_id = ? AND published_at IS NULL", evt.ID); n != 1 {
		t.Errorf("pending outbox rows for the event = %d, want 1", n)
	}

	// A commit that fails (here: the context is done before it begins) does
	// not wake the relay either.
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := writeRoom(done, o, module, 3, nil); err == nil {
		t.Error("a write on a done context succeeded")
	}
	if woken(relay) {
		t.Error("the relay was woken although nothing committed")
	}
}

// Without a bus (tests, seeding) the outbox only commits: the events wait
// for a relay, and Run only waits for its context.
func TestWire_WithoutABusOnlyCommits(t *testing.T) {
	t.Parallel()
	module := uniq("nobus")
	d := openDB(t, module)
	me, err := Wire(Declaration{
		Module:    module,
		Publishes: []string{roomChangedV1},
		Consumes:  []Subscription{{Name: "rooms", Subjects: []string{Subject("elsewhere", "bellhop.>")}, Handler: recordingHandler("x")}},
	}, Wiring{DB: d.DB})
	if err != nil {
		t.Fatal(err)
	}
	if len(me.Consumers()) != 0 {
		t.Errorf("consumers without a bus = %d, want 0", len(me.Consumers()))
	}
	if got := me.Declaration().Publishes; len(got) != 1 || got[0] != roomChangedV1 {
		t.Errorf("Declaration().Publishes = %v", got)
	}
	evt, err := writeRoom(context.Background(), me.Outbox(), module, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, d.DB, &outboxRow{}, "event_id = ? AND published_at IS NULL", evt.ID); n != 1 {
		t.Errorf("pending outbox rows = %d, want 1", n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- me.Run(ctx) }()
	cancel()
	select {
	case err := <-ran:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context was done")
	}
}

// With a bus, Wire builds the publisher's relay and the consumer's
// subscription from their declarations: a write through one module's outbox
// reaches the other module's handler, and its Committed hook.
func TestWire_WithABusPublishesAndConsumes(t *testing.T) {
	t.Parallel()
	pub, sub := uniq("wpub"), uniq("wsub")
	pdb, sdb := openDB(t, pub), openDB(t, sub)
	publisher, err := Wire(Declaration{Module: pub, Publishes: []string{roomChangedV1}}, Wiring{DB: pdb.DB, Bus: testBus})
	if err != nil {
		t.Fatal(err)
	}
	var committed atomic.Int64
	consumer, err := Wire(Declaration{
		Module: sub,
		Consumes: []Subscription{{
			Name:      "rooms",
			Subjects:  []string{Subject(pub, "bellhop.catalog.>")},
			Handler:   recordingHandler("applied"),
			Committed: func(_ context.Context, applied []Event) { committed.Add(int64(len(applied))) },
		}},
	}, Wiring{DB: sdb.DB, Bus: testBus})
	if err != nil {
		t.Fatal(err)
	}
	if got := consumer.Consumers(); len(got) != 1 || got[0].Name() != sub+".rooms" {
		t.Fatalf("consumers = %v", got)
	}
	background(t, publisher.Run)
	background(t, consumer.Run)

	var sent []Event
	for i := 1; i <= 3; i++ {
		evt, err := writeRoom(context.Background(), publisher.Outbox(), pub, i, nil)
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, evt)
	}
	eventually(t, 10*time.Second, "the consumer to apply the three events", func() bool {
		return count(t, sdb.DB, &effect{}) == 3 && committed.Load() == 3
	})
	for _, evt := range sent {
		if n := count(t, sdb.DB, &effect{}, "event_id = ?", evt.ID); n != 1 {
			t.Errorf("effects of %s = %d, want 1", evt.ID, n)
		}
	}
	eventually(t, 10*time.Second, "the relay to mark the rows published", func() bool {
		return count(t, pdb.DB, &outboxRow{}, "source = ? AND published_at IS NULL", pub) == 0
	})
}

// A module that only consumes runs no relay: its outbox only commits.
func TestWire_AConsumerOnlyModuleRunsNoRelay(t *testing.T) {
	t.Parallel()
	module := uniq("only")
	d := openDB(t, module)
	me, err := Wire(Declaration{
		Module:   module,
		Consumes: []Subscription{{Name: "rooms", Subjects: []string{Subject("elsewhere", "bellhop.>")}, Handler: recordingHandler("x")}},
	}, Wiring{DB: d.DB, Bus: testBus})
	if err != nil {
		t.Fatal(err)
	}
	if me.relay != nil || me.outbox.relay != nil {
		t.Error("a module that publishes nothing got a relay")
	}
	if len(me.Consumers()) != 1 {
		t.Errorf("consumers = %d, want 1", len(me.Consumers()))
	}
}

func TestWire_RejectsBadDeclarations(t *testing.T) {
	t.Parallel()
	d := openDB(t, uniq("bad"))
	h := recordingHandler("x")
	subj := []string{Subject("elsewhere", "bellhop.>")}
	for _, tc := range []struct {
		name string
		decl Declaration
		w    Wiring
		want string
	}{
		{"bad module", Declaration{Module: "Bad"}, Wiring{DB: d.DB}, "invalid module name"},
		{"no database", Declaration{Module: "ok"}, Wiring{}, "no database"},
		{"bad type", Declaration{Module: "ok", Publishes: []string{"catalog.changed"}}, Wiring{DB: d.DB}, "published type"},
		{"bad subscription", Declaration{Module: "ok", Consumes: []Subscription{{Name: "Bad", Subjects: subj, Handler: h}}}, Wiring{DB: d.DB}, "invalid subscription name"},
		{"twice", Declaration{Module: "ok", Consumes: []Subscription{{Name: "a", Subjects: subj, Handler: h}, {Name: "a", Subjects: subj, Handler: h}}}, Wiring{DB: d.DB}, "declared twice"},
		{"no handler", Declaration{Module: "ok", Consumes: []Subscription{{Name: "a", Subjects: subj}}}, Wiring{DB: d.DB}, "handler and subjects"},
		{"no subjects", Declaration{Module: "ok", Consumes: []Subscription{{Name: "a", Handler: h}}}, Wiring{DB: d.DB}, "handler and subjects"},
		{"bad subject", Declaration{Module: "ok", Consumes: []Subscription{{Name: "a", Subjects: []string{"other.x"}, Handler: h}}}, Wiring{DB: d.DB}, "subject"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Without a bus too: a declaration is checked in every test.
			_, err := Wire(tc.decl, tc.w)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Wire: err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
