// Package reporting is the contract of the reporting module: the receipts
// and credit notes issued for bookings (PDF, numbered in gap-free yearly
// series, mailed to the guest) and the reports staff read (occupancy,
// revenue, booking behaviour). Reporting builds everything from events; it
// never calls another module. Callers depend on Service only; whether it
// runs in this process (reportinglocal) or behind HTTP (reportinghttp) is
// chosen by configuration in cmd/bellhop.
package reporting

import (
	"context"
	"time"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/money"
)

// Module is the module's name: its database file, metrics label and config key.
const Module = "reporting"

// ScopeReportsRead lets a caller read the reports (granted to staff).
const ScopeReportsRead = "reports:read"

// Kinds of document.
const (
	KindReceipt    = "receipt"
	KindCreditNote = "credit_note"
)

// Reasons a credit note gives.
const (
	ReasonCancellation   = "cancellation"    // a confirmed booking was cancelled with a refund
	ReasonRejection      = "rejection"       // the payment came after the hold expired: refunded in full
	ReasonPaymentRefused = "payment_refused" // a payment the booking could not take: refunded in full
)

// Report groupings and granularities.
const (
	GroupHotel    = "hotel"
	GroupRoomType = "room_type"
	GroupCity     = "city"

	GranularityNight = "night"
	GranularityWeek  = "week" // ISO weeks, starting on Monday
	GranularityMonth = "month"
)

// MaxReportDays is the longest range a report covers (two years).
const MaxReportDays = 731

// Errors returned by Service methods. Compare with errors.Is: they match
// after an HTTP hop too.
var (
	ErrInvalidRequest = apperr.Invalid("reporting.invalid_request", "the request has invalid values")
	// ErrInvalidFilter names every bad report filter: from not before to,
	// a range over MaxReportDays, an unknown hotel, room type or city, a bad
	// granularity or grouping.
	ErrInvalidFilter = apperr.Invalid("reporting.invalid_filter", "the report filters are not valid")
	// ErrNotFound is a document or booking that does not exist or is not the caller's.
	ErrNotFound = apperr.NotFound("reporting.not_found", "no document or booking has that id")
)

// Service is the reporting module. Documents are visible to the booking's
// guest and to staff (users with the role staff or admin); anyone else gets
// ErrNotFound. Reports need ScopeReportsRead (authn.ErrForbidden without it).
// Every method needs a principal in the context (else authn.ErrUnauthenticated).
type Service interface {
	// ListDocuments lists a booking's receipts and credit notes, oldest first
	// (empty while none is issued). Errors: ErrNotFound (unknown booking or
	// another guest's), ErrInvalidRequest, authn errors.
	ListDocuments(ctx context.Context, req ListDocumentsRequest) (DocumentList, error)
	// GetDocument returns a document with its PDF exactly as issued.
	// Errors: ErrNotFound (also another guest's), ErrInvalidRequest, authn errors.
	GetDocument(ctx context.Context, req GetDocumentRequest) (Document, error)
	// Occupancy reports rooms available and sold, occupancy, ADR and RevPAR,
	// arrivals and departures per period and hotel, room type or city.
	// Errors: ErrInvalidFilter, authn errors.
	Occupancy(ctx context.Context, req ReportRequest) (OccupancyReport, error)
	// Revenue reports gross, refunds, cancellation fees kept, net and tax per
	// period and hotel (or room type, or city) and currency.
	// Errors: ErrInvalidFilter, authn errors.
	Revenue(ctx context.Context, req ReportRequest) (RevenueReport, error)
	// BookingBehaviour reports lead time, length of stay, cancellation rate
	// and booking pace. Errors: ErrInvalidFilter, authn errors.
	BookingBehaviour(ctx context.Context, req BehaviourRequest) (BehaviourReport, error)
}

// ListDocumentsRequest names a booking.
type ListDocumentsRequest struct {
	BookingID string `param:"id" json:"booking_id" validate:"notblank,max=64"`
}

