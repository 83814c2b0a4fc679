package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/bookings/bookingstest"
	"github.com/bellhop/bellhop/modules/reporting/reportingtest"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/modules/search/searchtest"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/db/dbtest"
	"github.com/bellhop/bellhop/platform/httpserver"
	"github.com/bellhop/bellhop/platform/money"
	"github.com/bellhop/bellhop/web"
)

func apperrField(field, reason string) apperr.FieldError {
	return apperr.FieldError{Field: field, Reason: reason, Detail: "must not be blank"}
}

type app struct {
	srv     *httptest.Server
	auth    *fakeAuth
	search  *searchtest.Fake
	reports *reportingtest.Fake
	mailbox *fakeMailbox
	hotel   search.Hotel
	checkIn civil.Date
}

// newApp serves the dashboard over loopback on fakes of the modules (real
// signed tokens, a real SQLite sessions table).
func newApp(tb testing.TB, hotelName string) *app {
	tb.Helper()
	return newAppWith(tb, hotelName, nil)
}

// newAppWith is newApp with the dashboard's dependencies changed by change
// (may be nil) before it is built.
func newAppWith(tb testing.TB, hotelName string, change func(*web.Deps)) *app {
	tb.Helper()
	iss := authntest.NewIssuer(tb, "bellhop", "bellhop")
	verifier, err := authn.NewVerifier(iss.KeySet(), "bellhop", "bellhop")
	if err != nil {
		tb.Fatal(err)
	}
	a := &app{auth: newFakeAuth(tb, iss), search: searchtest.NewFake(), reports: reportingtest.NewFake(), mailbox: newFakeMailbox(tb)}
	bk := bookingstest.NewFake()
	deps := web.Deps{Auth: a.auth, Search: a.search, Bookings: bk, Payments: &fakePayments{bk: bk}, Reporting: a.reports,
		ReportFiles: fakeReportFiles{}, Mailbox: a.mailbox, Verifier: verifier, DB: dbtest.Open(tb, web.Module, web.Migrations)}
	if change != nil {
		change(&deps)
	}
	w, err := web.New(deps)
	if err != nil {
		tb.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = httpserver.ErrorHandler(nil)
	w.Register(e)
	a.srv = httptest.NewServer(e)
	tb.Cleanup(a.srv.Close)

	staff := authn.WithPrincipal(context.Background(), authn.Principal{Subject: "usr_staff", Kind: authn.KindUser,
		Roles: []string{authn.RoleStaff}, Scopes: []string{search.ScopeCatalogWrite}})
	a.hotel, err = a.search.CreateHotel(staff, search.CreateHotelRequest{Name: hotelName, City: "Lisbon", Country: "PT",
		Address: "Rua Augusta 1", TimeZone: "Europe/Lisbon", Stars: 4, Rating: 4.5})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := a.search.CreateRoomType(staff, search.CreateRoomTypeRequest{HotelID: a.hotel.ID, Name: "Double", MaxGuests: 2,
		RoomsTotal: 3, BaseRate: money.New(12950, "EUR")}); err != nil {
		tb.Fatal(err)
	}
	a.checkIn = civil.Today(time.UTC).AddDays(20)
	return a
}

func (a *app) stay() string {
	return "check_in=" + a.checkIn.String() + "&check_out=" + a.checkIn.AddDays(2).String() + "&guests=2"
}

// browser is a cookie-keeping client.
type browser struct {
	t testing.TB
	a *app
	c *http.Client
}

func (a *app) browser(tb testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: tb, a: a, c: &http.Client{Jar: jar}}
}

// get fetches path and returns the final status, URL path and body.
func (b *browser) get(path string) (int, string, string) {
	b.t.Helper()
	res, err := b.c.Get(b.a.srv.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Request.URL.Path, string(body)
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// post submits a form from page (which gives the CSRF token) to action.
func (b *browser) post(page, action string, form url.Values) (int, string, string) {
	b.t.Helper()
	_, _, body := b.get(page)
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no CSRF token on %s", page)
	}
	form.Set("csrf_token", m[1])
	res, err := b.c.PostForm(b.a.srv.URL+action, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Request.URL.Path + "?" + res.Request.URL.RawQuery, string(out)
}

func must(t testing.TB, what string, status int, body string, wantStatus int, wants ...string) {
	t.Helper()
	if status != wantStatus {
		t.Errorf("%s: status %d, want %d", what, status, wantStatus)
	}
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s: the page lacks %q", what, w)
		}
	}
}

