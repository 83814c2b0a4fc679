package observability_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/observability"
)

func TestLogger_AddsRequestID(t *testing.T) {
	var buf bytes.Buffer
	log, err := observability.NewLogger(&buf, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	ctx := observability.WithRequestID(context.Background(), "req-42")
	log.With("module", "search").InfoContext(ctx, "hello")
	log.DebugContext(ctx, "hidden")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("%v: %q", err, buf.String())
	}
	if rec["request_id"] != "req-42" || rec["module"] != "search" || strings.Contains(buf.String(), "hidden") {
		t.Fatalf("record = %v", rec)
	}
	if _, err := observability.NewLogger(&buf, "xml", "info"); err == nil {
		t.Fatal("want an error for format xml")
	}
	if _, err := observability.NewLogger(&buf, "text", "loud"); err == nil {
		t.Fatal("want an error for level loud")
	}
}

func TestEdge_Observe(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := observability.NewEdgeMetrics(reg)
	e := observability.Edge{Metrics: m, Caller: "bookings", Callee: "search", Location: observability.Remote}
	e.Observe("Quote", time.Now(), nil)
	e.Observe("Quote", time.Now(), apperr.NotFound("search.room_type_not_found", ""))
	e.Observe("Quote", time.Now(), errors.New("boom"))
	want := `
# HELP bellhop_edge_calls_total Calls from one module (or the public API) to another module's Service, by outcome code (ok or an apperr code).
# TYPE bellhop_edge_calls_total counter
bellhop_edge_calls_total{callee="search",caller="bookings",code="internal",location="remote",method="Quote"} 1
bellhop_edge_calls_total{callee="search",caller="bookings",code="not_found",location="remote",method="Quote"} 1
bellhop_edge_calls_total{callee="search",caller="bookings",code="ok",location="remote",method="Quote"} 1
`
	if err := testutil.CollectAndCompare(reg, strings.NewReader(want), "bellhop_edge_calls_total"); err != nil {
		t.Fatal(err)
	}
	observability.Edge{}.Observe("Quote", time.Now(), nil) // no metrics: no panic
}

func TestEdgeSnapshotAndRates(t *testing.T) {
	t.Parallel()
	m := observability.NewEdgeMetrics(prometheus.NewRegistry())
	e := observability.Edge{Metrics: m, Caller: "web", Callee: "search", Location: observability.Local}
	before := m.Snapshot()
	// Calls that took 60 ms each (started 60 ms before they are observed):
	// all in the 50–100 ms bucket however slowly a loaded machine runs the
	// loop, so the quantiles are known.
	started := func() time.Time { return time.Now().Add(-60 * time.Millisecond) }
	for range 98 {
		e.Observe("SearchHotels", started(), nil)
	}
	e.Observe("SearchHotels", started(), apperr.Unavailable("search.down", "down"))
	e.Observe("GetHotel", started(), apperr.NotFound("search.hotel_not_found", "no"))
	snap := m.Snapshot()
	if len(snap) != 1 || snap[0].Calls != 100 || snap[0].Failures != 1 {
		t.Fatalf("snapshot = %+v, want one edge with 100 calls and 1 failure (a 404 is not one)", snap)
	}
	rates := observability.EdgeRates(before, snap, 10*time.Second)
	if len(rates) != 1 {
		t.Fatalf("rates = %+v", rates)
	}
	r := rates[0]
	if r.CallsPerSecond != 10 || r.FailureRate != 0.01 {
		t.Errorf("calls/s = %v, failure rate = %v; want 10 and 0.01", r.CallsPerSecond, r.FailureRate)
	}
	if r.P50 <= 50*time.Millisecond || r.P50 > r.P99 || r.P99 > 100*time.Millisecond {
		t.Errorf("p50 = %v, p99 = %v: want 50 ms < p50 <= p99 <= 100 ms for calls that took 60 ms", r.P50, r.P99)
	}
	// Nothing new: no calls in the next window.
	if again := observability.EdgeRates(snap, m.Snapshot(), time.Second); again[0].Calls != 0 || again[0].P99 != 0 {
		t.Errorf("an idle window = %+v", again[0])
	}
}
