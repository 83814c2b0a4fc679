// Package reportingtest holds the reporting contract suite, run against every
// implementation of reporting.Service (in-process, over HTTP, on
// PostgreSQL) with the same assertions, the event builders suites script
// with, and a Fake for other modules' tests.
package reportingtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/reporting/reportingmodule"
	"github.com/bellhop/bellhop/platform/observability/contractcov"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/platform/apperr/apperrtest"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/events"
)

// Issuer is the token issuer the suite signs its callers' tokens with.
const (
	IssuerName = "bellhop-contract"
	Audience   = "bellhop"
)

// Target is an implementation under test and the hooks the suite needs.
type Target struct {
	Service reporting.Service
	// Apply feeds an event to the module behind Service as its consumer
	// would (inbox included: the same event twice applies once).
	Apply func(ctx context.Context, evt events.Event) error
}

// NewTarget builds a fresh, empty target. Callers' tokens are signed by iss.
type NewTarget func(t *testing.T, iss *authntest.Issuer) Target

// The principals the suite calls as.
var (
	Staff  = authn.Principal{Subject: "usr_staff", Kind: authn.KindUser, Email: "staff@bellhop.test", Roles: []string{authn.RoleStaff}, Scopes: []string{reporting.ScopeReportsRead}}
	Guest  = authn.Principal{Subject: "usr_guest", Kind: authn.KindUser, Email: "zoe@bellhop.test", Name: "Zoë Øberg", Roles: []string{authn.RoleGuest}}
	Other  = authn.Principal{Subject: "usr_other", Kind: authn.KindUser, Email: "other@bellhop.test", Roles: []string{authn.RoleGuest}}
	Syst   = authn.Principal{Subject: "svc_web", Kind: authn.KindService, Scopes: []string{reporting.ScopeReportsRead}}
	Zurich = Stay{
		GuestID: Guest.Subject, GuestName: "Zoë Øberg", GuestEmail: Guest.Email,
		HotelID: "htl_zurich", HotelName: "Hotel Zürichsee", Address: "Seestrasse 1", City: "Zürich", CityID: "zurich-ch",
		Country: "CH", TimeZone: "Europe/Zurich", RoomTypeID: "rt_zurich_double", RoomTypeName: "Double",
		Currency: "CHF", Guests: 2, CardBrand: "visa", CardLast4: "4242",
	}
)

type suite struct {
	t                  Target
	staff, guest, anon context.Context
	other, svc         context.Context
}

// RunContract runs the reporting contract against the target newTarget builds.
func RunContract(t *testing.T, newTarget NewTarget) {
	iss := authntest.NewIssuer(t, IssuerName, Audience)
	ctx := context.Background()
	target := newTarget(t, iss)
	// Every method must answer successfully at least once: one a Client
	// does not implement fails the suite.
	cov := contractcov.New(reporting.Module)
	target.Service = reportingmodule.Instrument(target.Service, cov.Edge())
	s := &suite{
		t:     target,
		anon:  ctx,
		staff: iss.Context(t, ctx, Staff),
		guest: iss.Context(t, ctx, Guest),
		other: iss.Context(t, ctx, Other),
		svc:   iss.Context(t, ctx, Syst),
	}
	t.Run("Documents", s.testDocuments)
	t.Run("CreditNote", s.testCreditNote)
	t.Run("Reports", s.testReports)
	t.Run("Reports/Invalid", s.testInvalidFilters)
	t.Run("Reports/Forbidden", s.testForbidden)
	cov.CheckIfWhole(t, reflect.TypeFor[reporting.Service]())
}

func (s *suite) apply(t *testing.T, evts ...events.Event) {
	t.Helper()
	for _, e := range evts {
		if err := s.t.Apply(context.Background(), e); err != nil {
			t.Fatalf("apply %s: %v", e.Type, err)
		}
	}
}

// confirm scripts a stay held at heldAt and confirmed an hour later.
func (s *suite) confirm(t *testing.T, st Stay) (held, confirmed events.Event) {
	t.Helper()
	held = BookingEvent(t, "bellhop.booking.held.v1", st, "pending", st.HeldAt, 0, 0)
	confirmed = BookingEvent(t, "bellhop.booking.confirmed.v1", st, "confirmed", st.PaidAt, 0, 0)
	s.apply(t, held, confirmed)
	return held, confirmed
}

