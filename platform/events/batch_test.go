package events

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"gorm.io/gorm"
)

// fakeMsg is a delivered message, for driving a batch by hand.
type fakeMsg struct {
	jetstream.Msg // not implemented: panics if the consumer calls anything else
	subject       string
	data          []byte
	header        nats.Header
	delivered     uint64

	mu      sync.Mutex
	outcome string // "ack", "nak", "term"
}

func newFakeMsg(t *testing.T, evt Event, delivered uint64) *fakeMsg {
	t.Helper()
	data, err := json.Marshal(evt)
	if err != nil {
		t.Fatal(err)
	}
	h := nats.Header{}
	h.Set(jetstream.MsgIDHeader, evt.ID)
	return &fakeMsg{subject: Subject(evt.Source, evt.Type), data: data, header: h, delivered: delivered}
}

func (m *fakeMsg) Metadata() (*jetstream.MsgMetadata, error) {
	return &jetstream.MsgMetadata{NumDelivered: m.delivered, Timestamp: time.Now()}, nil
}
func (m *fakeMsg) Data() []byte                       { return m.data }
func (m *fakeMsg) Headers() nats.Header               { return m.header }
func (m *fakeMsg) Subject() string                    { return m.subject }
func (m *fakeMsg) Ack() error                         { return m.settle("ack") }
func (m *fakeMsg) NakWithDelay(time.Duration) error   { return m.settle("nak") }
func (m *fakeMsg) TermWithReason(reason string) error { return m.settle("term") }
func (m *fakeMsg) settle(outcome string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.outcome = outcome
	return nil
}
func (m *fakeMsg) result() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.outcome
}

// One batch, one transaction: a failing event rolls back alone (its writes
// and its inbox row), the others commit; a copy inside the batch and an
// event applied before are acknowledged and skipped; a message that is not
// an envelope becomes a dead letter at once.
func TestConsumer_BatchIsolatesAFailingEvent(t *testing.T) {
	dst := uniq("sub")
	sub := openDB(t, dst)
	ctx := context.Background()
	newEvt := func(i int) Event {
		e, err := New(ctx, "pub", roomChangedV1, roomChanged{RoomID: i})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	ok1, bad, old, ok2 := newEvt(1), newEvt(2), newEvt(3), newEvt(4)
	h := func(ctx context.Context, tx *gorm.DB, evt Event) error {
		if err := tx.Create(&effect{EventID: evt.ID}).Error; err != nil {
			return err
		}
		if evt.ID == bad.ID {
			return errors.New("cannot")
		}
		return nil
	}
	c, err := testBus.Subscribe(dst, "batch", []string{"bellhop.pub.>"}, h, SubscribeOptions{DB: sub.DB})
	if err != nil {
		t.Fatal(err)
	}
	// old was applied by an earlier delivery.
	if _, err := c.apply(ctx, sub.DB, old, nil); err != nil {
		t.Fatal(err)
	}

	poison := &fakeMsg{subject: "bellhop.pub.x.v1", data: []byte("not json"), header: nats.Header{}, delivered: 1}
	poison.header.Set(jetstream.MsgIDHeader, "poison-1")
	msgs := map[string]*fakeMsg{
		"ok1": newFakeMsg(t, ok1, 1), "bad": newFakeMsg(t, bad, 1), "ok1-copy": newFakeMsg(t, ok1, 1),
		"old": newFakeMsg(t, old, 2), "poison": poison, "ok2": newFakeMsg(t, ok2, 1),
	}
	c.handleBatch(ctx, StreamName("pub"), []jetstream.Msg{
		msgs["ok1"], msgs["bad"], msgs["ok1-copy"], msgs["old"], msgs["poison"], msgs["ok2"],
	})

	want := map[string]string{"ok1": "ack", "bad": "nak", "ok1-copy": "ack", "old": "ack", "poison": "term", "ok2": "ack"}
	for k, w := range want {
		if got := msgs[k].result(); got != w {
			t.Errorf("%s: %q, want %q", k, got, w)
		}
	}
	for _, tc := range []struct {
		evt  Event
		want int64
	}{{ok1, 1}, {bad, 0}, {old, 1}, {ok2, 1}} {
		if n := count(t, sub.DB, &effect{}, "event_id = ?", tc.evt.ID); n != tc.want {
			t.Errorf("effects of %v = %d, want %d", tc.evt.Data, n, tc.want)
		}
		if n := count(t, sub.DB, &inboxRow{}, "event_id = ?", tc.evt.ID); n != tc.want {
			t.Errorf("inbox rows of %v = %d, want %d", tc.evt.Data, n, tc.want)
		}
	}
	dls, err := ListDeadLetters(ctx, sub.DB)
	if err != nil || len(dls) != 1 || dls[0].EventID != "poison-1" || string(dls[0].Payload) != "not json" {
		t.Errorf("dead letters = %+v, %v", dls, err)
	}
	m := testBus.metrics
	for name, tc := range map[string]struct {
		got  float64
		want float64
	}{
		"handled":       {testutil.ToFloat64(m.handled.WithLabelValues(dst, "batch")), 2},
		"duplicates":    {testutil.ToFloat64(m.duplicates.WithLabelValues(dst, "batch")), 2},
		"retried":       {testutil.ToFloat64(m.retried.WithLabelValues(dst, "batch")), 1},
		"dead lettered": {testutil.ToFloat64(m.deadLettered.WithLabelValues(dst, "batch")), 1},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", name, tc.got, tc.want)
		}
	}
}

// The last allowed attempt of a failing event in a batch makes it a dead
// letter; the events beside it are unaffected.
func TestConsumer_BatchDeadLettersOnTheLastAttempt(t *testing.T) {
	dst := uniq("sub")
	sub := openDB(t, dst)
	ctx := context.Background()
	good, _ := New(ctx, "pub", roomChangedV1, roomChanged{RoomID: 1})
	bad, _ := New(ctx, "pub", roomChangedV1, roomChanged{RoomID: 2})
	h := func(ctx context.Context, tx *gorm.DB, evt Event) error {
		if evt.ID == bad.ID {
			return errors.New("still broken")
		}
		return tx.Create(&effect{EventID: evt.ID}).Error
	}
	c, err := testBus.Subscribe(dst, "last", []string{"bellhop.pub.>"}, h, SubscribeOptions{DB: sub.DB, MaxDeliver: 3})
	if err != nil {
		t.Fatal(err)
	}
	mGood, mBad := newFakeMsg(t, good, 1), newFakeMsg(t, bad, 3)
	c.handleBatch(ctx, StreamName("pub"), []jetstream.Msg{mBad, mGood})
	if mGood.result() != "ack" || mBad.result() != "term" {
		t.Fatalf("good %q, bad %q", mGood.result(), mBad.result())
	}
	dls, _ := ListDeadLetters(ctx, sub.DB)
	if len(dls) != 1 || dls[0].EventID != bad.ID || dls[0].Attempts != 3 || dls[0].Error != "still broken" {
		t.Errorf("dead letters = %+v", dls)
	}
	if n := count(t, sub.DB, &effect{}); n != 1 {
		t.Errorf("effects = %d, want 1", n)
	}
}
