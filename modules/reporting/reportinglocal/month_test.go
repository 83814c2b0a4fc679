package reportinglocal_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/modules/reporting/reportinglocal"
	"github.com/bellhop/bellhop/modules/reporting/reportingtest"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/events"
)

// scripted is one booking of the scripted month and what became of it.
type scripted struct {
	stay                 reportingtest.Stay
	confirmed            bool
	cancelledOn          time.Time // zero: not cancelled
	refund, fee          int64
	expired, rejected    bool
	confirmedOn          time.Time
	taxBP, tourismPerNgt int64
}

// month scripts March 2026 in two hotels: one in Lisbon (EUR, IVA 6%,
// tourism tax 2.00 per guest-night up to 7 nights) with two room types, one
// in Tokyo (JPY, 10%), with confirmations, free and late cancellations, an
// expiry and a rejection.
func month(t *testing.T) ([]scripted, []events.Event, map[string]int) {
	day := func(d int, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, time.UTC) }
	base := func(id, rt, hotel string) reportingtest.Stay {
		s := reportingtest.Stay{BookingID: id, GuestID: "usr_" + id, GuestName: "Guest " + id, GuestEmail: id + "@example.test",
			HotelID: hotel, HotelName: "Hotel " + hotel, RoomTypeID: rt, RoomTypeName: "Room " + rt, Guests: 2,
			PaymentID: "pay_" + id, CardBrand: "visa", CardLast4: "4242"}
		if hotel == "htl_lis" {
			s.City, s.CityID, s.Country, s.TimeZone, s.Currency = "Lisbon", "lisbon-pt", "PT", "UTC", "EUR"
		} else {
			s.City, s.CityID, s.Country, s.TimeZone, s.Currency = "東京", "tokyo-jp", "JP", "UTC", "JPY"
		}
		return s
	}
	rooms := map[string]int{"rt_a": 5, "rt_b": 3, "rt_t": 10}
	var evts []events.Event
	at := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	evts = append(evts,
		reportingtest.RoomTypeEvent(t, "created", "rt_a", "htl_lis", "Hotel Lisboa", "lisbon-pt", "Lisbon", "UTC", rooms["rt_a"], "EUR", at),
		reportingtest.RoomTypeEvent(t, "created", "rt_b", "htl_lis", "Hotel Lisboa", "lisbon-pt", "Lisbon", "UTC", rooms["rt_b"], "EUR", at),
		reportingtest.RoomTypeEvent(t, "created", "rt_t", "htl_tyo", "Hotel 東京", "tokyo-jp", "東京", "UTC", rooms["rt_t"], "JPY", at))
	mk := func(id, rt, hotel string, checkIn int, prices []int64, held time.Time) reportingtest.Stay {
		s := base(id, rt, hotel)
		s.CheckIn, s.Prices, s.HeldAt, s.PaidAt = civil.Date{Year: 2026, Month: 3, Day: checkIn}, prices, held, held.Add(10*time.Minute)
		return s
	}
	var out []scripted
	add := func(s scripted) { out = append(out, s) }
	add(scripted{stay: mk("b1", "rt_a", "htl_lis", 2, []int64{10000, 10000, 10000}, time.Date(2026, 2, 20, 9, 0, 0, 0, time.UTC)), confirmed: true})
	add(scripted{stay: mk("b2", "rt_a", "htl_lis", 3, []int64{12000, 12000}, day(1, 9)), confirmed: true, cancelledOn: day(2, 12), refund: 24000})
	add(scripted{stay: mk("b3", "rt_b", "htl_lis", 10, []int64{8000, 8000, 8000, 8000}, day(5, 9)), confirmed: true, cancelledOn: day(9, 12), refund: 22000, fee: 10000})
	add(scripted{stay: mk("b4", "rt_b", "htl_lis", 15, []int64{9000}, day(10, 9)), expired: true})
	add(scripted{stay: mk("b5", "rt_a", "htl_lis", 20, []int64{11000, 11000}, day(12, 9)), rejected: true})
	add(scripted{stay: mk("b6", "rt_t", "htl_tyo", 5, []int64{15000, 16000}, day(1, 3)), confirmed: true})
	add(scripted{stay: mk("b7", "rt_a", "htl_lis", 3, []int64{10500}, day(2, 9)), confirmed: true})
	add(scripted{stay: mk("b8", "rt_b", "htl_lis", 28, []int64{9500, 9500, 9500, 9500, 9500}, day(20, 9)), confirmed: true, cancelledOn: day(25, 9), refund: 47500})
	for i := range out {
		s := &out[i]
		if s.stay.Country == "PT" {
			s.taxBP, s.tourismPerNgt = 600, 200
		} else {
			s.taxBP = 1000
		}
		evts = append(evts, reportingtest.BookingEvent(t, "bellhop.booking.held.v1", s.stay, "pending", s.stay.HeldAt, 0, 0))
		switch {
		case s.confirmed:
			s.confirmedOn = s.stay.PaidAt
			evts = append(evts, reportingtest.BookingEvent(t, "bellhop.booking.confirmed.v1", s.stay, "confirmed", s.stay.PaidAt, 0, 0))
			if !s.cancelledOn.IsZero() {
				evts = append(evts, reportingtest.BookingEvent(t, "bellhop.booking.cancelled.v1", s.stay, "cancelled", s.cancelledOn, s.refund, s.fee))
			}
		case s.expired:
			evts = append(evts, reportingtest.BookingEvent(t, "bellhop.booking.expired.v1", s.stay, "expired", s.stay.HeldAt.Add(20*time.Minute), 0, 0))
		case s.rejected:
			evts = append(evts, reportingtest.BookingEvent(t, "bellhop.booking.rejected.v1", s.stay, "rejected", s.stay.HeldAt.Add(30*time.Minute), 0, 0))
		}
	}
	return out, evts, rooms
}

