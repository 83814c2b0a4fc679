package events

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"gorm.io/gorm"

	"github.com/bellhop/bellhop/platform/observability"
)

func TestNew_IsACloudEvent(t *testing.T) {
	ctx := observability.WithRequestID(context.Background(), "req-123")
	evt, err := New(ctx, "search", roomChangedV1, roomChanged{RoomID: 7, Total: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ulid.ParseStrict(evt.ID); err != nil {
		t.Errorf("id %q is not a ULID: %v", evt.ID, err)
	}
	raw, err := json.Marshal(evt)
	if err != nil {
		t.Fatal(err)
	}
	var attrs map[string]any
	if err := json.Unmarshal(raw, &attrs); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"specversion": "1.0", "source": "search", "type": roomChangedV1,
		"datacontenttype": "application/json", "correlationid": "req-123",
	}
	for k, v := range want {
		if attrs[k] != v {
			t.Errorf("%s = %v, want %v", k, attrs[k], v)
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, attrs["time"].(string)); err != nil {
		t.Errorf("time: %v", err)
	}
	if data, _ := attrs["data"].(map[string]any); data["room_id"] != float64(7) {
		t.Errorf("data = %v", attrs["data"])
	}

	var got roomChanged
	if err := evt.Decode(&got); err != nil || got.RoomID != 7 || got.Total != 3 {
		t.Fatalf("Decode = %+v, %v", got, err)
	}
	var wrong struct {
		RoomID string `json:"room_id"`
	}
	if err := evt.Decode(&wrong); !IsPermanent(err) {
		t.Errorf("a payload of the wrong shape: err = %v, want a permanent error", err)
	}

	// Without a request id the event starts its own chain.
	first, _ := New(context.Background(), "search", roomChangedV1, nil)
	if first.CorrelationID != first.ID || first.CausationID != "" {
		t.Errorf("correlation %q, causation %q for a first event %s", first.CorrelationID, first.CausationID, first.ID)
	}
}

func TestNew_RejectsBadNames(t *testing.T) {
	for _, tc := range []struct{ source, typ string }{
		{"Search", roomChangedV1},
		{"", roomChangedV1},
		{"search", "catalog.changed.v1"},               // no bellhop. prefix
		{"search", "bellhop.catalog.changed"},          // no version
		{"search", "bellhop.catalog.*.v1"},             // a wildcard
		{"search", "bellhop.catalog.room type.one.v1"}, // a space
	} {
		if _, err := New(context.Background(), tc.source, tc.typ, nil); err == nil {
			t.Errorf("New(%q, %q) accepted", tc.source, tc.typ)
		}
	}
	if got := Subject("search", roomChangedV1); got != "bellhop.search.catalog.room_type.changed.v1" {
		t.Errorf("Subject = %q", got)
	}
}

// A state change and its event commit or roll back together.
func TestRecord_CommitsAndRollsBackWithTheStateChange(t *testing.T) {
	d := openDB(t, "pub")
	evt := changeRoom(t, d.DB, nil, "pub", 1)
	if n := count(t, d.DB, &room{}); n != 1 {
		t.Fatalf("rooms = %d", n)
	}
	var row outboxRow
	if err := d.Where("event_id = ?", evt.ID).Take(&row).Error; err != nil {
		t.Fatalf("outbox row: %v", err)
	}
	if row.Subject != "bellhop.pub.catalog.room_type.changed.v1" || row.PublishedAt != nil || row.Source != "pub" {
		t.Errorf("outbox row = %+v", row)
	}
	stored, err := parseEvent(row.Payload)
	if err != nil || stored.ID != evt.ID || string(stored.Data) != string(evt.Data) {
		t.Errorf("stored envelope = %+v, %v", stored, err)
	}

	boom := errors.New("boom")
	rolled, _ := New(context.Background(), "pub", roomChangedV1, roomChanged{RoomID: 2})
	err = d.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&room{ID: 2, Total: 4}).Error; err != nil {
			return err
		}
		if err := Record(tx, rolled); err != nil {
			return err
		}
		return boom // the business rule fails after the event was recorded
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if n := count(t, d.DB, &room{}); n != 1 {
		t.Errorf("rooms = %d after rollback, want 1", n)
	}
	if n := count(t, d.DB, &outboxRow{}); n != 1 {
		t.Errorf("outbox rows = %d after rollback, want 1", n)
	}

	// A bad envelope fails the transaction instead of reaching the outbox.
	err = d.Transaction(func(tx *gorm.DB) error { return Record(tx, Event{ID: "x"}) })
	if err == nil {
		t.Error("Record accepted an invalid event")
	}
}

// streamMessages reads every message of a stream, in stream order.
func streamMessages(t *testing.T, module string) []jetstream.RawStreamMsg {
	t.Helper()
	ctx := context.Background()
	s, err := testBus.js.Stream(ctx, StreamName(module))
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get %d: %v", seq, err)
		}
		out = append(out, *m)
	}
	return out
}

