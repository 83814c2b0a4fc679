// Package loadgen is `bellhop load`: a load generator that drives a running
// Bellhop over HTTP with a weighted request mix, and the booking invariants
// check it (and --check-only) runs through the API afterwards.
package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
)

type options struct {
	target        string
	rate          int
	duration      time.Duration
	mix           string
	users         int
	adminEmail    string
	adminPassword bool
	payWorkers    int
	timeout       time.Duration
	settle        time.Duration
	checkOnly     bool
	json          bool
}

// NewCommand is the `bellhop load` command, with its flags.
func NewCommand() *cobra.Command {
	var o options
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Drive a running Bellhop at a constant arrival rate and check the booking invariants",
		Long: `load sends a weighted mix of requests to a running Bellhop at a constant
arrival rate (open loop), prints a progress line every second and, at the end,
throughput, latency percentiles and errors per request kind.

Mixes: hotel (60% search, 39% hotel details, 0.5% sign-in, 0.5% book + pay)
and booking (20% search, 80% book + pay). Book + pay is a hold followed, when
the hold is answered, by a payment for it with the sandbox card pm_card_visa.

With --admin-email (password on stdin, --admin-password-stdin) it then checks
through the API that no room type is oversold on any night, every confirmed
booking has exactly one succeeded payment and every succeeded payment belongs
to a confirmed booking; it exits non-zero when one of them breaks. While one
breaks it checks again every half second for up to --settle (events settle).
The check also prints, for the run's confirmed bookings, the latency from
payment succeeded to booking confirmed (the two records' updated_at, through
the API: p50/p90/p99/max) and the confirmed bookings per second of run time
(first request to the last payment answered).

--check-only skips the setup and the load: it signs in the admin (so
--admin-email and --admin-password-stdin are required), checks and prints the
invariants, with the same --settle wait, and exits non-zero on a violation.
Use it after a crash or restart of a deployment:
  echo "$ADMIN_PASSWORD" | bellhop load --check-only --target URL \
    --admin-email admin@bellhop.demo --admin-password-stdin

--json also writes the summary as one JSON object, the last line on stdout:
mix, rate, duration_s, requests, errors, throughput_rps, payments_succeeded,
kinds (per request kind: requests, errors, p50_ms, p90_ms, p99_ms, max_ms)
and, when the invariants were checked, invariants_ok, violations, confirmed,
confirmed_per_s and confirm_latency (p50_ms, p90_ms, p99_ms, max_ms,
measured, skipped). With --check-only only the invariants' fields are there.

Setup and the check wait out a busy target: a 429 is asked again after its
Retry-After, a 503 up to four times, for at most a minute of waiting per
request (a line on stderr tells each wait); the load's own requests are not
retried (their errors are figures of the run).

The target's per-caller rate limits throttle a run from one host (setup signs
in every guest; each guest pays often), and each guest holds many unpaid rooms
at once. Raise them on the target for a run:
  BELLHOP_SERVER_RATE_LIMIT_ENABLED=false
  BELLHOP_AUTH_SIGN_IN_RATE_LIMIT_RPS=1000 BELLHOP_AUTH_SIGN_IN_RATE_LIMIT_BURST=1000
  BELLHOP_PAYMENTS_RATE_LIMIT_RPS=1000 BELLHOP_PAYMENTS_RATE_LIMIT_BURST=1000
  BELLHOP_BOOKINGS_MAX_PENDING_HOLDS=1000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLoad(cmd.Context(), o, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.target, "target", "http://127.0.0.1:8080", "base URL of the Bellhop to drive")
	f.IntVar(&o.rate, "rate", 200, "requests per second started by the mix (pays come on top)")
	f.DurationVar(&o.duration, "duration", 30*time.Second, "how long to send requests")
	f.StringVar(&o.mix, "mix", "hotel", "request mix: hotel or booking")
	f.IntVar(&o.users, "users", 20, "guests to register and sign in before the run")
	f.StringVar(&o.adminEmail, "admin-email", "", "admin account for the invariants check (password on stdin)")
	f.BoolVar(&o.adminPassword, "admin-password-stdin", false, "read the admin password from the first line of stdin")
	f.IntVar(&o.payWorkers, "pay-workers", 64, "concurrent payments for answered holds")
	f.DurationVar(&o.timeout, "timeout", 10*time.Second, "timeout of each request")
	f.DurationVar(&o.settle, "settle", 20*time.Second, "how long to wait for the invariants to hold after the run (events settle)")
	f.BoolVar(&o.checkOnly, "check-only", false, "no setup and no load: only check and print the invariants (needs --admin-email and --admin-password-stdin)")
	f.BoolVar(&o.json, "json", false, "also write the summary as one JSON object, the last line on stdout")
	return cmd
}

type payJob struct{ bookingID, token string }

func runLoad(ctx context.Context, o options, stdin io.Reader, stdout, stderr io.Writer) error {
	if o.checkOnly {
		return runCheckOnly(ctx, o, stdin, stdout, stderr)
	}
	mix, ok := loadMixes[o.mix]
	if !ok {
		return fmt.Errorf("--mix: %q is not a mix (hotel or booking)", o.mix)
	}
	if o.rate <= 0 || o.duration <= 0 || o.users <= 0 || o.payWorkers <= 0 {
		return errors.New("--rate, --duration, --users and --pay-workers must be positive")
	}
	var adminPassword string
	if o.adminEmail != "" {
		if !o.adminPassword {
			return errors.New("--admin-email needs the password on stdin (--admin-password-stdin)")
		}
		var err error
		if adminPassword, err = readAdminPassword(stdin); err != nil {
			return err
		}
	}
	base := strings.TrimRight(o.target, "/")
	c := newAPIClient(base, o, stderr)
	var adminToken string
	if o.adminEmail != "" {
		var err error
		if adminToken, err = signInLoad(ctx, c, o.adminEmail, adminPassword); err != nil {
			return fmt.Errorf("admin: %w", err)
		}
	}
	w, err := setupLoad(ctx, c, o, stderr)
	if err != nil {
		return err
	}

	stats := newLoadStats()
	pays := make(chan payJob, 100_000)
	var payWG sync.WaitGroup
	for i := 0; i < o.payWorkers; i++ {
		payWG.Add(1)
		go func() {
			defer payWG.Done()
			for j := range pays {
				start := time.Now()
				code, body, err := c.raw(context.WithoutCancel(ctx), "POST", "/api/v1/payments", j.token,
					map[string]string{"booking_id": j.bookingID, "payment_method": "pm_card_visa"},
					map[string]string{"Idempotency-Key": "load-pay-" + j.bookingID})
				lat := time.Since(start)
				msg := ""
				if err != nil {
					code, msg = 0, err.Error()
				} else if code/100 == 2 {
					var pm payments.Payment
					if json.Unmarshal(body, &pm) != nil || pm.Status != payments.StatusSucceeded {
						// Answered, but not paid (declined, unknown): an error of its own.
						code, msg = 0, "payment "+pm.Status
					}
				}
				stats.record(kindPay, code, lat, body, msg)
				if code/100 == 2 {
					stats.mu.Lock()
					stats.paid++
					stats.mu.Unlock()
				}
			}
		}()
	}

	attacker := vegeta.NewAttacker(vegeta.Timeout(o.timeout), vegeta.KeepAlive(true),
		vegeta.Workers(uint64(min(o.rate, 1000))), vegeta.MaxWorkers(10_000), vegeta.Connections(10_000))
	stopAttack := context.AfterFunc(ctx, func() { attacker.Stop() })
	defer stopAttack()

	// Progress, once a second.
	begin := time.Now()
	progressDone := make(chan struct{})
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		var last int64
		for {
			select {
			case <-progressDone:
				return
			case <-tick.C:
				n := stats.total.Load()
				fmt.Fprintf(stderr, "load: %4.0fs  requests %7d  rps %6d  errors %6d  pays queued %d\n",
					time.Since(begin).Seconds(), n, n-last, stats.errs.Load(), len(pays))
				last = n
			}
		}
	}()

	rate := vegeta.Rate{Freq: o.rate, Per: time.Second}
	for res := range attacker.Attack(w.targeter(base, mix), rate, o.duration, "bellhop-load") {
		kind := kindOf(res.Method, res.URL)
		stats.record(kind, int(res.Code), res.Latency, res.Body, res.Error)
		if kind != kindHold || res.Code != http.StatusCreated {
			continue
		}
		var b bookings.Booking
		if json.Unmarshal(res.Body, &b) != nil || b.Status != bookings.StatusPending {
			continue
		}
		tok := w.byEmail[b.GuestEmail]
		if tok == "" {
			stats.record(kindPay, 0, 0, nil, "unknown guest "+b.GuestEmail)
			continue
		}
		select {
		case pays <- payJob{bookingID: b.ID, token: tok}:
		default:
			stats.record(kindPay, 0, 0, nil, "pay queue full")
		}
	}
	attackEnd := time.Since(begin)
	close(pays)
	payWG.Wait()
	// The run lasts from the first request until the last payment answered
	// (or the attack's last answer, when that came later).
	elapsed := time.Since(begin)
	close(progressDone)
	if err := ctx.Err(); err != nil {
		return err
	}

	sum := summarizeLoad(o, stats, attackEnd, elapsed)
	printLoadSummary(stdout, sum)
	out := loadJSON{loadRunJSON: sum.json()}
	var checkErr error
	if adminToken == "" {
		fmt.Fprintln(stdout, "\ninvariants: not checked (give --admin-email and --admin-password-stdin)")
	} else {
		fmt.Fprintln(stdout, "\ninvariants:")
		out.loadCheckJSON, checkErr = checkAndPrintInvariants(ctx, c, adminToken, o.settle, &loadRun{id: w.run, elapsed: elapsed}, stdout)
	}
	if o.json {
		if err := writeLoadJSON(stdout, out); err != nil {
			return err
		}
	}
	return checkErr
}

// runCheckOnly is --check-only: no setup, no load, only the invariants.
func runCheckOnly(ctx context.Context, o options, stdin io.Reader, stdout, stderr io.Writer) error {
	if o.adminEmail == "" || !o.adminPassword {
		return errors.New("--check-only needs the admin account: --admin-email, with the password on stdin (--admin-password-stdin)")
	}
	password, err := readAdminPassword(stdin)
	if err != nil {
		return err
	}
	base := strings.TrimRight(o.target, "/")
	c := newAPIClient(base, o, stderr)
	token, err := signInLoad(ctx, c, o.adminEmail, password)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	fmt.Fprintf(stdout, "bellhop load: check only, target %s\n\ninvariants:\n", base)
	check, err := checkAndPrintInvariants(ctx, c, token, o.settle, nil, stdout)
	if o.json && check != nil {
		if jerr := writeLoadJSON(stdout, loadJSON{loadCheckJSON: check}); jerr != nil && err == nil {
			err = jerr
		}
	}
	return err
}

func readAdminPassword(stdin io.Reader) (string, error) {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read the admin password from stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
