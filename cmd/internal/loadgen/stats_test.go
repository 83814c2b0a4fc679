package loadgen

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestLoadSummaryJSON(t *testing.T) {
	s := newLoadStats()
	for i := 1; i <= 100; i++ {
		s.record(kindHold, http.StatusCreated, time.Duration(i)*time.Millisecond, nil, "")
	}
	s.record(kindHold, http.StatusConflict, 500*time.Millisecond, []byte(`{"reason":"sold_out"}`), "")
	s.record(kindSearch, http.StatusOK, 2*time.Millisecond, nil, "")
	s.paid = 90
	o := options{mix: "booking", rate: 50, duration: 2 * time.Second}
	sum := summarizeLoad(o, s, 2*time.Second, 4*time.Second)

	var out bytes.Buffer
	printLoadSummary(&out, sum)
	for _, w := range []string{
		"bellhop load: mix booking, rate 50/s for 2s\n",
		"requests 102 in 4s (attack 2s), throughput 25.5/s, errors 1, payments succeeded 90 (22.5/s)\n",
		"hold          101       1       51ms       91ms      100ms      500ms\n",
		"      1  hold     409 sold_out\n",
	} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("summary lacks %q:\n%s", w, &out)
		}
	}

	var buf bytes.Buffer
	if err := writeLoadJSON(&buf, loadJSON{loadRunJSON: sum.json(), loadCheckJSON: invariantReport{confirmed: 80}.json(&loadRun{id: "x", elapsed: 4 * time.Second})}); err != nil {
		t.Fatal(err)
	}
	if strings.Count(buf.String(), "\n") != 1 || !strings.HasSuffix(buf.String(), "}\n") {
		t.Errorf("not one line: %q", &buf)
	}
	var got struct {
		Mix               string    `json:"mix"`
		Rate              int       `json:"rate"`
		DurationS         float64   `json:"duration_s"`
		Requests          int       `json:"requests"`
		Errors            int       `json:"errors"`
		ThroughputRPS     float64   `json:"throughput_rps"`
		PaymentsSucceeded int       `json:"payments_succeeded"`
		InvariantsOK      *bool     `json:"invariants_ok"`
		Violations        *[]string `json:"violations"`
		Confirmed         int       `json:"confirmed"`
		ConfirmedPerS     float64   `json:"confirmed_per_s"`
		ConfirmLatency    *struct {
			P50ms float64 `json:"p50_ms"`
			P99ms float64 `json:"p99_ms"`
		} `json:"confirm_latency"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	var kinds struct {
		Kinds map[string]map[string]float64 `json:"kinds"`
	}
	if err := json.Unmarshal(buf.Bytes(), &kinds); err != nil {
		t.Fatal(err)
	}
	if got.Mix != "booking" || got.Rate != 50 || got.DurationS != 2 || got.Requests != 102 || got.Errors != 1 ||
		got.ThroughputRPS != 25.5 || got.PaymentsSucceeded != 90 {
		t.Errorf("run fields: %+v", got)
	}
	hold := kinds.Kinds["hold"]
	if want := map[string]float64{"requests": 101, "errors": 1, "p50_ms": 51, "p90_ms": 91, "p99_ms": 100, "max_ms": 500}; !maps.Equal(hold, want) {
		t.Errorf("kinds.hold = %v, want %v", hold, want)
	}
	if s := kinds.Kinds["search"]; s["requests"] != 1 || s["errors"] != 0 || s["p99_ms"] != 2 {
		t.Errorf("kinds.search = %v", s)
	}
	if got.InvariantsOK == nil || !*got.InvariantsOK || got.Violations == nil || len(*got.Violations) != 0 ||
		got.Confirmed != 80 || got.ConfirmedPerS != 20 || got.ConfirmLatency == nil {
		t.Errorf("check fields: %s", &buf)
	}
}

func TestTransportReason(t *testing.T) {
	for in, want := range map[string]string{
		`Post "http://127.0.0.1:39193/api/v1/bookings": dial tcp 127.0.0.1:39193: connect: connection refused`: "dial tcp 127.0.0.1:39193: connect: connection refused",
		`Get "http://127.0.0.1:1/api/v1/hotels?city=Porto": EOF`:                                               "EOF",
		"payment unknown": "payment unknown",
	} {
		if got := transportReason(in); got != want {
			t.Errorf("transportReason(%q) = %q, want %q", in, got, want)
		}
	}
}
