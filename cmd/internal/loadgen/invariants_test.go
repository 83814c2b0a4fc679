package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
)

func TestLoadCheckInvariants_CleanDataHasNoViolation(t *testing.T) {
	f, srv := newFakeAPI(t, fixed(cleanData()))
	c := newAPIClient(srv.URL, options{timeout: 5 * time.Second, payWorkers: 1}, nil)

	rep, err := checkInvariants(context.Background(), c, fakeAdminToken, fakeRun)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.violations) != 0 {
		t.Errorf("violations on clean data: %q", rep.violations)
	}
	if rep.confirmed != 2 {
		t.Errorf("confirmed by the run = %d, want 2 (bk-conf-1, bk-conf-3)", rep.confirmed)
	}
	if want := []time.Duration{40 * time.Millisecond, 70 * time.Millisecond}; !slices.Equal(rep.confirmLat, want) || rep.latMissing != 0 || rep.latNegative != 0 {
		t.Errorf("latencies %v (missing %d, negative %d), want %v", rep.confirmLat, rep.latMissing, rep.latNegative, want)
	}
	// 7 bookings and 5 payments in pages of 2: every page was read.
	if f.bookingPages != 4 || f.paymentPages != 3 {
		t.Errorf("pages read: bookings %d, payments %d; want 4 and 3", f.bookingPages, f.paymentPages)
	}
	// Each booked hotel once (both hold confirmed or pending bookings).
	if f.hotelGets["hotel-1"] != 1 || f.hotelGets["hotel-2"] != 1 || len(f.hotelGets) != 2 {
		t.Errorf("hotels read: %v", f.hotelGets)
	}

	// Without a run, every confirmed booking counts and nothing is measured.
	rep, err = checkInvariants(context.Background(), c, fakeAdminToken, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.violations) != 0 || rep.confirmed != 3 || rep.confirmLat != nil {
		t.Errorf("without a run: violations %q, confirmed %d (want 3), latencies %v (want none)", rep.violations, rep.confirmed, rep.confirmLat)
	}
}

func TestLoadCheckInvariants_EachViolation(t *testing.T) {
	cases := []struct {
		name  string
		spoil func(d *fakeData)
		want  []string // substrings of the one violation
	}{
		{
			name: "room type oversold on one night",
			spoil: func(d *fakeData) {
				p := fakePayment("pay-over", "bk-over", payments.StatusSucceeded, paidAt)
				// Last, so it is on the last page of each list.
				d.bookings = append(d.bookings, confirm(fakeBooking("bk-over", "", runGuest(5), "rt-small", night1), p, time.Millisecond))
				d.payments = append(d.payments, p)
			},
			want: []string{"room type rt-small oversold on 2030-01-10", "3 confirmed or pending bookings, 2 rooms"},
		},
		{
			name: "pending holds oversell too",
			spoil: func(d *fakeData) {
				d.bookings = append(d.bookings, fakeBooking("bk-pending-2", bookings.StatusPending, runGuest(5), "rt-small", night2),
					fakeBooking("bk-pending-3", bookings.StatusPending, runGuest(6), "rt-small", night2))
			},
			want: []string{"room type rt-small oversold on 2030-01-11", "3 confirmed or pending bookings, 2 rooms"},
		},
		{
			name: "confirmed booking without a succeeded payment",
			spoil: func(d *fakeData) {
				p := fakePayment("pay-nopay-failed", "bk-nopay", payments.StatusFailed, paidAt)
				b := confirm(fakeBooking("bk-nopay", "", runGuest(5), "rt-big", night1), p, time.Millisecond)
				d.bookings = append(d.bookings, b)
				d.payments = append(d.payments, p)
			},
			want: []string{"confirmed booking bk-nopay has 0 succeeded payments"},
		},
		{
			name: "confirmed booking with two succeeded payments",
			spoil: func(d *fakeData) {
				d.payments = append(d.payments, fakePayment("pay-conf-3-again", "bk-conf-3", payments.StatusSucceeded, paidAt))
			},
			want: []string{"confirmed booking bk-conf-3 has 2 succeeded payments"},
		},
		{
			name: "succeeded payment of a cancelled booking",
			spoil: func(d *fakeData) {
				d.payments = append(d.payments, fakePayment("pay-kept", "bk-cancelled", payments.StatusSucceeded, paidAt))
			},
			want: []string{"payment pay-kept succeeded", "booking bk-cancelled is cancelled"},
		},
		{
			name: "succeeded payment of a missing booking",
			spoil: func(d *fakeData) {
				d.payments = append(d.payments, fakePayment("pay-orphan", "bk-gone", payments.StatusSucceeded, paidAt))
			},
			want: []string{"payment pay-orphan succeeded", "booking bk-gone is missing"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := cleanData()
			tc.spoil(&d)
			_, srv := newFakeAPI(t, fixed(d))
			c := newAPIClient(srv.URL, options{timeout: 5 * time.Second, payWorkers: 1}, nil)
			rep, err := checkInvariants(context.Background(), c, fakeAdminToken, fakeRun)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.violations) != 1 {
				t.Fatalf("violations = %q, want exactly one with %q", rep.violations, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(rep.violations[0], w) {
					t.Errorf("violation %q lacks %q", rep.violations[0], w)
				}
			}
		})
	}
}

