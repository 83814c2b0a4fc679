package reportinglocal

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/ids"
)

// nextNumber takes the next number of series in tx. The UPDATE locks the
// series row until tx ends (PostgreSQL) or tx holds the database's write
// lock (SQLite), so two documents never share a number, and a rolled-back
// document gives its number back: the series has no gaps.
func nextNumber(tx *gorm.DB, series string) (int64, error) {
	if err := tx.Exec("INSERT INTO reporting_series (series, last) VALUES (?, 0) ON CONFLICT (series) DO NOTHING", series).Error; err != nil {
		return 0, fmt.Errorf("series %s: %w", series, err)
	}
	var last int64
	if err := tx.Raw("UPDATE reporting_series SET last = last + 1 WHERE series = ? RETURNING last", series).Scan(&last).Error; err != nil {
		return 0, fmt.Errorf("series %s: %w", series, err)
	}
	if last == 0 {
		return 0, fmt.Errorf("series %s: no number returned", series)
	}
	return last, nil
}

// findDocument returns the document issued under key, if any.
func findDocument(tx *gorm.DB, key string) (*documentRow, error) {
	var d documentRow
	err := tx.Where("dedup_key = ?", key).Take(&d).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// issue numbers (setting m.Number) and stores a document in tx; the
// renderer draws its PDF and queues its email after tx commits. prefix names
// the series; the number's year is the issue date's.
func (a *applier) issue(tx *gorm.DB, key, prefix string, m *docModel, bookingID, guestID string, issuedAt time.Time) (*documentRow, error) {
	series := fmt.Sprintf("%s-%04d", prefix, m.IssueDate.Year)
	seq, err := nextNumber(tx, series)
	if err != nil {
		return nil, err
	}
	m.Number = fmt.Sprintf("%s-%06d", series, seq)
	model, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	d := &documentRow{
		ID: ids.New("doc"), Kind: m.Kind, DedupKey: key, Series: series, Seq: seq, Number: m.Number,
		BookingID: bookingID, GuestID: guestID, Corrects: m.Corrects, Reason: m.Reason,
		IssueDate: m.IssueDate.String(), Currency: m.Currency, Total: m.Total,
		PDF: []byte{}, Model: model, IssuedAt: issuedAt,
	}
	if err := tx.Create(d).Error; err != nil {
		return nil, fmt.Errorf("store %s: %w", m.Number, err)
	}
	a.metrics.documents.WithLabelValues(m.Kind).Inc()
	return d, nil
}

// receiptModel describes the receipt of a confirmed booking.
func (a *applier) receiptModel(b bookings.Booking, pay *bookings.EventPayment, issued time.Time) docModel {
	rule := a.cfg.taxFor(b.Country)
	m := a.baseModel(b, issued)
	m.Kind = reporting.KindReceipt
	for _, n := range b.Nights {
		m.Lines = append(m.Lines, docLine{Description: fmt.Sprintf("%s, night of %s", b.RoomTypeName, n.Date), Amount: n.Price.Amount})
	}
	split := rule.split(b.Total.Amount, len(b.Nights), b.Guests)
	m.setTaxes(rule, split)
	m.Total = split.Base + split.VAT + split.Tourism
	m.CancellationTerms = cancellationTerms(b)
	if pay != nil {
		m.PaymentID, m.PaymentBrand, m.PaymentLast4, m.PaidAt = pay.ID, pay.Brand, pay.Last4, pay.PaidAt
	}
	if m.PaymentID == "" {
		m.PaymentID = b.PaymentID
	}
	return m
}

// creditNoteModel describes a credit note for amount (positive: what is
// paid back) of booking b. receipt is the receipt it corrects, if any; its
// tax split is scaled to the amount so the two documents add up.
func (a *applier) creditNoteModel(b bookings.Booking, receipt *docModel, reason string, amount int64, pay *bookings.EventPayment, issued time.Time) docModel {
	rule := a.cfg.taxFor(b.Country)
	m := a.baseModel(b, issued)
	m.Kind = reporting.KindCreditNote
	m.Reason = reason
	var split taxSplit
	if receipt != nil && receipt.Total != 0 {
		m.Corrects = receipt.Number
		tourism := divRound(receipt.TourismTax*amount, receipt.Total)
		split = rule.split(amount-tourism, 0, 0)
		split.Tourism = tourism
		split.Base = amount - tourism - split.VAT
		m.TaxName, m.TaxRateBP, m.TourismTaxName = receipt.TaxName, receipt.TaxRateBP, receipt.TourismTaxName
	} else {
		split = rule.split(amount, len(b.Nights), b.Guests)
		m.setTaxes(rule, taxSplit{})
	}
	if m.TaxName == "" {
		m.setTaxes(rule, taxSplit{})
	}
	m.TaxBase, m.TaxAmount, m.TourismTax = -split.Base, -split.VAT, -split.Tourism
	m.Total = -(split.Base + split.VAT + split.Tourism)
	var what string
	switch reason {
	case reporting.ReasonCancellation:
		what = "Refund on cancellation of booking " + b.ID
		if b.CancellationFee.Amount > 0 {
			m.Note = "Cancellation fee kept: " + fmtMoney(b.CancellationFee.Amount, b.CancellationFee.Currency)
		}
	case reporting.ReasonRejection:
		what = "Refund of a payment received after the hold of booking " + b.ID + " expired"
		m.Note = "No stay was supplied; the payment is refunded in full."
	default:
		what = "Refund of a payment booking " + b.ID + " could not take"
		m.Note = "The payment is refunded in full; the booking is unchanged."
	}
	m.Lines = []docLine{{Description: what, Amount: m.Total}}
	if pay != nil {
		m.PaymentID, m.PaymentBrand, m.PaymentLast4 = pay.ID, pay.Brand, pay.Last4
	}
	return m
}

func (a *applier) baseModel(b bookings.Booking, issued time.Time) docModel {
	return docModel{
		IssueDate: civilIn(issued, b.TimeZone), SupplyFrom: b.CheckIn, SupplyTo: b.CheckOut,
		Seller:    a.cfg.Seller,
		HotelName: b.HotelName, HotelAddress: b.Address, HotelCity: b.City, HotelCountry: b.Country,
		HotelTaxID: a.cfg.HotelTaxIDs[b.HotelID],
		GuestName:  b.GuestName, GuestEmail: b.GuestEmail,
		BookingID: b.ID, RoomType: b.RoomTypeName, CheckIn: b.CheckIn, CheckOut: b.CheckOut, Guests: b.Guests,
		Currency: b.Total.Currency, TimeZone: b.TimeZone,
	}
}

func (m *docModel) setTaxes(rule TaxRule, s taxSplit) {
	m.TaxName, m.TaxRateBP = rule.Name, rule.RateBasisPoints
	if m.TaxName == "" {
		m.TaxName = "VAT"
	}
	m.TourismTaxName = rule.TourismTaxName
	if m.TourismTaxName == "" {
		m.TourismTaxName = "Tourism tax"
	}
	m.TaxBase, m.TaxAmount, m.TourismTax = s.Base, s.VAT, s.Tourism
}

// cancellationTerms says in words what the booking's terms were.
func cancellationTerms(b bookings.Booking) string {
	var parts []string
	if !b.FreeCancellationUntil.IsZero() {
		parts = append(parts, "free cancellation until "+localTime(b.FreeCancellationUntil, b.TimeZone))
	}
	if b.LateCancellationFee.Amount > 0 {
		parts = append(parts, "after that a fee of "+fmtMoney(b.LateCancellationFee.Amount, b.LateCancellationFee.Currency)+" is kept")
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, "; ")
}

// civilIn is t's date in zone (UTC if zone is unknown).
func civilIn(t time.Time, zone string) civil.Date {
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" {
		loc = time.UTC
	}
	return civil.Of(t.In(loc))
}

func (d *documentRow) info() reporting.DocumentInfo {
	issue, _ := civil.Parse(d.IssueDate)
	prefix := "receipt"
	if d.Kind == reporting.KindCreditNote {
		prefix = "credit-note"
	}
	return reporting.DocumentInfo{
		ID: d.ID, Kind: d.Kind, Number: d.Number, BookingID: d.BookingID, GuestID: d.GuestID,
		Corrects: d.Corrects, Reason: d.Reason, IssueDate: issue,
		Total: moneyOf(d.Total, d.Currency), Filename: prefix + "-" + d.Number + ".pdf",
		SHA256: d.SHA256, Size: len(d.PDF), IssuedAt: d.IssuedAt,
	}
}
