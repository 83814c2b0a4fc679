package main_test

import (
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
	}, "--data-dir", dir)

	cmd := exec.Command(binary, "load", "--target", p.URL, "--rate", "30", "--duration", "3s", "--mix", "booking",
		"--users", "5", "--settle", "5s", "--admin-email", "admin@bellhop.demo", "--admin-password-stdin")
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
	if n, _ := strconv.Atoi(m[1]); n == 0 {
		t.Errorf("no booking confirmed:\n%s", out)
	}
	if !strings.Contains(stderr.String(), "rps") {
		t.Errorf("no progress line on stderr:\n%s", &stderr)
	}
}
