package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/money"
)

const (
	fakeAdminEmail    = "admin@fake.example"
	fakeAdminPassword = "fake admin passphrase"
	fakeAdminToken    = "fake-admin-token"
	fakeRun           = "0badcafe"
	fakePageSize      = 2 // every list is served in several pages
)

// fakeData is what the fake API serves: the real JSON types of the modules.
type fakeData struct {
	hotels   map[string]search.Hotel
	bookings []bookings.Booking
	payments []payments.Payment
}

// fakeAPI fakes the endpoints checkInvariants and the admin sign-in read.
// data is called for each pass over the bookings list (n counts from 1), so
// a test can change the data between checks.
type fakeAPI struct {
	t    *testing.T
	data func(n int) fakeData

	mu                             sync.Mutex
	cur                            fakeData // the data of the current pass
	passes                         int      // first pages of the bookings list served
	bookingPages, paymentPages     int
	hotelGets                      map[string]int
	signIns, unauthorized, unknown int
	// unavailable: the first passes of the bookings list that answer 503,
	// as a target still working off a run does.
	unavailable int
}

func newFakeAPI(t *testing.T, data func(n int) fakeData) (*fakeAPI, *httptest.Server) {
	f := &fakeAPI{t: t, data: data, hotelGets: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/sessions", f.signIn)
	mux.HandleFunc("GET /api/v1/bookings", f.listBookings)
	mux.HandleFunc("GET /api/v1/payments", f.listPayments)
	mux.HandleFunc("GET /api/v1/hotels/{id}", f.getHotel)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.unknown++
		f.mu.Unlock()
		t.Errorf("fake API: unexpected %s %s", r.Method, r.URL)
		problem(w, http.StatusNotFound, "not_found")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return f, srv
}

func problem(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(apperr.Problem{Title: http.StatusText(status), Status: status, Reason: reason})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeAPI) signIn(w http.ResponseWriter, r *http.Request) {
	var body struct{ Email, Password string }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		problem(w, http.StatusBadRequest, "malformed")
		return
	}
	f.mu.Lock()
	f.signIns++
	f.mu.Unlock()
	if body.Email != fakeAdminEmail || body.Password != fakeAdminPassword {
		problem(w, http.StatusUnauthorized, "invalid_credentials")
		return
	}
	writeJSON(w, auth.Tokens{AccessToken: fakeAdminToken, TokenType: "Bearer", ExpiresIn: 900, RefreshToken: "fake-refresh"})
}

func (f *fakeAPI) admin(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Bearer "+fakeAdminToken {
		f.unauthorized++
		problem(w, http.StatusUnauthorized, "unauthenticated")
		return false
	}
	return true
}

// page serves items[offset:offset+fakePageSize] for the request's cursor
// (an offset the fake handed out); ok is false when the cursor is not one.
func page[T any](r *http.Request, items []T) (out []T, next string, ok bool) {
	if r.URL.Query().Get("limit") != "100" {
		return nil, "", false
	}
	off := 0
	if c := r.URL.Query().Get("cursor"); c != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c, "after-"))
		if err != nil || !strings.HasPrefix(c, "after-") || n <= 0 || n > len(items) {
			return nil, "", false
		}
		off = n
	}
	end := min(off+fakePageSize, len(items))
	if end < len(items) {
		next = fmt.Sprintf("after-%d", end)
	}
	return items[off:end], next, true
}

func (f *fakeAPI) listBookings(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.admin(w, r) {
		return
	}
	if r.URL.Query().Get("cursor") == "" { // a new check begins
		f.passes++
		f.cur = f.data(f.passes)
		if f.passes <= f.unavailable {
			problem(w, http.StatusServiceUnavailable, "bookings.unavailable")
			return
		}
	}
	f.bookingPages++
	items, next, ok := page(r, f.cur.bookings)
	if !ok {
		f.t.Errorf("fake API: bad bookings page request %s", r.URL)
		problem(w, http.StatusBadRequest, "bad_cursor")
		return
	}
	writeJSON(w, bookings.BookingList{Bookings: items, NextCursor: next})
}

