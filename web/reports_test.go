package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/money"
)

// bookAndPay runs the guest path on b up to a confirmed booking and returns
// the booking's page path (/bookings/<id>).
func bookAndPay(t *testing.T, a *app, b *browser) string {
	t.Helper()
	hotelPage := "/hotels/" + a.hotel.ID + "?" + a.stay()
	got, err := a.search.GetHotel(context.Background(), search.GetHotelRequest{ID: a.hotel.ID})
	if err != nil || len(got.RoomTypes) == 0 {
		t.Fatalf("hotel: %v", err)
	}
	form := url.Values{"hotel_id": {a.hotel.ID}, "room_type_id": {got.RoomTypes[0].ID}, "check_in": {a.checkIn.String()},
		"check_out": {a.checkIn.AddDays(2).String()}, "guests": {"2"}, "hold_key": {"k1"}}
	st, at, body := b.post(hotelPage, "/book", form)
	must(t, "hold", st, body, 200, "Check your booking and pay")
	payPage := strings.TrimSuffix(at, "?")
	st, at, body = b.post(payPage, payPage, url.Values{"payment_method": {"pm_card_visa"}, "pay_key": {"p1"}})
	must(t, "paid", st, body, 200, "Booking confirmed")
	return strings.SplitN(at, "?", 2)[0]
}

func (a *app) userID(t *testing.T, email string) string {
	t.Helper()
	a.auth.mu.Lock()
	defer a.auth.mu.Unlock()
	for id, u := range a.auth.users {
		if u.Email == email {
			return id
		}
	}
	t.Fatalf("no user %s", email)
	return ""
}

