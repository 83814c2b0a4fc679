package main_test

import (
	"encoding/json"
	"math"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// planJSON is the part of `bellhop split plan --json` the test reads.
type planJSON struct {
	Hop struct {
		P50 float64 `json:"p50_us"`
		CPU float64 `json:"cpu_us"`
	} `json:"hop"`
	Modules []struct {
		Module   string `json:"module"`
		Crossing []struct {
			Caller, Callee, Method string
			Added                  float64 `json:"added_us_per_call"`
			AnswerBytes            float64 `json:"answer_bytes"`
		} `json:"crossing"`
		Routes []struct {
			Route string  `json:"route"`
			Calls float64 `json:"calls_per_request"`
			Added float64 `json:"added_us_per_request"`
			Hot   bool    `json:"hot"`
		} `json:"routes"`
		Consumes []string `json:"consumes"`
	} `json:"modules"`
}

// The split advisor's prediction against a real split: the same fixed load
// (a guest's hotel search) runs against the single binary and against the
// gateway with search in its own process, request by request in turn so
// that the machine's other work hits both alike. The latency the split adds
// to a search request (difference of the medians) must be what the plan
// made from the single binary's metrics predicted, within 50% or 0.4 ms.
func TestSplitPlan_PredictionMatchesASplitRun(t *testing.T) {
	natsURL := startNATS(t)
	mono := start(t, nil, "--data-dir", seededDataDir(t))
	srchAddr := freeLoopbackAddr(t)
	env := []string{"BELLHOP_EVENTS_NATS_URL=" + natsURL}
	gw := start(t, env, "--data-dir", seededDataDir(t), "--remote", "search=http://"+srchAddr)
	start(t, env, "--only", "search", "--data-dir", seededDataDir(t), "--addr", srchAddr, "--remote", "auth="+gw.URL)

	in, out := stay()
	path := "/api/v1/hotels?" + query("city", "porto", "check_in", in, "check_out", out, "guests", "2")
	get := func(base string) time.Duration {
		t.Helper()
		began := time.Now()
		res, err := httpc.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", base, res.StatusCode)
		}
		return time.Since(began)
	}
	for range 50 { // warm-up: connections, caches
		get(mono.URL)
		get(gw.URL)
	}
	const rounds = 300
	monoTook, splitTook := make([]time.Duration, rounds), make([]time.Duration, rounds)
	for i := range rounds {
		monoTook[i] = get(mono.URL)
		splitTook[i] = get(gw.URL)
	}
	median := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2]) / float64(time.Microsecond)
	}
	measured := median(splitTook) - median(monoTook)

	// Consumers report their subscriptions with their lag, every 5 s.
	pollUntil(t, "search's consumer lag in the metrics", 15*time.Second, func() (bool, string) {
		return strings.Contains(fetchText(t, mono.URL+"/metrics"), `bellhop_events_consumer_pending{module="search"`), ""
	})
	cmd := exec.Command(binary, "split", "plan", "--url", mono.URL, "--module", "search", "--window", "0", "--hops", "1000", "--json")
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("split plan: %v\n%s", err, raw)
	}
	var plan planJSON
	if err := json.Unmarshal(raw, &plan); err != nil {
		t.Fatalf("plan JSON: %v\n%s", err, raw)
	}
	if len(plan.Modules) != 1 || plan.Modules[0].Module != "search" {
		t.Fatalf("plan modules: %s", raw)
	}
	srch := plan.Modules[0]
	i := slices.IndexFunc(srch.Crossing, func(c struct {
		Caller, Callee, Method string
		Added                  float64 `json:"added_us_per_call"`
		AnswerBytes            float64 `json:"answer_bytes"`
	}) bool {
		return c.Caller == "api" && c.Method == "SearchHotels"
	})
	if i < 0 || srch.Crossing[i].AnswerBytes <= 0 {
		t.Fatalf("the plan lacks api → search.SearchHotels with its answer size: %s", raw)
	}
	r := slices.IndexFunc(srch.Routes, func(r struct {
		Route string  `json:"route"`
		Calls float64 `json:"calls_per_request"`
		Added float64 `json:"added_us_per_request"`
		Hot   bool    `json:"hot"`
	}) bool {
		return r.Route == "GET /api/v1/hotels"
	})
	if r < 0 || !srch.Routes[r].Hot || math.Abs(srch.Routes[r].Calls-1) > 0.01 {
		t.Fatalf("the plan lacks the hot route GET /api/v1/hotels with one search call per request: %s", raw)
	}
	if !slices.Contains(srch.Consumes, "availability") {
		t.Errorf("search needs booking events for its availability view; plan consumes %v", srch.Consumes)
	}
	predicted := srch.Routes[r].Added
	allowed := math.Max(0.5*measured, 400)
	t.Logf("search remote adds to GET /api/v1/hotels: predicted %.0f µs, measured %.0f µs (median %0.f → %.0f µs); hop p50 %.0f µs, answer %.0f B",
		predicted, measured, median(monoTook), median(splitTook), plan.Hop.P50, srch.Crossing[i].AnswerBytes)
	if math.Abs(predicted-measured) > allowed {
		t.Fatalf("prediction %.0f µs is off the measured %.0f µs by more than %.0f µs", predicted, measured, allowed)
	}
	if !strings.Contains(string(raw), `"hot": true`) {
		t.Error("no hot route marked")
	}
}