func TestRelay_PublishesInOrderOnceAndCatchesUp(t *testing.T) {
	src := uniq("pub")
	d := openDB(t, src)
	var want []string
	// Written before the relay runs: it catches up when it starts.
	for i := range 40 {
		want = append(want, changeRoom(t, d.DB, nil, src, i).ID)
	}
	r := newRelay(t, src, d.DB, RelayOptions{BatchSize: 16, PollInterval: 50 * time.Millisecond})
	background(t, r.Run)
	eventually(t, 5*time.Second, "the backlog to be published", func() bool {
		return count(t, d.DB, &outboxRow{}, "published_at IS NULL") == 0
	})
	// Written while it runs, with a notification.
	for i := 40; i < 50; i++ {
		want = append(want, changeRoom(t, d.DB, r, src, i).ID)
	}
	// Written by "another process": no notification, the fallback poll finds it.
	want = append(want, changeRoom(t, d.DB, nil, src, 50).ID)
	eventually(t, 5*time.Second, "every row to be published", func() bool {
		return count(t, d.DB, &outboxRow{}, "published_at IS NULL") == 0
	})

	msgs := streamMessages(t, src)
	if len(msgs) != len(want) {
		t.Fatalf("stream holds %d messages, want %d", len(msgs), len(want))
	}
	for i, m := range msgs {
		if got := m.Header.Get(jetstream.MsgIDHeader); got != want[i] {
			t.Fatalf("message %d has id %s, want %s (out of order or duplicated)", i, got, want[i])
		}
		if ct := m.Header.Get("Content-Type"); ct != ContentTypeCloudEvents {
			t.Errorf("Content-Type = %q", ct)
		}
		evt, err := parseEvent(m.Data)
		if err != nil || evt.ID != want[i] || m.Subject != Subject(src, roomChangedV1) {
			t.Fatalf("message %d: subject %s, %+v, %v", i, m.Subject, evt, err)
		}
	}
	if got := testutil.ToFloat64(testBus.metrics.published.WithLabelValues(src)); got != float64(len(want)) {
		t.Errorf("published metric = %v, want %d", got, len(want))
	}
	eventually(t, 2*time.Second, "the backlog gauge to read 0", func() bool {
		return testutil.ToFloat64(testBus.metrics.backlog.WithLabelValues(src)) == 0
	})
}

// A row JetStream refuses (here a tampered subject no stream takes) blocks
// the outbox: it is retried, counted and visible as backlog and age, and no
// row behind it is marked published before it. (A row of the same batch may
// reach the stream first: see Relay's doc on order.)
func TestRelay_BacklogMetricsWhilePublishingFails(t *testing.T) {
	src := uniq("pub")
	d := openDB(t, src)
	poison := changeRoom(t, d.DB, nil, src, 1)
	if err := d.Model(&outboxRow{}).Where("event_id = ?", poison.ID).Update("subject", "nowhere.at.all").Error; err != nil {
		t.Fatal(err)
	}
	r := newRelay(t, src, d.DB, RelayOptions{PollInterval: 20 * time.Millisecond, AckTimeout: 200 * time.Millisecond})
	background(t, r.Run)
	changeRoom(t, d.DB, r, src, 2)
	m := testBus.metrics
	eventually(t, 5*time.Second, "publish errors and a backlog of 2", func() bool {
		return testutil.ToFloat64(m.publishErrors.WithLabelValues(src)) >= 2 &&
			testutil.ToFloat64(m.backlog.WithLabelValues(src)) == 2 &&
			testutil.ToFloat64(m.oldestPending.WithLabelValues(src)) > 0
	})
	if got := testutil.ToFloat64(m.published.WithLabelValues(src)); got != 0 {
		t.Errorf("published = %v: a row overtook the blocked one", got)
	}

	// Repaired, the relay carries on in order.
	d.Model(&outboxRow{}).Where("event_id = ?", poison.ID).Update("subject", Subject(src, roomChangedV1))
	eventually(t, 10*time.Second, "the backlog to clear", func() bool {
		return count(t, d.DB, &outboxRow{}, "published_at IS NULL") == 0
	})
	ids := map[string]int{}
	for _, msg := range streamMessages(t, src) {
		ids[msg.Header.Get(jetstream.MsgIDHeader)]++
	}
	if len(ids) != 2 || ids[poison.ID] != 1 {
		t.Errorf("stream after repair holds %v, want both events once", ids)
	}
}