// rawGet fetches path without reading it as a page: the status, headers and body.
func (b *browser) rawGet(path string) (*http.Response, []byte) {
	b.t.Helper()
	res, err := b.c.Get(b.a.srv.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

// A guest sees the receipt and credit note of their booking on its page and
// on My bookings and downloads them as PDFs; another guest gets a 404.
func TestBookingDocuments(t *testing.T) {
	t.Parallel()
	a := newApp(t, "Casa Verde")
	guest := a.browser(t)
	signUp(t, guest, "ada@example.com")
	bookingPage := bookAndPay(t, a, guest)
	bookingID := strings.TrimPrefix(bookingPage, "/bookings/")

	// Before reporting has issued anything the page says nothing of documents.
	_, _, body := guest.get(bookingPage)
	if strings.Contains(body, "Receipts and credit notes") {
		t.Error("the booking page lists documents before any is issued")
	}

	pdf := []byte("%PDF-1.4\nreceipt of " + bookingID + "\n%%EOF\n")
	receipt := a.reports.AddDocument(reporting.KindReceipt, bookingID, a.userID(t, "ada@example.com"), money.New(20000, "EUR"), time.Now(), pdf)
	credit := a.reports.AddDocument(reporting.KindCreditNote, bookingID, a.userID(t, "ada@example.com"), money.New(-20000, "EUR"), time.Now(),
		[]byte("%PDF-1.4\ncredit note\n%%EOF\n"))

	st, _, body := guest.get(bookingPage)
	must(t, "booking page", st, body, 200, "Receipts and credit notes", receipt.Number, credit.Number, "Credit note", "€200.00", "−€200.00", // a real minus sign
		`href="/documents/`+receipt.ID+`"`, `href="/documents/`+credit.ID+`"`, "PDF<span class=\"vh\">: receipt "+receipt.Number)
	st, _, body = guest.get("/bookings")
	must(t, "my bookings", st, body, 200, "Receipt "+receipt.Number, "Credit note "+credit.Number, `href="/documents/`+receipt.ID+`"`)

	res, got := guest.rawGet("/documents/" + receipt.ID)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/pdf" || string(got) != string(pdf) {
		t.Errorf("download: %d %s %q", res.StatusCode, res.Header.Get("Content-Type"), got)
	}
	if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="`+receipt.Filename+`"` {
		t.Errorf("Content-Disposition %q, want the receipt's file name %s", cd, receipt.Filename)
	}

	other := a.browser(t)
	signUp(t, other, "bo@example.com")
	if res, _ := other.rawGet("/documents/" + receipt.ID); res.StatusCode != http.StatusNotFound {
		t.Errorf("another guest downloading the receipt: %d, want 404", res.StatusCode)
	}
	if res, _ := a.browser(t).rawGet("/documents/" + receipt.ID); res.Request.URL.Path != "/signin" {
		t.Errorf("a visitor downloading the receipt ends at %s, want /signin", res.Request.URL.Path)
	}
}

// Staff read occupancy (chart and table) and revenue for a range and export
// them as CSV; bad filters are named next to their field; guests are refused.
func TestReportsPage(t *testing.T) {
	t.Parallel()
	a := newApp(t, "Casa")
	from := civil.MustParse("2026-05-01")
	a.reports.SetOccupancy(reporting.OccupancyReport{GroupBy: reporting.GroupHotel, Granularity: reporting.GranularityNight,
		Rows: []reporting.OccupancyRow{
			{PeriodStart: from, PeriodEnd: from.AddDays(1), Group: a.hotel.ID, Name: "Casa <Lisboa>", Currency: "EUR", RoomsAvailable: 4, RoomsSold: 3,
				Occupancy: 75, RoomRevenue: money.New(36000, "EUR"), ADR: money.New(12000, "EUR"), RevPAR: money.New(9000, "EUR"), Arrivals: 2, Departures: 1},
			{PeriodStart: from.AddDays(1), PeriodEnd: from.AddDays(2), Group: a.hotel.ID, Name: "Casa <Lisboa>", Currency: "EUR", RoomsAvailable: 4,
				RoomsSold: 1, Occupancy: 25, RoomRevenue: money.New(12000, "EUR"), ADR: money.New(12000, "EUR"), RevPAR: money.New(3000, "EUR")},
		}})
	a.reports.SetRevenue(reporting.RevenueReport{GroupBy: reporting.GroupHotel, Granularity: reporting.GranularityMonth,
		Rows: []reporting.RevenueRow{
			{PeriodStart: from, PeriodEnd: from.AddDays(31), Group: "h1", Name: "Casa", Currency: "EUR", Bookings: 2, Gross: money.New(30000, "EUR"),
				Refunds: money.New(5000, "EUR"), Net: money.New(25000, "EUR"), Tax: money.New(2000, "EUR")},
			{PeriodStart: from, PeriodEnd: from.AddDays(31), Group: "h2", Name: "Inn", Currency: "EUR", Bookings: 1, Gross: money.New(10000, "EUR"),
				Net: money.New(10000, "EUR")},
			{PeriodStart: from, PeriodEnd: from.AddDays(31), Group: "h3", Name: "Lodge", Currency: "GBP", Bookings: 1, Gross: money.New(8000, "GBP"),
				Net: money.New(8000, "GBP")},
		}})
	a.auth.add("staff@example.com", "Sam Staff", "staff password 1", authn.RoleStaff)
	staff := a.browser(t)
	staff.post("/signin", "/signin", url.Values{"email": {"staff@example.com"}, "password": {"staff password 1"}})

	_, _, body := staff.get("/staff")
	must(t, "nav", 200, body, 200, `href="/staff/reports"`)
	query := "from=2026-05-01&to=2026-05-03&granularity=night"
	st, _, body := staff.get("/staff/reports?" + query)
	must(t, "reports", st, body, 200, "<svg", "Occupancy by night", "Occupancy (%)", "Period starting", "1 May: 75.0%", "2 May: 25.0%",
		`id="occupancy-table"`, "Casa &lt;Lisboa&gt;", "75.00%", "€360.00", "€90.00",
		`id="revenue-table"`, "€400.00", "€350.00", "£80.00", // per-currency totals: EUR 300+100 gross, 250+100 net; GBP alone
		`href="/staff/reports/occupancy.csv?`, `href="/staff/reports/revenue.csv?`,
		// ADR and RevPAR over time: €360 room revenue over 3 rooms sold and 4 available, then €120 over 1 and 4.
		"ADR and RevPAR by night (EUR)", "ADR: 1 May €120.00, 2 May €120.00. RevPAR: 1 May €90.00, 2 May €30.00", "<polyline",
		// Net revenue per period, one chart per currency.
		"Net revenue by month (EUR)", "1 May: €350.00", "Net revenue by month (GBP)", "1 May: £80.00",
		`href="/staff/reports/occupancy.pdf?`, `href="/staff/reports/revenue.pdf?`)
	if strings.Contains(body, "Casa <Lisboa>") {
		t.Error("a hotel name is not escaped")
	}

	res, csv := staff.rawGet("/staff/reports/occupancy.csv?" + query)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(string(csv), "2026-05-01,2026-05-02,"+a.hotel.ID+",Casa <Lisboa>,EUR,4,3,75.00,360.00,120.00,90.00,2,1") {
		t.Errorf("occupancy CSV: %d %s\n%s", res.StatusCode, res.Header.Get("Content-Type"), csv)
	}
	res, csv = staff.rawGet("/staff/reports/revenue.csv?" + query)
	if res.StatusCode != 200 || !strings.Contains(string(csv), "Lodge,GBP,1,80.00,0.00,0.00,80.00,0.00") {
		t.Errorf("revenue CSV: %d\n%s", res.StatusCode, csv)
	}

	res, pdf := staff.rawGet("/staff/reports/revenue.pdf?" + query)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/pdf" ||
		string(pdf) != "%PDF revenue from=2026-05-01 to=2026-05-03 granularity=month for usr_" ||
		res.Header.Get("Content-Disposition") != `attachment; filename="revenue-2026-05-01-2026-05-03.pdf"` {
		t.Errorf("revenue PDF: %d %s %s %q", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"), pdf)
	}

	st, _, body = staff.get("/staff/reports?from=2026-05-03&to=2026-05-01")
	must(t, "to before from", st, body, 422, `id="to-error"`, `href="#to"`)
	st, _, body = staff.get("/staff/reports?from=2026-13-01&to=2026-05-01&granularity=hourly")
	must(t, "bad date and period", st, body, 422, `id="from-error"`, `id="granularity-error"`)

	guest := a.browser(t)
	signUp(t, guest, "g@example.com")
	if st, _, body := guest.get("/staff/reports"); st != http.StatusForbidden || strings.Contains(body, "<svg") {
		t.Errorf("a guest on the reports page: %d", st)
	}
	if res, _ := guest.rawGet("/staff/reports/revenue.csv?" + query); res.StatusCode != http.StatusForbidden {
		t.Errorf("a guest exporting revenue: %d", res.StatusCode)
	}
	if res, _ := guest.rawGet("/staff/reports/revenue.pdf?" + query); res.StatusCode != http.StatusForbidden {
		t.Errorf("a guest exporting revenue as PDF: %d", res.StatusCode)
	}
	if _, at, _ := a.browser(t).get("/staff/reports"); at != "/signin" {
		t.Errorf("a visitor on the reports page ends at %s", at)
	}
}
