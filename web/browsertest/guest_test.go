package browsertest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/platform/pdftext/pdftexttest"
)

var userSeq = time.Now().UnixNano()

// newEmail is an address no test used before.
func newEmail(kind string) string {
	userSeq++
	return fmt.Sprintf("%s-%d@example.com", kind, userSeq)
}

// stayDates are a check-in and check-out some weeks ahead (free rooms, and
// never in the past where any hotel is).
func stayDates(offsetDays int) (string, string) {
	in := time.Now().UTC().AddDate(0, 0, 30+offsetDays)
	return in.Format("2006-01-02"), in.AddDate(0, 0, 2).Format("2006-01-02")
}

// register creates an account from the register page and leaves the tab
// signed in on the search page.
func register(tb *tab, name, email, password string) {
	tb.t.Helper()
	tb.visit("/register")
	tb.waitFor("#name")
	if !tb.jsOff {
		tb.audit("register")
	}
	tb.fill("#name", name)
	tb.fill("#email", email)
	tb.fill("#password", password)
	tb.click("form[action='/register'] button[type=submit]")
	tb.waitText("nav", "Sign out", 15*time.Second)
}

func signIn(tb *tab, email, password string) {
	tb.t.Helper()
	tb.visit("/signin")
	tb.waitFor("#email")
	tb.fill("#email", email)
	tb.fill("#password", password)
	tb.click("form[action='/signin'] button[type=submit]")
	tb.waitText("nav", "Sign out", 15*time.Second)
}