var numberRE = regexp.MustCompile(`^BH-2026-\d{6}$`)

func (s *suite) testDocuments(t *testing.T) {
	st := Zurich
	st.BookingID, st.PaymentID = "bkg_docs_1", "pay_docs_1"
	st.CheckIn = civil.MustParse("2026-03-10")
	st.Prices = []int64{20000, 22000}
	st.HeldAt = time.Date(2026, 2, 20, 9, 0, 0, 0, time.UTC)
	st.PaidAt = st.HeldAt.Add(time.Hour)
	st.FreeCancellationUntil = time.Date(2026, 3, 8, 23, 0, 0, 0, time.UTC)
	st.LateCancellationFee = 20000
	_, confirmed := s.confirm(t, st)
	// The same event again, and a copy with another id: still one receipt.
	s.apply(t, confirmed, BookingEvent(t, "bellhop.booking.confirmed.v1", st, "confirmed", st.PaidAt, 0, 0))

	for name, ctx := range map[string]context.Context{"Guest": s.guest, "Staff": s.staff} {
		list, err := s.t.Service.ListDocuments(ctx, reporting.ListDocumentsRequest{BookingID: st.BookingID})
		if err != nil {
			t.Fatalf("%s: list: %v", name, err)
		}
		if len(list.Documents) != 1 {
			t.Fatalf("%s: %d documents, want 1 receipt: %+v", name, len(list.Documents), list.Documents)
		}
		d := list.Documents[0]
		if d.Kind != reporting.KindReceipt || !numberRE.MatchString(d.Number) || d.BookingID != st.BookingID ||
			d.GuestID != st.GuestID || d.Total.Amount != 42000 || d.Total.Currency != "CHF" ||
			d.IssueDate != civil.MustParse("2026-02-20") || d.Filename == "" || len(d.SHA256) != 64 {
			t.Fatalf("%s: receipt = %+v", name, d)
		}
		doc, err := s.t.Service.GetDocument(ctx, reporting.GetDocumentRequest{ID: d.ID})
		if err != nil {
			t.Fatalf("%s: get: %v", name, err)
		}
		sum := sha256.Sum256(doc.PDF)
		if !bytes.HasPrefix(doc.PDF, []byte("%PDF-")) || hex.EncodeToString(sum[:]) != d.SHA256 || doc.Size != len(doc.PDF) ||
			doc.Number != d.Number {
			t.Fatalf("%s: document %+v: PDF of %d bytes does not match its metadata", name, doc.DocumentInfo, len(doc.PDF))
		}
	}

	list, err := s.t.Service.ListDocuments(s.staff, reporting.ListDocumentsRequest{BookingID: st.BookingID})
	if err != nil {
		t.Fatal(err)
	}
	id := list.Documents[0].ID
	t.Run("OtherGuest", func(t *testing.T) {
		_, err := s.t.Service.ListDocuments(s.other, reporting.ListDocumentsRequest{BookingID: st.BookingID})
		apperrtest.Want(t, err, reporting.ErrNotFound)
		_, err = s.t.Service.GetDocument(s.other, reporting.GetDocumentRequest{ID: id})
		apperrtest.Want(t, err, reporting.ErrNotFound)
	})
	t.Run("Service", func(t *testing.T) {
		_, err := s.t.Service.GetDocument(s.svc, reporting.GetDocumentRequest{ID: id})
		apperrtest.Want(t, err, reporting.ErrNotFound)
	})
	t.Run("Anonymous", func(t *testing.T) {
		_, err := s.t.Service.GetDocument(s.anon, reporting.GetDocumentRequest{ID: id})
		apperrtest.Want(t, err, authn.ErrUnauthenticated)
	})
	t.Run("Unknown", func(t *testing.T) {
		_, err := s.t.Service.ListDocuments(s.staff, reporting.ListDocumentsRequest{BookingID: "bkg_nope"})
		apperrtest.Want(t, err, reporting.ErrNotFound)
		_, err = s.t.Service.GetDocument(s.staff, reporting.GetDocumentRequest{ID: "doc_nope"})
		apperrtest.Want(t, err, reporting.ErrNotFound)
	})
	t.Run("Invalid", func(t *testing.T) {
		_, err := s.t.Service.ListDocuments(s.staff, reporting.ListDocumentsRequest{BookingID: " "})
		apperrtest.Want(t, err, reporting.ErrInvalidRequest)
	})
	t.Run("Pending", func(t *testing.T) {
		p := st
		p.BookingID = "bkg_docs_pending"
		s.apply(t, BookingEvent(t, "bellhop.booking.held.v1", p, "pending", p.HeldAt, 0, 0))
		list, err := s.t.Service.ListDocuments(s.guest, reporting.ListDocumentsRequest{BookingID: p.BookingID})
		if err != nil || len(list.Documents) != 0 {
			t.Fatalf("pending booking: %+v, %v; want no documents", list, err)
		}
	})
	t.Run("GapFree", func(t *testing.T) {
		// Three more receipts take the next three numbers.
		first := list.Documents[0].Number
		var prev = seqOf(t, first)
		for i := range 3 {
			n := st
			n.BookingID, n.PaymentID = fmt.Sprintf("bkg_docs_gap_%d", i), fmt.Sprintf("pay_docs_gap_%d", i)
			s.confirm(t, n)
			l, err := s.t.Service.ListDocuments(s.staff, reporting.ListDocumentsRequest{BookingID: n.BookingID})
			if err != nil || len(l.Documents) != 1 {
				t.Fatalf("%+v, %v", l, err)
			}
			if got := seqOf(t, l.Documents[0].Number); got != prev+1 {
				t.Fatalf("receipt %s after %d: not the next number", l.Documents[0].Number, prev)
			}
			prev++
		}
	})
}