// GetDocumentRequest names a document.
type GetDocumentRequest struct {
	ID string `param:"id" json:"id" validate:"notblank,max=64"`
}

// DocumentList is a booking's documents.
type DocumentList struct {
	BookingID string         `json:"booking_id"`
	Documents []DocumentInfo `json:"documents"`
}

// DocumentInfo describes an issued document.
type DocumentInfo struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`   // receipt or credit_note
	Number    string `json:"number"` // e.g. BH-2026-000123 (receipts), CN-2026-000007 (credit notes)
	BookingID string `json:"booking_id"`
	GuestID   string `json:"guest_id"`
	// Corrects is the number of the receipt a credit note corrects (empty
	// when the refunded payment never had one: a rejection or a refused payment).
	Corrects  string      `json:"corrects,omitempty"`
	Reason    string      `json:"reason,omitempty"` // credit notes: cancellation, rejection, payment_refused
	IssueDate civil.Date  `json:"issue_date"`
	Total     money.Money `json:"total"` // negative for a credit note
	Filename  string      `json:"filename"`
	SHA256    string      `json:"sha256"` // hex of the PDF's SHA-256, also its ETag
	Size      int         `json:"size"`
	IssuedAt  time.Time   `json:"issued_at"`
}

// Document is an issued document with its PDF.
type Document struct {
	DocumentInfo
	PDF []byte `json:"-"`
}

// ReportRequest filters a report. Nights (occupancy) or transaction dates
// (revenue) from From up to, not including, To, at most MaxReportDays.
type ReportRequest struct {
	From        civil.Date `query:"from" json:"from" validate:"required"`
	To          civil.Date `query:"to" json:"to" validate:"required"`
	HotelID     string     `query:"hotel_id" json:"hotel_id,omitempty" validate:"max=64"`
	RoomTypeID  string     `query:"room_type_id" json:"room_type_id,omitempty" validate:"max=64"`
	CityID      string     `query:"city_id" json:"city_id,omitempty" validate:"max=80"`
	GroupBy     string     `query:"group_by" json:"group_by,omitempty" validate:"omitempty,oneof=hotel room_type city"`   // "": hotel
	Granularity string     `query:"granularity" json:"granularity,omitempty" validate:"omitempty,oneof=night week month"` // "": night (occupancy), month (revenue)
}

// OccupancyReport is one row per period, group and currency.
type OccupancyReport struct {
	From        civil.Date     `json:"from"`
	To          civil.Date     `json:"to"`
	GroupBy     string         `json:"group_by"`
	Granularity string         `json:"granularity"`
	Rows        []OccupancyRow `json:"rows"`
}

// OccupancyRow is a group's figures for one period. Rooms are room-nights;
// sold counts confirmed stays not cancelled. ADR is room revenue per room
// sold and RevPAR per room available, rounded half up to the minor unit.
type OccupancyRow struct {
	PeriodStart    civil.Date  `json:"period_start"`
	PeriodEnd      civil.Date  `json:"period_end"` // exclusive
	Group          string      `json:"group"`      // hotel, room type or city id
	Name           string      `json:"name"`
	Currency       string      `json:"currency"`
	RoomsAvailable int64       `json:"rooms_available"`
	RoomsSold      int64       `json:"rooms_sold"`
	Occupancy      float64     `json:"occupancy"` // percent, two decimals
	RoomRevenue    money.Money `json:"room_revenue"`
	ADR            money.Money `json:"adr"`
	RevPAR         money.Money `json:"revpar"`
	Arrivals       int64       `json:"arrivals"`
	Departures     int64       `json:"departures"`
}

// RevenueReport is one row per period, group and currency: amounts of
// different currencies are never summed.
type RevenueReport struct {
	From        civil.Date   `json:"from"`
	To          civil.Date   `json:"to"`
	GroupBy     string       `json:"group_by"`
	Granularity string       `json:"granularity"`
	Rows        []RevenueRow `json:"rows"`
}

// RevenueRow is a group's money for one period, by the date (in the hotel's
// time zone) the money moved: gross is what confirmed bookings were paid
// (their receipts), refunds what cancellations paid back (their credit
// notes), fees kept the cancellation fees retained, net gross less refunds,
// and tax the VAT and tourism tax included in net. Payments refunded in full
// because the booking could not take them (rejections, refused payments)
// were never revenue and are left out.
type RevenueRow struct {
	PeriodStart civil.Date  `json:"period_start"`
	PeriodEnd   civil.Date  `json:"period_end"`
	Group       string      `json:"group"`
	Name        string      `json:"name"`
	Currency    string      `json:"currency"`
	Bookings    int64       `json:"bookings"` // receipts issued
	Gross       money.Money `json:"gross"`
	Refunds     money.Money `json:"refunds"`
	FeesKept    money.Money `json:"fees_kept"`
	Net         money.Money `json:"net"`
	Tax         money.Money `json:"tax"`
}

// BehaviourRequest filters the booking-behaviour report: bookings made
// (held) from From up to, not including, To; AsOf is the date of the pace
// snapshot (default: To's eve).
type BehaviourRequest struct {
	From    civil.Date `query:"from" json:"from" validate:"required"`
	To      civil.Date `query:"to" json:"to" validate:"required"`
	HotelID string     `query:"hotel_id" json:"hotel_id,omitempty" validate:"max=64"`
	CityID  string     `query:"city_id" json:"city_id,omitempty" validate:"max=80"`
	AsOf    civil.Date `query:"as_of" json:"as_of,omitzero"`
	// PaceDays is how many future nights from AsOf the pace covers (0: 90).
	PaceDays int `query:"pace_days" json:"pace_days,omitempty" validate:"gte=0,lte=366"`
}

// BehaviourReport describes how guests book. Lead time is days from booking
// to check-in and length of stay nights per booking, both over confirmed
// bookings (cancelled ones included: they were confirmed); the cancellation
// rate is confirmed bookings later cancelled over confirmed bookings.
type BehaviourReport struct {
	From              civil.Date  `json:"from"`
	To                civil.Date  `json:"to"`
	Bookings          int64       `json:"bookings"` // held
	Confirmed         int64       `json:"confirmed"`
	Cancelled         int64       `json:"cancelled"` // confirmed, then cancelled
	Expired           int64       `json:"expired"`
	Rejected          int64       `json:"rejected"`
	AvgLeadTimeDays   float64     `json:"avg_lead_time_days"`
	AvgLengthOfStay   float64     `json:"avg_length_of_stay"`
	CancellationRate  float64     `json:"cancellation_rate"` // percent, two decimals
	LeadTimeBuckets   []Bucket    `json:"lead_time_buckets"`
	LengthOfStay      []Bucket    `json:"length_of_stay"`
	Pace              []PacePoint `json:"pace"`
	PaceAsOf          civil.Date  `json:"pace_as_of"`
	PaceLastYearAsOf  civil.Date  `json:"pace_last_year_as_of"`
	RoomsOnBooks      int64       `json:"rooms_on_books"`
	RoomsOnBooksLastY int64       `json:"rooms_on_books_last_year"`
}

// Bucket counts confirmed bookings in a range of days (Max 0: no upper bound).
type Bucket struct {
	Label string `json:"label"`
	Min   int    `json:"min"`
	Max   int    `json:"max"`
	Count int64  `json:"count"`
}

// PacePoint is the rooms on the books for one future night as of AsOf, and
// for the same night a year before as of the same date a year before.
type PacePoint struct {
	Night         civil.Date `json:"night"`
	RoomsOnBooks  int64      `json:"rooms_on_books"`
	LastYearNight civil.Date `json:"last_year_night"`
	LastYearRooms int64      `json:"last_year_rooms"`
}
