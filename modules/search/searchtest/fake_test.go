package searchtest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/modules/search/searchtest"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/money"
)

// TestFake holds the Fake to the same contract as the real module.
func TestFake(t *testing.T) {
	searchtest.RunContract(t, func(t *testing.T, _ *authntest.Issuer) searchtest.Target {
		return searchtest.Target{Service: searchtest.NewFake()}
	})
}

// fakeRoom builds a Fake with one hotel and one room type, and returns the
// staff and booking contexts with the room type's id.
func fakeRoom(t *testing.T, f *searchtest.Fake) (staff, booking context.Context, roomTypeID string) {
	t.Helper()
	staff = authn.WithPrincipal(context.Background(), searchtest.Staff)
	booking = authn.WithPrincipal(context.Background(), searchtest.Booking)
	h, err := f.CreateHotel(staff, search.CreateHotelRequest{
		Name: "Cape Hotel", City: "Sagres", Country: "PT", Address: "Rua 1", TimeZone: "Europe/Lisbon", Stars: 4, Rating: 4.4,
	})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := f.CreateRoomType(staff, search.CreateRoomTypeRequest{
		HotelID: h.ID, Name: "Double", MaxGuests: 2, RoomsTotal: 3, BaseRate: money.New(10000, "EUR"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return staff, booking, rt.ID
}

func TestFakeFailNext(t *testing.T) {
	f := searchtest.NewFake()
	_, booking, rtID := fakeRoom(t, f)
	checkIn := civil.Today(time.UTC).AddDays(20)
	req := search.QuoteRequest{RoomTypeID: rtID, CheckIn: checkIn, CheckOut: checkIn.AddDays(2), Guests: 2}

	outage := apperr.Unavailable("search.unavailable", "search is down")
	f.FailNext(outage)
	if _, err := f.Quote(booking, req); !errors.Is(err, outage) {
		t.Fatalf("first call: err = %v, want the injected %v", err, outage)
	}
	q, err := f.Quote(booking, req)
	if err != nil || q.Total != money.New(20000, "EUR") {
		t.Fatalf("second call = %+v, %v (the failure must be used up)", q, err)
	}

	// The injected error comes before any check, even of the caller.
	f.FailNext(outage)
	if _, err := f.ListCities(context.Background(), search.ListCitiesRequest{}); !errors.Is(err, outage) {
		t.Fatalf("ListCities err = %v, want %v", err, outage)
	}
	f.FailNext(outage)
	f.FailNext(nil) // cancels
	if _, err := f.Quote(booking, req); err != nil {
		t.Fatalf("after FailNext(nil): %v", err)
	}
}

// The Fake is safe for concurrent use (run with -race).
func TestFakeConcurrent(t *testing.T) {
	f := searchtest.NewFake()
	staff, booking, rtID := fakeRoom(t, f)
	checkIn := civil.Today(time.UTC).AddDays(20)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			rates := []search.Rate{{Date: checkIn.AddDays(i % 3), Amount: int64(9000 + i)}}
			if _, err := f.SetRates(staff, search.SetRatesRequest{RoomTypeID: rtID, Rates: rates}); err != nil {
				t.Error(err)
			}
			if _, err := f.Quote(booking, search.QuoteRequest{RoomTypeID: rtID, CheckIn: checkIn, CheckOut: checkIn.AddDays(3), Guests: 1}); err != nil {
				t.Error(err)
			}
			if _, err := f.SearchHotels(context.Background(), search.SearchRequest{City: "sagres-pt", CheckIn: checkIn, CheckOut: checkIn.AddDays(3), Guests: 1}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// A test of another module builds the catalog it needs as staff, then calls
// the Fake as that module would (here as bookings, asking for a quote).
func ExampleFake() {
	f := searchtest.NewFake()
	staff := authn.WithPrincipal(context.Background(), searchtest.Staff)
	h, _ := f.CreateHotel(staff, search.CreateHotelRequest{
		Name: "Cape Hotel", City: "Sagres", Country: "PT", Address: "Rua 1", TimeZone: "Europe/Lisbon", Stars: 4,
	})
	rt, _ := f.CreateRoomType(staff, search.CreateRoomTypeRequest{
		HotelID: h.ID, Name: "Double", MaxGuests: 2, RoomsTotal: 3, BaseRate: money.New(10000, "EUR"),
	})

	booking := authn.WithPrincipal(context.Background(), searchtest.Booking)
	checkIn := civil.Today(time.UTC).AddDays(30)
	q, err := f.Quote(booking, search.QuoteRequest{RoomTypeID: rt.ID, CheckIn: checkIn, CheckOut: checkIn.AddDays(3), Guests: 2})
	fmt.Println(q.HotelName, q.City, len(q.Nights), q.Total, err)
	// Output: Cape Hotel Sagres 3 EUR 300.00 <nil>
}