func TestRelay_PrunesPublishedRowsOnly(t *testing.T) {
	src := uniq("pub")
	d := openDB(t, src)
	for i := range 5 {
		changeRoom(t, d.DB, nil, src, i)
	}
	// A row of another module sharing the table is not this relay's to touch.
	other, _ := New(context.Background(), "othermodule", roomChangedV1, nil)
	if err := d.Transaction(func(tx *gorm.DB) error { return Record(tx, other) }); err != nil {
		t.Fatal(err)
	}
	r := newRelay(t, src, d.DB, RelayOptions{Retention: time.Millisecond, PruneInterval: 20 * time.Millisecond})
	background(t, r.Run)
	eventually(t, 5*time.Second, "published rows to be pruned", func() bool {
		return count(t, d.DB, &outboxRow{}, "source = ?", src) == 0
	})
	if n := count(t, d.DB, &outboxRow{}, "source = ?", "othermodule"); n != 1 {
		t.Errorf("the other module's row was touched: %d left", n)
	}
}

// A relay that published but died before marking republishes on restart:
// JetStream drops the copies, and a copy past its window is skipped by the
// consumers' inboxes. Consumers apply every event once.
func TestRelay_RestartAfterPublishingBeforeMarking(t *testing.T) {
	src, dst := uniq("pub"), uniq("sub")
	pub, sub := openDB(t, src), openDB(t, dst)
	var want []string
	for i := range 20 {
		want = append(want, changeRoom(t, pub.DB, nil, src, i).ID)
	}

	// First life: publish the 20 rows, crash before marking.
	first := newRelay(t, src, pub.DB, RelayOptions{})
	ctx := context.Background()
	if err := testBus.ensureStream(ctx, src, true); err != nil {
		t.Fatal(err)
	}
	var rows []outboxRow
	if err := pub.Order("seq").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if n, err := first.publish(ctx, rows); n != 20 || err != nil {
		t.Fatalf("publish = %d, %v", n, err)
	}
	if n := count(t, pub.DB, &outboxRow{}, "published_at IS NULL"); n != 20 {
		t.Fatalf("%d rows pending, want all 20 still unmarked", n)
	}

	c, err := testBus.Subscribe(dst, "rooms", []string{Subject(src, "bellhop.catalog.>")}, recordingHandler("x"),
		SubscribeOptions{DB: sub.DB, Backoff: fastRetries})
	if err != nil {
		t.Fatal(err)
	}
	background(t, c.Run)

	// Second life: everything is republished, and marked this time.
	second := newRelay(t, src, pub.DB, RelayOptions{})
	background(t, second.Run)
	eventually(t, 5*time.Second, "the rows to be marked", func() bool {
		return count(t, pub.DB, &outboxRow{}, "published_at IS NULL") == 0
	})
	eventually(t, 5*time.Second, "20 effects", func() bool { return count(t, sub.DB, &effect{}) == 20 })

	msgs := streamMessages(t, src)
	if len(msgs) != 20 {
		t.Fatalf("stream holds %d messages, want 20 (JetStream should drop the republished copies)", len(msgs))
	}
	for i, m := range msgs {
		if id := m.Header.Get(jetstream.MsgIDHeader); id != want[i] {
			t.Fatalf("message %d: id %s, want %s", i, id, want[i])
		}
	}

	// A copy that arrives after the duplicate window: a new message id, the
	// same event. The inbox skips it.
	copyMsg := nats.NewMsg(msgs[3].Subject)
	copyMsg.Data = msgs[3].Data
	copyMsg.Header.Set(jetstream.MsgIDHeader, want[3]+"-late-copy")
	if _, err := testBus.js.PublishMsg(ctx, copyMsg); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the late copy to be skipped", func() bool {
		return testutil.ToFloat64(testBus.metrics.duplicates.WithLabelValues(dst, "rooms")) == 1
	})
	if n := count(t, sub.DB, &effect{}); n != 20 {
		t.Fatalf("effects = %d, want 20: an event was applied twice", n)
	}
	var ids []string
	sub.Model(&effect{}).Order("id").Pluck("event_id", &ids)
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("event %s applied twice", id)
		}
		seen[id] = true
	}
	if got := testutil.ToFloat64(testBus.metrics.handled.WithLabelValues(dst, "rooms")); got != 20 {
		t.Errorf("handled = %v, want 20", got)
	}
}

