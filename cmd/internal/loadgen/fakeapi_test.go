package loadgen

import (
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

	// With limitEvery > 0, every limitEvery-th request (any route) is
	// answered 429 http.rate_limited with Retry-After: retryAfter seconds,
	// as the server's per-caller limit does; so is every request sent
	// before that wait has passed (counted in tooSoon).
	limitEvery, retryAfter int
	requests, limited      int
	tooSoon                int
	limitedUntil           time.Time

	// Guests registered (POST /api/v1/users) for setupLoad.
	registered map[string]bool
}

func newFakeAPI(t *testing.T, data func(n int) fakeData) (*fakeAPI, *httptest.Server) {
	f := &fakeAPI{t: t, data: data, hotelGets: map[string]int{}, registered: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/cities", f.listCities)
	mux.HandleFunc("GET /api/v1/hotels", f.searchHotels)
	mux.HandleFunc("POST /api/v1/users", f.register)
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
	srv := httptest.NewServer(f.rateLimit(mux))
	t.Cleanup(srv.Close)
	return f, srv
}

// rateLimit answers 429 with Retry-After as configured by limitEvery.
func (f *fakeAPI) rateLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests++
		now := time.Now()
		limit := false
		switch {
		case f.limitEvery > 0 && now.Before(f.limitedUntil):
			f.tooSoon++
			limit = true
		case f.limitEvery > 0 && f.requests%f.limitEvery == 0:
			f.limitedUntil = now.Add(time.Duration(f.retryAfter) * time.Second)
			limit = true
		}
		if limit {
			f.limited++
		}
		f.mu.Unlock()
		if limit {
			w.Header().Set("Retry-After", strconv.Itoa(f.retryAfter))
			problem(w, http.StatusTooManyRequests, "http.rate_limited")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// listCities serves the cities of the current data's hotels.
func (f *fakeAPI) listCities(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cur = f.data(f.passes)
	count := map[string]int{}
	for _, h := range f.cur.hotels {
		count[h.City]++
	}
	var list search.CityList
	for _, name := range slices.Sorted(maps.Keys(count)) {
		list.Cities = append(list.Cities, search.City{ID: "city-" + name, Name: name, HotelCount: count[name]})
	}
	writeJSON(w, list)
}

// searchHotels serves every hotel of the city, each room type free.
func (f *fakeAPI) searchHotels(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var res search.SearchResult
	for _, id := range slices.Sorted(maps.Keys(f.cur.hotels)) {
		h := f.cur.hotels[id]
		if h.City != r.URL.Query().Get("city") {
			continue
		}
		hr := search.HotelResult{ID: h.ID, Name: h.Name}
		for _, rt := range h.RoomTypes {
			hr.RoomTypes = append(hr.RoomTypes, search.RoomOffer{ID: rt.ID, Name: rt.Name, MaxGuests: rt.MaxGuests, RoomsFree: rt.RoomsTotal})
		}
		res.Hotels = append(res.Hotels, hr)
	}
	writeJSON(w, res)
}

func (f *fakeAPI) register(w http.ResponseWriter, r *http.Request) {
	var body struct{ Email, Name, Password string }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Password != loadPassword {
		problem(w, http.StatusBadRequest, "malformed")
		return
	}
	// As Bellhop answers: 202 and the same body whether or not the
	// address already has an account (which is left alone).
	f.mu.Lock()
	defer f.mu.Unlock()
	f.registered[body.Email] = true
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "accepted", "email": body.Email})
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
	guest := f.registered[body.Email] && body.Password == loadPassword
	f.mu.Unlock()
	if guest {
		writeJSON(w, auth.Tokens{AccessToken: "guest-token-" + body.Email, TokenType: "Bearer", ExpiresIn: 900})
		return
	}
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
