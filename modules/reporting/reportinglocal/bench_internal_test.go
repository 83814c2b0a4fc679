package reportinglocal

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/db/dbtest"
	"github.com/bellhop/bellhop/platform/validation"
)

// benchModel is a typical receipt: three nights, Latin names.
func benchModel() docModel {
	return docModel{Kind: "receipt", Number: "BH-2026-000001", IssueDate: civil.MustParse("2026-03-01"),
		SupplyFrom: civil.MustParse("2026-03-10"), SupplyTo: civil.MustParse("2026-03-13"), Seller: DefaultConfig().Seller,
		HotelName: "Hotel Zürichsee", HotelAddress: "Seestrasse 1", HotelCity: "Zürich", HotelCountry: "CH",
		GuestName: "Zoë Øberg", GuestEmail: "zoe@example.test", BookingID: "bkg_01J", RoomType: "Double", CheckIn: civil.MustParse("2026-03-10"),
		CheckOut: civil.MustParse("2026-03-13"), Guests: 2, Currency: "CHF",
		Lines:   []docLine{{"Double, night of 2026-03-10", 20000}, {"Double, night of 2026-03-11", 20000}, {"Double, night of 2026-03-12", 22000}},
		TaxName: "MWST", TaxRateBP: 380, TaxBase: 59730, TaxAmount: 2270, Total: 62000,
		PaymentID: "pay_01J", PaymentBrand: "visa", PaymentLast4: "4242", PaidAt: time.Now(), TimeZone: "Europe/Zurich",
		CancellationTerms: "free cancellation until 2026-03-08 23:59 CET; after that a fee of CHF 200.00 is kept"}
}

// BenchmarkRenderReceipt renders one-page receipts (run with -cpu 1 for
// receipts per second on one core).
func BenchmarkRenderReceipt(b *testing.B) {
	m := benchModel()
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := renderDocument(m, now); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "receipts/s")
}

// BenchmarkOccupancy_AllHotels is the occupancy report over 2,400 hotels
// (three room types each, like the demo catalog) for 365 nights, per hotel
// and month, with 20,000 confirmed stays on the books.
func BenchmarkOccupancy_AllHotels(b *testing.B) {
	d := dbtest.Open(b, reporting.Module, Migrations)
	var hotels []hotelRow
	var rts []roomTypeRow
	var caps []capacityRow
	for h := range 2400 {
		id := fmt.Sprintf("htl_%04d", h)
		hotels = append(hotels, hotelRow{ID: id, Name: "Hotel " + id, CityID: fmt.Sprintf("city-%02d", h%60), TimeZone: "UTC"})
		for r := range 3 {
			rid := fmt.Sprintf("%s_rt%d", id, r)
			rts = append(rts, roomTypeRow{ID: rid, HotelID: id, CityID: hotels[h].CityID, Name: "Room", Currency: "EUR"})
			caps = append(caps, capacityRow{RoomTypeID: rid, FromDate: "2026-01-01", Rooms: 10 + r})
		}
	}
	var bookings []bookingRow
	var nights []nightRow
	start := civil.MustParse("2026-01-01")
	for i := range 20000 {
		rt := rts[(i*7919)%len(rts)]
		in := start.AddDays((i * 31) % 360)
		id := fmt.Sprintf("bkg_%05d", i)
		bookings = append(bookings, bookingRow{ID: id, GuestID: "usr", HotelID: rt.HotelID, RoomTypeID: rt.ID, CityID: rt.CityID,
			Status: "confirmed", CheckIn: in.String(), CheckOut: in.AddDays(3).String(), Nights: 3, Currency: "EUR", Total: 30000,
			HeldDate: "2025-12-01", ConfirmedDate: "2025-12-01", Payload: []byte("{}")})
		for n := range 3 {
			nights = append(nights, nightRow{BookingID: id, Sold: true, Date: in.AddDays(n).String(), RoomTypeID: rt.ID, HotelID: rt.HotelID,
				CityID: rt.CityID, Currency: "EUR", Price: 10000})
		}
	}
	for _, rows := range []any{hotels, rts, caps, bookings, nights} {
		if err := d.CreateInBatches(rows, 500).Error; err != nil {
			b.Fatal(err)
		}
	}
	svc := &Service{store: gormStore{db: d}, validate: validation.New()}
	ctx := authn.WithPrincipal(context.Background(), authn.Principal{Subject: "usr_staff", Kind: authn.KindUser,
		Roles: []string{authn.RoleStaff}, Scopes: []string{reporting.ScopeReportsRead}})
	req := reporting.ReportRequest{From: start, To: start.AddDays(365), Granularity: reporting.GranularityMonth}
	b.ResetTimer()
	for b.Loop() {
		r, err := svc.Occupancy(ctx, req)
		if err != nil || len(r.Rows) != 2400*12 {
			b.Fatalf("%d rows, %v", len(r.Rows), err)
		}
	}
}
