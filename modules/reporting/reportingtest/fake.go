package reportingtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/money"
)

// Fake is an in-memory reporting.Service for other modules' tests (the
// dashboard's pages): documents are added with AddDocument and reports set
// with SetOccupancy, SetRevenue and SetBehaviour. It checks callers as the
// real module does: documents for their guest and staff (ErrNotFound for
// anyone else), reports for reports:read (authn.ErrForbidden), and the
// report filters' dates and range (ErrInvalidFilter).
type Fake struct {
	mu        sync.Mutex
	bookings  map[string]string // booking → guest
	docs      []reporting.Document
	occupancy reporting.OccupancyReport
	revenue   reporting.RevenueReport
	behaviour reporting.BehaviourReport
}

var _ reporting.Service = (*Fake)(nil)

// NewFake returns an empty Fake.
func NewFake() *Fake { return &Fake{bookings: map[string]string{}} }

// AddBooking makes a booking of guestID known (with no documents yet).
func (f *Fake) AddBooking(bookingID, guestID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bookings[bookingID] = guestID
}

// AddDocument stores a document with pdf as its content and returns it;
// the number is the next of its kind's series for the issue date's year.
func (f *Fake) AddDocument(kind, bookingID, guestID string, total money.Money, issued time.Time, pdf []byte) reporting.Document {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bookings[bookingID] = guestID
	n := 1
	for _, d := range f.docs {
		if d.Kind == kind {
			n++
		}
	}
	prefix, file := "BH", "receipt"
	if kind == reporting.KindCreditNote {
		prefix, file = "CN", "credit-note"
	}
	sum := sha256.Sum256(pdf)
	day := civil.Of(issued.UTC())
	number := fmt.Sprintf("%s-%04d-%06d", prefix, day.Year, n)
	d := reporting.Document{DocumentInfo: reporting.DocumentInfo{
		ID: fmt.Sprintf("doc_fake_%d", len(f.docs)+1), Kind: kind, Number: number, BookingID: bookingID, GuestID: guestID,
		IssueDate: day, Total: total, Filename: file + "-" + number + ".pdf", SHA256: hex.EncodeToString(sum[:]),
		Size: len(pdf), IssuedAt: issued.UTC(),
	}, PDF: slices.Clone(pdf)}
	f.docs = append(f.docs, d)
	return d
}

// SetOccupancy sets the rows Occupancy answers (with the request's range).
func (f *Fake) SetOccupancy(r reporting.OccupancyReport) { f.mu.Lock(); f.occupancy = r; f.mu.Unlock() }

// SetRevenue sets the rows Revenue answers.
func (f *Fake) SetRevenue(r reporting.RevenueReport) { f.mu.Lock(); f.revenue = r; f.mu.Unlock() }

// SetBehaviour sets what BookingBehaviour answers.
func (f *Fake) SetBehaviour(r reporting.BehaviourReport) { f.mu.Lock(); f.behaviour = r; f.mu.Unlock() }

func fakeCanSee(p authn.Principal, guest string) bool {
	return p.IsStaff() || (!p.IsService() && p.Subject != "" && p.Subject == guest)
}

// ListDocuments implements reporting.Service.
func (f *Fake) ListDocuments(ctx context.Context, req reporting.ListDocumentsRequest) (reporting.DocumentList, error) {
	p, err := authn.Caller(ctx)
	if err != nil {
		return reporting.DocumentList{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	guest, ok := f.bookings[req.BookingID]
	if !ok || !fakeCanSee(p, guest) {
		return reporting.DocumentList{}, reporting.ErrNotFound
	}
	out := reporting.DocumentList{BookingID: req.BookingID, Documents: []reporting.DocumentInfo{}}
	for _, d := range f.docs {
		if d.BookingID == req.BookingID {
			out.Documents = append(out.Documents, d.DocumentInfo)
		}
	}
	return out, nil
}

// GetDocument implements reporting.Service.
func (f *Fake) GetDocument(ctx context.Context, req reporting.GetDocumentRequest) (reporting.Document, error) {
	p, err := authn.Caller(ctx)
	if err != nil {
		return reporting.Document{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range f.docs {
		if d.ID == req.ID && fakeCanSee(p, d.GuestID) {
			d.PDF = slices.Clone(d.PDF)
			return d, nil
		}
	}
	return reporting.Document{}, reporting.ErrNotFound
}

func fakeFilters(ctx context.Context, from, to civil.Date) error {
	if _, err := authn.RequireScope(ctx, reporting.ScopeReportsRead); err != nil {
		return err
	}
	switch {
	case from.IsZero() || to.IsZero():
		return reporting.ErrInvalidFilter.WithFields(apperr.FieldError{Field: "from", Reason: "required", Detail: "from and to are required"})
	case !from.Before(to):
		return reporting.ErrInvalidFilter.WithFields(apperr.FieldError{Field: "to", Reason: "after_from", Detail: "must be after from"})
	case from.DaysUntil(to) > reporting.MaxReportDays:
		return reporting.ErrInvalidFilter.WithFields(apperr.FieldError{Field: "to", Reason: "max_range", Detail: "the range may cover at most two years (731 days)"})
	}
	return nil
}

// Occupancy implements reporting.Service.
func (f *Fake) Occupancy(ctx context.Context, req reporting.ReportRequest) (reporting.OccupancyReport, error) {
	if err := fakeFilters(ctx, req.From, req.To); err != nil {
		return reporting.OccupancyReport{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.occupancy
	r.From, r.To, r.Rows = req.From, req.To, slices.Clone(r.Rows)
	return r, nil
}

// Revenue implements reporting.Service.
func (f *Fake) Revenue(ctx context.Context, req reporting.ReportRequest) (reporting.RevenueReport, error) {
	if err := fakeFilters(ctx, req.From, req.To); err != nil {
		return reporting.RevenueReport{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.revenue
	r.From, r.To, r.Rows = req.From, req.To, slices.Clone(r.Rows)
	return r, nil
}

// BookingBehaviour implements reporting.Service.
func (f *Fake) BookingBehaviour(ctx context.Context, req reporting.BehaviourRequest) (reporting.BehaviourReport, error) {
	if err := fakeFilters(ctx, req.From, req.To); err != nil {
		return reporting.BehaviourReport{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.behaviour
	r.From, r.To = req.From, req.To
	return r, nil
}
