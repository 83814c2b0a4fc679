package host_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/config"
	"github.com/bellhop/bellhop/platform/host"
	"github.com/bellhop/bellhop/platform/httpclient"
	"github.com/bellhop/bellhop/platform/observability"
)

// catalog is a module with one read (Find) and one write (Put).
type catalog interface {
	Find(ctx context.Context, r findRequest) (item, error)
	Put(ctx context.Context, r putRequest) error
}

type findRequest struct{ ID string }
type putRequest struct{ ID string }

type item struct {
	ID    string `json:"id"`
	Price int64  `json:"price"`
	Owner string `json:"owner"` // personal data: must never reach the log
}

// localCatalog answers from memory.
type localCatalog struct{ puts *atomic.Int64 }

func (l localCatalog) Find(_ context.Context, r findRequest) (item, error) {
	if r.ID == "missing" {
		return item{}, apperr.NotFound("catalog.not_found", "no such item")
	}
	return item{ID: r.ID, Price: 12950, Owner: "zoe@example.com"}, nil
}

func (l localCatalog) Put(context.Context, putRequest) error { l.puts.Add(1); return nil }

// httpCatalog calls a catalog copy over real HTTP (loopback); a transport
// failure is unavailable, as platform/httpclient makes it.
type httpCatalog struct {
	base string
	c    *http.Client
}

func (h httpCatalog) Find(ctx context.Context, r findRequest) (item, error) {
	var it item
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.base+"/items/"+r.ID, nil)
	res, err := h.c.Do(req)
	if err != nil {
		return it, apperr.Unavailable("catalog.unavailable", "catalog did not answer")
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		return it, apperr.NotFound("catalog.not_found", "no such item")
	}
	return it, json.NewDecoder(res.Body).Decode(&it)
}

func (h httpCatalog) Put(ctx context.Context, r putRequest) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, h.base+"/items/"+r.ID, nil)
	res, err := h.c.Do(req)
	if err != nil {
		return apperr.Unavailable("catalog.unavailable", "catalog did not answer")
	}
	return res.Body.Close()
}

// catalogShadow declares Find as the read.
type catalogShadow struct {
	catalog
	remote catalog
	s      *host.Shadow
}

func (c catalogShadow) Find(ctx context.Context, r findRequest) (item, error) {
	return host.ShadowRead(c.s, ctx, "Find", r, c.catalog.Find, c.remote.Find)
}

// catalogCopy is the remote copy: price is what it answers; hang makes it
// never answer; puts counts writes that reached it (there must be none).
type catalogCopy struct {
	price int64
	hang  chan struct{}
	finds atomic.Int64
	puts  atomic.Int64
}

