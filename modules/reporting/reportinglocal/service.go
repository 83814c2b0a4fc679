package reportinglocal

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/validation"
)

// Service is the in-process reporting.Service.
type Service struct {
	store    store
	validate *validation.Validator
	// render draws documents asked for before the renderer got to them;
	// nil in benchmarks that only read reports.
	render *renderer
}

var _ reporting.Service = (*Service)(nil)

// canSee tells whether p may see a guest's documents: the guest or staff.
func canSee(p authn.Principal, guestID string) bool {
	return p.IsStaff() || (!p.IsService() && p.Subject != "" && p.Subject == guestID)
}

// ListDocuments implements reporting.Service.
func (s *Service) ListDocuments(ctx context.Context, req reporting.ListDocumentsRequest) (reporting.DocumentList, error) {
	p, err := authn.Caller(ctx)
	if err != nil {
		return reporting.DocumentList{}, err
	}
	if err := s.validate.Struct(reporting.ErrInvalidRequest.Reason, req); err != nil {
		return reporting.DocumentList{}, err
	}
	guest, err := s.store.bookingGuest(ctx, req.BookingID)
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && !canSee(p, guest)) {
		return reporting.DocumentList{}, reporting.ErrNotFound
	}
	if err != nil {
		return reporting.DocumentList{}, apperr.OrInternal(err, "list documents")
	}
	docs, err := s.store.documentsOf(ctx, req.BookingID)
	if err == nil && s.render != nil {
		err = s.render.ensureRendered(ctx, docs)
	}
	if err != nil {
		return reporting.DocumentList{}, apperr.OrInternal(err, "list documents")
	}
	out := reporting.DocumentList{BookingID: req.BookingID, Documents: make([]reporting.DocumentInfo, 0, len(docs))}
	for _, d := range docs {
		out.Documents = append(out.Documents, d.info())
	}
	return out, nil
}

// GetDocument implements reporting.Service.
func (s *Service) GetDocument(ctx context.Context, req reporting.GetDocumentRequest) (reporting.Document, error) {
	p, err := authn.Caller(ctx)
	if err != nil {
		return reporting.Document{}, err
	}
	if err := s.validate.Struct(reporting.ErrInvalidRequest.Reason, req); err != nil {
		return reporting.Document{}, err
	}
	d, err := s.store.document(ctx, req.ID)
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && !canSee(p, d.GuestID)) {
		return reporting.Document{}, reporting.ErrNotFound
	}
	if err == nil && s.render != nil {
		docs := []documentRow{d}
		err = s.render.ensureRendered(ctx, docs)
		d = docs[0]
	}
	if err != nil {
		return reporting.Document{}, apperr.OrInternal(err, "get document")
	}
	return reporting.Document{DocumentInfo: d.info(), PDF: d.PDF}, nil
}

// checkFilters validates a report's request and its filters against what
// reporting knows, naming every bad field.
func (s *Service) checkFilters(ctx context.Context, req any, from, to civil.Date, hotelID, roomTypeID, cityID string) error {
	if _, err := authn.RequireScope(ctx, reporting.ScopeReportsRead); err != nil {
		return err
	}
	if err := s.validate.Struct(reporting.ErrInvalidFilter.Reason, req); err != nil {
		return err
	}
	var fields []apperr.FieldError
	if !from.Before(to) {
		fields = append(fields, apperr.FieldError{Field: "to", Reason: "after_from", Detail: "must be after from"})
	} else if from.DaysUntil(to) > reporting.MaxReportDays {
		fields = append(fields, apperr.FieldError{Field: "to", Reason: "max_range",
			Detail: "the range may cover at most two years (731 days)"})
	}
	for _, f := range []struct{ field, id, table string }{
		{"hotel_id", hotelID, "hotel"}, {"room_type_id", roomTypeID, "room_type"}, {"city_id", cityID, "city"},
	} {
		if f.id == "" {
			continue
		}
		ok, err := s.store.known(ctx, f.table, f.id)
		if err != nil {
			return apperr.OrInternal(err, "check filters")
		}
		if !ok {
			fields = append(fields, apperr.FieldError{Field: f.field, Reason: "unknown", Detail: "no " + f.table + " has that id"})
		}
	}
	if len(fields) > 0 {
		return reporting.ErrInvalidFilter.WithFields(fields...)
	}
	return nil
}