func signUp(t testing.TB, b *browser, email string) {
	t.Helper()
	st, at, body := b.post("/register", "/register", url.Values{"name": {"Ada"}, "email": {email}, "password": {"correct horse battery"}, "next": {"/"}})
	must(t, "register", st, body, 200, "Sign out")
	if !strings.HasPrefix(at, "/?") {
		t.Errorf("after registering at %s, want /", at)
	}
}

func TestAnonymousPages(t *testing.T) {
	t.Parallel()
	a := newApp(t, "Hotel <script>alert(1)</script>")
	b := a.browser(t)
	st, _, body := b.get("/")
	must(t, "home", st, body, 200, "Find a hotel", `<datalist id="cities">`, `<option value="Lisbon">`)
	st, _, body = b.get("/search?city=Lisbon&" + a.stay())
	must(t, "search", st, body, 200, "Hotel &lt;script&gt;alert(1)&lt;/script&gt;", "€259.00", "1 hotel")
	if strings.Contains(body, "<script>alert(1)") {
		t.Error("a hotel's name is not escaped")
	}
	st, _, body = b.get("/search?city=Atlantis&" + a.stay())
	must(t, "unknown city", st, body, 422, "There is a problem", `href="#city"`, `id="city-error"`)
	st, _, body = b.get("/hotels/" + a.hotel.ID + "?" + a.stay())
	must(t, "hotel", st, body, 200, "Double", "€259.00", "Sign in to book")
	st, _, body = b.get("/hotels/nope")
	must(t, "missing hotel", st, body, 404, "Page not found")
	st, _, body = b.get("/cities?city=Li")
	must(t, "cities", st, body, 200, "Lisbon")
	for _, p := range []string{"/bookings", "/account", "/staff", "/system", "/admin/users"} {
		st, at, body := b.get(p)
		must(t, p, st, body, 200, "Sign in")
		if at != "/signin" {
			t.Errorf("%s without a session went to %s, want /signin", p, at)
		}
	}
	// A form without its CSRF token is refused.
	res, err := b.c.PostForm(a.srv.URL+"/signin", url.Values{"email": {"x@example.com"}, "password": {"y"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("a sign-in without CSRF token: %d, want 403", res.StatusCode)
	}
}

func TestHeadersAndAssets(t *testing.T) {
	t.Parallel()
	a := newApp(t, "Casa")
	res, err := http.Get(a.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if csp := res.Header.Get("Content-Security-Policy"); csp != web.CSP || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP = %q", csp)
	}
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("pages must not be cached: %q", res.Header.Get("Cache-Control"))
	}
	css := regexp.MustCompile(`href="(/static/app\.[0-9a-f]{10}\.css)"`).FindSubmatch(body)
	js := regexp.MustCompile(`src="(/static/htmx-2\.0\.11\.min\.[0-9a-f]{10}\.js)"`).FindSubmatch(body)
	if css == nil || js == nil {
		t.Fatalf("no hashed asset URLs in the page")
	}
	req, _ := http.NewRequest("GET", a.srv.URL+string(js[1]), nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	gz, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("htmx: %d, encoding %q, cache %q", res.StatusCode, res.Header.Get("Content-Encoding"), res.Header.Get("Cache-Control"))
	}
	if len(gz) > 20_000 {
		t.Errorf("htmx gzipped is %d bytes", len(gz))
	}
	res, err = http.Get(a.srv.URL + "/static/htmx-LICENSE.txt")
	if err != nil {
		t.Fatal(err)
	}
	lic, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(lic), "Zero-Clause BSD") {
		t.Errorf("htmx licence not served")
	}
}