func seqOf(t *testing.T, number string) int {
	t.Helper()
	var y, n int
	if _, err := fmt.Sscanf(number[len(number)-11:], "%4d-%6d", &y, &n); err != nil {
		t.Fatalf("number %q: %v", number, err)
	}
	return n
}

func (s *suite) testCreditNote(t *testing.T) {
	st := Zurich
	st.BookingID, st.PaymentID = "bkg_cn_1", "pay_cn_1"
	st.CheckIn = civil.MustParse("2026-04-01")
	st.Prices = []int64{30000, 30000, 30000}
	st.HeldAt = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	st.PaidAt = st.HeldAt.Add(time.Minute)
	s.confirm(t, st)
	cancel := BookingEvent(t, "bellhop.booking.cancelled.v1", st, "cancelled", st.HeldAt.Add(48*time.Hour), 60000, 30000)
	s.apply(t, cancel, cancel)

	list, err := s.t.Service.ListDocuments(s.guest, reporting.ListDocumentsRequest{BookingID: st.BookingID})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Documents) != 2 {
		t.Fatalf("%d documents, want a receipt and a credit note: %+v", len(list.Documents), list.Documents)
	}
	r, cn := list.Documents[0], list.Documents[1]
	if r.Kind != reporting.KindReceipt || cn.Kind != reporting.KindCreditNote {
		t.Fatalf("kinds %s, %s", r.Kind, cn.Kind)
	}
	if cn.Corrects != r.Number || cn.Reason != reporting.ReasonCancellation || cn.Total.Amount != -60000 ||
		!regexp.MustCompile(`^CN-2026-\d{6}$`).MatchString(cn.Number) {
		t.Fatalf("credit note = %+v (receipt %s)", cn, r.Number)
	}

	t.Run("Rejection", func(t *testing.T) {
		rj := st
		rj.BookingID, rj.PaymentID = "bkg_cn_rejected", "pay_cn_rejected"
		s.apply(t, BookingEvent(t, "bellhop.booking.held.v1", rj, "pending", rj.HeldAt, 0, 0),
			BookingEvent(t, "bellhop.booking.rejected.v1", rj, "rejected", rj.HeldAt.Add(time.Hour), 0, 0))
		l, err := s.t.Service.ListDocuments(s.guest, reporting.ListDocumentsRequest{BookingID: rj.BookingID})
		if err != nil || len(l.Documents) != 1 {
			t.Fatalf("%+v, %v: want one credit note", l, err)
		}
		d := l.Documents[0]
		if d.Kind != reporting.KindCreditNote || d.Reason != reporting.ReasonRejection || d.Corrects != "" || d.Total.Amount != -90000 {
			t.Fatalf("rejection credit note = %+v", d)
		}
	})
}

