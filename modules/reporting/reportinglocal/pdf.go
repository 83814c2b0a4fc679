package reportinglocal

import (
	"bytes"
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/platform/civil"
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

// fonts are parsed once: fpdf needs the bytes; the sfnt parse of Go Regular
// tells which characters need the fallback font.
type fontSet struct {
	regular  *sfnt.Font
	fallback []byte
}

//go:embed fonts/DroidSansFallbackFull.ttf
var droidFallback []byte

var loadFonts = sync.OnceValues(func() (*fontSet, error) {
	f, err := sfnt.Parse(goregular.TTF)
	if err != nil {
		return nil, fmt.Errorf("reporting: parse Go Regular: %w", err)
	}
	return &fontSet{regular: f, fallback: droidFallback}, nil
})

// covered reports whether Go Regular has a glyph for every rune of s.
func (fs *fontSet) covered(s string) bool {
	var buf sfnt.Buffer
	for _, r := range s {
		if r < 0x250 { // Latin and Latin Extended: always there
			continue
		}
		if i, err := fs.regular.GlyphIndex(&buf, r); err != nil || i == 0 {
			return false
		}
	}
	return true
}

// pdfWriter draws text in runs: Go fonts where they have the glyphs, the
// fallback font for the rest (fpdf has no font fallback of its own).
type pdfWriter struct {
	pdf         *fpdf.Fpdf
	fonts       *fontSet
	useFallback bool
	bold        bool
	size        float64
}

const (
	famGo       = "go"
	famFallback = "fallback"
)

func newPDFWriter(fs *fontSet, needFallback bool, title string, created time.Time) *pdfWriter {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetMargins(18, 16, 18)
	pdf.SetAutoPageBreak(false, 12)
	pdf.AddUTF8FontFromBytes(famGo, "", goregular.TTF)
	pdf.AddUTF8FontFromBytes(famGo, "B", gobold.TTF)
	if needFallback {
		pdf.AddUTF8FontFromBytes(famFallback, "", fs.fallback)
	}
	// Fixed dates make the rendering depend on the document alone.
	pdf.SetCreationDate(created)
	pdf.SetModificationDate(created)
	pdf.SetTitle(title, true)
	pdf.SetCreator("Bellhop", true)
	pdf.SetProducer("Bellhop reporting", true)
	pdf.AddPage()
	return &pdfWriter{pdf: pdf, fonts: fs, useFallback: needFallback, size: 10}
}

func (w *pdfWriter) font(bold bool, size float64) {
	w.bold, w.size = bold, size
	w.setGo()
}

func (w *pdfWriter) setGo() {
	style := ""
	if w.bold {
		style = "B"
	}
	w.pdf.SetFont(famGo, style, w.size)
}

// runs splits s into pieces each drawn with one font.
func (w *pdfWriter) runs(s string) []textRun {
	if !w.useFallback {
		return []textRun{{text: s}}
	}
	var out []textRun
	var buf sfnt.Buffer
	var cur strings.Builder
	curFallback := false
	for _, r := range s {
		fb := false
		if r >= 0x250 {
			if i, err := w.fonts.regular.GlyphIndex(&buf, r); err != nil || i == 0 {
				fb = true
			}
		}
		if cur.Len() > 0 && fb != curFallback {
			out = append(out, textRun{text: cur.String(), fallback: curFallback})
			cur.Reset()
		}
		curFallback = fb
		cur.WriteRune(r)
	}
	if cur.Len() > 0 {
		out = append(out, textRun{text: cur.String(), fallback: curFallback})
	}
	return out
}

type textRun struct {
	text     string
	fallback bool
}

func (w *pdfWriter) setRunFont(r textRun) {
	if r.fallback {
		w.pdf.SetFont(famFallback, "", w.size)
		return
	}
	w.setGo()
}

func (w *pdfWriter) width(s string) float64 {
	total := 0.0
	for _, r := range w.runs(s) {
		w.setRunFont(r)
		total += w.pdf.GetStringWidth(r.text)
	}
	w.setGo()
	return total
}

// text draws s in a box of width cw at (x, y), aligned "L", "R" or "C".
func (w *pdfWriter) text(x, y, cw, h float64, s, align string) {
	sw := w.width(s)
	switch align {
	case "R":
		x += cw - sw
	case "C":
		x += (cw - sw) / 2
	}
	for _, r := range w.runs(s) {
		w.setRunFont(r)
		rw := w.pdf.GetStringWidth(r.text)
		w.pdf.SetXY(x, y)
		w.pdf.CellFormat(rw, h, r.text, "", 0, "L", false, 0, "")
		x += rw
	}
	w.setGo()
}

// renderDocument draws a one-page receipt or credit note.
func renderDocument(m docModel, issuedAt time.Time) ([]byte, error) {
	fs, err := loadFonts()
	if err != nil {
		return nil, err
	}
	title := "Receipt " + m.Number
	if m.Kind == reporting.KindCreditNote {
		title = "Credit note " + m.Number
	}
	need := !fs.covered(strings.Join(m.strings(), "\n"))
	w := newPDFWriter(fs, need, title, issuedAt)
	pdf := w.pdf
	const left, right, lh = 18.0, 192.0, 5.0
	width := right - left
	money := func(a int64) string { return fmtMoney(a, m.Currency) }

	// Heading and numbers.
	y := 16.0
	w.font(true, 18)
	heading := "Receipt (invoice)"
	if m.Kind == reporting.KindCreditNote {
		heading = "Credit note"
	}
	w.text(left, y, width, 8, heading, "L")
	w.font(true, 11)
	w.text(left, y, width, 8, m.Number, "R")
	y += 10
	w.font(false, 9)
	w.text(left, y, width, lh, "Issue date: "+m.IssueDate.String(), "R")
	y += lh
	w.text(left, y, width, lh, "Date of supply: "+m.SupplyFrom.String()+" to "+m.SupplyTo.String(), "R")
	if m.Corrects != "" {
		y += lh
		w.text(left, y, width, lh, "Corrects receipt: "+m.Corrects, "R")
	}
	if m.Reason != "" {
		y += lh
		w.text(left, y, width, lh, "Reason: "+reasonText(m.Reason), "R")
	}
	y += lh + 4

	// Seller, hotel, guest: three columns.
	col := width / 3
	top := y
	w.font(true, 9)
	w.text(left, y, col, lh, "Seller", "L")
	w.text(left+col, y, col, lh, "Hotel", "L")
	w.text(left+2*col, y, col, lh, "Guest", "L")
	w.font(false, 9)
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
			w.text(left+float64(i)*col, yy, col-2, lh, l, "L")
			yy += lh
		}
		y = max(y, yy)
	}
	y += 4

	// The stay.
	w.font(true, 10)
	w.text(left, y, width, lh+1, "Booking "+m.BookingID, "L")
	y += lh + 1
	w.font(false, 9)
	w.text(left, y, width, lh, fmt.Sprintf("%s · %s · check-in %s · check-out %s · %d guest(s)",
		m.HotelName, m.RoomType, m.CheckIn, m.CheckOut, m.Guests), "L")
	y += lh + 3

	// Lines.
	pdf.SetDrawColor(160, 160, 160)
	w.font(true, 9)
	w.text(left, y, width, lh, "Description", "L")
	w.text(left, y, width, lh, "Amount ("+m.Currency+")", "R")
	y += lh
	pdf.Line(left, y, right, y)
	y += 1
	w.font(false, 9)
	lineH := 4.6
	if len(m.Lines) > 31 { // the longest stay still fits one page
		lineH = 4.0
	}
	for _, l := range m.Lines {
		w.text(left, y, width, lineH, l.Description, "L")
		w.text(left, y, width, lineH, money(l.Amount), "R")
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
		w.text(left+width/2, y, width/2, lh, r[0], "L")
		w.text(left, y, width, lh, r[1], "R")
		y += lh
	}
	w.font(true, 11)
	w.text(left+width/2, y+1, width/2, 7, "Total "+m.Currency, "L")
	w.text(left, y+1, width, 7, money(m.Total), "R")
	y += 10

	// Payment and terms.
	w.font(false, 9)
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
		w.text(left, y, width, lh, line, "L")
		y += lh
	}
	if m.CancellationTerms != "" {
		w.text(left, y, width, lh, "Cancellation terms: "+m.CancellationTerms, "L")
		y += lh
	}
	if m.Note != "" {
		w.text(left, y, width, lh, m.Note, "L")
	}
	w.font(false, 7)
	w.text(left, 282, width, 4, m.Seller.Name+" · "+m.Seller.Email+" · "+m.Number, "C")

	var out bytes.Buffer
	if err := pdf.Output(&out); err != nil {
		return nil, fmt.Errorf("reporting: render %s: %w", m.Number, err)
	}
	return out.Bytes(), nil
}

// strings are the texts of the model that come from outside (names,
// addresses), to decide whether the fallback font is needed.
func (m docModel) strings() []string {
	s := []string{m.Seller.Name, m.Seller.TaxID, m.HotelName, m.HotelAddress, m.HotelCity, m.HotelCountry,
		m.GuestName, m.GuestEmail, m.RoomType, m.TaxName, m.TourismTaxName, m.PaymentBrand, m.CancellationTerms, m.Note}
	s = append(s, m.Seller.Address...)
	for _, l := range m.Lines {
		s = append(s, l.Description)
	}
	return s
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
