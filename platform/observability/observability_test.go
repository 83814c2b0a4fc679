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