func (s *suite) testReports(t *testing.T) {
	// A hotel of its own with 4 rooms on sale, two stays in May.
	const hotel, rt = "htl_report", "rt_report"
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s.apply(t, RoomTypeEvent(t, "created", rt, hotel, "Hotel Report", "report-city", "Report City", "UTC", 4, "EUR", at))
	st := Zurich
	st.HotelID, st.HotelName, st.RoomTypeID, st.CityID, st.Currency, st.TimeZone = hotel, "Hotel Report", rt, "report-city", "EUR", "UTC"
	st.HeldAt = time.Date(2026, 4, 20, 10, 0, 0, 0, time.UTC)
	st.PaidAt = st.HeldAt.Add(time.Minute)
	a, b := st, st
	a.BookingID, a.PaymentID, a.CheckIn, a.Prices = "bkg_rep_a", "pay_rep_a", civil.MustParse("2026-05-01"), []int64{10000, 12000}
	b.BookingID, b.PaymentID, b.CheckIn, b.Prices = "bkg_rep_b", "pay_rep_b", civil.MustParse("2026-05-02"), []int64{15000}
	s.confirm(t, a)
	s.confirm(t, b)

	occ, err := s.t.Service.Occupancy(s.staff, reporting.ReportRequest{From: civil.MustParse("2026-05-01"), To: civil.MustParse("2026-05-04"), HotelID: hotel})
	if err != nil {
		t.Fatal(err)
	}
	// Night 1: 1 of 4 sold at 100.00; night 2: 2 of 4 at 120.00 + 150.00; night 3: none.
	want := []struct {
		sold, rev, adr, revpar, arrivals, departures int64
		occ                                          float64
	}{{1, 10000, 10000, 2500, 1, 0, 25}, {2, 27000, 13500, 6750, 1, 0, 50}, {0, 0, 0, 0, 0, 2, 0}}
	if len(occ.Rows) != 3 || occ.Granularity != reporting.GranularityNight || occ.GroupBy != reporting.GroupHotel {
		t.Fatalf("occupancy = %+v", occ)
	}
	for i, w := range want {
		r := occ.Rows[i]
		if r.Group != hotel || r.Name != "Hotel Report" || r.RoomsAvailable != 4 || r.RoomsSold != w.sold || r.RoomRevenue.Amount != w.rev ||
			r.ADR.Amount != w.adr || r.RevPAR.Amount != w.revpar || r.Occupancy != w.occ || r.Arrivals != w.arrivals ||
			r.Departures != w.departures || r.Currency != "EUR" || r.PeriodStart != civil.MustParse("2026-05-01").AddDays(i) {
			t.Fatalf("night %d = %+v, want %+v", i, r, w)
		}
	}
	rev, err := s.t.Service.Revenue(s.staff, reporting.ReportRequest{From: civil.MustParse("2026-04-01"), To: civil.MustParse("2026-06-01"), HotelID: hotel})
	if err != nil {
		t.Fatal(err)
	}
	if len(rev.Rows) != 1 || rev.Rows[0].Gross.Amount != 37000 || rev.Rows[0].Net.Amount != 37000 || rev.Rows[0].Bookings != 2 ||
		rev.Rows[0].PeriodStart != civil.MustParse("2026-04-01") || rev.Rows[0].Refunds.Amount != 0 {
		t.Fatalf("revenue = %+v", rev)
	}
	// A city known only from the catalog (rooms on sale, none sold yet) is
	// named as the catalog names it.
	s.apply(t, RoomTypeEvent(t, "created", "rt_quiet", "htl_quiet", "Hotel Quiet", "quiet-city", "Quiet City", "UTC", 2, "EUR", at))
	byCity, err := s.t.Service.Occupancy(s.staff, reporting.ReportRequest{From: civil.MustParse("2026-05-01"), To: civil.MustParse("2026-05-02"),
		CityID: "quiet-city", GroupBy: reporting.GroupCity})
	if err != nil {
		t.Fatal(err)
	}
	if len(byCity.Rows) != 1 || byCity.Rows[0].Group != "quiet-city" || byCity.Rows[0].Name != "Quiet City" || byCity.Rows[0].RoomsAvailable != 2 {
		t.Fatalf("occupancy by city = %+v, want one row named Quiet City with 2 rooms", byCity.Rows)
	}
	beh, err := s.t.Service.BookingBehaviour(s.staff, reporting.BehaviourRequest{From: civil.MustParse("2026-04-01"), To: civil.MustParse("2026-05-01"),
		HotelID: hotel, AsOf: civil.MustParse("2026-04-30"), PaceDays: 7})
	if err != nil {
		t.Fatal(err)
	}
	// Lead times 11 and 12 days; stays of 2 and 1 nights; 3 room-nights on the books.
	if beh.Bookings != 2 || beh.Confirmed != 2 || beh.AvgLeadTimeDays != 11.5 || beh.AvgLengthOfStay != 1.5 ||
		beh.CancellationRate != 0 || beh.RoomsOnBooks != 3 || len(beh.Pace) != 7 || beh.Pace[1].RoomsOnBooks != 1 || beh.Pace[2].RoomsOnBooks != 2 {
		t.Fatalf("behaviour = %+v", beh)
	}
}