// tax is the VAT and tourism tax in a receipt of s, computed by hand.
func (s scripted) tax() (total, tourism int64) {
	nights := int64(min(len(s.stay.Prices), 7))
	tourism = s.tourismPerNgt * int64(s.stay.Guests) * nights
	vat := divRound((s.stay.Total()-tourism)*s.taxBP, 10000+s.taxBP)
	return vat + tourism, tourism
}

func (s scripted) refundTax() int64 {
	_, tourism := s.tax()
	t := divRound(tourism*s.refund, s.stay.Total())
	return t + divRound((s.refund-t)*s.taxBP, 10000+s.taxBP)
}

// Every figure of the reports on a scripted month equals the figure
// computed here by hand; Rebuild gives the same reports and keeps the
// documents exactly as issued.
func TestReports_ScriptedMonth(t *testing.T) {
	t.Parallel()
	scriptedMonth(t, newModule(t, reportinglocal.Deps{}))
}

func scriptedMonth(t *testing.T, m *reportinglocal.Module) {
	script, evts, rooms := month(t)
	mustApply(t, m, evts...)
	mustApply(t, m, evts[len(evts)/2]) // a duplicate changes nothing
	ctx := authntest.NewIssuer(t, "t", "t").Context(t, context.Background(), reportingtest.Staff)
	from, to := civil.MustParse("2026-03-01"), civil.MustParse("2026-04-01")

	occ, err := m.Service().Occupancy(ctx, reporting.ReportRequest{From: from, To: to, GroupBy: reporting.GroupHotel})
	if err != nil {
		t.Fatal(err)
	}
	type cell struct{ sold, rev, arr, dep int64 }
	hotelRooms := map[string]int64{"htl_lis": int64(rooms["rt_a"] + rooms["rt_b"]), "htl_tyo": int64(rooms["rt_t"])}
	want := map[string]map[string]*cell{"htl_lis": {}, "htl_tyo": {}}
	for d := from; d.Before(to); d = d.AddDays(1) {
		for h := range want {
			want[h][d.String()] = &cell{}
		}
	}
	for _, s := range script {
		if !s.confirmed || !s.cancelledOn.IsZero() {
			continue
		}
		for i, p := range s.stay.Prices {
			c := want[s.stay.HotelID][s.stay.CheckIn.AddDays(i).String()]
			c.sold++
			c.rev += p
		}
		want[s.stay.HotelID][s.stay.CheckIn.String()].arr++
		if c, ok := want[s.stay.HotelID][s.stay.CheckOut().String()]; ok {
			c.dep++
		}
	}
	if len(occ.Rows) != 2*31 {
		t.Fatalf("%d rows, want 62", len(occ.Rows))
	}
	for _, r := range occ.Rows {
		w := want[r.Group][r.PeriodStart.String()]
		avail := hotelRooms[r.Group]
		if r.RoomsAvailable != avail || r.RoomsSold != w.sold || r.RoomRevenue.Amount != w.rev || r.Arrivals != w.arr ||
			r.Departures != w.dep || r.ADR.Amount != divRoundZ(w.rev, w.sold) || r.RevPAR.Amount != divRoundZ(w.rev, avail) ||
			r.Occupancy != float64(divRound(w.sold*10000, avail))/100 {
			t.Fatalf("%s %s: %+v, want %+v of %d rooms", r.Group, r.PeriodStart, r, *w, avail)
		}
	}

	rev, err := m.Service().Revenue(ctx, reporting.ReportRequest{From: civil.MustParse("2026-02-01"), To: to})
	if err != nil {
		t.Fatal(err)
	}
	type money struct{ n, gross, refunds, fees, tax int64 }
	wantRev := map[string]*money{}
	key := func(hotel string, on time.Time) string { return hotel + "/" + on.Format("2006-01") }
	get := func(k string) *money {
		if wantRev[k] == nil {
			wantRev[k] = &money{}
		}
		return wantRev[k]
	}
	for _, s := range script {
		if !s.confirmed {
			continue // expired and rejected stays were never revenue
		}
		r := get(key(s.stay.HotelID, s.confirmedOn))
		tax, _ := s.tax()
		r.n++
		r.gross += s.stay.Total()
		r.tax += tax
		if !s.cancelledOn.IsZero() {
			c := get(key(s.stay.HotelID, s.cancelledOn))
			c.refunds += s.refund
			c.fees += s.fee
			c.tax -= s.refundTax()
		}
	}
	if len(rev.Rows) != len(wantRev) {
		t.Fatalf("%d revenue rows, want %d: %+v", len(rev.Rows), len(wantRev), rev.Rows)
	}
	for _, r := range rev.Rows {
		w := wantRev[r.Group+"/"+r.PeriodStart.String()[:7]]
		if w == nil || r.Bookings != w.n || r.Gross.Amount != w.gross || r.Refunds.Amount != w.refunds || r.FeesKept.Amount != w.fees ||
			r.Net.Amount != w.gross-w.refunds || r.Tax.Amount != w.tax {
			t.Fatalf("revenue %s %s: %+v, want %+v", r.Group, r.PeriodStart, r, w)
		}
		if (r.Group == "htl_tyo") != (r.Currency == "JPY") {
			t.Fatalf("currency %s for %s", r.Currency, r.Group)
		}
	}

	beh, err := m.Service().BookingBehaviour(ctx, reporting.BehaviourRequest{From: from, To: to, HotelID: "htl_lis", AsOf: civil.MustParse("2026-03-01"), PaceDays: 31})
	if err != nil {
		t.Fatal(err)
	}
	var n, confirmed, cancelled, expired, rejected, lead, los int64
	for _, s := range script {
		if s.stay.HotelID != "htl_lis" || s.stay.HeldAt.Before(day0(from)) {
			continue
		}
		n++
		switch {
		case s.expired:
			expired++
		case s.rejected:
			rejected++
		case s.confirmed:
			confirmed++
			lead += int64(civil.Of(s.stay.HeldAt).DaysUntil(s.stay.CheckIn))
			los += int64(len(s.stay.Prices))
			if !s.cancelledOn.IsZero() {
				cancelled++
			}
		}
	}
	if beh.Bookings != n || beh.Confirmed != confirmed || beh.Cancelled != cancelled || beh.Expired != expired || beh.Rejected != rejected ||
		beh.AvgLeadTimeDays != float64(divRound(lead*100, confirmed))/100 || beh.AvgLengthOfStay != float64(divRound(los*100, confirmed))/100 ||
		beh.CancellationRate != float64(divRound(cancelled*10000, confirmed))/100 {
		t.Fatalf("behaviour = %+v; want %d held, %d confirmed, %d cancelled, lead %d, los %d", beh, n, confirmed, cancelled, lead, los)
	}
	// Pace as of March 1st: only b1 (confirmed in February) is on the books then.
	var onBooks int64
	for _, s := range script {
		if s.stay.HotelID == "htl_lis" && s.confirmed && s.confirmedOn.Before(day0(from).Add(24*time.Hour)) &&
			(s.cancelledOn.IsZero() || !s.cancelledOn.Before(day0(from).Add(24*time.Hour))) {
			onBooks += int64(len(s.stay.Prices))
		}
	}
	if beh.RoomsOnBooks != onBooks {
		t.Fatalf("rooms on the books %d, want %d", beh.RoomsOnBooks, onBooks)
	}

	t.Run("Rebuild", func(t *testing.T) {
		docsBefore := allDocuments(t, m, script)
		st, err := m.Rebuild(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Events != len(evts) {
			t.Fatalf("rebuilt from %d events, want %d", st.Events, len(evts))
		}
		occ2, err1 := m.Service().Occupancy(ctx, reporting.ReportRequest{From: from, To: to, GroupBy: reporting.GroupHotel})
		rev2, err2 := m.Service().Revenue(ctx, reporting.ReportRequest{From: civil.MustParse("2026-02-01"), To: to})
		beh2, err3 := m.Service().BookingBehaviour(ctx, reporting.BehaviourRequest{From: from, To: to, HotelID: "htl_lis", AsOf: civil.MustParse("2026-03-01"), PaceDays: 31})
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatal(err1, err2, err3)
		}
		if !reflect.DeepEqual(occ, occ2) || !reflect.DeepEqual(rev, rev2) || !reflect.DeepEqual(beh, beh2) {
			t.Fatal("reports differ after rebuild")
		}
		if after := allDocuments(t, m, script); !reflect.DeepEqual(docsBefore, after) {
			t.Fatal("documents changed on rebuild")
		}
	})
}

func day0(d civil.Date) time.Time { return d.In(time.UTC) }

func divRoundZ(a, b int64) int64 {
	if b == 0 {
		return 0
	}
	return divRound(a, b)
}

func allDocuments(t *testing.T, m *reportinglocal.Module, script []scripted) []reporting.Document {
	var out []reporting.Document
	for _, s := range script {
		out = append(out, documents(t, m, s.stay.BookingID)...)
	}
	if len(out) == 0 {
		t.Fatal("no documents")
	}
	return out
}
