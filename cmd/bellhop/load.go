package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/civil"
)

// Request kinds the load generator sends.
const (
	kindSearch = "search"
	kindHotel  = "hotel"
	kindSignIn = "sign_in"
	kindHold   = "hold"
	kindPay    = "pay"
)

// loadMixes are the weighted request mixes, in per-mille. A hold is always
// followed by a pay for the booking it made.
var loadMixes = map[string][]mixEntry{
	// DeathStarBench's hotel reservation workload.
	"hotel":   {{kindSearch, 600}, {kindHotel, 390}, {kindSignIn, 5}, {kindHold, 5}},
	"booking": {{kindSearch, 200}, {kindHold, 800}},
}

type mixEntry struct {
	kind   string
	weight int
}

const loadPassword = "bellhop load passphrase"

type loadOptions struct {
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

func newLoadCmd() *cobra.Command {
	var o loadOptions
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

The target's per-caller rate limits throttle a run from one host (setup signs
in every guest; each guest pays often). Raise them on the target for a run:
  BELLHOP_SERVER_RATE_LIMIT_ENABLED=false
  BELLHOP_AUTH_SIGN_IN_RATE_LIMIT_RPS=1000 BELLHOP_AUTH_SIGN_IN_RATE_LIMIT_BURST=1000
  BELLHOP_PAYMENTS_RATE_LIMIT_RPS=1000 BELLHOP_PAYMENTS_RATE_LIMIT_BURST=1000`,
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

// loadClient is a small JSON client of the API for setup and checks.
type loadClient struct {
	base string
	http *http.Client
}

func (c *loadClient) do(ctx context.Context, method, path, token string, body any, header map[string]string, out any) (int, error) {
	code, b, err := c.raw(ctx, method, path, token, body, header)
	if err != nil {
		return code, err
	}
	if code/100 != 2 {
		return code, &statusError{code: code, msg: fmt.Sprintf("%s %s: %d %s", method, path, code, problemReason(b))}
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return code, fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return code, nil
}

// statusError is an answer other than 2xx.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return e.msg }

// transient tells a failure worth trying again (the target overloaded,
// restarting or unreachable for a moment) from an answer that will not
// change (401, 403, 404, ...).
func transient(err error) bool {
	var se *statusError
	if errors.As(err, &se) {
		return se.code >= 500 || se.code == http.StatusTooManyRequests
	}
	return true // a transport error
}

// raw sends a request and returns the status and body, whatever the status.
func (c *loadClient) raw(ctx context.Context, method, path, token string, body any, header map[string]string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

func problemReason(body []byte) string {
	var p apperr.Problem
	if json.Unmarshal(body, &p) == nil && p.Reason != "" {
		return p.Reason
	}
	return "-"
}

// loadWorld is what setup learned: guests, cities, hotels, room types, stays.
type loadWorld struct {
	run       string
	emails    []string
	tokens    []string
	byEmail   map[string]string // email -> access token
	cities    []string
	hotels    []string
	roomTypes []string
	stays     [][2]civil.Date
}

func setupLoad(ctx context.Context, c *loadClient, o loadOptions, log io.Writer) (*loadWorld, error) {
	var rb [4]byte
	_, _ = rand.Read(rb[:])
	w := &loadWorld{run: hex.EncodeToString(rb[:]), byEmail: map[string]string{}}

	var cities search.CityList
	if _, err := c.do(ctx, "GET", "/api/v1/cities?limit=100", "", nil, nil, &cities); err != nil {
		return nil, fmt.Errorf("list cities: %w", err)
	}
	for _, ci := range cities.Cities {
		if ci.HotelCount > 0 {
			w.cities = append(w.cities, ci.Name)
		}
	}
	if len(w.cities) == 0 {
		return nil, errors.New("the target has no city with hotels (seed it: bellhop seed)")
	}
	today := civil.Today(time.UTC)
	for i := 0; i < 16; i++ {
		in := today.AddDays(30 + mrand.IntN(300))
		w.stays = append(w.stays, [2]civil.Date{in, in.AddDays(1 + mrand.IntN(3))})
	}
	seenHotel, seenRT := map[string]bool{}, map[string]bool{}
	for _, city := range w.cities {
		s := w.stays[0]
		q := "/api/v1/hotels?" + url.Values{"city": {city}, "check_in": {s[0].String()}, "check_out": {s[1].String()}, "guests": {"1"}, "limit": {"100"}}.Encode()
		var page search.SearchResult
		if _, err := c.do(ctx, "GET", q, "", nil, nil, &page); err != nil {
			return nil, fmt.Errorf("search %s: %w", city, err)
		}
		for _, h := range page.Hotels {
			if !seenHotel[h.ID] {
				seenHotel[h.ID] = true
				w.hotels = append(w.hotels, h.ID)
			}
			for _, rt := range h.RoomTypes {
				if !seenRT[rt.ID] {
					seenRT[rt.ID] = true
					w.roomTypes = append(w.roomTypes, rt.ID)
				}
			}
		}
	}
	if len(w.hotels) == 0 || len(w.roomTypes) == 0 {
		return nil, errors.New("searches found no hotel with rooms")
	}

	for i := 0; i < o.users; i++ {
		email := fmt.Sprintf("load-%d-%s@load.example", i, w.run)
		body := map[string]string{"email": email, "name": fmt.Sprintf("Load guest %d", i), "password": loadPassword}
		if _, err := c.do(ctx, "POST", "/api/v1/users", "", body, nil, nil); err != nil {
			return nil, fmt.Errorf("register %s: %w%s", email, err, rateLimitHint(err))
		}
		tok, err := signInLoad(ctx, c, email, loadPassword)
		if err != nil {
			return nil, err
		}
		w.emails = append(w.emails, email)
		w.tokens = append(w.tokens, tok)
		w.byEmail[email] = tok
	}
	fmt.Fprintf(log, "load: run %s: %d guests, %d cities, %d hotels, %d room types\n", w.run, len(w.emails), len(w.cities), len(w.hotels), len(w.roomTypes))
	return w, nil
}

func signInLoad(ctx context.Context, c *loadClient, email, password string) (string, error) {
	var tok auth.Tokens
	if _, err := c.do(ctx, "POST", "/api/v1/sessions", "", map[string]string{"email": email, "password": password}, nil, &tok); err != nil {
		return "", fmt.Errorf("sign in %s: %w%s", email, err, rateLimitHint(err))
	}
	return tok.AccessToken, nil
}

func rateLimitHint(err error) string {
	if strings.Contains(err.Error(), ": 429 ") {
		return " (raise the target's auth.sign_in_rate_limit for a load run: see bellhop load --help)"
	}
	return ""
}

// targeter picks each request by the weighted mix. It is called from many
// goroutines; math/rand/v2's top-level functions are safe for that.
func (w *loadWorld) targeter(base string, mix []mixEntry) vegeta.Targeter {
	total := 0
	for _, m := range mix {
		total += m.weight
	}
	var seq atomic.Int64
	return func(t *vegeta.Target) error {
		if t == nil {
			return vegeta.ErrNilTarget
		}
		r := mrand.IntN(total)
		kind := mix[len(mix)-1].kind
		for _, m := range mix {
			if r < m.weight {
				kind = m.kind
				break
			}
			r -= m.weight
		}
		*t = vegeta.Target{Header: http.Header{}}
		stay := w.stays[mrand.IntN(len(w.stays))]
		user := mrand.IntN(len(w.emails))
		switch kind {
		case kindSearch:
			t.Method = "GET"
			t.URL = base + "/api/v1/hotels?" + url.Values{"city": {w.cities[mrand.IntN(len(w.cities))]},
				"check_in": {stay[0].String()}, "check_out": {stay[1].String()}, "guests": {fmt.Sprint(1 + mrand.IntN(2))}}.Encode()
		case kindHotel:
			t.Method = "GET"
			t.URL = base + "/api/v1/hotels/" + w.hotels[mrand.IntN(len(w.hotels))]
		case kindSignIn:
			t.Method = "POST"
			t.URL = base + "/api/v1/sessions"
			t.Body, _ = json.Marshal(map[string]string{"email": w.emails[user], "password": loadPassword})
			t.Header.Set("Content-Type", "application/json")
		case kindHold:
			t.Method = "POST"
			t.URL = base + "/api/v1/bookings"
			t.Body, _ = json.Marshal(map[string]any{"room_type_id": w.roomTypes[mrand.IntN(len(w.roomTypes))],
				"check_in": stay[0].String(), "check_out": stay[1].String(), "guests": 1})
			t.Header.Set("Content-Type", "application/json")
			t.Header.Set("Authorization", "Bearer "+w.tokens[user])
			t.Header.Set("Idempotency-Key", fmt.Sprintf("load-%s-%d", w.run, seq.Add(1)))
		}
		return nil
	}
}

// kindOf tells a result's request kind from its method and URL.
func kindOf(method, u string) string {
	p := u
	if pu, err := url.Parse(u); err == nil {
		p = pu.Path
	}
	switch {
	case method == "POST" && p == "/api/v1/bookings":
		return kindHold
	case method == "POST" && p == "/api/v1/payments":
		return kindPay
	case method == "POST" && p == "/api/v1/sessions":
		return kindSignIn
	case p == "/api/v1/hotels":
		return kindSearch
	case strings.HasPrefix(p, "/api/v1/hotels/"):
		return kindHotel
	}
	return "other"
}

// loadStats gathers latencies and errors per request kind.
type loadStats struct {
	total, errs atomic.Int64

	mu     sync.Mutex
	lat    map[string][]time.Duration
	nerr   map[string]int
	errors map[string]int // "kind status reason"
	paid   int
}

func newLoadStats() *loadStats {
	return &loadStats{lat: map[string][]time.Duration{}, nerr: map[string]int{}, errors: map[string]int{}}
}

func (s *loadStats) record(kind string, code int, latency time.Duration, body []byte, transportErr string) {
	s.total.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lat[kind] = append(s.lat[kind], latency)
	if code/100 == 2 {
		return
	}
	s.errs.Add(1)
	s.nerr[kind]++
	reason := problemReason(body)
	if code == 0 {
		reason = transportReason(transportErr)
	}
	s.errors[fmt.Sprintf("%-8s %3d %s", kind, code, reason)]++
}

// transportReason shortens a transport error to what went wrong, without
// the request's URL (`Post "http://...": dial tcp ...: connection refused`
// → `dial tcp ...: connection refused`), so equal failures count together.
func transportReason(err string) string {
	if _, rest, ok := strings.Cut(err, `": `); ok && strings.Contains(err[:len(err)-len(rest)], "://") {
		err = rest
	}
	if len(err) > 100 {
		err = err[:100]
	}
	return err
}

