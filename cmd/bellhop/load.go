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
to a confirmed booking; it exits non-zero when one of them breaks.

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
		return code, fmt.Errorf("%s %s: %d %s", method, path, code, problemReason(b))
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return code, fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return code, nil
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
		reason = transportErr
		if len(reason) > 80 {
			reason = reason[:80]
		}
	}
	s.errors[fmt.Sprintf("%-8s %3d %s", kind, code, reason)]++
}

type payJob struct{ bookingID, token string }

func runLoad(ctx context.Context, o loadOptions, stdin io.Reader, stdout, stderr io.Writer) error {
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
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("read the admin password from stdin: %w", err)
		}
		adminPassword = strings.TrimRight(line, "\r\n")
	}
	base := strings.TrimRight(o.target, "/")
	c := &loadClient{base: base, http: &http.Client{Timeout: o.timeout, Transport: &http.Transport{
		MaxIdleConns: 4 * o.payWorkers, MaxIdleConnsPerHost: 4 * o.payWorkers, IdleConnTimeout: 30 * time.Second,
	}}}
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
	elapsed := time.Since(begin)
	close(progressDone)
	if err := ctx.Err(); err != nil {
		return err
	}

	printLoadSummary(stdout, o, stats, attackEnd, elapsed)

	if adminToken == "" {
		fmt.Fprintln(stdout, "\ninvariants: not checked (give --admin-email and --admin-password-stdin)")
		return nil
	}
	fmt.Fprintln(stdout, "\ninvariants:")
	var violations []string
	var confirmed int
	deadline := time.Now().Add(o.settle)
	for {
		violations, confirmed, err = checkInvariants(ctx, c, adminToken, w.run)
		if err != nil {
			return fmt.Errorf("invariants check: %w", err)
		}
		if len(violations) == 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	fmt.Fprintf(stdout, "  bookings confirmed by this run: %d\n", confirmed)
	if len(violations) > 0 {
		for _, v := range violations {
			fmt.Fprintln(stdout, "  VIOLATION:", v)
		}
		return fmt.Errorf("%d invariant violations", len(violations))
	}
	fmt.Fprintln(stdout, "  all invariants hold: no room type oversold on any night; every confirmed booking has exactly one succeeded payment; every succeeded payment belongs to a confirmed booking")
	return nil
}

func printLoadSummary(out io.Writer, o loadOptions, s *loadStats, attack, elapsed time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	total := s.total.Load()
	fmt.Fprintf(out, "bellhop load: mix %s, rate %d/s for %s\n", o.mix, o.rate, o.duration)
	fmt.Fprintf(out, "requests %d in %s (attack %s), throughput %.1f/s, errors %d, payments succeeded %d (%.1f/s)\n",
		total, elapsed.Round(time.Millisecond), attack.Round(time.Millisecond), float64(total)/elapsed.Seconds(),
		s.errs.Load(), s.paid, float64(s.paid)/elapsed.Seconds())
	fmt.Fprintf(out, "\n%-8s %8s %7s %10s %10s %10s %10s\n", "kind", "requests", "errors", "p50", "p90", "p99", "max")
	kinds := make([]string, 0, len(s.lat))
	for k := range s.lat {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		lat := slices.Clone(s.lat[k])
		slices.Sort(lat)
		pct := func(p float64) time.Duration {
			if len(lat) == 0 {
				return 0
			}
			return lat[max(0, int(math.Ceil(p*float64(len(lat))))-1)]
		}
		fmt.Fprintf(out, "%-8s %8d %7d %10s %10s %10s %10s\n", k, len(lat), s.nerr[k],
			fmtDur(pct(0.50)), fmtDur(pct(0.90)), fmtDur(pct(0.99)), fmtDur(pct(1)))
	}
	if len(s.errors) > 0 {
		fmt.Fprintln(out, "\nerrors (kind, status, reason):")
		keys := make([]string, 0, len(s.errors))
		for k := range s.errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(out, "  %7d  %s\n", s.errors[k], k)
		}
	}
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

// checkInvariants lists every booking and payment (staff and admin may) and
// every hotel booked, and reports each broken invariant; confirmed counts the
// confirmed bookings of this run's guests.
func checkInvariants(ctx context.Context, c *loadClient, token, run string) (violations []string, confirmed int, err error) {
	var all []bookings.Booking
	for cursor := ""; ; {
		var page bookings.BookingList
		q := "/api/v1/bookings?limit=100"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		if _, err := c.do(ctx, "GET", q, token, nil, nil, &page); err != nil {
			return nil, 0, err
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
			return nil, 0, err
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
		if b.Status == bookings.StatusConfirmed && strings.HasSuffix(b.GuestEmail, "-"+run+"@load.example") {
			confirmed++
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
			return nil, 0, err
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
			violations = append(violations, fmt.Sprintf("room type %s oversold on %s: %d confirmed or pending bookings, %d rooms", n.roomType, n.date, taken[n], total))
		}
	}

	// Every confirmed booking has exactly one succeeded payment; every
	// succeeded payment belongs to a confirmed booking (refunded ones have
	// another status).
	succeeded := map[string]int{}
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
			violations = append(violations, fmt.Sprintf("payment %s succeeded and is not refunded, but its booking %s is %s", p.ID, p.BookingID, status))
		}
	}
	for _, b := range all {
		if b.Status == bookings.StatusConfirmed && succeeded[b.ID] != 1 {
			violations = append(violations, fmt.Sprintf("confirmed booking %s has %d succeeded payments", b.ID, succeeded[b.ID]))
		}
	}
	return violations, confirmed, nil
}