func (f *fakeAPI) listPayments(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.admin(w, r) {
		return
	}
	f.paymentPages++
	items, next, ok := page(r, f.cur.payments)
	if !ok {
		f.t.Errorf("fake API: bad payments page request %s", r.URL)
		problem(w, http.StatusBadRequest, "bad_cursor")
		return
	}
	writeJSON(w, payments.PaymentList{Payments: items, NextCursor: next})
}

func (f *fakeAPI) getHotel(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := r.PathValue("id")
	f.hotelGets[id]++
	h, ok := f.cur.hotels[id]
	if !ok {
		problem(w, http.StatusNotFound, "hotel_not_found")
		return
	}
	writeJSON(w, h)
}

var (
	night1 = civil.MustParse("2030-01-10")
	night2 = civil.MustParse("2030-01-11")
	// paidAt is when the clean data's payments succeeded.
	paidAt = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
)

func runGuest(i int) string { return fmt.Sprintf("load-%d-%s@load.example", i, fakeRun) }

func fakeBooking(id, status, email, roomType string, nights ...civil.Date) bookings.Booking {
	hotel := "hotel-1"
	if roomType == "rt-other" {
		hotel = "hotel-2"
	}
	b := bookings.Booking{ID: id, Status: status, GuestID: "guest-" + email, GuestEmail: email, HotelID: hotel,
		RoomTypeID: roomType, Guests: 1, Total: money.New(int64(10000*len(nights)), "EUR"),
		CreatedAt: paidAt.Add(-time.Minute), UpdatedAt: paidAt.Add(-time.Minute)}
	if len(nights) > 0 {
		b.CheckIn, b.CheckOut = nights[0], nights[len(nights)-1].AddDays(1)
	}
	for _, n := range nights {
		b.Nights = append(b.Nights, bookings.NightPrice{Date: n, Price: money.New(10000, "EUR")})
	}
	return b
}

func fakePayment(id, bookingID, status string, at time.Time) payments.Payment {
	return payments.Payment{ID: id, BookingID: bookingID, GuestID: "guest", Amount: money.New(10000, "EUR"),
		Status: status, Provider: "sandbox", CreatedAt: at.Add(-time.Second), UpdatedAt: at}
}

// confirm makes b confirmed by payment p, after latency.
func confirm(b bookings.Booking, p payments.Payment, latency time.Duration) bookings.Booking {
	b.Status, b.PaymentID, b.UpdatedAt = bookings.StatusConfirmed, p.ID, p.UpdatedAt.Add(latency)
	return b
}

