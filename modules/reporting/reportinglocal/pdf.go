package reportinglocal

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/pdftext"
)

// docModel is everything a receipt or credit note shows. It is stored with
// the PDF (as JSON) so the ledger can be rebuilt from the document as issued.
type docModel struct {
	Kind       string     `json:"kind"`
	Number     string     `json:"number"`
	Corrects   string     `json:"corrects,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	IssueDate  civil.Date `json:"issue_date"`
	SupplyFrom civil.Date `json:"supply_from"`
	SupplyTo   civil.Date `json:"supply_to"`

	Seller       Seller `json:"seller"`
	HotelName    string `json:"hotel_name"`
	HotelAddress string `json:"hotel_address"`
	HotelCity    string `json:"hotel_city"`
	HotelCountry string `json:"hotel_country"`
	HotelTaxID   string `json:"hotel_tax_id,omitempty"`

	GuestName  string `json:"guest_name"`
	GuestEmail string `json:"guest_email"`

	BookingID string     `json:"booking_id"`
	RoomType  string     `json:"room_type"`
	CheckIn   civil.Date `json:"check_in"`
	CheckOut  civil.Date `json:"check_out"`
	Guests    int        `json:"guests"`

	Currency       string    `json:"currency"`
	Lines          []docLine `json:"lines"`
	TaxName        string    `json:"tax_name"`
	TaxRateBP      int64     `json:"tax_rate_bp"`
	TaxBase        int64     `json:"tax_base"`
	TaxAmount      int64     `json:"tax_amount"`
	TourismTaxName string    `json:"tourism_tax_name,omitempty"`
	TourismTax     int64     `json:"tourism_tax"`
	Total          int64     `json:"total"`

	PaymentID    string    `json:"payment_id,omitempty"`
	PaymentBrand string    `json:"payment_brand,omitempty"`
	PaymentLast4 string    `json:"payment_last4,omitempty"`
	PaidAt       time.Time `json:"paid_at,omitzero"`
	TimeZone     string    `json:"time_zone"`

	CancellationTerms string `json:"cancellation_terms,omitempty"`
	Note              string `json:"note,omitempty"`
}

type docLine struct {
	Description string `json:"description"`
	Amount      int64  `json:"amount"`
}

// newDocumentPDF starts a one-page A4 document whose text pdftext draws.
func newDocumentPDF(title string, created time.Time) (*pdftext.Writer, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetMargins(18, 16, 18)
	pdf.SetAutoPageBreak(false, 12)
	// Fixed dates make the rendering depend on the document alone.
	pdf.SetCreationDate(created)
	pdf.SetModificationDate(created)
	pdf.SetTitle(title, true)
	pdf.SetCreator("Bellhop", true)
	pdf.SetProducer("Bellhop reporting", true)
	pdf.AddPage()
	w, err := pdftext.New(pdf)
	if err != nil {
		return nil, err
	}
	w.CompressOnlyWhenNeeded()
	return w, nil
}

// renderDocument draws a one-page receipt or credit note.
func renderDocument(m docModel, issuedAt time.Time) ([]byte, error) {
	title := "Receipt " + m.Number
	if m.Kind == reporting.KindCreditNote {
		title = "Credit note " + m.Number
	}
	w, err := newDocumentPDF(title, issuedAt)
	if err != nil {
		return nil, err
	}
	pdf := w.PDF()
	const left, right, lh = 18.0, 192.0, 5.0
	width := right - left
	money := func(a int64) string { return fmtMoney(a, m.Currency) }

	// Heading and numbers.
	y := 16.0
	w.Font(true, 18)
	heading := "Receipt (invoice)"
	if m.Kind == reporting.KindCreditNote {
		heading = "Credit note"
	}
	w.Text(left, y, width, 8, heading, "L")
	w.Font(true, 11)
	w.Text(left, y, width, 8, m.Number, "R")
	y += 10
	w.Font(false, 9)
	w.Text(left, y, width, lh, "Issue date: "+m.IssueDate.String(), "R")
	y += lh
	w.Text(left, y, width, lh, "Date of supply: "+m.SupplyFrom.String()+" to "+m.SupplyTo.String(), "R")
	if m.Corrects != "" {
		y += lh
		w.Text(left, y, width, lh, "Corrects receipt: "+m.Corrects, "R")
	}
	if m.Reason != "" {
		y += lh
		w.Text(left, y, width, lh, "Reason: "+reasonText(m.Reason), "R")
	}
	y += lh + 4

	// Seller, hotel, guest: three columns.
	col := width / 3
	top := y
	w.Font(true, 9)
	w.Text(left, y, col, lh, "Seller", "L")
	w.Text(left+col, y, col, lh, "Hotel", "L")
	w.Text(left+2*col, y, col, lh, "Guest", "L")
	w.Font(false, 9)
	sellerLines := append([]string{m.Seller.Name}, m.Seller.Address...)
	sellerLines = append(sellerLines, "Tax id: "+m.Seller.TaxID)
	hotelLines := []string{m.HotelName, m.HotelAddress, m.HotelCity + ", " + m.HotelCountry}
	if m.HotelTaxID != "" {
		hotelLines = append(hotelLines, "Tax id: "+m.HotelTaxID)
	}
	guestLines := []string{m.GuestName, m.GuestEmail}
	for i, lines := range [][]string{sellerLines, hotelLines, guestLines} {
		yy := top + lh
		for _, l := range lines {
			w.Text(left+float64(i)*col, yy, col-2, lh, l, "L")
			yy += lh
		}
		y = max(y, yy)
	}
	y += 4

	// The stay.
	w.Font(true, 10)
	w.Text(left, y, width, lh+1, "Booking "+m.BookingID, "L")
	y += lh + 1
	w.Font(false, 9)
	w.Text(left, y, width, lh, fmt.Sprintf("%s · %s · check-in %s · check-out %s · %d guest(s)",
		m.HotelName, m.RoomType, m.CheckIn, m.CheckOut, m.Guests), "L")
	y += lh + 3

	// Lines.
	pdf.SetDrawColor(160, 160, 160)
	w.Font(true, 9)
	w.Text(left, y, width, lh, "Description", "L")
	w.Text(left, y, width, lh, "Amount ("+m.Currency+")", "R")
	y += lh
	pdf.Line(left, y, right, y)
	y += 1
	w.Font(false, 9)
	lineH := 4.6
	if len(m.Lines) > 31 { // the longest stay still fits one page
		lineH = 4.0
	}
	for _, l := range m.Lines {
		w.Text(left, y, width, lineH, l.Description, "L")
		w.Text(left, y, width, lineH, money(l.Amount), "R")
		y += lineH
	}
	pdf.Line(left, y+0.5, right, y+0.5)
	y += 2

	// Taxes and total.
	rate := fmt.Sprintf("%d.%02d%%", m.TaxRateBP/100, m.TaxRateBP%100)
	rows := [][2]string{
		{fmt.Sprintf("%s base at %s", m.TaxName, rate), money(m.TaxBase)},
		{fmt.Sprintf("%s %s", m.TaxName, rate), money(m.TaxAmount)},
	}
	if m.TourismTax != 0 {
		rows = append(rows, [2]string{m.TourismTaxName + " (no " + m.TaxName + ")", money(m.TourismTax)})
	}
	for _, r := range rows {
		w.Text(left+width/2, y, width/2, lh, r[0], "L")
		w.Text(left, y, width, lh, r[1], "R")
		y += lh
	}
	w.Font(true, 11)
	w.Text(left+width/2, y+1, width/2, 7, "Total "+m.Currency, "L")
	w.Text(left, y+1, width, 7, money(m.Total), "R")
	y += 10

	// Payment and terms.
	w.Font(false, 9)
	if m.PaymentID != "" {
		paid := "Paid"
		if m.Kind == reporting.KindCreditNote {
			paid = "Refunded to"
		}
		card := strings.TrimSpace(m.PaymentBrand + " ···· " + m.PaymentLast4)
		if m.PaymentLast4 == "" {
			card = m.PaymentBrand
		}
		line := fmt.Sprintf("%s: %s (payment %s)", paid, card, m.PaymentID)
		if !m.PaidAt.IsZero() {
			line += " on " + localTime(m.PaidAt, m.TimeZone)
		}
		w.Text(left, y, width, lh, line, "L")
		y += lh
	}
	if m.CancellationTerms != "" {
		w.Text(left, y, width, lh, "Cancellation terms: "+m.CancellationTerms, "L")
		y += lh
	}
	if m.Note != "" {
		w.Text(left, y, width, lh, m.Note, "L")
	}
	w.Font(false, 7)
	w.Text(left, 282, width, 4, m.Seller.Name+" · "+m.Seller.Email+" · "+m.Number, "C")

	var out bytes.Buffer
	if err := pdf.Output(&out); err != nil {
		return nil, fmt.Errorf("reporting: render %s: %w", m.Number, err)
	}
	return out.Bytes(), nil
}

func reasonText(r string) string {
	switch r {
	case reporting.ReasonCancellation:
		return "cancellation"
	case reporting.ReasonRejection:
		return "payment after the hold expired (refunded in full)"
	case reporting.ReasonPaymentRefused:
		return "payment the booking could not take (refunded in full)"
	}
	return r
}

// localTime renders t in the hotel's time zone, or UTC.
func localTime(t time.Time, zone string) string {
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04 MST")
}
