package main_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/oklog/ulid/v2"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/events"
)

func staffToken(t *testing.T, a *testAuth) string {
	return a.iss.Token(t, authn.Principal{Subject: "usr_staff", Roles: []string{"staff"}, Scopes: []string{search.ScopeCatalogWrite}}, 0)
}

func adminToken(t *testing.T, a *testAuth) string {
	return a.iss.Token(t, authn.Principal{Subject: "usr_admin", Roles: []string{"admin"}}, 0)
}

// firstRoomType is a room type of the demo catalog.
func firstRoomType(t *testing.T, url string) string {
	t.Helper()
	in, out := stay()
	var page search.SearchResult
	call(t, "GET", url+"/api/v1/hotels?"+query("city", "Lisbon", "check_in", in, "check_out", out, "limit", "1"), "", nil, &page)
	if len(page.Hotels) == 0 {
		t.Fatal("no hotel in Lisbon")
	}
	return page.Hotels[0].RoomTypes[0].ID
}

// streamEvents reads every message of a module's stream (without consuming
// it for anyone) and returns the events by id, failing on a duplicate id.
func streamEvents(t *testing.T, natsURL, module string) map[string]events.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, closeConn, err := moduleStream(ctx, t, natsURL, module)
	defer closeConn()
	if err != nil {
		t.Fatalf("stream %s: %v", events.StreamName(module), err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]events.Event{}
	if info.State.Msgs == 0 {
		return out
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	// In batches: one message per round trip took seconds for the demo
	// catalog's thousands of events.
	for read := uint64(0); read < info.State.Msgs; {
		batch, err := cons.Fetch(int(min(info.State.Msgs-read, 1000)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatalf("read stream: %v", err)
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			var e events.Event
			if err := json.Unmarshal(msg.Data(), &e); err != nil {
				t.Fatalf("not a CloudEvent: %q", msg.Data())
			}
			if _, dup := out[e.ID]; dup {
				t.Fatalf("event %s is in the stream twice", e.ID)
			}
			out[e.ID] = e
		}
		if err := batch.Error(); err != nil || n == 0 {
			t.Fatalf("read stream: %d of %d messages read (%v)", read, info.State.Msgs, err)
		}
		read += uint64(n)
	}
	return out
}

// waitForEvents waits until the module's stream holds n events.
func waitForEvents(t *testing.T, natsURL, module string, n int) map[string]events.Event {
	t.Helper()
	// Wait on the stream's message count, which is cheap, then read every
	// event once: reading thousands of events on each poll made a loaded
	// machine spend the wait reading.
	deadline := time.Now().Add(15 * time.Second)
	for streamCount(t, natsURL, module) < n && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	got := streamEvents(t, natsURL, module)
	if len(got) != n {
		t.Fatalf("stream has %d events, want %d", len(got), n)
	}
	return got
}

// moduleStream is a module's stream on the NATS server at natsURL, through a
// connection of its own: close it when done.
func moduleStream(ctx context.Context, t *testing.T, natsURL, module string) (jetstream.Stream, func(), error) {
	t.Helper()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		t.Fatal(err)
	}
	stream, err := js.Stream(ctx, events.StreamName(module))
	return stream, nc.Close, err
}

// streamCount is how many messages a module's stream holds (0 before it
// exists).
func streamCount(t *testing.T, natsURL, module string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, closeConn, err := moduleStream(ctx, t, natsURL, module)
	defer closeConn()
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0
	}
	if err != nil {
		t.Fatalf("stream %s: %v", events.StreamName(module), err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return int(info.State.Msgs)
}

// seedEvents is how many events `bellhop seed` left in search's outbox in
// dir (a creation per demo room type, published when search first runs).
func seedEvents(t *testing.T, dir string) int {
	t.Helper()
	d, err := db.Open(context.Background(), db.Options{Module: search.Module, DataDir: dir, MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var n int64
	if err := d.Raw("SELECT COUNT(*) FROM events_outbox").Scan(&n).Error; err != nil || n == 0 {
		t.Fatalf("the seeded outbox holds %d events (%v); want a creation per room type", n, err)
	}
	return int(n)
}

// Split mode on one NATS server: a catalog change made in the search process
// reaches a subscriber in the other process, and a plain nats.go subscriber
// (a client nobody here wrote) sees well-formed CloudEvents.
func TestEvents_SplitMode(t *testing.T) {
	auth := newTestAuth(t)
	natsURL := startNATS(t)
	env := append(auth.env(), "BELLHOP_EVENTS_NATS_URL="+natsURL)
	dir := seededDataDir(t)
	seeded := seedEvents(t, dir)
	srch := start(t, env, "--only", "search", "--data-dir", dir)
	gw := start(t, env, "--remote", "search="+srch.URL, "--data-dir", t.TempDir())
	// The seed's events go first; the subscriber below starts after them.
	waitForEvents(t, natsURL, search.Module, seeded)

	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	plain, err := nc.SubscribeSync("bellhop.search.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	rt := firstRoomType(t, gw.URL)
	res := call(t, "PATCH", gw.URL+"/api/v1/room-types/"+rt, staffToken(t, auth), strings.NewReader(`{"rooms_total": 42}`), nil)
	if res.StatusCode != 200 {
		t.Fatalf("patch: %d", res.StatusCode)
	}
	requestID := res.Header.Get("X-Request-ID")

	msg, err := plain.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("the plain subscriber got nothing: %v", err)
	}
	if msg.Subject != "bellhop.search.catalog.room_type.changed.v1" || msg.Header.Get("Content-Type") != "application/cloudevents+json" || msg.Header.Get("Nats-Msg-Id") == "" {
		t.Fatalf("message %s %v", msg.Subject, msg.Header)
	}
	var ce map[string]any
	if err := json.Unmarshal(msg.Data, &ce); err != nil {
		t.Fatal(err)
	}
	if ce["specversion"] != "1.0" || ce["source"] != "search" || ce["type"] != search.EventRoomTypeChanged ||
		ce["datacontenttype"] != "application/json" || ce["correlationid"] != requestID || ce["id"] != msg.Header.Get("Nats-Msg-Id") {
		t.Fatalf("cloud event = %v", ce)
	}
	if _, err := ulid.ParseStrict(ce["id"].(string)); err != nil {
		t.Fatalf("id %v is not a ULID", ce["id"])
	}
	if _, err := time.Parse(time.RFC3339Nano, ce["time"].(string)); err != nil {
		t.Fatalf("time %v: %v", ce["time"], err)
	}
	data, _ := json.Marshal(ce["data"])
	var changed search.RoomTypeChanged
	if err := json.Unmarshal(data, &changed); err != nil || changed.RoomTypeID != rt || changed.RoomsTotal != 42 || changed.Change != search.ChangeUpdated {
		t.Fatalf("data = %s (%v)", data, err)
	}

	// The other process saw it too.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var recent struct{ Events []events.Seen }
		res := call(t, "GET", gw.URL+"/api/v1/admin/events/recent", adminToken(t, auth), nil, &recent)
		if res.StatusCode != 200 {
			t.Fatalf("recent: %d", res.StatusCode)
		}
		if len(recent.Events) > 0 && recent.Events[0].ID == ce["id"] && recent.Events[0].Type == search.EventRoomTypeChanged {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway never saw event %v: %+v", ce["id"], recent.Events)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if res := call(t, "GET", gw.URL+"/api/v1/admin/events/recent", staffToken(t, auth), nil, nil); res.StatusCode != 403 {
		t.Fatalf("recent as staff: %d, want 403", res.StatusCode)
	}
	if !strings.Contains(fetchText(t, srch.URL+"/metrics"), fmt.Sprintf(`bellhop_events_published_total{module="search"} %d`, seeded+1)) {
		t.Error("search's metrics lack the published event")
	}
}

// Kill the process between commit and publish, and again between publish and
// marking published: after a restart every event is in the stream exactly once.
func TestEvents_CrashRecovery(t *testing.T) {
	auth := newTestAuth(t)
	natsURL := startNATS(t)
	env := append(auth.env(), "BELLHOP_EVENTS_NATS_URL="+natsURL)
	dir := seededDataDir(t)
	seeded := seedEvents(t, dir) // in the stream before the test's own
	staff := staffToken(t, auth)
	p := start(t, env, "--data-dir", dir)
	rt := firstRoomType(t, p.URL)
	patch := func(p *proc, rooms int) {
		// The answer may be lost with the process; the commit is not.
		req, _ := http.NewRequest("PATCH", p.URL+"/api/v1/room-types/"+rt, strings.NewReader(`{"rooms_total": `+strconv.Itoa(rooms)+`}`))
		req.Header.Set("Authorization", "Bearer "+staff)
		req.Header.Set("Content-Type", "application/json")
		if res, err := httpc.Do(req); err == nil {
			res.Body.Close()
		}
	}
	patch(p, 11)
	waitForEvents(t, natsURL, search.Module, seeded+1)
	p.stop(t)

	for i, point := range []string{"before_publish", "after_publish"} {
		crashing := start(t, append(env, "BELLHOP_FAILPOINT="+point), "--data-dir", dir)
		patch(crashing, 20+i)
		err := crashing.waitExit(t, 15*time.Second)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("%s: exit %v, want SIGKILL\n%s", point, err, crashing.logs)
		}
		want := seeded + 2 + i // the seed's, and one event per patch so far
		if point == "before_publish" {
			// Nothing was published: the event waits in the outbox.
			if got := streamEvents(t, natsURL, search.Module); len(got) != want-1 {
				t.Fatalf("%s: stream has %d events before the restart, want %d", point, len(got), want-1)
			}
		}
		restarted := start(t, env, "--data-dir", dir)
		got := waitForEvents(t, natsURL, search.Module, want)
		var rooms []int
		for _, e := range got {
			var c search.RoomTypeChanged
			if err := e.Decode(&c); err != nil {
				t.Fatal(err)
			}
			rooms = append(rooms, c.RoomsTotal)
		}
		if !slices.Contains(rooms, 20+i) {
			t.Fatalf("%s: the event of the crashed change is missing: %v", point, rooms)
		}
		// Give a (wrong) second publish time to show up, then look again.
		time.Sleep(1500 * time.Millisecond)
		waitForEvents(t, natsURL, search.Module, want)
		restarted.stop(t)
	}
}