func (cp *catalogCopy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut {
		cp.puts.Add(1)
		return
	}
	cp.finds.Add(1)
	if cp.hang != nil {
		select {
		case <-cp.hang:
		case <-r.Context().Done():
		}
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/items/")
	if id == "missing" {
		http.NotFound(w, r)
		return
	}
	_ = json.NewEncoder(w).Encode(item{ID: id, Price: cp.price, Owner: "zoe@example.com"})
}

// shadowHost hosts the catalog here with its copy at copyURL, every read
// sampled, and runs the host's runners (the shadow's workers) until the
// test ends. It returns the catalog as the API calls it.
func shadowHost(t *testing.T, copyURL string, log *slog.Logger, puts *atomic.Int64) (catalog, *host.Host) {
	t.Helper()
	mod := host.Descriptor[catalog]{
		Name: "catalog",
		Local: func(context.Context, host.LocalEnv) (host.Local[catalog], error) {
			return host.Local[catalog]{Service: localCatalog{puts: puts}}, nil
		},
		Remote: func(u string, _ httpclient.Options) (catalog, error) {
			return httpCatalog{base: u, c: &http.Client{Timeout: 2 * time.Second}}, nil
		},
		Instrument: func(s catalog, _ observability.Edge) catalog { return s },
		Shadow: func(l, r catalog, s *host.Shadow) catalog {
			return catalogShadow{catalog: l, remote: r, s: s}
		},
	}.Module()
	c := &config.Config{DataDir: t.TempDir(), Modules: map[string]config.ModuleConfig{
		"catalog": {Shadow: copyURL, ShadowRatio: 1},
	}}
	c.HTTPClient.Timeout = 2 * time.Second
	ctx := context.Background()
	h, err := host.Open(ctx, c, []host.Module{mod}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	if err := h.Build(ctx, host.BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, r := range h.Runners() {
		wg.Go(func() { _ = r.Run(runCtx) })
	}
	t.Cleanup(func() { stop(); wg.Wait() })
	svc, ok := host.Service[catalog](h, "catalog")
	if !ok {
		t.Fatal("no catalog service")
	}
	return svc, h
}

// waitStats waits until done says the shadow's counts are final.
func waitStats(t *testing.T, h *host.Host, done func(host.ShadowStats) bool) host.ShadowStats {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := h.Shadows()
		if len(st) == 1 && done(st[0]) {
			return st[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("shadow counts did not settle: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Reads are answered in-process and replayed against an identical copy:
// every replay matches, errors compare by code and reason, and writes never
// reach the copy.
func TestShadow_MatchesCountedAndWritesStayLocal(t *testing.T) {
	t.Parallel()
	cp := &catalogCopy{price: 12950}
	srv := httptest.NewServer(cp)
	t.Cleanup(srv.Close)
	var puts atomic.Int64
	svc, h := shadowHost(t, srv.URL, nil, &puts)
	ctx := context.Background()
	for i := range 20 {
		it, err := svc.Find(ctx, findRequest{ID: fmt.Sprintf("itm_%d", i)})
		if err != nil || it.Price != 12950 {
			t.Fatalf("find: %+v %v", it, err)
		}
	}
	if _, err := svc.Find(ctx, findRequest{ID: "missing"}); apperr.CodeOf(err) != apperr.CodeNotFound {
		t.Fatalf("missing: %v", err)
	}
	for range 5 {
		if err := svc.Put(ctx, putRequest{ID: "itm_1"}); err != nil {
			t.Fatal(err)
		}
	}
	st := waitStats(t, h, func(s host.ShadowStats) bool { return s.Compared == 21 })
	if st.Matches != 21 || st.Mismatches != 0 || st.MatchRate != 1 || st.Module != "catalog" || st.Remote != srv.URL {
		t.Fatalf("stats: %+v", st)
	}
	if puts.Load() != 5 || cp.puts.Load() != 0 {
		t.Fatalf("writes: %d in-process, %d reached the copy (want 5, 0)", puts.Load(), cp.puts.Load())
	}
	if cp.finds.Load() != 21 {
		t.Fatalf("the copy saw %d reads, want 21", cp.finds.Load())
	}
}

// A copy that answers differently is counted and logged with the request id
// and the differing field's name, never the answer's values.
func TestShadow_MismatchCountedAndLoggedWithoutValues(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(&catalogCopy{price: 13000})
	t.Cleanup(srv.Close)
	var logBuf syncBuffer
	log := slog.New(slog.NewJSONHandler(&logBuf, nil))
	var puts atomic.Int64
	svc, h := shadowHost(t, srv.URL, log, &puts)
	ctx := observability.WithRequestID(context.Background(), "req_shadow_1")
	it, err := svc.Find(ctx, findRequest{ID: "itm_7"})
	if err != nil || it.Price != 12950 {
		t.Fatalf("the caller must get the in-process answer: %+v %v", it, err)
	}
	if _, err := svc.Find(ctx, findRequest{ID: "missing"}); apperr.CodeOf(err) != apperr.CodeNotFound {
		t.Fatal(err)
	}
	st := waitStats(t, h, func(s host.ShadowStats) bool { return s.Compared == 2 })
	if st.Mismatches != 1 || st.Matches != 1 || st.MatchRate != 0.5 {
		t.Fatalf("stats: %+v", st)
	}
	if len(st.Methods) != 1 || st.Methods[0].Method != "Find" || st.Methods[0].Mismatches != 1 {
		t.Fatalf("per method: %+v", st.Methods)
	}
	line := logBuf.String()
	for _, want := range []string{"shadow mismatch", `"module":"catalog"`, `"method":"Find"`, `"differs":"price"`, `"request_id":"req_shadow_1"`} {
		if !strings.Contains(line, want) {
			t.Errorf("log lacks %s:\n%s", want, line)
		}
	}
	for _, leak := range []string{"zoe@example.com", "12950", "13000"} {
		if strings.Contains(line, leak) {
			t.Errorf("log leaks a value (%s):\n%s", leak, line)
		}
	}
}

// A copy that is down or hangs neither slows nor fails the caller: the
// replays are counted as failed (down) or dropped (queue full).
func TestShadow_RemoteDownDoesNotAffectCaller(t *testing.T) {
	t.Parallel()
	down := httptest.NewServer(&catalogCopy{})
	downURL := down.URL
	down.Close()
	hang := &catalogCopy{hang: make(chan struct{})}
	hanging := httptest.NewServer(hang)
	t.Cleanup(func() { close(hang.hang); hanging.Close() })

	for _, tc := range []struct {
		name, url string
		settled   func(host.ShadowStats) bool
	}{
		{"refused", downURL, func(s host.ShadowStats) bool { return s.Failed > 0 && s.Failed+s.Dropped == 300 }},
		{"hanging", hanging.URL, func(s host.ShadowStats) bool { return s.Dropped > 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var puts atomic.Int64
			svc, h := shadowHost(t, tc.url, nil, &puts)
			var slowest time.Duration
			for i := range 300 {
				began := time.Now()
				it, err := svc.Find(context.Background(), findRequest{ID: fmt.Sprintf("itm_%d", i)})
				slowest = max(slowest, time.Since(began))
				if err != nil || it.Price != 12950 {
					t.Fatalf("call %d: %+v %v", i, it, err)
				}
			}
			// In-process Find takes microseconds; the copy's failure or
			// 2 s timeout must not show.
			if slowest > 100*time.Millisecond {
				t.Fatalf("slowest call took %s with the copy %s", slowest, tc.name)
			}
			st := waitStats(t, h, tc.settled)
			if st.Mismatches != 0 || st.Matches != 0 {
				t.Fatalf("a copy that did not answer must not count as compared: %+v", st)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the shadow's workers to log into.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
