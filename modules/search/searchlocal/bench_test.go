package searchlocal_test

import (
	"context"
	"testing"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/modules/search/internal/searchfixture"
	"github.com/bellhop/bellhop/platform/authn"
)

// BenchmarkSearchHotels is one search of 20 results on the in-memory index,
// rotating over 60 cities × 24 date windows (1,440 distinct queries).
func BenchmarkSearchHotels(b *testing.B) {
	svc := searchfixture.Seeded(b)
	reqs := searchfixture.Searches(b, svc)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		res, err := svc.SearchHotels(ctx, reqs[i%len(reqs)])
		if err != nil || len(res.Hotels) != search.DefaultLimit {
			b.Fatalf("search: %d hotels, %v", len(res.Hotels), err)
		}
		i++
	}
}

// BenchmarkQuote prices a stay for bookings (database reads: room type with
// hotel and city, then the rate overrides), rotating over room types in every
// city and the date windows.
func BenchmarkQuote(b *testing.B) {
	svc := searchfixture.Seeded(b)
	reqs := searchfixture.Searches(b, svc)
	var quotes []search.QuoteRequest
	ctx := context.Background()
	for i, r := range reqs[:min(len(reqs), 240)] {
		res, err := svc.SearchHotels(ctx, r)
		if err != nil {
			b.Fatal(err)
		}
		h := res.Hotels[i%len(res.Hotels)]
		rt := h.RoomTypes[i%len(h.RoomTypes)]
		quotes = append(quotes, search.QuoteRequest{RoomTypeID: rt.ID, CheckIn: r.CheckIn, CheckOut: r.CheckOut, Guests: 2})
	}
	booking := authn.WithPrincipal(ctx, authn.Principal{
		Subject: "svc_bookings", Kind: authn.KindService, Scopes: []string{search.ScopeQuote},
	})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		q, err := svc.Quote(booking, quotes[i%len(quotes)])
		if err != nil || len(q.Nights) == 0 {
			b.Fatalf("quote: %+v, %v", q, err)
		}
		i++
	}
}

// BenchmarkGetHotel loads one hotel with its room types and upcoming rate
// overrides from the database, rotating over hotels in every city.
func BenchmarkGetHotel(b *testing.B) {
	svc := searchfixture.Seeded(b)
	reqs := searchfixture.Searches(b, svc)
	var ids []string
	ctx := context.Background()
	for i, r := range reqs[:min(len(reqs), 240)] {
		res, err := svc.SearchHotels(ctx, r)
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, res.Hotels[i%len(res.Hotels)].ID)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		h, err := svc.GetHotel(ctx, search.GetHotelRequest{ID: ids[i%len(ids)]})
		if err != nil || len(h.RoomTypes) == 0 {
			b.Fatalf("get hotel: %+v, %v", h, err)
		}
		i++
	}
}