func TestLoadCheckInvariants_FailedListIsAnError(t *testing.T) {
	f, srv := newFakeAPI(t, fixed(cleanData()))
	c := newAPIClient(srv.URL, options{timeout: 5 * time.Second, payWorkers: 1}, nil)
	_, err := checkInvariants(context.Background(), c, "not-the-admin", fakeRun)
	if err == nil || !strings.Contains(err.Error(), "401 unauthenticated") {
		t.Errorf("err = %v, want the 401 of the bookings list", err)
	}
	if f.unauthorized != 1 {
		t.Errorf("unauthorized requests = %d, want 1 (no further request after the failure)", f.unauthorized)
	}
}

func checkOnlyOptions(target string) options {
	return options{target: target, checkOnly: true, adminEmail: fakeAdminEmail, adminPassword: true,
		timeout: 5 * time.Second, payWorkers: 4}
}

func TestLoadCheckOnly_CleanData(t *testing.T) {
	f, srv := newFakeAPI(t, fixed(cleanData()))
	var stdout, stderr bytes.Buffer
	o := checkOnlyOptions(srv.URL + "/")
	o.settle = 10 * time.Second // holds at once: no wait
	began := time.Now()
	if err := runLoad(context.Background(), o, strings.NewReader(fakeAdminPassword+"\n"), &stdout, &stderr); err != nil {
		t.Fatalf("runLoad --check-only on clean data: %v\n%s", err, &stdout)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("clean check took %s: it waited for settle", d)
	}
	out := stdout.String()
	for _, want := range []string{"check only, target " + srv.URL + "\n", "bookings confirmed: 3\n", "all invariants hold"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// No run: no run figures, no latency.
	for _, unwanted := range []string{"by this run", "per second", "payment succeeded", "throughput", "VIOLATION", "{"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("output has %q:\n%s", unwanted, out)
		}
	}
	if f.signIns != 1 || f.passes != 1 || f.unknown != 0 {
		t.Errorf("sign-ins %d, checks %d, unexpected requests %d; want 1, 1, 0", f.signIns, f.passes, f.unknown)
	}
}

func TestLoadCheckOnly_ViolationIsAnError(t *testing.T) {
	d := cleanData()
	d.payments = append(d.payments, fakePayment("pay-orphan", "bk-gone", payments.StatusSucceeded, paidAt))
	d.payments = append(d.payments, fakePayment("pay-conf-1-again", "bk-conf-1", payments.StatusSucceeded, paidAt))
	f, srv := newFakeAPI(t, fixed(d))
	var stdout, stderr bytes.Buffer
	o := checkOnlyOptions(srv.URL)
	o.json = true
	err := runLoad(context.Background(), o, strings.NewReader(fakeAdminPassword+"\n"), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "2 invariant violations") {
		t.Fatalf("runLoad --check-only on broken data: err = %v, want 2 invariant violations\n%s", err, &stdout)
	}
	out := stdout.String()
	for _, want := range []string{
		"VIOLATION: payment pay-orphan succeeded and is not refunded, but its booking bk-gone is missing",
		"VIOLATION: confirmed booking bk-conf-1 has 2 succeeded payments",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "all invariants hold") {
		t.Errorf("output says the invariants hold:\n%s", out)
	}
	// settle 0: one check only.
	if f.passes != 1 {
		t.Errorf("checks = %d, want 1", f.passes)
	}

	// --json: the last line, with the invariants' fields only.
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	last := lines[len(lines)-1]
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(last), &got); err != nil {
		t.Fatalf("last line is not JSON: %v\n%s", err, out)
	}
	keys := slices.Sorted(maps.Keys(got))
	if want := []string{"confirmed", "invariants_ok", "violations"}; !slices.Equal(keys, want) {
		t.Errorf("JSON keys %v, want %v: %s", keys, want, last)
	}
	var check struct {
		InvariantsOK bool     `json:"invariants_ok"`
		Violations   []string `json:"violations"`
		Confirmed    int      `json:"confirmed"`
	}
	if err := json.Unmarshal([]byte(last), &check); err != nil {
		t.Fatal(err)
	}
	if check.InvariantsOK || len(check.Violations) != 2 || check.Confirmed != 3 ||
		!strings.Contains(check.Violations[0], "pay-orphan") || !strings.Contains(check.Violations[1], "bk-conf-1") {
		t.Errorf("JSON = %+v", check)
	}
}

