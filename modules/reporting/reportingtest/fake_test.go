package reportingtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/modules/reporting/reportingtest"
	"github.com/bellhop/bellhop/platform/apperr/apperrtest"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/money"
)

// The Fake keeps the real module's rules about who sees what.
func TestFake(t *testing.T) {
	t.Parallel()
	iss := authntest.NewIssuer(t, "t", "t")
	ctx := context.Background()
	guest, other, staff := iss.Context(t, ctx, reportingtest.Guest), iss.Context(t, ctx, reportingtest.Other), iss.Context(t, ctx, reportingtest.Staff)
	f := reportingtest.NewFake()
	d := f.AddDocument(reporting.KindReceipt, "bkg_1", reportingtest.Guest.Subject, money.New(100, "EUR"), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), []byte("%PDF-1.4 fake"))
	if d.Number != "BH-2026-000001" || d.Size != 13 {
		t.Fatalf("document %+v", d.DocumentInfo)
	}
	if l, err := f.ListDocuments(guest, reporting.ListDocumentsRequest{BookingID: "bkg_1"}); err != nil || len(l.Documents) != 1 {
		t.Fatalf("%+v %v", l, err)
	}
	if got, err := f.GetDocument(staff, reporting.GetDocumentRequest{ID: d.ID}); err != nil || string(got.PDF) != "%PDF-1.4 fake" {
		t.Fatalf("%+v %v", got, err)
	}
	_, err := f.GetDocument(other, reporting.GetDocumentRequest{ID: d.ID})
	apperrtest.Want(t, err, reporting.ErrNotFound)
	_, err = f.Occupancy(guest, reporting.ReportRequest{From: civil.MustParse("2026-03-01"), To: civil.MustParse("2026-03-02")})
	apperrtest.Want(t, err, authn.ErrForbidden)
	_, err = f.Revenue(staff, reporting.ReportRequest{From: civil.MustParse("2026-03-02"), To: civil.MustParse("2026-03-01")})
	apperrtest.Want(t, err, reporting.ErrInvalidFilter, "to")
	f.SetRevenue(reporting.RevenueReport{Rows: []reporting.RevenueRow{{Group: "htl_1", Currency: "EUR"}}})
	if r, err := f.Revenue(staff, reporting.ReportRequest{From: civil.MustParse("2026-03-01"), To: civil.MustParse("2026-04-01")}); err != nil || len(r.Rows) != 1 {
		t.Fatalf("%+v %v", r, err)
	}
}