func TestConsumer_FailsTwiceThenSucceeds(t *testing.T) {
	src, dst := uniq("pub"), uniq("sub")
	pub, sub := openDB(t, src), openDB(t, dst)
	r := newRelay(t, src, pub.DB, RelayOptions{})
	background(t, r.Run)

	var attempts atomic.Int32
	h := func(ctx context.Context, tx *gorm.DB, evt Event) error {
		// Its write before failing must roll back with the failure.
		if err := tx.Create(&effect{EventID: evt.ID, Note: "attempt"}).Error; err != nil {
			return err
		}
		if attempts.Add(1) <= 2 {
			return errors.New("flaky downstream")
		}
		return nil
	}
	c, err := testBus.Subscribe(dst, "flaky", []string{Subject(src, roomChangedV1)}, h,
		SubscribeOptions{DB: sub.DB, Backoff: fastRetries})
	if err != nil {
		t.Fatal(err)
	}
	background(t, c.Run)
	evt := changeRoom(t, pub.DB, r, src, 1)

	handled := testBus.metrics.handled.WithLabelValues(dst, "flaky")
	eventually(t, 5*time.Second, "the event to be handled", func() bool { return testutil.ToFloat64(handled) == 1 })
	time.Sleep(100 * time.Millisecond) // room for a wrong extra delivery
	if got := attempts.Load(); got != 3 {
		t.Errorf("attempts = %d, want 3", got)
	}
	if got := testutil.ToFloat64(testBus.metrics.retried.WithLabelValues(dst, "flaky")); got != 2 {
		t.Errorf("retried = %v, want 2", got)
	}
	if got := testutil.ToFloat64(handled); got != 1 {
		t.Errorf("handled = %v, want 1", got)
	}
	if n := count(t, sub.DB, &effect{}, "event_id = ?", evt.ID); n != 1 {
		t.Errorf("effects = %d, want 1 (failed attempts must roll back)", n)
	}
	if n := count(t, sub.DB, &inboxRow{}, "consumer = ? AND event_id = ?", c.Name(), evt.ID); n != 1 {
		t.Errorf("inbox rows = %d, want 1", n)
	}
	if dls, _ := ListDeadLetters(context.Background(), sub.DB); len(dls) != 0 {
		t.Errorf("dead letters = %+v", dls)
	}
}