func TestGuestFlow(t *testing.T) {
	t.Parallel()
	a := newApp(t, "Casa Azul")
	b := a.browser(t)
	signUp(t, b, "ada@example.com")
	st, _, body := b.post("/register", "/register", url.Values{"name": {"Ada"}, "email": {"ADA@example.com"}, "password": {"correct horse battery"}})
	must(t, "register again", st, body, 409, "An account with this email address already exists", `href="#email"`)

	hotelPage := "/hotels/" + a.hotel.ID + "?" + a.stay()
	_, _, body = b.get(hotelPage)
	must(t, "hotel signed in", 200, body, 200, `action="/book"`)
	got, err := a.search.GetHotel(context.Background(), search.GetHotelRequest{ID: a.hotel.ID})
	if err != nil || len(got.RoomTypes) == 0 {
		t.Fatalf("hotel: %v", err)
	}
	form := url.Values{"hotel_id": {a.hotel.ID}, "room_type_id": {got.RoomTypes[0].ID}, "check_in": {a.checkIn.String()},
		"check_out": {a.checkIn.AddDays(2).String()}, "guests": {"2"}, "hold_key": {"k1"}}
	st, at, body := b.post(hotelPage, "/book", form)
	must(t, "hold", st, body, 200, "Check your booking and pay", `name="payment_method" value="pm_card_visa"`, "data-expires")
	if strings.Contains(body, `type="text" name="card`) || strings.Contains(body, "card_number") {
		t.Error("the payment form has a card number field")
	}
	payPage := strings.TrimSuffix(at, "?")
	st, at, body = b.post(payPage, payPage, url.Values{"payment_method": {"pm_card_chargeDeclined"}, "pay_key": {"p1"}})
	must(t, "declined", st, body, 200, "Your card was declined", `id="payment_method-error"`, "There is a problem")
	if !strings.Contains(at, "payment=") {
		t.Errorf("after a decline at %s", at)
	}
	st, at, body = b.post(payPage, payPage, url.Values{"payment_method": {"pm_card_visa"}, "pay_key": {"p2"}})
	must(t, "paid", st, body, 200, "Booking confirmed", "€200.00", "Declined", "Paid") // the bookings fake: €100 a night
	bookingPage := strings.SplitN(at, "?", 2)[0]
	st, _, body = b.get(bookingPage + "/cancel")
	must(t, "cancel page", st, body, 200, `class="refund">€200.00`, "Cancel booking and refund €200.00")
	st, _, body = b.post(bookingPage+"/cancel", bookingPage+"/cancel", url.Values{})
	must(t, "cancelled", st, body, 200, "Booking cancelled", "Your booking is cancelled")
	st, _, body = b.get("/bookings")
	must(t, "my bookings", st, body, 200, bookingPage, "Cancelled")

	st, _, body = b.post("/account", "/account/name", url.Values{"name": {"  "}})
	must(t, "blank name", st, body, 422, "Enter full name", `href="#name"`)
	st, _, body = b.post("/account", "/account/name", url.Values{"name": {"Ada Lovelace"}})
	must(t, "name", st, body, 200, "Your name is saved", `value="Ada Lovelace"`)
	st, _, body = b.post("/account", "/account/password", url.Values{"current_password": {"wrong"}, "new_password": {"another long one"}})
	must(t, "wrong password", st, body, 422, "The current password is not correct")

	// Signing out revokes the session's refresh token.
	before := len(a.auth.refresh)
	st, at, body = b.post("/", "/signout", url.Values{})
	must(t, "sign out", st, body, 200, "Sign in")
	if len(a.auth.refresh) != before-1 || at != "/?" {
		t.Errorf("sign-out left %d refresh tokens (had %d), at %s", len(a.auth.refresh), before, at)
	}
	if _, at, _ := b.get("/bookings"); at != "/signin" {
		t.Errorf("after signing out /bookings is at %s", at)
	}
}

// Access tokens about to expire are refreshed with the refresh token, once
// even when requests race.
func TestSessionRefresh(t *testing.T) {
	t.Parallel()
	a := newApp(t, "Casa")
	a.auth.ttl = 10 * time.Second // below the 30 s margin: every request refreshes
	b := a.browser(t)
	signUp(t, b, "bo@example.com")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, _, body := b.get("/account")
			if !strings.Contains(body, "bo@example.com") {
				t.Error("a request lost the session while refreshing")
			}
		})
	}
	wg.Wait()
	if a.auth.refreshN < 1 {
		t.Errorf("no refresh happened")
	}
	if _, _, body := b.get("/account"); !strings.Contains(body, "bo@example.com") {
		t.Errorf("the session did not survive its refreshes")
	}
}