// guestPath is the whole path a guest walks: sign up, search, open a hotel,
// hold a room, pay with a card that is declined, pay again with one that
// works, see the confirmation, cancel after reading the refund, and see the
// refund on the cancelled booking.
func guestPath(t *testing.T, jsOff bool, offset int) {
	tb := newTab(t, map[bool]string{false: "guest", true: "guest without JavaScript"}[jsOff], jsOff)
	shots := true
	register(tb, "Ada Guest", newEmail("guest"), "correct horse battery staple")

	// Search.
	checkIn, checkOut := stayDates(offset)
	tb.visit("/")
	tb.waitFor("#city")
	if shots {
		tb.audit("home")
	}
	tb.fill("#city", "Lisbon")
	tb.fill("#check_in", checkIn)
	tb.fill("#check_out", checkOut)
	tb.fill("#guests", "2")
	tb.click("form.searchbar button[type=submit]")
	tb.waitFor("#results ol.cards li.card h3 a")
	if got := tb.text("#results .count"); !strings.Contains(got, "2 guests") || !strings.Contains(got, "2 nights") {
		t.Errorf("results summary = %q, want the guests and nights", got)
	}
	if shots {
		tb.audit("search")
	}
	if tb.overflowsAt375() {
		t.Errorf("the search page scrolls sideways at 375 px")
	}
	hotelName := tb.text("#results ol.cards li.card h3 a")

	// The hotel page.
	tb.click("#results ol.cards li.card h3 a")
	tb.waitText("h1", hotelName, 15*time.Second)
	tb.waitFor("form[action='/book'] button")
	total := tb.text(".rooms li.card .price strong")
	if shots {
		tb.audit("hotel")
	}

	// Hold a room.
	tb.click("form[action='/book'] button")
	tb.waitText("h1", "Check your booking and pay", 15*time.Second)
	if got := tb.text("dl.summary .total dd"); got != total {
		t.Errorf("the booking's total is %q, the hotel page said %q", got, total)
	}
	if !jsOff {
		// The hold's countdown runs (app.js).
		tb.waitText(".countdown", "left", 5*time.Second)
	} else if got := tb.text("p.hold"); strings.Contains(got, "left") {
		t.Errorf("the countdown ran with JavaScript off: %q", got)
	}
	if shots {
		tb.audit("pay")
	}

	// A declined card, shown as such next to the cards.
	tb.click("#card-pm_card_chargeDeclined")
	tb.click("form[action$='/pay'] button[type=submit]")
	tb.waitText("h1", "Your card was declined", 15*time.Second)
	if got := tb.text(".error-summary"); !strings.Contains(got, "declined") {
		t.Errorf("error summary = %q, want the decline", got)
	}
	if got := tb.text("#payment_method-error"); !strings.Contains(got, "declined") {
		t.Errorf("message next to the cards = %q", got)
	}
	if shots {
		tb.audit("pay-declined")
	}

	// Visa: paid, then confirmed (the page refreshes itself until it is).
	tb.click("#card-pm_card_visa")
	tb.click("form[action$='/pay'] button[type=submit]")
	tb.waitText("h1", "Booking confirmed", 30*time.Second)
	if got := tb.text("dl.summary .total dd"); got != total {
		t.Errorf("confirmed total %q, want %q", got, total)
	}
	if got := tb.text("table"); !strings.Contains(got, "Declined") || !strings.Contains(got, "Paid") {
		t.Errorf("payments table = %q, want the declined and the paid attempt", got)
	}
	if shots {
		tb.audit("confirmed")
	}

	// The receipt: reporting issues it from the booking's events, so it
	// shows up on the page a moment later; downloaded as this guest, it is
	// a PDF that pdftotext reads with its number in it.
	tb.reloadUntil("main", "Receipts and credit notes", 30*time.Second)
	number := tb.text("table.documents td.ref")
	href := tb.attr("table.documents a[href^='/documents/']", "href")
	res, pdf := tb.download(href)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/pdf" ||
		!strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment; filename=") {
		t.Fatalf("receipt download: %d %s %q", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"))
	}
	if text := pdftexttest.Text(t, pdf); !strings.Contains(text, "Receipt") || !strings.Contains(text, number) {
		t.Errorf("the receipt's text lacks its number %s:\n%s", number, text)
	}

	// My bookings lists it.
	tb.visit("/bookings")
	tb.waitText("table.list", hotelName, 10*time.Second)
	if shots {
		tb.audit("my-bookings")
	}

	// Cancel: the refund is shown before, and again after.
	tb.click("table.list td a")
	tb.waitText("h1", "Booking confirmed", 10*time.Second)
	tb.click("a[href$='/cancel']")
	tb.waitText("h1", "Cancel your stay", 10*time.Second)
	refund := tb.text(".refund")
	if refund != total {
		t.Errorf("refund offered %q, want the whole %q (free cancellation weeks ahead)", refund, total)
	}
	if shots {
		tb.audit("cancel")
	}
	tb.click("form[action$='/cancel'] button[type=submit]")
	tb.waitText("h1", "Booking cancelled", 15*time.Second)
	if got := tb.text(".refund"); got != refund {
		t.Errorf("refund after cancelling %q, want %q", got, refund)
	}
	if got := tb.text(".status"); got != "Cancelled" {
		t.Errorf("status %q", got)
	}
	tb.reloadUntil("table.documents", "Credit note", 30*time.Second)
	if shots {
		tb.audit("cancelled")
	}

	// Account: change the name.
	tb.visit("/account")
	tb.waitFor("#name")
	tb.fill("#name", "Ada L. Guest")
	tb.click("form[action='/account/name'] button")
	tb.waitText(".banner.ok", "saved", 10*time.Second)
	if shots {
		tb.audit("account")
	}

	// Sign out: the session is gone.
	tb.click("form[action='/signout'] button")
	tb.waitText("nav", "Sign in", 10*time.Second)
	tb.visit("/bookings")
	tb.waitText("h1", "Sign in", 10*time.Second)
}

func TestGuestPath(t *testing.T) { guestPath(t, false, 0) }

func TestGuestPathWithoutJavaScript(t *testing.T) { guestPath(t, true, 3) }

// Field errors from the services appear next to the field and in the
// summary at the top.
func TestSearchErrors(t *testing.T) {
	tb := newTab(t, "search errors", false)
	tb.visit("/search?city=Atlantis&check_in=2030-01-10&check_out=2030-01-12&guests=2")
	tb.waitFor(".error-summary")
	if got := tb.text("#city-error"); !strings.Contains(got, "no hotels in a city of that name") {
		t.Errorf("city error = %q", got)
	}
	tb.audit("search-error")
	in, _ := stayDates(0)
	tb.visit("/search?city=Lisbon&check_in=" + in + "&check_out=" + in + "&guests=2")
	tb.waitFor("#check_out-error")
	if got := tb.text("#check_out-error"); !strings.Contains(got, "check-out date must be after the check-in date") {
		t.Errorf("check-out error = %q", got)
	}
	if got := tb.text(".error-summary a[href='#check_out']"); got == "" {
		t.Errorf("the summary does not link to the field")
	}
}