func TestConsumer_DeadLettersThenReplaysOnce(t *testing.T) {
	src, dst := uniq("pub"), uniq("sub")
	pub, sub := openDB(t, src), openDB(t, dst)
	r := newRelay(t, src, pub.DB, RelayOptions{})
	background(t, r.Run)

	var fixed atomic.Bool
	var attempts atomic.Int32
	h := func(ctx context.Context, tx *gorm.DB, evt Event) error {
		attempts.Add(1)
		if !fixed.Load() {
			return errors.New("bug: cannot handle room 42")
		}
		var p roomChanged
		if err := evt.Decode(&p); err != nil {
			return err
		}
		return tx.Create(&effect{EventID: evt.ID, Note: "fixed"}).Error
	}
	c, err := testBus.Subscribe(dst, "buggy", []string{Subject(src, roomChangedV1)}, h,
		SubscribeOptions{DB: sub.DB, MaxDeliver: 5, Backoff: fastRetries})
	if err != nil {
		t.Fatal(err)
	}
	background(t, c.Run)
	evt := changeRoom(t, pub.DB, r, src, 42)

	ctx := context.Background()
	var dls []DeadLetter
	eventually(t, 10*time.Second, "a dead letter", func() bool {
		dls, err = ListDeadLetters(ctx, sub.DB)
		return err == nil && len(dls) == 1
	})
	dl := dls[0]
	if dl.Consumer != dst+".buggy" || dl.EventID != evt.ID || dl.Attempts != 5 || dl.Type != roomChangedV1 ||
		!strings.Contains(dl.Error, "cannot handle room 42") || dl.Subject != Subject(src, roomChangedV1) {
		t.Errorf("dead letter = %+v", dl)
	}
	if got, err := dl.Event(); err != nil || got.ID != evt.ID {
		t.Errorf("dead letter's event = %+v, %v", got, err)
	}
	time.Sleep(150 * time.Millisecond) // terminated: no further deliveries
	if got := attempts.Load(); got != 5 {
		t.Errorf("attempts = %d, want 5", got)
	}
	m := testBus.metrics
	if got := testutil.ToFloat64(m.retried.WithLabelValues(dst, "buggy")); got != 4 {
		t.Errorf("retried = %v, want 4", got)
	}
	if got := testutil.ToFloat64(m.deadLettered.WithLabelValues(dst, "buggy")); got != 1 {
		t.Errorf("dead lettered = %v, want 1", got)
	}

	// Replaying before the fix fails and keeps the dead letter, one attempt more.
	if err := testBus.Replay(ctx, sub.DB, dl.ID); err == nil {
		t.Fatal("replay of a still-failing handler succeeded")
	}
	var again DeadLetter
	sub.First(&again, dl.ID)
	if again.Attempts != 6 || again.ReplayedAt != nil {
		t.Errorf("after a failed replay: %+v", again)
	}

	fixed.Store(true)
	if err := testBus.Replay(ctx, sub.DB, dl.ID); err != nil {
		t.Fatalf("replay after the fix: %v", err)
	}
	if err := testBus.Replay(ctx, sub.DB, dl.ID); err != nil {
		t.Fatalf("second replay: %v", err)
	}
	if n := count(t, sub.DB, &effect{}, "event_id = ?", evt.ID); n != 1 {
		t.Errorf("effects = %d, want 1", n)
	}
	if left, _ := ListDeadLetters(ctx, sub.DB); len(left) != 0 {
		t.Errorf("dead letters left: %+v", left)
	}
	if err := testBus.Replay(ctx, sub.DB, 9999); !errors.Is(err, ErrDeadLetterNotFound) {
		t.Errorf("unknown id: %v", err)
	}
}

func TestConsumer_PermanentErrorsSkipTheRetries(t *testing.T) {
	src, dst := uniq("pub"), uniq("sub")
	pub, sub := openDB(t, src), openDB(t, dst)
	r := newRelay(t, src, pub.DB, RelayOptions{})
	background(t, r.Run)
	var attempts atomic.Int32
	h := func(ctx context.Context, tx *gorm.DB, evt Event) error {
		attempts.Add(1)
		var wrong struct {
			RoomID string `json:"room_id"`
		}
		return evt.Decode(&wrong) // room_id is a number: a payload this handler can never read
	}
	c, err := testBus.Subscribe(dst, "strict", []string{Subject(src, ">")}, h, SubscribeOptions{DB: sub.DB, Backoff: fastRetries})
	if err != nil {
		t.Fatal(err)
	}
	background(t, c.Run)
	changeRoom(t, pub.DB, r, src, 1)
	eventually(t, 5*time.Second, "a dead letter", func() bool { return count(t, sub.DB, &DeadLetter{}) == 1 })
	if got := attempts.Load(); got != 1 {
		t.Errorf("attempts = %d, want 1", got)
	}
}