func (s *suite) testInvalidFilters(t *testing.T) {
	d := civil.MustParse
	for _, tc := range []struct {
		name   string
		req    reporting.ReportRequest
		fields []string
	}{
		{"FromAfterTo", reporting.ReportRequest{From: d("2026-05-10"), To: d("2026-05-01")}, []string{"to"}},
		{"OverTwoYears", reporting.ReportRequest{From: d("2024-01-01"), To: d("2026-05-01")}, []string{"to"}},
		{"UnknownHotel", reporting.ReportRequest{From: d("2026-05-01"), To: d("2026-05-02"), HotelID: "htl_unknown"}, []string{"hotel_id"}},
		{"Granularity", reporting.ReportRequest{From: d("2026-05-01"), To: d("2026-05-02"), Granularity: "hourly"}, []string{"granularity"}},
		{"Missing", reporting.ReportRequest{}, []string{"from", "to"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.t.Service.Occupancy(s.staff, tc.req)
			apperrtest.Want(t, err, reporting.ErrInvalidFilter, tc.fields...)
			_, err = s.t.Service.Revenue(s.staff, tc.req)
			apperrtest.Want(t, err, reporting.ErrInvalidFilter, tc.fields...)
		})
	}
	_, err := s.t.Service.BookingBehaviour(s.staff, reporting.BehaviourRequest{From: d("2026-05-01"), To: d("2026-05-02"), CityID: "atlantis-xx"})
	apperrtest.Want(t, err, reporting.ErrInvalidFilter, "city_id")
}

func (s *suite) testForbidden(t *testing.T) {
	req := reporting.ReportRequest{From: civil.MustParse("2026-05-01"), To: civil.MustParse("2026-05-02")}
	_, err := s.t.Service.Occupancy(s.guest, req)
	apperrtest.Want(t, err, authn.ErrForbidden)
	_, err = s.t.Service.Revenue(s.guest, req)
	apperrtest.Want(t, err, authn.ErrForbidden)
	_, err = s.t.Service.BookingBehaviour(s.guest, reporting.BehaviourRequest{From: req.From, To: req.To})
	apperrtest.Want(t, err, authn.ErrForbidden)
	_, err = s.t.Service.Occupancy(s.anon, req)
	apperrtest.Want(t, err, authn.ErrUnauthenticated)
	if _, err := s.t.Service.Occupancy(s.svc, req); err != nil {
		t.Fatalf("a service with reports:read: %v", err)
	}
}
