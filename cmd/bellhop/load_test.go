package main_test

import (
	"encoding/json"
	"math"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// bellhop load against the binary: a short booking-heavy run, then the
// invariants checked through the API with the demo admin.
func TestLoad_BookingMixInvariantsHold(t *testing.T) {
	dir, adminPassword := seedWithUsers(t)
	// One host signs in every guest and each guest pays often: lift the
	// per-caller limits, as bellhop load --help advises.
	p := start(t, []string{
		"BELLHOP_AUTH_SIGN_IN_RATE_LIMIT_RPS=1000", "BELLHOP_AUTH_SIGN_IN_RATE_LIMIT_BURST=1000",
		"BELLHOP_PAYMENTS_RATE_LIMIT_RPS=1000", "BELLHOP_PAYMENTS_RATE_LIMIT_BURST=1000",
		"BELLHOP_BOOKINGS_MAX_PENDING_HOLDS=1000",
	}, "--data-dir", dir)

	cmd := exec.Command(binary, "load", "--target", p.URL, "--rate", "30", "--duration", "3s", "--mix", "booking",
		"--users", "5", "--settle", "5s", "--admin-email", "admin@bellhop.demo", "--admin-password-stdin", "--json")
	cmd.Stdin = strings.NewReader(adminPassword + "\n")
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("bellhop load: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	out := stdout.String()
	t.Logf("bellhop load took %s:\n%s", time.Since(began).Round(time.Millisecond), out)
	if !strings.Contains(out, "all invariants hold") {
		t.Errorf("summary does not say the invariants hold:\n%s", out)
	}
	for _, want := range []string{"throughput", "p50", "p99", "hold", "pay", "search"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	m := regexp.MustCompile(`bookings confirmed by this run: (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("summary does not count confirmed bookings:\n%s", out)
	}
	confirmed, _ := strconv.Atoi(m[1])
	if confirmed == 0 {
		t.Errorf("no booking confirmed:\n%s", out)
	}
	if !strings.Contains(stderr.String(), "rps") {
		t.Errorf("no progress line on stderr:\n%s", &stderr)
	}

	// Confirmed bookings per second of run time (the run lasted at least
	// --duration).
	m = regexp.MustCompile(`confirmed bookings per second: ([0-9.]+) \((\d+) in (\S+), `).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("summary lacks the confirmed bookings per second:\n%s", out)
	}
	perS, _ := strconv.ParseFloat(m[1], 64)
	runTime, err := time.ParseDuration(m[3])
	if err != nil || runTime < 3*time.Second {
		t.Errorf("run time %q: %v, want at least the 3s of --duration", m[3], err)
	}
	if m[2] != strconv.Itoa(confirmed) || math.Abs(perS-float64(confirmed)/runTime.Seconds()) > 0.051 {
		t.Errorf("confirmed per second %s (%s in %s), want %d / %s:\n%s", m[1], m[2], m[3], confirmed, runTime, out)
	}

	// Payment succeeded → booking confirmed, measured on every confirmed
	// booking of the run (one process: no clock apart, every payment listed).
	m = regexp.MustCompile(`payment succeeded → booking confirmed: p50 (\S+)  p90 (\S+)  p99 (\S+)  max (\S+)  \((\d+) bookings\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("summary lacks the confirmation latency:\n%s", out)
	}
	var pcts [4]time.Duration
	for i := range pcts {
		if pcts[i], err = time.ParseDuration(m[1+i]); err != nil {
			t.Fatalf("latency %q: %v", m[1+i], err)
		}
	}
	if pcts[0] <= 0 || pcts[0] > pcts[1] || pcts[1] > pcts[2] || pcts[2] > pcts[3] || pcts[3] > 10*time.Second {
		t.Errorf("confirmation latency p50 %s p90 %s p99 %s max %s: want 0 < p50 ≤ p90 ≤ p99 ≤ max ≤ 10s", pcts[0], pcts[1], pcts[2], pcts[3])
	}
	if m[5] != strconv.Itoa(confirmed) || strings.Contains(out, "not measured") {
		t.Errorf("latency measured on %s bookings, want all %d confirmed:\n%s", m[5], confirmed, out)
	}

	// --json: the summary as the last line.
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	var sum struct {
		Mix               string  `json:"mix"`
		Rate              int     `json:"rate"`
		DurationS         float64 `json:"duration_s"`
		Requests          int     `json:"requests"`
		Errors            int     `json:"errors"`
		ThroughputRPS     float64 `json:"throughput_rps"`
		PaymentsSucceeded int     `json:"payments_succeeded"`
		Kinds             map[string]struct {
			Requests int     `json:"requests"`
			Errors   int     `json:"errors"`
			P50      float64 `json:"p50_ms"`
			P90      float64 `json:"p90_ms"`
			P99      float64 `json:"p99_ms"`
			Max      float64 `json:"max_ms"`
		} `json:"kinds"`
		InvariantsOK   bool     `json:"invariants_ok"`
		Violations     []string `json:"violations"`
		Confirmed      int      `json:"confirmed"`
		ConfirmedPerS  float64  `json:"confirmed_per_s"`
		ConfirmLatency struct {
			P50 float64 `json:"p50_ms"`
			P99 float64 `json:"p99_ms"`
		} `json:"confirm_latency"`
	}
	last := lines[len(lines)-1]
	if err := json.Unmarshal([]byte(last), &sum); err != nil {
		t.Fatalf("the last line is not the JSON summary: %v\n%s", err, out)
	}
	m = regexp.MustCompile(`requests (\d+) in .*, errors (\d+), payments succeeded (\d+) `).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("summary lacks the requests line:\n%s", out)
	}
	if sum.Mix != "booking" || sum.Rate != 30 || sum.DurationS != 3 || strconv.Itoa(sum.Requests) != m[1] ||
		strconv.Itoa(sum.Errors) != m[2] || strconv.Itoa(sum.PaymentsSucceeded) != m[3] || sum.ThroughputRPS <= 0 {
		t.Errorf("JSON run fields %+v disagree with the text:\n%s", sum, out)
	}
	total := 0
	for _, k := range []string{"hold", "pay", "search"} {
		ks, ok := sum.Kinds[k]
		if !ok || ks.Requests == 0 || ks.P50 <= 0 || ks.P50 > ks.P90 || ks.P90 > ks.P99 || ks.P99 > ks.Max {
			t.Errorf("JSON kinds.%s = %+v", k, ks)
		}
	}
	for _, ks := range sum.Kinds {
		total += ks.Requests
	}
	if total != sum.Requests || sum.Kinds["pay"].Requests-sum.Kinds["pay"].Errors != sum.PaymentsSucceeded {
		t.Errorf("JSON kinds add up to %d requests (want %d), pays %+v for %d succeeded", total, sum.Requests, sum.Kinds["pay"], sum.PaymentsSucceeded)
	}
	if !sum.InvariantsOK || sum.Violations == nil || len(sum.Violations) != 0 || sum.Confirmed != confirmed ||
		math.Abs(sum.ConfirmedPerS-perS) > 0.051 || sum.ConfirmLatency.P50 <= 0 || sum.ConfirmLatency.P50 > sum.ConfirmLatency.P99 ||
		math.Abs(sum.ConfirmLatency.P99-float64(pcts[2])/float64(time.Millisecond)) > 0.5 {
		t.Errorf("JSON check fields %+v disagree with the text:\n%s", sum, out)
	}

	// --check-only against the same server afterwards: no setup, no load,
	// the invariants hold and count (at least) the run's bookings.
	cmd = exec.Command(binary, "load", "--check-only", "--target", p.URL, "--settle", "5s",
		"--admin-email", "admin@bellhop.demo", "--admin-password-stdin")
	cmd.Stdin = strings.NewReader(adminPassword + "\n")
	var checkOut, checkErr lockedBuffer
	cmd.Stdout, cmd.Stderr = &checkOut, &checkErr
	began = time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("bellhop load --check-only: %v\nstdout:\n%s\nstderr:\n%s", err, &checkOut, &checkErr)
	}
	out = checkOut.String()
	t.Logf("bellhop load --check-only took %s:\n%s", time.Since(began).Round(time.Millisecond), out)
	if !strings.Contains(out, "all invariants hold") || strings.Contains(out, "VIOLATION") {
		t.Errorf("--check-only does not say the invariants hold:\n%s", out)
	}
	m = regexp.MustCompile(`bookings confirmed: (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("--check-only does not count confirmed bookings:\n%s", out)
	}
	if n, _ := strconv.Atoi(m[1]); n < confirmed {
		t.Errorf("--check-only counts %d confirmed bookings, want at least the run's %d:\n%s", n, confirmed, out)
	}
	for _, unwanted := range []string{"throughput", "per second", "payment succeeded", "{"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("--check-only prints %q:\n%s", unwanted, out)
		}
	}
	if strings.Contains(checkErr.String(), "guests") || strings.Contains(checkErr.String(), "rps") {
		t.Errorf("--check-only set up or ran a load:\n%s", &checkErr)
	}
}
