package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/money"
)

// documentsOf lists a booking's receipts and credit notes for the signed-in
// caller (the service hides other guests' documents). It returns nil when
// reporting is not composed here, and a banner when it did not answer, so the
// booking pages still show everything else.
func (w *Web) documentsOf(ctx context.Context, bookingID string) ([]reporting.DocumentInfo, string) {
	if w.d.Reporting == nil {
		return nil, ""
	}
	list, err := w.d.Reporting.ListDocuments(ctx, reporting.ListDocumentsRequest{BookingID: bookingID})
	switch {
	case err == nil:
		return list.Documents, ""
	case apperr.CodeOf(err) == apperr.CodeNotFound:
		// Reporting has not heard of the booking yet (its events are on the way).
		return nil, ""
	}
	return nil, "Receipts are unavailable right now; try again in a moment."
}

// documentsByBooking lists the documents of several bookings at once (My
// bookings), in parallel: one call per booking.
func (w *Web) documentsByBooking(ctx context.Context, ids []string) map[string][]reporting.DocumentInfo {
	if w.d.Reporting == nil || len(ids) == 0 {
		return nil
	}
	out := make([][]reporting.DocumentInfo, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { out[i], _ = w.documentsOf(ctx, id) })
	}
	wg.Wait()
	m := make(map[string][]reporting.DocumentInfo, len(ids))
	for i, id := range ids {
		if len(out[i]) > 0 {
			m[id] = out[i]
		}
	}
	return m
}

// downloadDocument serves a receipt or credit note as issued. The service
// sees the session's principal, so another guest's document is a 404.
func (w *Web) downloadDocument(c echo.Context) error {
	if w.d.Reporting == nil {
		return w.fail(c, apperr.NotFound("web.not_found", "documents are not available here"))
	}
	doc, err := w.d.Reporting.GetDocument(c.Request().Context(), reporting.GetDocumentRequest{ID: c.Param("id")})
	if err != nil {
		return w.fail(c, err)
	}
	h := c.Response().Header()
	h.Set(echo.HeaderCacheControl, "private, no-store")
	h.Set("ETag", `"`+doc.SHA256+`"`)
	h.Set(echo.HeaderContentDisposition, attachmentDisposition(doc.Filename))
	return c.Blob(http.StatusOK, "application/pdf", doc.PDF)
}

// attachmentDisposition is a Content-Disposition naming the file, with its name
// kept to safe characters (it comes from the document's number).
func attachmentDisposition(name string) string {
	safe := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, name)
	if safe == "" {
		safe = "document.pdf"
	}
	return `attachment; filename="` + safe + `"`
}

// documentKind names a kind of document for a guest.
func documentKind(kind string) string {
	if kind == reporting.KindCreditNote {
		return "Credit note"
	}
	return "Receipt"
}

var reportLabels = [][2]string{{"from", "From"}, {"to", "Up to"}, {"hotel_id", "Hotel id"}, {"granularity", "Period"}}

// reportsData is the staff reports page.
type reportsData struct {
	From, To    string
	HotelID     string
	Granularity string
	Checked     bool
	Occupancy   reporting.OccupancyReport
	Revenue     reporting.RevenueReport
	// RevenueTotals are the revenue rows summed per currency (never across).
	RevenueTotals []reporting.RevenueRow
	Chart         *barChart
	// MoneyCharts are ADR and RevPAR per period, RevenueCharts net revenue
	// per period: one chart per currency.
	MoneyCharts   []*lineChart
	RevenueCharts []*barChart
	// OccupancyPDF and RevenuePDF link to the reporting module's PDF
	// exports (with charts), where the dashboard can fetch them.
	OccupancyPDF, RevenuePDF string
	// CSV links to the dashboard's CSV exports of the same filters.
	OccupancyCSV, RevenueCSV string
	Available                bool
	// OccupancyMore counts the occupancy rows left out of the table.
	OccupancyMore int
}