func TestLoadCheckOnly_WaitsForTheInvariantsToSettle(t *testing.T) {
	broken := cleanData()
	broken.bookings[0].Status = bookings.StatusPending // its payment succeeded, the confirmation is on its way
	clean := cleanData()
	f, srv := newFakeAPI(t, func(n int) fakeData {
		if n < 3 {
			return broken
		}
		return clean
	})
	var stdout, stderr bytes.Buffer
	o := checkOnlyOptions(srv.URL)
	o.settle = 10 * time.Second
	if err := runLoad(context.Background(), o, strings.NewReader(fakeAdminPassword+"\n"), &stdout, &stderr); err != nil {
		t.Fatalf("runLoad --check-only: %v\n%s", err, &stdout)
	}
	if f.passes != 3 {
		t.Errorf("checks = %d, want 3 (two broken, then clean)", f.passes)
	}
	if out := stdout.String(); !strings.Contains(out, "all invariants hold") || strings.Contains(out, "VIOLATION") {
		t.Errorf("output:\n%s", out)
	}
	// Each booked hotel is read once for all three checks: a recheck costs
	// the two lists, not a read of every hotel again.
	if f.hotelGets["hotel-1"] != 1 || f.hotelGets["hotel-2"] != 1 || len(f.hotelGets) != 2 {
		t.Errorf("hotels read: %v, want each booked hotel once", f.hotelGets)
	}
}

// A target too busy to answer (503) is asked again within the settle time;
// the check then runs on what it answers.
func TestLoadCheckOnly_RetriesAnOverloadedTarget(t *testing.T) {
	f, srv := newFakeAPI(t, fixed(cleanData()))
	f.unavailable = 2
	var stdout, stderr bytes.Buffer
	o := checkOnlyOptions(srv.URL)
	o.settle = 10 * time.Second
	if err := runLoad(context.Background(), o, strings.NewReader(fakeAdminPassword+"\n"), &stdout, &stderr); err != nil {
		t.Fatalf("runLoad --check-only: %v\n%s", err, &stdout)
	}
	if f.passes != 3 || !strings.Contains(stdout.String(), "all invariants hold") {
		t.Errorf("checks = %d, want 3 (two 503s, then clean); output:\n%s", f.passes, &stdout)
	}

	// With no settle time left, the 503 is the answer.
	f2, srv2 := newFakeAPI(t, fixed(cleanData()))
	f2.unavailable = 100
	o = checkOnlyOptions(srv2.URL)
	o.settle = 0
	err := runLoad(context.Background(), o, strings.NewReader(fakeAdminPassword+"\n"), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "503 bookings.unavailable") {
		t.Errorf("err = %v, want the 503", err)
	}
}

func TestLoadCheckOnly_NeedsTheAdmin(t *testing.T) {
	f, srv := newFakeAPI(t, fixed(cleanData()))
	for _, tc := range []struct {
		name   string
		change func(*options)
		stdin  string
		want   string
	}{
		{"no admin email", func(o *options) { o.adminEmail = "" }, fakeAdminPassword + "\n", "--check-only needs the admin account: --admin-email"},
		{"no password on stdin", func(o *options) { o.adminPassword = false }, "", "--admin-password-stdin"},
		{"empty stdin", func(*options) {}, "", "read the admin password from stdin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := checkOnlyOptions(srv.URL)
			tc.change(&o)
			var stdout, stderr bytes.Buffer
			err := runLoad(context.Background(), o, strings.NewReader(tc.stdin), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout: %s", &stdout)
			}
		})
	}
	if f.signIns != 0 || f.passes != 0 {
		t.Errorf("the API was called: %d sign-ins, %d checks", f.signIns, f.passes)
	}

	// A wrong password: the sign-in's answer.
	o := checkOnlyOptions(srv.URL)
	var stdout, stderr bytes.Buffer
	err := runLoad(context.Background(), o, strings.NewReader("wrong\n"), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "admin: sign in "+fakeAdminEmail) || !strings.Contains(err.Error(), "401 invalid_credentials") {
		t.Errorf("err = %v, want the admin sign-in's 401", err)
	}
	if f.passes != 0 {
		t.Errorf("checked without an admin: %d checks", f.passes)
	}
}