type payJob struct{ bookingID, token string }

func runLoad(ctx context.Context, o loadOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	if o.checkOnly {
		return runCheckOnly(ctx, o, stdin, stdout)
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
	c := newLoadClient(base, o)
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
func runCheckOnly(ctx context.Context, o loadOptions, stdin io.Reader, stdout io.Writer) error {
	if o.adminEmail == "" || !o.adminPassword {
		return errors.New("--check-only needs the admin account: --admin-email, with the password on stdin (--admin-password-stdin)")
	}
	password, err := readAdminPassword(stdin)
	if err != nil {
		return err
	}
	base := strings.TrimRight(o.target, "/")
	c := newLoadClient(base, o)
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

func newLoadClient(base string, o loadOptions) *loadClient {
	return &loadClient{base: base, http: &http.Client{Timeout: o.timeout, Transport: &http.Transport{
		MaxIdleConns: 4 * o.payWorkers, MaxIdleConnsPerHost: 4 * o.payWorkers, IdleConnTimeout: 30 * time.Second,
	}}}
}

// loadRun is what the invariants' report needs of a run: its id (in its
// guests' emails) and how long it lasted.
type loadRun struct {
	id      string
	elapsed time.Duration
}

// checkAndPrintInvariants checks the invariants until they hold or settle
// has passed, prints them and returns them for --json; the error tells a
// violation (the report is returned too) or a failed check (no report). run
// is nil for --check-only: the report then counts every confirmed booking and
// measures no latency.
func checkAndPrintInvariants(ctx context.Context, c *loadClient, token string, settle time.Duration, run *loadRun, out io.Writer) (*loadCheckJSON, error) {
	runID := ""
	if run != nil {
		runID = run.id
	}
	rep, err := settleInvariants(ctx, c, token, runID, settle)
	if err != nil {
		return nil, err
	}
	printInvariants(out, rep, run)
	check := rep.json(run)
	if len(rep.violations) > 0 {
		return check, fmt.Errorf("%d invariant violations", len(rep.violations))
	}
	return check, nil
}

// settleInvariants checks the invariants every half second until they hold
// or settle has passed (events may still be on their way), and returns the
// last check.
func settleInvariants(ctx context.Context, c *loadClient, token, run string, settle time.Duration) (invariantReport, error) {
	deadline := time.Now().Add(settle)
	for {
		rep, err := checkInvariants(ctx, c, token, run)
		switch {
		case err != nil && (!transient(err) || ctx.Err() != nil || time.Now().After(deadline)):
			return rep, fmt.Errorf("invariants check: %w", err)
		case err != nil:
			// The target is still working off the run (or restarting):
			// ask again within the settle time.
		case (len(rep.violations) == 0 && rep.unsettled == 0) || time.Now().After(deadline):
			return rep, nil
		}
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func printInvariants(out io.Writer, rep invariantReport, run *loadRun) {
	if run == nil {
		fmt.Fprintf(out, "  bookings confirmed: %d\n", rep.confirmed)
	} else {
		fmt.Fprintf(out, "  bookings confirmed by this run: %d\n", rep.confirmed)
		fmt.Fprintf(out, "  confirmed bookings per second: %.1f (%d in %s, first request to the last payment answered)\n",
			perSecond(rep.confirmed, run.elapsed), rep.confirmed, run.elapsed.Round(time.Millisecond))
		if l := rep.confirmLat; len(l) == 0 {
			fmt.Fprintln(out, "  payment succeeded → booking confirmed: no confirmed booking measured")
		} else {
			fmt.Fprintf(out, "  payment succeeded → booking confirmed: p50 %s  p90 %s  p99 %s  max %s  (%d bookings)\n",
				fmtDur(percentile(l, 0.50)), fmtDur(percentile(l, 0.90)), fmtDur(percentile(l, 0.99)), fmtDur(percentile(l, 1)), len(l))
		}
		if rep.latMissing > 0 || rep.latNegative > 0 {
			fmt.Fprintf(out, "    not measured: %d without their succeeded payment in the list, %d negative (clocks of the processes apart?)\n",
				rep.latMissing, rep.latNegative)
		}
	}
	if rep.unsettled > 0 {
		fmt.Fprintf(out, "  payments still processing or unknown (the reconciler settles them later): %d\n", rep.unsettled)
	}
	if len(rep.violations) > 0 {
		for _, v := range rep.violations {
			fmt.Fprintln(out, "  VIOLATION:", v)
		}
		return
	}
	fmt.Fprintln(out, "  all invariants hold: no room type oversold on any night; every confirmed booking has exactly one succeeded payment; every succeeded payment belongs to a confirmed booking")
}

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// loadJSON is the --json line: the run's fields, the invariants' fields, or
// both (a nil part is left out).
type loadJSON struct {
	*loadRunJSON
	*loadCheckJSON
}

type loadRunJSON struct {
	Mix               string                  `json:"mix"`
	Rate              int                     `json:"rate"`
	DurationS         float64                 `json:"duration_s"`
	Requests          int64                   `json:"requests"`
	Errors            int64                   `json:"errors"`
	ThroughputRPS     float64                 `json:"throughput_rps"`
	PaymentsSucceeded int                     `json:"payments_succeeded"`
	Kinds             map[string]loadKindJSON `json:"kinds"`
}

type loadKindJSON struct {
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	P50ms    float64 `json:"p50_ms"`
	P90ms    float64 `json:"p90_ms"`
	P99ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
}

type loadCheckJSON struct {
	InvariantsOK bool     `json:"invariants_ok"`
	Violations   []string `json:"violations"`
	Confirmed    int      `json:"confirmed"`
	// After a run only.
	ConfirmedPerS  *float64         `json:"confirmed_per_s,omitempty"`
	ConfirmLatency *loadLatencyJSON `json:"confirm_latency,omitempty"`
}

type loadLatencyJSON struct {
	P50ms    float64 `json:"p50_ms"`
	P90ms    float64 `json:"p90_ms"`
	P99ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
	Measured int     `json:"measured"`
	Skipped  int     `json:"skipped"`
}

func writeLoadJSON(out io.Writer, v loadJSON) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s\n", b)
	return err
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// loadSummary is a finished run's figures, printed and written as JSON.
type loadSummary struct {
	mix             string
	rate            int
	duration        time.Duration
	requests, errs  int64
	paid            int
	attack, elapsed time.Duration
	kinds           []kindSummary
	errors          map[string]int // "kind status reason"
}

type kindSummary struct {
	kind               string
	requests, errors   int
	p50, p90, p99, max time.Duration
}

func summarizeLoad(o loadOptions, s *loadStats, attack, elapsed time.Duration) loadSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := loadSummary{mix: o.mix, rate: o.rate, duration: o.duration, requests: s.total.Load(), errs: s.errs.Load(),
		paid: s.paid, attack: attack, elapsed: elapsed, errors: maps.Clone(s.errors)}
	for _, k := range slices.Sorted(maps.Keys(s.lat)) {
		lat := slices.Clone(s.lat[k])
		slices.Sort(lat)
		sum.kinds = append(sum.kinds, kindSummary{kind: k, requests: len(lat), errors: s.nerr[k],
			p50: percentile(lat, 0.50), p90: percentile(lat, 0.90), p99: percentile(lat, 0.99), max: percentile(lat, 1)})
	}
	return sum
}

func printLoadSummary(out io.Writer, s loadSummary) {
	fmt.Fprintf(out, "bellhop load: mix %s, rate %d/s for %s\n", s.mix, s.rate, s.duration)
	fmt.Fprintf(out, "requests %d in %s (attack %s), throughput %.1f/s, errors %d, payments succeeded %d (%.1f/s)\n",
		s.requests, s.elapsed.Round(time.Millisecond), s.attack.Round(time.Millisecond), float64(s.requests)/s.elapsed.Seconds(),
		s.errs, s.paid, float64(s.paid)/s.elapsed.Seconds())
	fmt.Fprintf(out, "\n%-8s %8s %7s %10s %10s %10s %10s\n", "kind", "requests", "errors", "p50", "p90", "p99", "max")
	for _, k := range s.kinds {
		fmt.Fprintf(out, "%-8s %8d %7d %10s %10s %10s %10s\n", k.kind, k.requests, k.errors,
			fmtDur(k.p50), fmtDur(k.p90), fmtDur(k.p99), fmtDur(k.max))
	}
	if len(s.errors) > 0 {
		fmt.Fprintln(out, "\nerrors (kind, status, reason):")
		for _, k := range slices.Sorted(maps.Keys(s.errors)) {
			fmt.Fprintf(out, "  %7d  %s\n", s.errors[k], k)
		}
	}
}

func (s loadSummary) json() *loadRunJSON {
	j := &loadRunJSON{Mix: s.mix, Rate: s.rate, DurationS: s.duration.Seconds(), Requests: s.requests, Errors: s.errs,
		ThroughputRPS: perSecond(int(s.requests), s.elapsed), PaymentsSucceeded: s.paid, Kinds: map[string]loadKindJSON{}}
	for _, k := range s.kinds {
		j.Kinds[k.kind] = loadKindJSON{Requests: k.requests, Errors: k.errors,
			P50ms: ms(k.p50), P90ms: ms(k.p90), P99ms: ms(k.p99), MaxMs: ms(k.max)}
	}
	return j
}

// percentile is the nearest-rank percentile p (0 < p ≤ 1) of sorted
// durations; 0 when there are none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, max(0, int(math.Ceil(p*float64(len(sorted))))-1))]
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}

// invariantReport is one check of the invariants.
type invariantReport struct {
	violations []string
	// confirmed counts the run's confirmed bookings (every confirmed
	// booking when no run is given).
	confirmed int
	// confirmLat is, sorted, how long after its payment succeeded each of
	// the run's confirmed bookings was confirmed; latMissing and latNegative
	// count those not measured (see confirmLatencies).
	confirmLat              []time.Duration
	latMissing, latNegative int
	// unsettled counts payments still processing or unknown (the
	// reconciler settles them); the check waits for them too.
	unsettled int
}

func (r invariantReport) json(run *loadRun) *loadCheckJSON {
	j := &loadCheckJSON{InvariantsOK: len(r.violations) == 0, Violations: append([]string{}, r.violations...), Confirmed: r.confirmed}
	if run != nil {
		ps := perSecond(r.confirmed, run.elapsed)
		l := r.confirmLat
		j.ConfirmedPerS = &ps
		j.ConfirmLatency = &loadLatencyJSON{P50ms: ms(percentile(l, 0.50)), P90ms: ms(percentile(l, 0.90)),
			P99ms: ms(percentile(l, 0.99)), MaxMs: ms(percentile(l, 1)), Measured: len(l), Skipped: r.latMissing + r.latNegative}
	}
	return j
}

// isRunGuest tells whether email is one of run's guests (setupLoad's emails).
func isRunGuest(email, run string) bool {
	return strings.HasSuffix(email, "-"+run+"@load.example")
}

// checkInvariants lists every booking and payment (staff and admin may) and
// every hotel booked, and reports each broken invariant. With a run, it
// counts that run's confirmed bookings and measures their confirmation
// latency; without (""), it counts every confirmed booking.
func checkInvariants(ctx context.Context, c *loadClient, token, run string) (invariantReport, error) {
	var rep invariantReport
	var all []bookings.Booking
	for cursor := ""; ; {
		var page bookings.BookingList
		q := "/api/v1/bookings?limit=100"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		if _, err := c.do(ctx, "GET", q, token, nil, nil, &page); err != nil {
			return rep, err
		}
		all = append(all, page.Bookings...)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	var pays []payments.Payment
	for cursor := ""; ; {
		var page payments.PaymentList
		q := "/api/v1/payments?limit=100"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		if _, err := c.do(ctx, "GET", q, token, nil, nil, &page); err != nil {
			return rep, err
		}
		pays = append(pays, page.Payments...)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}

	// No room type oversold on any night.
	type night struct {
		roomType string
		date     civil.Date
	}
	taken := map[night]int{}
	hotelOf := map[string]string{}
	byID := map[string]bookings.Booking{}
	for _, b := range all {
		byID[b.ID] = b
		if b.Status == bookings.StatusConfirmed && (run == "" || isRunGuest(b.GuestEmail, run)) {
			rep.confirmed++
		}
		if b.Status != bookings.StatusConfirmed && b.Status != bookings.StatusPending {
			continue
		}
		hotelOf[b.RoomTypeID] = b.HotelID
		for _, n := range b.Nights {
			taken[night{b.RoomTypeID, n.Date}]++
		}
	}
	roomsTotal := map[string]int{}
	seenHotel := map[string]bool{}
	for _, h := range hotelOf {
		if seenHotel[h] {
			continue
		}
		seenHotel[h] = true
		var hotel search.Hotel
		if _, err := c.do(ctx, "GET", "/api/v1/hotels/"+url.PathEscape(h), "", nil, nil, &hotel); err != nil {
			return rep, err
		}
		for _, rt := range hotel.RoomTypes {
			roomsTotal[rt.ID] = rt.RoomsTotal
		}
	}
	nights := make([]night, 0, len(taken))
	for n := range taken {
		nights = append(nights, n)
	}
	sort.Slice(nights, func(i, j int) bool {
		if nights[i].roomType != nights[j].roomType {
			return nights[i].roomType < nights[j].roomType
		}
		return nights[i].date.Before(nights[j].date)
	})
	for _, n := range nights {
		if total, ok := roomsTotal[n.roomType]; !ok || taken[n] > total {
			rep.violations = append(rep.violations, fmt.Sprintf("room type %s oversold on %s: %d confirmed or pending bookings, %d rooms", n.roomType, n.date, taken[n], total))
		}
	}

	// Every confirmed booking has exactly one succeeded payment; every
	// succeeded payment belongs to a confirmed booking (refunded ones have
	// another status).
	succeeded := map[string]int{}
	for _, p := range pays {
		if p.Status == payments.StatusProcessing || p.Status == payments.StatusUnknown {
			rep.unsettled++
		}
	}
	for _, p := range pays {
		if p.Status != payments.StatusSucceeded {
			continue
		}
		succeeded[p.BookingID]++
		if b, ok := byID[p.BookingID]; !ok || b.Status != bookings.StatusConfirmed {
			status := "missing"
			if ok {
				status = b.Status
			}
			rep.violations = append(rep.violations, fmt.Sprintf("payment %s succeeded and is not refunded, but its booking %s is %s", p.ID, p.BookingID, status))
		}
	}
	for _, b := range all {
		if b.Status == bookings.StatusConfirmed && succeeded[b.ID] != 1 {
			rep.violations = append(rep.violations, fmt.Sprintf("confirmed booking %s has %d succeeded payments", b.ID, succeeded[b.ID]))
		}
	}
	if run != "" {
		rep.confirmLat, rep.latMissing, rep.latNegative = confirmLatencies(all, pays, run)
	}
	return rep, nil
}

// confirmLatencies measures, for run's confirmed bookings, how long after
// its payment succeeded each was confirmed: booking.UpdatedAt −
// payment.UpdatedAt, the times each record took that status. A booking
// without a payment_id, whose payment is not in pays or not succeeded, or
// without a time counts as missing; a negative difference (the processes'
// clocks apart) as negative. Neither is in lat, which is sorted.
func confirmLatencies(all []bookings.Booking, pays []payments.Payment, run string) (lat []time.Duration, missing, negative int) {
	payByID := make(map[string]payments.Payment, len(pays))
	for _, p := range pays {
		payByID[p.ID] = p
	}
	for _, b := range all {
		if b.Status != bookings.StatusConfirmed || !isRunGuest(b.GuestEmail, run) {
			continue
		}
		p, ok := payByID[b.PaymentID]
		if b.PaymentID == "" || !ok || p.Status != payments.StatusSucceeded || p.UpdatedAt.IsZero() || b.UpdatedAt.IsZero() {
			missing++
			continue
		}
		d := b.UpdatedAt.Sub(p.UpdatedAt)
		if d < 0 {
			negative++
			continue
		}
		lat = append(lat, d)
	}
	slices.Sort(lat)
	return lat, missing, negative
}