// maxReportTableRows bounds the occupancy table of the reports page.
const maxReportTableRows = 500

// reportsPage shows occupancy (chart and table) and revenue for a range of
// dates: staff and admins only (the service checks reports:read too).
func (w *Web) reportsPage(c echo.Context) error {
	q := c.QueryParams()
	today := civil.Of(w.d.Now().UTC())
	d := reportsData{From: q.Get("from"), To: q.Get("to"), HotelID: strings.TrimSpace(q.Get("hotel_id")),
		Granularity: q.Get("granularity"), Available: w.d.Reporting != nil}
	if d.From == "" && d.To == "" {
		d.From, d.To = today.AddDays(-30).String(), today.AddDays(1).String()
	}
	if d.Granularity == "" {
		d.Granularity = reporting.GranularityNight
	}
	v := view{Title: "Reports · Staff · Bellhop", Data: &d}
	if !d.Available {
		v.Banner = "Reports are not available in this process."
		return w.render(c, http.StatusOK, "reports", v)
	}
	req, err := reportRequestOf(d)
	if err == nil {
		d.Occupancy, err = w.d.Reporting.Occupancy(c.Request().Context(), req)
	}
	if err == nil {
		rreq := req
		rreq.Granularity = reporting.GranularityMonth
		if req.Granularity != reporting.GranularityNight {
			rreq.Granularity = req.Granularity
		}
		d.Revenue, err = w.d.Reporting.Revenue(c.Request().Context(), rreq)
	}
	if err != nil {
		if apperr.CodeOf(err) == apperr.CodeForbidden || apperr.CodeOf(err) == apperr.CodeUnauthenticated {
			return w.fail(c, err)
		}
		v.Errors, v.Field, v.Banner = formErrors(err, reportLabels, nil)
		return w.render(c, statusOf(err), "reports", v)
	}
	d.Checked = true
	d.RevenueTotals = revenueTotals(d.Revenue.Rows)
	d.Chart = occupancyChart(d.Occupancy)
	d.MoneyCharts = adrRevparCharts(d.Occupancy)
	d.RevenueCharts = revenueCharts(d.Revenue)
	// Every demo hotel by night is tens of thousands of rows, more than a
	// page (or a screen reader) can take: the table shows the first ones,
	// the chart and the CSV everything.
	if n := len(d.Occupancy.Rows); n > maxReportTableRows {
		d.OccupancyMore, d.Occupancy.Rows = n-maxReportTableRows, d.Occupancy.Rows[:maxReportTableRows]
	}
	filter := url.Values{"from": {d.From}, "to": {d.To}}
	if d.HotelID != "" {
		filter.Set("hotel_id", d.HotelID)
	}
	filter.Set("granularity", d.Granularity)
	d.OccupancyCSV = "/staff/reports/occupancy.csv?" + filter.Encode()
	d.RevenueCSV = "/staff/reports/revenue.csv?" + filter.Encode()
	if w.d.ReportFiles != nil {
		d.OccupancyPDF = "/staff/reports/occupancy.pdf?" + filter.Encode()
		d.RevenuePDF = "/staff/reports/revenue.pdf?" + filter.Encode()
	}
	return w.render(c, http.StatusOK, "reports", v)
}

// reportRequestOf reads the form's dates; the service checks the rest
// (range, hotel, granularity) and names the bad fields.
func reportRequestOf(d reportsData) (reporting.ReportRequest, error) {
	req := reporting.ReportRequest{HotelID: d.HotelID, Granularity: d.Granularity}
	var bad []*apperr.Error
	var e *apperr.Error
	if req.From, e = parseDate("from", d.From); e != nil {
		bad = append(bad, e)
	}
	if req.To, e = parseDate("to", d.To); e != nil {
		bad = append(bad, e)
	}
	switch d.Granularity {
	case reporting.GranularityNight, reporting.GranularityWeek, reporting.GranularityMonth:
	default:
		bad = append(bad, invalid("granularity", "oneof", "must be nights, weeks or months"))
	}
	if err := joinInvalid(bad...); err != nil {
		return req, err
	}
	return req, nil
}