// Commit to handled, across modules: two consuming modules each apply the
// event once, the correlation id travels, and a handler's own event names
// its cause.
func TestEndToEnd_TwoConsumersCorrelationAndCausation(t *testing.T) {
	src, a, b := uniq("pub"), uniq("suba"), uniq("subb")
	pub, dbA, dbB := openDB(t, src), openDB(t, a), openDB(t, b)
	r := newRelay(t, src, pub.DB, RelayOptions{})
	background(t, r.Run)
	relayA := newRelay(t, a, dbA.DB, RelayOptions{PollInterval: time.Hour}) // only notifications wake it
	background(t, relayA.Run)

	type seen struct {
		requestID string
		at        time.Time
	}
	var mu sync.Mutex
	got := map[string]seen{}
	// Module a reacts to the catalog change with an event of its own.
	hA := func(ctx context.Context, tx *gorm.DB, evt Event) error {
		mu.Lock()
		got[a] = seen{observability.RequestID(ctx), time.Now()}
		mu.Unlock()
		next, err := New(ctx, a, "bellhop.availability.updated.v1", map[string]string{"from": evt.ID})
		if err != nil {
			return err
		}
		return Record(tx, next)
	}
	ca, err := testBus.Subscribe(a, "catalog", []string{Subject(src, "bellhop.catalog.>")}, hA,
		SubscribeOptions{DB: dbA.DB, Relay: relayA})
	if err != nil {
		t.Fatal(err)
	}
	// Module b listens to both sources with one subscription.
	hB := func(ctx context.Context, tx *gorm.DB, evt Event) error {
		mu.Lock()
		got[b+evt.Source] = seen{observability.RequestID(ctx), time.Now()}
		mu.Unlock()
		return tx.Create(&effect{EventID: evt.ID, Note: evt.Source + "|" + evt.CausationID}).Error
	}
	cb, err := testBus.Subscribe(b, "all", []string{Subject(src, ">"), Subject(a, ">")}, hB, SubscribeOptions{DB: dbB.DB})
	if err != nil {
		t.Fatal(err)
	}
	background(t, ca.Run)
	background(t, cb.Run)

	ctx := observability.WithRequestID(context.Background(), "req-e2e")
	evt, err := New(ctx, src, roomChangedV1, roomChanged{RoomID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Transaction(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&room{ID: 1, Total: 2}).Error; err != nil {
			return err
		}
		return Record(tx, evt)
	}); err != nil {
		t.Fatal(err)
	}
	committed := time.Now()
	eventually(t, 5*time.Second, "both modules to handle both events", func() bool {
		return count(t, dbB.DB, &effect{}) == 2 && count(t, dbA.DB, &outboxRow{}, "published_at IS NOT NULL") == 1
	})
	mu.Lock()
	defer mu.Unlock()
	for k, s := range got {
		if s.requestID != "req-e2e" {
			t.Errorf("%s saw request id %q", k, s.requestID)
		}
	}
	if lat := got[b+src].at.Sub(committed); lat > time.Second {
		t.Errorf("commit to handled took %s", lat)
	}
	var notes []string
	dbB.Model(&effect{}).Order("note").Pluck("note", &notes)
	if len(notes) != 2 || !slices.Contains(notes, a+"|"+evt.ID) || !slices.Contains(notes, src+"|") {
		t.Errorf("effects in b = %v, want the catalog change and one from %s caused by %s", notes, a, evt.ID)
	}
}

