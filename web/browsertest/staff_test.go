package browsertest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Staff (here the demo admin, who is staff too) add a hotel, a room type
// and a month of prices; a guest's search then finds the hotel at that price.
func TestStaffCatalog(t *testing.T) {
	staff := newTab(t, "staff", false)
	signIn(staff, "admin@bellhop.demo", adminPassword)
	staff.visit("/staff")
	staff.waitFor("a[href='/staff/hotels/new']")
	staff.audit("staff-hotels")

	city := fmt.Sprintf("Testville %d", time.Now().UnixNano()%100000)
	hotel := "Harbour View " + city
	staff.visit("/staff/hotels/new")
	staff.waitFor("#name")
	// A mistake first: the service's message appears next to the field.
	staff.fill("#name", hotel)
	staff.fill("#city", city)
	staff.fill("#country", "Portugal")
	staff.fill("#address", "Rua Nova 1")
	staff.fill("#time_zone", "Europe/Lisbon")
	staff.fill("#stars", "4")
	staff.fill("#rating", "4.5")
	staff.click("form[action='/staff/hotels'] button[type=submit]")
	staff.waitFor("#country-error")
	staff.audit("hotel-new-error")
	staff.fill("#country", "PT")
	staff.click("form[action='/staff/hotels'] button[type=submit]")
	staff.waitText(".banner.ok", "hotel is added", 10*time.Second)

	staff.fill("#rt_name", "Garden Suite")
	staff.fill("#max_guests", "2")
	staff.fill("#rooms_total", "5")
	staff.fill("#base_rate", "150.00")
	staff.fill("#currency", "EUR")
	staff.click("form[action$='/room-types'] button[type=submit]")
	staff.waitText(".banner.ok", "room type is added", 10*time.Second)
	staff.audit("staff-hotel")

	// Nightly prices: a bulk edit over the stay's nights.
	staff.click("a[href$='/rates']")
	staff.waitFor("table.calendar")
	checkIn, checkOut := stayDates(10)
	staff.fill("#from", checkIn)
	staff.fill("#to", checkOut)
	staff.fill("#amount", "123.45")
	staff.click("form[action$='/rates'] button[type=submit]")
	staff.waitText(".banner.ok", "nightly prices are saved", 10*time.Second)
	if n := staff.count("table.calendar td.override"); n < 2 {
		t.Errorf("%d days marked with their own price, want at least 2", n)
	}
	staff.audit("rates")

	guest := newTab(t, "guest searching", false)
	guest.visit("/search?city=" + strings.ReplaceAll(city, " ", "+") + "&check_in=" + checkIn + "&check_out=" + checkOut + "&guests=2")
	guest.waitText("#results", hotel, 10*time.Second)
	if got := guest.text("#results .price strong"); got != "€246.90" {
		t.Errorf("the stay costs %q, want €246.90 (2 nights at the new €123.45)", got)
	}

	staff.visit("/staff/bookings?status=confirmed")
	staff.waitFor("h1")
	staff.audit("staff-bookings")

	// Reports: the occupancy chart over the stay's nights (rooms of every
	// hotel are on sale, the new one's too), with the same figures as a table.
	staff.visit("/staff/reports?from=" + checkIn + "&to=" + checkOut + "&granularity=night")
	staff.reloadUntil("main", "Occupancy by night", 30*time.Second)
	staff.waitFor("figure.chart svg rect.chart-bar")
	if n := staff.count("#occupancy-table tbody tr"); n == 0 || n > 500 {
		t.Errorf("the occupancy table has %d rows, want 1 to 500 (every demo hotel has rooms: the rest are in the CSV)", n)
	}
	if got := staff.text("main"); !strings.Contains(got, "more are in the CSV") {
		t.Errorf("the page does not say the CSV has the rows the table leaves out")
	}
	if got := staff.text("figure.chart figcaption"); !strings.Contains(got, "Occupancy by night") {
		t.Errorf("chart title %q", got)
	}
	// ADR and RevPAR over time, and the reporting module's PDF with its charts.
	if n := staff.count("figure.chart svg polyline.chart-line"); n < 2 {
		t.Errorf("%d lines on the ADR and RevPAR chart, want 2", n)
	}
	res, pdf := staff.download(staff.attr("a[href^='/staff/reports/occupancy.pdf']", "href"))
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(string(pdf), "%PDF") {
		t.Errorf("occupancy PDF: %d %s, %d bytes", res.StatusCode, res.Header.Get("Content-Type"), len(pdf))
	}
	staff.audit("reports")
}