// cleanData breaks no invariant: rt-small (2 rooms) is exactly full on
// night1; cancelled, expired and rejected bookings hold no room; refunded and
// failed payments are not "succeeded". Two of the confirmed bookings are the
// run's, confirmed 40 and 70 ms after their payments succeeded.
func cleanData() fakeData {
	pConf1 := fakePayment("pay-conf-1", "bk-conf-1", payments.StatusSucceeded, paidAt)
	pConf2 := fakePayment("pay-conf-2", "bk-conf-2", payments.StatusSucceeded, paidAt)
	pConf3 := fakePayment("pay-conf-3", "bk-conf-3", payments.StatusSucceeded, paidAt.Add(time.Second))
	pRefunded := fakePayment("pay-refunded", "bk-cancelled", payments.StatusRefunded, paidAt)
	pFailed := fakePayment("pay-failed", "bk-rejected", payments.StatusFailed, paidAt)
	rejected := fakeBooking("bk-rejected", bookings.StatusRejected, runGuest(2), "rt-small", night1)
	rejected.PaymentID = pFailed.ID
	return fakeData{
		hotels: map[string]search.Hotel{
			"hotel-1": {ID: "hotel-1", Name: "One", City: "Lisbon", RoomTypes: []search.RoomType{
				{ID: "rt-small", HotelID: "hotel-1", Name: "Small", MaxGuests: 2, RoomsTotal: 2, BaseRate: money.New(10000, "EUR")},
				{ID: "rt-big", HotelID: "hotel-1", Name: "Big", MaxGuests: 4, RoomsTotal: 10, BaseRate: money.New(20000, "EUR")},
			}},
			"hotel-2": {ID: "hotel-2", Name: "Two", City: "Porto", RoomTypes: []search.RoomType{
				{ID: "rt-other", HotelID: "hotel-2", Name: "Other", MaxGuests: 2, RoomsTotal: 5, BaseRate: money.New(9000, "EUR")},
			}},
		},
		bookings: []bookings.Booking{
			confirm(fakeBooking("bk-conf-1", "", runGuest(0), "rt-small", night1, night2), pConf1, 40*time.Millisecond),
			fakeBooking("bk-pending", bookings.StatusPending, runGuest(1), "rt-small", night1),
			fakeBooking("bk-cancelled", bookings.StatusCancelled, runGuest(1), "rt-small", night1),
			fakeBooking("bk-expired", bookings.StatusExpired, runGuest(3), "rt-small", night1, night2),
			rejected,
			// Someone else's booking: counted in --check-only, not in the run.
			confirm(fakeBooking("bk-conf-2", "", "someone@example.com", "rt-other", night1), pConf2, 5*time.Millisecond),
			confirm(fakeBooking("bk-conf-3", "", runGuest(4), "rt-big", night1, night2), pConf3, 70*time.Millisecond),
		},
		payments: []payments.Payment{pConf1, pRefunded, pFailed, pConf2, pConf3},
	}
}

func fixed(d fakeData) func(int) fakeData { return func(int) fakeData { return d } }

func TestLoadCheckInvariants_CleanDataHasNoViolation(t *testing.T) {
	f, srv := newFakeAPI(t, fixed(cleanData()))
	c := newLoadClient(srv.URL, loadOptions{timeout: 5 * time.Second, payWorkers: 1})

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
			c := newLoadClient(srv.URL, loadOptions{timeout: 5 * time.Second, payWorkers: 1})
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
	c := newLoadClient(srv.URL, loadOptions{timeout: 5 * time.Second, payWorkers: 1})
	_, err := checkInvariants(context.Background(), c, "not-the-admin", fakeRun)
	if err == nil || !strings.Contains(err.Error(), "401 unauthenticated") {
		t.Errorf("err = %v, want the 401 of the bookings list", err)
	}
	if f.unauthorized != 1 {
		t.Errorf("unauthorized requests = %d, want 1 (no further request after the failure)", f.unauthorized)
	}
}

func checkOnlyOptions(target string) loadOptions {
	return loadOptions{target: target, checkOnly: true, adminEmail: fakeAdminEmail, adminPassword: true,
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
		change func(*loadOptions)
		stdin  string
		want   string
	}{
		{"no admin email", func(o *loadOptions) { o.adminEmail = "" }, fakeAdminPassword + "\n", "--check-only needs the admin account: --admin-email"},
		{"no password on stdin", func(o *loadOptions) { o.adminPassword = false }, "", "--admin-password-stdin"},
		{"empty stdin", func(*loadOptions) {}, "", "read the admin password from stdin"},
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

func TestLoadSummaryJSON(t *testing.T) {
	s := newLoadStats()
	for i := 1; i <= 100; i++ {
		s.record(kindHold, http.StatusCreated, time.Duration(i)*time.Millisecond, nil, "")
	}
	s.record(kindHold, http.StatusConflict, 500*time.Millisecond, []byte(`{"reason":"sold_out"}`), "")
	s.record(kindSearch, http.StatusOK, 2*time.Millisecond, nil, "")
	s.paid = 90
	o := loadOptions{mix: "booking", rate: 50, duration: 2 * time.Second}
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