// revenueTotals sums the revenue rows per currency, in currency order.
func revenueTotals(rows []reporting.RevenueRow) []reporting.RevenueRow {
	by := map[string]*reporting.RevenueRow{}
	add := func(a *money.Money, b money.Money) {
		if a.Currency == "" {
			a.Currency = b.Currency
		}
		a.Amount += b.Amount
	}
	for _, r := range rows {
		t := by[r.Currency]
		if t == nil {
			t = &reporting.RevenueRow{Currency: r.Currency, Name: "Total"}
			by[r.Currency] = t
		}
		t.Bookings += r.Bookings
		add(&t.Gross, r.Gross)
		add(&t.Refunds, r.Refunds)
		add(&t.FeesKept, r.FeesKept)
		add(&t.Net, r.Net)
		add(&t.Tax, r.Tax)
	}
	out := make([]reporting.RevenueRow, 0, len(by))
	for _, t := range by {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b reporting.RevenueRow) int { return strings.Compare(a.Currency, b.Currency) })
	return out
}

// barChart is an SVG bar chart laid out on the server: the template only
// places what is computed here.
type barChart struct {
	Title, XLabel, YLabel string
	Width, Height         int
	// Plot area.
	Left, Top, Right, Bottom int
	Bars                     []chartBar
	Ticks                    []chartTick
	Desc                     string
}

type chartBar struct {
	X, Y, W, H   float64
	Label, Value string
	ShowLabel    bool
	LabelX       float64
}

type chartTick struct {
	Y     float64
	Label string
}

// occupancyChart draws occupancy per period, over every group of the
// report: rooms sold over rooms available, in percent.
func occupancyChart(r reporting.OccupancyReport) *barChart {
	type agg struct {
		start       civil.Date
		avail, sold int64
	}
	var periods []*agg
	idx := map[civil.Date]*agg{}
	for _, row := range r.Rows {
		a := idx[row.PeriodStart]
		if a == nil {
			a = &agg{start: row.PeriodStart}
			idx[row.PeriodStart] = a
			periods = append(periods, a)
		}
		a.avail += row.RoomsAvailable
		a.sold += row.RoomsSold
	}
	if len(periods) == 0 {
		return nil
	}
	slices.SortFunc(periods, func(a, b *agg) int { return a.start.Compare(b.start) })
	ch := &barChart{Title: "Occupancy by " + periodWord(r.Granularity), XLabel: "Period starting", YLabel: "Occupancy (%)",
		Width: 720, Height: 300, Left: 56, Top: 36, Right: 704, Bottom: 250}
	plotW, plotH := float64(ch.Right-ch.Left), float64(ch.Bottom-ch.Top)
	for _, p := range []int{0, 25, 50, 75, 100} {
		ch.Ticks = append(ch.Ticks, chartTick{Y: float64(ch.Bottom) - plotH*float64(p)/100, Label: strconv.Itoa(p) + "%"})
	}
	slot := plotW / float64(len(periods))
	every := int(math.Ceil(float64(len(periods)) / 8)) // at most 8 axis labels
	var desc []string
	for i, p := range periods {
		pct := 0.0
		if p.avail > 0 {
			pct = float64(p.sold) * 100 / float64(p.avail)
		}
		h := plotH * pct / 100
		x := float64(ch.Left) + slot*float64(i) + slot*0.15
		label := p.start.In(time.UTC).Format("2 Jan")
		value := strconv.FormatFloat(pct, 'f', 1, 64) + "%"
		ch.Bars = append(ch.Bars, chartBar{X: x, Y: float64(ch.Bottom) - h, W: slot * 0.7, H: h, Label: label, Value: value,
			ShowLabel: i%every == 0, LabelX: x + slot*0.35})
		desc = append(desc, label+": "+value)
	}
	ch.Desc = strings.Join(desc, "; ")
	return ch
}