// An admin gives a user the staff role, and breaks the sandbox bank: a
// guest's payment then fails with a message, and works once it is mended.
func TestAdmin(t *testing.T) {
	user := newTab(t, "new user", false)
	email := newEmail("clerk")
	register(user, "Carla Clerk", email, "correct horse battery staple")

	admin := newTab(t, "admin", false)
	signIn(admin, "admin@bellhop.demo", adminPassword)
	// The menu's Admin link leads to the hub, and the hub to each page.
	admin.click("nav[aria-label=Main] a[href='/admin']")
	admin.waitFor("ul.hub")
	admin.audit("admin-hub")
	admin.click("ul.hub a[href='/admin/users']")
	admin.waitFor("table.list")
	// Users are paged by id: walk the pages to the new user.
	for admin.count("input[name=roles][id$='-staff']") > 0 && !strings.Contains(admin.text("table.list"), email) {
		if admin.count("a[rel=next]") == 0 {
			t.Fatalf("%s is on no page of users", email)
		}
		admin.click("a[rel=next]")
		admin.waitFor("table.list")
	}
	admin.audit("users")
	id := admin.userID(email)
	admin.click("#role-" + id + "-staff")
	admin.click("form[action='/admin/users/" + id + "/roles'] button[type=submit]")
	admin.waitText(".banner.ok", email, 10*time.Second)
	if !admin.checked("#role-" + id + "-staff") {
		t.Errorf("the staff role is not checked after saving")
	}

	// The bank goes down: paying fails, and says so.
	admin.visit("/admin/bank")
	admin.waitFor("#latency_ms")
	admin.audit("bank")
	admin.click("#down")
	admin.click("form[action='/admin/bank'] button[type=submit]")
	admin.waitText(".banner.ok", "changed", 10*time.Second)
	if got := admin.text("main p strong.status"); got != "down" {
		t.Errorf("bank status %q, want down", got)
	}

	guest := newTab(t, "guest paying", false)
	register(guest, "Pat Payer", newEmail("payer"), "correct horse battery staple")
	checkIn, checkOut := stayDates(20)
	guest.visit("/search?city=Porto&check_in=" + checkIn + "&check_out=" + checkOut + "&guests=1")
	guest.click("#results ol.cards li.card h3 a")
	guest.waitFor("form[action='/book'] button")
	guest.click("form[action='/book'] button")
	guest.waitFor("#card-pm_card_visa")
	guest.click("#card-pm_card_visa")
	guest.click("form[action$='/pay'] button[type=submit]")
	// The payment's outcome is unknown (the bank never answered): the guest
	// is told so, not that the booking is confirmed.
	guest.waitText("h1", "Waiting for the bank", 40*time.Second)
	if got := guest.text("table"); !strings.Contains(got, "Being confirmed") {
		t.Errorf("payments table = %q, want the payment being confirmed", got)
	}
	guest.audit("waiting-for-bank")

	// Mended, for the tests after this one.
	admin.visit("/admin/bank")
	admin.waitFor("#down")
	admin.click("#down")
	admin.click("form[action='/admin/bank'] button[type=submit]")
	admin.waitText(".banner.ok", "changed", 10*time.Second)
	if got := admin.text("main p strong.status"); got != "up" {
		t.Errorf("bank status %q, want up", got)
	}
}

// The System page shows every module in this process, the calls between
// them drawn as a graph and listed in a table, and the event backbone; it
// updates itself.
func TestSystemPage(t *testing.T) {
	admin := newTab(t, "operator", false)
	signIn(admin, "admin@bellhop.demo", adminPassword)
	// Some traffic first, so that edges exist.
	admin.visit("/search?city=Lisbon&guests=2")
	admin.waitFor("#results")
	admin.visit("/system")
	admin.waitFor("svg.topology")
	mods := admin.text("table.list")
	for _, m := range []string{"auth", "search", "bookings", "payments", "reporting"} {
		if !strings.Contains(mods, m) {
			t.Errorf("the modules table lacks %s: %q", m, mods)
		}
	}
	if n := admin.count("table.list tr[data-module] td .status-confirmed"); n != 5 {
		t.Errorf("%d modules ready, want 5", n)
	}
	if n := admin.count("svg.topology g.node"); n < 6 {
		t.Errorf("%d nodes in the topology, want the gateway and 5 modules", n)
	}
	if n := admin.count("#processes tbody tr"); n != 1 {
		t.Errorf("%d processes listed for the single binary, want 1", n)
	}
	if n := admin.count("svg.topology g.edge"); n < 1 {
		t.Errorf("no edge in the topology after a search")
	}
	admin.audit("system")
	// Live: the polled part is replaced (its timestamp moves on).
	before := admin.text("#live > p.muted")
	admin.waitText("#live > p.muted", "", 1*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for admin.text("#live > p.muted") == before {
		if time.Now().After(deadline) {
			t.Fatalf("the System page did not update itself in 10s")
		}
		time.Sleep(300 * time.Millisecond)
	}
}