func TestLoadConfirmLatencies(t *testing.T) {
	var all []bookings.Booking
	var pays []payments.Payment
	// Ten measurable bookings, 1 to 10 ms after their payment, out of order.
	for i, ms := range []int{7, 2, 10, 1, 5, 9, 3, 8, 4, 6} {
		p := fakePayment(fmt.Sprintf("pay-%d", i), fmt.Sprintf("bk-%d", i), payments.StatusSucceeded, paidAt.Add(time.Duration(i)*time.Second))
		all = append(all, confirm(fakeBooking(p.BookingID, "", runGuest(i), "rt-big", night1), p, time.Duration(ms)*time.Millisecond))
		pays = append(pays, p)
	}
	// Not measured, counted: confirmed before its payment (negative)...
	pNeg := fakePayment("pay-neg", "bk-neg", payments.StatusSucceeded, paidAt)
	all = append(all, confirm(fakeBooking("bk-neg", "", runGuest(20), "rt-big", night1), pNeg, -3*time.Millisecond))
	pays = append(pays, pNeg)
	// ...without a payment_id, with a payment not in the list, with a
	// payment not succeeded, with no time.
	noID := fakeBooking("bk-no-id", bookings.StatusConfirmed, runGuest(21), "rt-big", night1)
	notListed := confirm(fakeBooking("bk-not-listed", "", runGuest(22), "rt-big", night1),
		fakePayment("pay-not-listed", "bk-not-listed", payments.StatusSucceeded, paidAt), time.Millisecond)
	pRefunded := fakePayment("pay-refunded", "bk-refunded", payments.StatusRefunded, paidAt)
	refunded := confirm(fakeBooking("bk-refunded", "", runGuest(23), "rt-big", night1), pRefunded, time.Millisecond)
	pNoTime := fakePayment("pay-no-time", "bk-no-time", payments.StatusSucceeded, time.Time{})
	noTime := confirm(fakeBooking("bk-no-time", "", runGuest(24), "rt-big", night1), pNoTime, time.Hour)
	all = append(all, noID, notListed, refunded, noTime)
	pays = append(pays, pRefunded, pNoTime)
	// Not the run's, or not confirmed: not counted at all.
	pOther := fakePayment("pay-other", "bk-other", payments.StatusSucceeded, paidAt)
	all = append(all, confirm(fakeBooking("bk-other", "", "load-0-otherrun@load.example", "rt-big", night1), pOther, time.Hour))
	all = append(all, fakeBooking("bk-pending", bookings.StatusPending, runGuest(30), "rt-big", night1))
	pays = append(pays, pOther)

	lat, missing, negative := confirmLatencies(all, pays, fakeRun)
	var want []time.Duration
	for ms := 1; ms <= 10; ms++ {
		want = append(want, time.Duration(ms)*time.Millisecond)
	}
	if !slices.Equal(lat, want) {
		t.Errorf("latencies %v, want %v", lat, want)
	}
	if missing != 4 || negative != 1 {
		t.Errorf("missing %d, negative %d; want 4 and 1", missing, negative)
	}
	// Nearest rank: p50 is the 5th of 10, p90 the 9th, p99 the 10th.
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{0.50, 5 * time.Millisecond}, {0.90, 9 * time.Millisecond}, {0.99, 10 * time.Millisecond}, {1, 10 * time.Millisecond}} {
		if got := percentile(lat, c.p); got != c.want {
			t.Errorf("p%v = %s, want %s", c.p*100, got, c.want)
		}
	}
	if got := percentile(nil, 0.99); got != 0 {
		t.Errorf("percentile of nothing = %s", got)
	}

	// As printed after a run, and as --json has it.
	rep := invariantReport{confirmed: 15, confirmLat: lat, latMissing: missing, latNegative: negative}
	run := &loadRun{id: fakeRun, elapsed: 6 * time.Second}
	var out bytes.Buffer
	printInvariants(&out, rep, run)
	for _, w := range []string{
		"  bookings confirmed by this run: 15\n",
		"  confirmed bookings per second: 2.5 (15 in 6s, first request to the last payment answered)\n",
		"  payment succeeded → booking confirmed: p50 5ms  p90 9ms  p99 10ms  max 10ms  (10 bookings)\n",
		"    not measured: 4 without their succeeded payment in the list, 1 negative",
		"  all invariants hold",
	} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("printed invariants lack %q:\n%s", w, &out)
		}
	}
	j := rep.json(run)
	if !j.InvariantsOK || j.Violations == nil || j.Confirmed != 15 || j.ConfirmedPerS == nil || *j.ConfirmedPerS != 2.5 ||
		j.ConfirmLatency == nil || *j.ConfirmLatency != (loadLatencyJSON{P50ms: 5, P90ms: 9, P99ms: 10, MaxMs: 10, Measured: 10, Skipped: 5}) {
		t.Errorf("JSON of the check: %+v (latency %+v)", j, j.ConfirmLatency)
	}

	// Nothing measured: said so, nothing crashes.
	out.Reset()
	printInvariants(&out, invariantReport{latMissing: 2}, &loadRun{id: fakeRun})
	if !strings.Contains(out.String(), "no confirmed booking measured") || !strings.Contains(out.String(), "per second: 0.0") {
		t.Errorf("printed invariants with nothing measured:\n%s", &out)
	}
}