func TestStaffAndAdminPages(t *testing.T) {
	t.Parallel()
	a := newApp(t, "Casa")
	a.auth.add("staff@example.com", "Sam Staff", "staff password 1", authn.RoleStaff)
	a.auth.add("admin@example.com", "Ann Admin", "admin password 1", authn.RoleAdmin)
	guest := a.browser(t)
	signUp(t, guest, "g@example.com")
	if st, _, body := guest.get("/staff"); st != http.StatusForbidden || !strings.Contains(body, "does not have access") {
		t.Errorf("a guest on /staff: %d", st)
	}

	staff := a.browser(t)
	st, _, body := staff.post("/signin", "/signin", url.Values{"email": {"staff@example.com"}, "password": {"nope"}})
	must(t, "wrong sign-in", st, body, 422, "The email address or password is not correct")
	staff.post("/signin", "/signin", url.Values{"email": {"staff@example.com"}, "password": {"staff password 1"}})
	st, _, body = staff.get("/staff?city=Lisbon")
	must(t, "staff hotels", st, body, 200, "Casa", "Add a hotel")
	st, _, body = staff.post("/staff/hotels/new", "/staff/hotels", url.Values{"name": {"Novo"}, "city": {"Porto"}, "country": {"Portugal"},
		"address": {"Rua 1"}, "time_zone": {"Europe/Lisbon"}, "stars": {"3"}, "rating": {"4"}})
	must(t, "bad hotel", st, body, 422, `id="country-error"`, `href="#country"`)
	st, at, body := staff.post("/staff/hotels/new", "/staff/hotels", url.Values{"name": {"Novo"}, "city": {"Porto"}, "country": {"PT"},
		"address": {"Rua 1"}, "time_zone": {"Europe/Lisbon"}, "stars": {"3"}, "rating": {"4"}})
	must(t, "new hotel", st, body, 200, "The hotel is added")
	hotelPath := strings.SplitN(at, "?", 2)[0]
	st, _, body = staff.post(hotelPath, hotelPath+"/room-types", url.Values{"rt_name": {"Twin"}, "max_guests": {"2"}, "rooms_total": {"4"},
		"base_rate": {"99.50"}, "currency": {"EUR"}})
	must(t, "room type", st, body, 200, "The room type is added", "Twin", "€99.50")
	rates := regexp.MustCompile(`href="(/staff/hotels/[^"]+/rates)"`).FindStringSubmatch(body)
	if rates == nil {
		t.Fatal("no rates link")
	}
	st, _, body = staff.get(rates[1])
	must(t, "rates", st, body, 200, `class="calendar"`, "€99.50")
	from := a.checkIn
	st, _, body = staff.post(rates[1], rates[1], url.Values{"from": {from.String()}, "to": {from.AddDays(6).String()}, "amount": {"120"},
		"weekdays": {"0", "1", "2", "3", "4", "5", "6"}})
	must(t, "set rates", st, body, 200, "7 nightly prices are saved", "€120.00")
	st, _, body = staff.post(rates[1], rates[1], url.Values{"from": {from.String()}, "to": {from.AddDays(-1).String()}, "amount": {"x"}})
	must(t, "bad rates", st, body, 422, `href="#to"`, `href="#amount"`, `href="#weekdays"`)
	st, _, body = staff.get("/staff/bookings?status=confirmed")
	must(t, "staff bookings", st, body, 200, "All bookings")

	admin := a.browser(t)
	admin.post("/signin", "/signin", url.Values{"email": {"admin@example.com"}, "password": {"admin password 1"}})
	st, _, body = admin.get("/admin/users")
	must(t, "users", st, body, 200, "g@example.com", "staff@example.com")
	var gid string
	for id, u := range a.auth.users {
		if u.Email == "g@example.com" {
			gid = id
		}
	}
	st, _, body = admin.post("/admin/users", "/admin/users/"+gid+"/roles", url.Values{"roles": {"guest", "staff"}})
	must(t, "set roles", st, body, 200, "The roles of g@example.com are saved")
	st, _, body = admin.get("/admin/bank")
	must(t, "bank", st, body, 200, "does not run in this process")
	st, _, body = admin.get("/system")
	must(t, "system", st, body, 200, "not available in this process")
}

// BenchmarkSearchPage is the server time of one search results page
// (fakes behind it: the dashboard's own cost — session, template, gzip off).
func BenchmarkSearchPage(b *testing.B) {
	a := newApp(b, "Casa")
	br := a.browser(b)
	signUp(b, br, "bench@example.com")
	path := "/search?city=Lisbon&" + a.stay()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if st, _, _ := br.get(path); st != 200 {
			b.Fatal(st)
		}
	}
}