func periodWord(g string) string {
	switch g {
	case reporting.GranularityWeek:
		return "week"
	case reporting.GranularityMonth:
		return "month"
	}
	return "night"
}

// coord prints an SVG coordinate.
func coord(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// percent prints the reports' two-decimal percentages.
func percent(f float64) string { return fmt.Sprintf("%.2f%%", f) }

// reportCSV exports the occupancy or revenue report of the page's filters
// as CSV: the browser holds no API token, so the dashboard asks the service
// with the session's principal, as the page does.
func (w *Web) reportCSV(which string) echo.HandlerFunc {
	return func(c echo.Context) error {
		if w.d.Reporting == nil {
			return w.fail(c, apperr.NotFound("web.not_found", "reports are not available here"))
		}
		q := c.QueryParams()
		d := reportsData{From: q.Get("from"), To: q.Get("to"), HotelID: strings.TrimSpace(q.Get("hotel_id")), Granularity: q.Get("granularity")}
		if d.Granularity == "" {
			d.Granularity = reporting.GranularityNight
		}
		req, err := reportRequestOf(d)
		if err != nil {
			return w.fail(c, err)
		}
		ctx := c.Request().Context()
		var records [][]string
		if which == "occupancy" {
			r, err := w.d.Reporting.Occupancy(ctx, req)
			if err != nil {
				return w.fail(c, err)
			}
			records = append(records, []string{"period_start", "period_end", "group", "name", "currency", "rooms_available", "rooms_sold",
				"occupancy_percent", "room_revenue", "adr", "revpar", "arrivals", "departures"})
			for _, x := range r.Rows {
				records = append(records, []string{x.PeriodStart.String(), x.PeriodEnd.String(), x.Group, x.Name, x.Currency,
					strconv.FormatInt(x.RoomsAvailable, 10), strconv.FormatInt(x.RoomsSold, 10), strconv.FormatFloat(x.Occupancy, 'f', 2, 64),
					x.RoomRevenue.Decimal(), x.ADR.Decimal(), x.RevPAR.Decimal(), strconv.FormatInt(x.Arrivals, 10), strconv.FormatInt(x.Departures, 10)})
			}
		} else {
			if req.Granularity == reporting.GranularityNight {
				req.Granularity = reporting.GranularityMonth
			}
			r, err := w.d.Reporting.Revenue(ctx, req)
			if err != nil {
				return w.fail(c, err)
			}
			records = append(records, []string{"period_start", "period_end", "group", "name", "currency", "bookings", "gross", "refunds",
				"fees_kept", "net", "tax"})
			for _, x := range r.Rows {
				records = append(records, []string{x.PeriodStart.String(), x.PeriodEnd.String(), x.Group, x.Name, x.Currency,
					strconv.FormatInt(x.Bookings, 10), x.Gross.Decimal(), x.Refunds.Decimal(), x.FeesKept.Decimal(), x.Net.Decimal(), x.Tax.Decimal()})
			}
		}
		var buf bytes.Buffer
		cw := csv.NewWriter(&buf)
		for _, rec := range records {
			for i, f := range rec {
				rec[i] = csvSafe(f)
			}
		}
		if err := cw.WriteAll(records); err != nil {
			return w.fail(c, apperr.Internal(err))
		}
		h := c.Response().Header()
		h.Set(echo.HeaderCacheControl, "private, no-store")
		h.Set(echo.HeaderContentDisposition, attachmentDisposition(which+"-"+req.From.String()+"-"+req.To.String()+".csv"))
		return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
	}
}

// csvSafe keeps a spreadsheet from reading a text cell (a hotel's name) as
// a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return s // a negative amount stays a number
		}
		return "'" + s
	}
	return s
}