func TestConsumer_ResumesAfterRestart(t *testing.T) {
	src, dst := uniq("pub"), uniq("sub")
	pub, sub := openDB(t, src), openDB(t, dst)
	r := newRelay(t, src, pub.DB, RelayOptions{})
	background(t, r.Run)
	subscribe := func() *Consumer {
		// A new process declares the same subscription: simulate with a fresh registry entry.
		testBus.mu.Lock()
		delete(testBus.consumers, dst+".rooms")
		testBus.mu.Unlock()
		c, err := testBus.Subscribe(dst, "rooms", []string{Subject(src, ">")}, recordingHandler("r"), SubscribeOptions{DB: sub.DB})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	stop := background(t, subscribe().Run)
	for i := range 5 {
		changeRoom(t, pub.DB, r, src, i)
	}
	eventually(t, 5*time.Second, "5 effects", func() bool { return count(t, sub.DB, &effect{}) == 5 })
	stop()
	for i := 5; i < 10; i++ {
		changeRoom(t, pub.DB, r, src, i)
	}
	background(t, subscribe().Run)
	eventually(t, 5*time.Second, "10 effects", func() bool { return count(t, sub.DB, &effect{}) == 10 })
	time.Sleep(50 * time.Millisecond)
	if n := count(t, sub.DB, &effect{}); n != 10 {
		t.Errorf("effects = %d, want 10", n)
	}
}

func TestSubscribe_Validates(t *testing.T) {
	d := openDB(t, "sub")
	h := recordingHandler("")
	for _, subjects := range [][]string{
		nil,
		{"bellhop.>"},
		{"bellhop.*.catalog.>"},
		{"other.search.x"},
		{"bellhop.search.>.x"},
		{"bellhop.search.cat*.x"},
	} {
		if _, err := testBus.Subscribe(uniq("sub"), "x", subjects, h, SubscribeOptions{DB: d.DB}); err == nil {
			t.Errorf("subjects %q accepted", subjects)
		}
	}
	mod := uniq("sub")
	if _, err := testBus.Subscribe(mod, "Bad Name", []string{"bellhop.search.>"}, h, SubscribeOptions{DB: d.DB}); err == nil {
		t.Error("bad subscription name accepted")
	}
	if _, err := testBus.Subscribe(mod, "x", []string{"bellhop.search.>"}, h, SubscribeOptions{}); err == nil {
		t.Error("subscription without a database accepted")
	}
	if _, err := testBus.Subscribe(mod, "x", []string{"bellhop.search.>"}, h, SubscribeOptions{DB: d.DB}); err != nil {
		t.Fatal(err)
	}
	if _, err := testBus.Subscribe(mod, "x", []string{"bellhop.search.>"}, h, SubscribeOptions{DB: d.DB}); err == nil {
		t.Error("the same subscription declared twice")
	}
}

// The other transport: an external server (here an embedded one listening
// on loopback) reached by URL, and a plain nats.go subscriber that sees
// well-formed CloudEvents.
func TestConnect_ExternalServerAndAPlainSubscriber(t *testing.T) {
	server, err := StartEmbedded(context.Background(), EmbeddedOptions{StoreDir: t.TempDir(), Listen: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = server.Close() }) // after the relay and consumer below have stopped
	url := server.ClientURL()
	if !strings.HasPrefix(url, "nats://127.0.0.1:") {
		t.Fatalf("client URL %q is not on loopback", url)
	}
	if testBus.ClientURL() != "" {
		t.Errorf("a bus without a listener reports URL %q", testBus.ClientURL())
	}
	reg := prometheus.NewRegistry()
	bus, err := Connect(context.Background(), url, Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bus.Close() })
	if err := bus.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}

	plain, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plain.Close)
	raw := make(chan *nats.Msg, 1)
	if _, err := plain.ChanSubscribe("bellhop.search.>", raw); err != nil {
		t.Fatal(err)
	}
	if err := plain.Flush(); err != nil {
		t.Fatal(err)
	}

	pub, sub := openDB(t, "search"), openDB(t, "reporting")
	r, err := NewRelay(bus, RelayOptions{Module: "search", DB: pub.DB})
	if err != nil {
		t.Fatal(err)
	}
	c, err := bus.Subscribe("reporting", "catalog", []string{Subject("search", "bellhop.catalog.>")},
		recordingHandler("remote"), SubscribeOptions{DB: sub.DB})
	if err != nil {
		t.Fatal(err)
	}
	background(t, r.Run)
	background(t, c.Run)
	evt := changeRoom(t, pub.DB, r, "search", 1)

	select {
	case m := <-raw:
		var attrs map[string]any
		if err := json.Unmarshal(m.Data, &attrs); err != nil {
			t.Fatalf("not JSON: %s", m.Data)
		}
		for _, k := range []string{"specversion", "id", "source", "type", "time", "datacontenttype", "data"} {
			if attrs[k] == nil {
				t.Errorf("attribute %s missing in %s", k, m.Data)
			}
		}
		if attrs["id"] != evt.ID || m.Header.Get("Content-Type") != ContentTypeCloudEvents {
			t.Errorf("message %s, headers %v", m.Data, m.Header)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the plain subscriber saw nothing")
	}
	eventually(t, 5*time.Second, "the consumer's effect", func() bool { return count(t, sub.DB, &effect{}) == 1 })
	if n, err := testutil.GatherAndCount(reg, "bellhop_events_handled_total"); err != nil || n != 1 {
		t.Errorf("registered handled metric series = %d, %v", n, err)
	}
}

// The publisher leaves a stream alone when its configuration is already
// right (an update races with consumer creation inside nats-server).
func TestEnsureStream_IsIdempotent(t *testing.T) {
	src := uniq("pub")
	ctx := context.Background()
	for range 2 {
		if err := testBus.ensureStream(ctx, src, true); err != nil {
			t.Fatal(err)
		}
	}
	s, err := testBus.js.Stream(ctx, StreamName(src))
	if err != nil {
		t.Fatal(err)
	}
	info := s.CachedInfo()
	if !sameStreamConfig(info.Config, testBus.streamConfig(src)) {
		t.Errorf("the stream as created differs from its configuration: %+v", info.Config)
	}
	if info.Config.Duplicates != 2*time.Minute || info.Config.Subjects[0] != "bellhop."+src+".>" {
		t.Errorf("config = %+v", info.Config)
	}
}
