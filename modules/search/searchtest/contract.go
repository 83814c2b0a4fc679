// Package searchtest is the search contract suite, run against every
// search.Service, and a Fake of search for other modules' tests.
package searchtest

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/search/searchmodule"
	"github.com/bellhop/bellhop/platform/observability/contractcov"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/apperr/apperrtest"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/money"
)

// Issuer is the token issuer the suite signs its callers' tokens with. An
// HTTP implementation under test must verify tokens with IssuerName and
// Audience against the issuer's keys.
const (
	IssuerName = "bellhop-contract"
	Audience   = "bellhop"
)

// Target is an implementation under test.
type Target struct {
	Service search.Service
}

// NewTarget builds a fresh, empty implementation under test. Callers'
// tokens are signed by iss.
type NewTarget func(t *testing.T, iss *authntest.Issuer) Target

// The principals the suite calls as.
var (
	Staff   = authn.Principal{Subject: "usr_staff", Kind: authn.KindUser, Email: "staff@bellhop.test", Roles: []string{"staff"}, Scopes: []string{search.ScopeCatalogWrite}}
	Guest   = authn.Principal{Subject: "usr_guest", Kind: authn.KindUser, Email: "guest@bellhop.test", Roles: []string{"guest"}}
	Booking = authn.Principal{Subject: "svc_bookings", Kind: authn.KindService, Scopes: []string{search.ScopeQuote}}
)

type suite struct {
	svc                search.Service
	anon, staff, guest context.Context
	booking            context.Context
	checkIn, checkOut  civil.Date
	lisbonZone         string
}

// RunContract runs the search contract against the implementation newTarget builds.
func RunContract(t *testing.T, newTarget NewTarget) {
	iss := authntest.NewIssuer(t, IssuerName, Audience)
	ctx := context.Background()
	// Every method must answer successfully at least once: one a Client
	// does not implement fails the suite.
	cov := contractcov.New(search.Module)
	s := &suite{
		svc:        searchmodule.Instrument(newTarget(t, iss).Service, cov.Edge()),
		anon:       ctx,
		staff:      iss.Context(t, ctx, Staff),
		guest:      iss.Context(t, ctx, Guest),
		booking:    iss.Context(t, ctx, Booking),
		lisbonZone: "Europe/Lisbon",
	}
	today := civil.Today(mustZone(t, s.lisbonZone))
	s.checkIn, s.checkOut = today.AddDays(10), today.AddDays(13)

	t.Run("CreateHotel", s.testCreateHotel)
	t.Run("GetHotel", s.testGetHotel)
	t.Run("UpdateHotel", s.testUpdateHotel)
	t.Run("RoomTypes", s.testRoomTypes)
	t.Run("Rates", s.testRates)
	t.Run("ListCities", s.testListCities)
	t.Run("SearchHotels", s.testSearchHotels)
	t.Run("SearchHotels/Pages", s.testSearchPages)
	t.Run("SearchHotels/Invalid", s.testSearchInvalid)
	t.Run("Quote", s.testQuote)
	t.Run("Delete", s.testDelete)
	cov.CheckIfWhole(t, reflect.TypeFor[search.Service]())
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// hotel creates a hotel in city with one room type per (name, guests, rooms, rate).
func (s *suite) hotel(t *testing.T, city, name string, stars int, rating float64, rooms ...search.CreateRoomTypeRequest) search.Hotel {
	t.Helper()
	h, err := s.svc.CreateHotel(s.staff, search.CreateHotelRequest{
		Name: name, City: city, Country: "PT", Address: "Rua Augusta 1", TimeZone: s.lisbonZone,
		Stars: stars, Rating: rating, Description: "A test hotel.", Amenities: []string{"wifi", "breakfast"},
	})
	if err != nil {
		t.Fatalf("CreateHotel %s: %v", name, err)
	}
	for _, r := range rooms {
		r.HotelID = h.ID
		rt, err := s.svc.CreateRoomType(s.staff, r)
		if err != nil {
			t.Fatalf("CreateRoomType %s: %v", r.Name, err)
		}
		h.RoomTypes = append(h.RoomTypes, rt)
	}
	return h
}

func room(name string, guests, rooms int, rate int64) search.CreateRoomTypeRequest {
	return search.CreateRoomTypeRequest{Name: name, MaxGuests: guests, RoomsTotal: rooms, BaseRate: money.New(rate, "EUR")}
}

// wantErr fails unless err is target (errors.Is) and names exactly fields.
var wantErr = apperrtest.Want

func (s *suite) testCreateHotel(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		h := s.hotel(t, "Alfama", "Casa do Fado", 4, 4.46)
		if h.ID == "" || h.CityID != "alfama-pt" || h.City != "Alfama" || h.Country != "PT" || h.TimeZone != s.lisbonZone {
			t.Fatalf("hotel = %+v", h)
		}
		if h.Rating != 4.5 || !slices.Equal(h.Amenities, []string{"wifi", "breakfast"}) || len(h.RoomTypes) != 0 {
			t.Fatalf("hotel = %+v", h)
		}
	})
	t.Run("ErrUnauthenticated", func(t *testing.T) {
		_, err := s.svc.CreateHotel(s.anon, search.CreateHotelRequest{Name: "x"})
		wantErr(t, err, authn.ErrUnauthenticated)
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		_, err := s.svc.CreateHotel(s.guest, search.CreateHotelRequest{Name: "x"})
		wantErr(t, err, authn.ErrForbidden)
	})
	t.Run("ErrInvalidRequest", func(t *testing.T) {
		_, err := s.svc.CreateHotel(s.staff, search.CreateHotelRequest{
			Name: " ", City: "Alfama", Country: "Portugal", Address: "x", TimeZone: "Mars/Olympus", Stars: 6, Rating: 5.5,
		})
		wantErr(t, err, search.ErrInvalidRequest, "name", "country", "time_zone", "stars", "rating")
	})
}

func (s *suite) testGetHotel(t *testing.T) {
	created := s.hotel(t, "Belem", "Torre Suites", 3, 4.0, room("Standard Double", 2, 5, 9000), room("Family Room", 4, 2, 15000))
	t.Run("OK", func(t *testing.T) {
		h, err := s.svc.GetHotel(s.anon, search.GetHotelRequest{ID: created.ID})
		if err != nil {
			t.Fatal(err)
		}
		if h.Name != "Torre Suites" || len(h.RoomTypes) != 2 || h.RoomTypes[0].Name != "Family Room" {
			t.Fatalf("hotel = %+v", h)
		}
		rt := h.RoomTypes[1]
		if rt.MaxGuests != 2 || rt.RoomsTotal != 5 || rt.BaseRate != money.New(9000, "EUR") || rt.HotelID != h.ID {
			t.Fatalf("room type = %+v", rt)
		}
	})
	t.Run("ErrHotelNotFound", func(t *testing.T) {
		_, err := s.svc.GetHotel(s.anon, search.GetHotelRequest{ID: "htl_missing"})
		wantErr(t, err, search.ErrHotelNotFound)
	})
	t.Run("ErrInvalidRequest", func(t *testing.T) {
		_, err := s.svc.GetHotel(s.anon, search.GetHotelRequest{ID: ""})
		wantErr(t, err, search.ErrInvalidRequest, "id")
	})
}

func (s *suite) testUpdateHotel(t *testing.T) {
	created := s.hotel(t, "Chiado", "Livraria Hotel", 3, 3.9)
	t.Run("OK", func(t *testing.T) {
		name, stars, amenities := "Livraria Grand Hotel", 4, []string{"spa"}
		h, err := s.svc.UpdateHotel(s.staff, search.UpdateHotelRequest{ID: created.ID, Name: &name, Stars: &stars, Amenities: &amenities})
		if err != nil {
			t.Fatal(err)
		}
		if h.Name != name || h.Stars != 4 || !slices.Equal(h.Amenities, amenities) || h.Address != created.Address || h.Rating != 3.9 {
			t.Fatalf("hotel = %+v", h)
		}
	})
	t.Run("ErrHotelNotFound", func(t *testing.T) {
		name := "x"
		_, err := s.svc.UpdateHotel(s.staff, search.UpdateHotelRequest{ID: "htl_missing", Name: &name})
		wantErr(t, err, search.ErrHotelNotFound)
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		name := "x"
		_, err := s.svc.UpdateHotel(s.guest, search.UpdateHotelRequest{ID: created.ID, Name: &name})
		wantErr(t, err, authn.ErrForbidden)
	})
	t.Run("ErrInvalidRequest", func(t *testing.T) {
		stars := 0
		_, err := s.svc.UpdateHotel(s.staff, search.UpdateHotelRequest{ID: created.ID, Stars: &stars})
		wantErr(t, err, search.ErrInvalidRequest, "stars")
	})
}

func (s *suite) testRoomTypes(t *testing.T) {
	h := s.hotel(t, "Graca", "Miradouro Inn", 2, 3.5, room("Twin Room", 2, 3, 7000))
	t.Run("ErrRoomTypeExists", func(t *testing.T) {
		_, err := s.svc.CreateRoomType(s.staff, search.CreateRoomTypeRequest{HotelID: h.ID, Name: "Twin Room", MaxGuests: 2, RoomsTotal: 1, BaseRate: money.New(1, "EUR")})
		wantErr(t, err, search.ErrRoomTypeExists)
	})
	t.Run("ErrHotelNotFound", func(t *testing.T) {
		_, err := s.svc.CreateRoomType(s.staff, search.CreateRoomTypeRequest{HotelID: "htl_missing", Name: "Twin Room", MaxGuests: 2, RoomsTotal: 1, BaseRate: money.New(1, "EUR")})
		wantErr(t, err, search.ErrHotelNotFound)
	})
	t.Run("ErrInvalidRequest", func(t *testing.T) {
		_, err := s.svc.CreateRoomType(s.staff, search.CreateRoomTypeRequest{HotelID: h.ID, Name: "Suite", MaxGuests: 0, RoomsTotal: -1, BaseRate: money.New(0, "EURO")})
		wantErr(t, err, search.ErrInvalidRequest, "max_guests", "rooms_total", "base_rate.amount", "base_rate.currency")
	})
	t.Run("Update", func(t *testing.T) {
		rate, rooms := int64(7500), 4
		rt, err := s.svc.UpdateRoomType(s.staff, search.UpdateRoomTypeRequest{ID: h.RoomTypes[0].ID, BaseRate: &rate, RoomsTotal: &rooms})
		if err != nil {
			t.Fatal(err)
		}
		if rt.BaseRate != money.New(7500, "EUR") || rt.RoomsTotal != 4 || rt.Name != "Twin Room" {
			t.Fatalf("room type = %+v", rt)
		}
	})
	t.Run("ErrRoomTypeNotFound", func(t *testing.T) {
		rooms := 1
		_, err := s.svc.UpdateRoomType(s.staff, search.UpdateRoomTypeRequest{ID: "rt_missing", RoomsTotal: &rooms})
		wantErr(t, err, search.ErrRoomTypeNotFound)
	})
}

func (s *suite) testRates(t *testing.T) {
	h := s.hotel(t, "Estrela", "Basilica House", 3, 4.1, room("Standard Double", 2, 2, 10000))
	rt := h.RoomTypes[0]
	t.Run("Set", func(t *testing.T) {
		got, err := s.svc.SetRates(s.staff, search.SetRatesRequest{RoomTypeID: rt.ID, Rates: []search.Rate{
			{Date: s.checkIn.AddDays(1), Amount: 16000}, {Date: s.checkIn, Amount: 12000},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Rates) != 2 || got.Rates[0].Date != s.checkIn || got.Rates[0].Amount != 12000 {
			t.Fatalf("rates = %+v", got.Rates)
		}
		// Setting a date again replaces its rate.
		got, err = s.svc.SetRates(s.staff, search.SetRatesRequest{RoomTypeID: rt.ID, Rates: []search.Rate{{Date: s.checkIn, Amount: 11000}}})
		if err != nil || len(got.Rates) != 2 || got.Rates[0].Amount != 11000 {
			t.Fatalf("rates = %+v, %v", got.Rates, err)
		}
	})
	t.Run("ErrInvalidRequest", func(t *testing.T) {
		_, err := s.svc.SetRates(s.staff, search.SetRatesRequest{RoomTypeID: rt.ID, Rates: []search.Rate{{Date: s.checkIn, Amount: 0}}})
		wantErr(t, err, search.ErrInvalidRequest, "rates[0].amount")
		_, err = s.svc.SetRates(s.staff, search.SetRatesRequest{RoomTypeID: rt.ID})
		wantErr(t, err, search.ErrInvalidRequest, "rates")
	})
	t.Run("RatesAreBounded", func(t *testing.T) {
		_, err := s.svc.SetRates(s.staff, search.SetRatesRequest{RoomTypeID: rt.ID, Rates: []search.Rate{
			{Date: s.checkIn, Amount: search.MaxRate}, {Date: s.checkIn.AddDays(1), Amount: 9e18}}})
		wantErr(t, err, search.ErrInvalidRequest, "rates[1].amount")
		huge := int64(search.MaxRate + 1)
		_, err = s.svc.UpdateRoomType(s.staff, search.UpdateRoomTypeRequest{ID: rt.ID, BaseRate: &huge})
		wantErr(t, err, search.ErrInvalidRequest, "base_rate")
		_, err = s.svc.CreateRoomType(s.staff, search.CreateRoomTypeRequest{HotelID: h.ID, Name: "Gold Suite", MaxGuests: 2, RoomsTotal: 1, BaseRate: money.New(9e18, "EUR")})
		wantErr(t, err, search.ErrInvalidRequest, "base_rate.amount")
	})
	t.Run("Delete", func(t *testing.T) {
		if err := s.svc.DeleteRate(s.staff, search.DeleteRateRequest{RoomTypeID: rt.ID, Date: s.checkIn.AddDays(1)}); err != nil {
			t.Fatal(err)
		}
		err := s.svc.DeleteRate(s.staff, search.DeleteRateRequest{RoomTypeID: rt.ID, Date: s.checkIn.AddDays(1)})
		wantErr(t, err, search.ErrRateNotFound)
		err = s.svc.DeleteRate(s.staff, search.DeleteRateRequest{RoomTypeID: "rt_missing", Date: s.checkIn})
		wantErr(t, err, search.ErrRoomTypeNotFound)
	})
}

func (s *suite) testListCities(t *testing.T) {
	s.hotel(t, "Sintra", "Pena View", 4, 4.7)
	s.hotel(t, "Sintra", "Regaleira Lodge", 3, 4.2)
	s.hotel(t, "Sines", "Porto Covo Inn", 2, 3.8)
	got, err := s.svc.ListCities(s.anon, search.ListCitiesRequest{Prefix: "SI"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Cities) != 2 || got.Cities[0].ID != "sintra-pt" || got.Cities[0].HotelCount != 2 || got.Cities[1].Name != "Sines" {
		t.Fatalf("cities = %+v", got.Cities)
	}
	if got.Cities[0].TimeZone != s.lisbonZone || got.Cities[0].Country != "PT" {
		t.Fatalf("city = %+v", got.Cities[0])
	}
	none, err := s.svc.ListCities(s.anon, search.ListCitiesRequest{Prefix: "%"})
	if err != nil || len(none.Cities) != 0 {
		t.Fatalf("prefix %% = %+v, %v (LIKE wildcards must be literal)", none.Cities, err)
	}
	_, err = s.svc.ListCities(s.anon, search.ListCitiesRequest{Limit: 1000})
	wantErr(t, err, search.ErrInvalidRequest, "limit")
}

func (s *suite) testSearchHotels(t *testing.T) {
	cheap := s.hotel(t, "Cascais", "Cheap Sleeps", 2, 3.1, room("Standard Double", 2, 3, 6000))
	mid := s.hotel(t, "Cascais", "Boca Hotel", 4, 4.8, room("Standard Double", 2, 2, 9000), room("Family Room", 4, 1, 14000))
	lux := s.hotel(t, "Cascais", "Marina Palace", 5, 4.5, room("Suite", 4, 1, 30000))
	q := search.SearchRequest{City: "cascais", CheckIn: s.checkIn, CheckOut: s.checkOut, Guests: 2}

	t.Run("ByPrice", func(t *testing.T) {
		res, err := s.svc.SearchHotels(s.anon, q)
		if err != nil {
			t.Fatal(err)
		}
		if ids := hotelIDs(res); !slices.Equal(ids, []string{cheap.ID, mid.ID, lux.ID}) {
			t.Fatalf("order = %v", ids)
		}
		if res.City.ID != "cascais-pt" || res.City.HotelCount != 3 || res.Nights != 3 || res.Sort != search.SortPrice || res.NextCursor != "" {
			t.Fatalf("result = %+v", res)
		}
		h := res.Hotels[1]
		if h.FromPrice != money.New(27000, "EUR") || len(h.RoomTypes) != 2 || h.Stars != 4 || h.Address == "" {
			t.Fatalf("hotel = %+v", h)
		}
		o := h.RoomTypes[0]
		if o.RoomsFree != 2 || o.PricePerNight != money.New(9000, "EUR") || o.TotalPrice != money.New(27000, "EUR") {
			t.Fatalf("offer = %+v", o)
		}
	})
	t.Run("ByRatingAndStars", func(t *testing.T) {
		r := q
		r.Sort = search.SortRating
		res, err := s.svc.SearchHotels(s.anon, r)
		if err != nil || !slices.Equal(hotelIDs(res), []string{mid.ID, lux.ID, cheap.ID}) {
			t.Fatalf("by rating = %v, %v", hotelIDs(res), err)
		}
		r.Sort = search.SortStars
		res, err = s.svc.SearchHotels(s.anon, r)
		if err != nil || !slices.Equal(hotelIDs(res), []string{lux.ID, mid.ID, cheap.ID}) {
			t.Fatalf("by stars = %v, %v", hotelIDs(res), err)
		}
	})
	t.Run("Guests", func(t *testing.T) {
		r := q
		r.Guests = 3
		res, err := s.svc.SearchHotels(s.anon, r)
		if err != nil || !slices.Equal(hotelIDs(res), []string{mid.ID, lux.ID}) || len(res.Hotels[0].RoomTypes) != 1 {
			t.Fatalf("3 guests = %+v, %v", res.Hotels, err)
		}
	})
	t.Run("MaxPrice", func(t *testing.T) {
		r := q
		r.MaxPrice = 9000
		res, err := s.svc.SearchHotels(s.anon, r)
		if err != nil || !slices.Equal(hotelIDs(res), []string{cheap.ID, mid.ID}) {
			t.Fatalf("max price = %v, %v", hotelIDs(res), err)
		}
	})
	t.Run("RatesAndChangesShowAtOnce", func(t *testing.T) {
		// An override on one night of the stay changes the total and the average.
		if _, err := s.svc.SetRates(s.staff, search.SetRatesRequest{RoomTypeID: cheap.RoomTypes[0].ID,
			Rates: []search.Rate{{Date: s.checkIn.AddDays(1), Amount: 9000}}}); err != nil {
			t.Fatal(err)
		}
		res, err := s.svc.SearchHotels(s.anon, q)
		if err != nil {
			t.Fatal(err)
		}
		if o := res.Hotels[0].RoomTypes[0]; o.TotalPrice.Amount != 21000 || o.PricePerNight.Amount != 7000 {
			t.Fatalf("offer after override = %+v", o)
		}
		// No rooms left: the hotel is not offered.
		zero := 0
		if _, err := s.svc.UpdateRoomType(s.staff, search.UpdateRoomTypeRequest{ID: cheap.RoomTypes[0].ID, RoomsTotal: &zero}); err != nil {
			t.Fatal(err)
		}
		res, err = s.svc.SearchHotels(s.anon, q)
		if err != nil || !slices.Equal(hotelIDs(res), []string{mid.ID, lux.ID}) {
			t.Fatalf("after sell-out = %v, %v", hotelIDs(res), err)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		r := q
		r.Guests = 16
		res, err := s.svc.SearchHotels(s.anon, r)
		if err != nil || res.Hotels == nil || len(res.Hotels) != 0 {
			t.Fatalf("16 guests = %+v, %v (want an empty list, not null)", res.Hotels, err)
		}
	})
}

func (s *suite) testSearchPages(t *testing.T) {
	const n = 7
	var want []string
	for i := range n {
		h := s.hotel(t, "Ericeira", "Surf Lodge "+string(rune('A'+i)), 3, 4, room("Standard Double", 2, 1, int64(5000+i*100)))
		want = append(want, h.ID)
	}
	var got []string
	q := search.SearchRequest{City: "Ericeira", CheckIn: s.checkIn, CheckOut: s.checkOut, Guests: 1, Limit: 3}
	for page := 0; ; page++ {
		if page > n {
			t.Fatal("pagination does not end")
		}
		res, err := s.svc.SearchHotels(s.anon, q)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, hotelIDs(res)...)
		if res.NextCursor == "" {
			break
		}
		q.Cursor = res.NextCursor
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages = %v, want %v", got, want)
	}
	q.Cursor, q.Sort = "bm90LWEtY3Vyc29y", search.SortPrice
	_, err := s.svc.SearchHotels(s.anon, q)
	wantErr(t, err, search.ErrInvalidCursor, "cursor")
}

func (s *suite) testSearchInvalid(t *testing.T) {
	s.hotel(t, "Obidos", "Castle Inn", 3, 4, room("Standard Double", 2, 1, 8000))
	base := search.SearchRequest{City: "Obidos", CheckIn: s.checkIn, CheckOut: s.checkOut, Guests: 2}
	today := civil.Today(mustZone(t, s.lisbonZone))
	for _, tc := range []struct {
		name   string
		edit   func(*search.SearchRequest)
		target *apperr.Error
		fields []string
	}{
		{"CheckOutBeforeCheckIn", func(r *search.SearchRequest) { r.CheckOut = r.CheckIn.AddDays(-1) }, search.ErrInvalidStay, []string{"check_out"}},
		{"SameDay", func(r *search.SearchRequest) { r.CheckOut = r.CheckIn }, search.ErrInvalidStay, []string{"check_out"}},
		{"TooLong", func(r *search.SearchRequest) { r.CheckOut = r.CheckIn.AddDays(31) }, search.ErrInvalidStay, []string{"check_out"}},
		{"InPast", func(r *search.SearchRequest) { r.CheckIn = today.AddDays(-1) }, search.ErrInvalidStay, []string{"check_in"}},
		{"BeyondHorizon", func(r *search.SearchRequest) {
			r.CheckIn = search.Horizon(today, search.HorizonMonths).AddDays(1)
			r.CheckOut = r.CheckIn.AddDays(1)
		}, search.ErrInvalidStay, []string{"check_in"}},
		{"Year9999", func(r *search.SearchRequest) {
			r.CheckIn, r.CheckOut = civil.MustParse("9999-12-01"), civil.MustParse("9999-12-02")
		}, search.ErrInvalidStay, []string{"check_in"}},
		{"UnknownCity", func(r *search.SearchRequest) { r.City = "Atlantis" }, search.ErrUnknownCity, []string{"city"}},
		{"Missing", func(r *search.SearchRequest) { *r = search.SearchRequest{Guests: 0} }, search.ErrInvalidRequest, []string{"city", "check_in", "check_out", "guests"}},
		{"BadSortAndLimit", func(r *search.SearchRequest) { r.Sort = "name"; r.Limit = 101 }, search.ErrInvalidRequest, []string{"sort", "limit"}},
		// One answer names every bad field: the stay's with the validator's.
		{"InPastAndNoGuests", func(r *search.SearchRequest) { r.CheckIn = today.AddDays(-1); r.Guests = 0 }, search.ErrInvalidRequest, []string{"check_in", "guests"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := base
			tc.edit(&r)
			_, err := s.svc.SearchHotels(s.anon, r)
			wantErr(t, err, tc.target, tc.fields...)
		})
	}
	t.Run("TodayIsAllowed", func(t *testing.T) {
		r := base
		r.CheckIn, r.CheckOut = today, today.AddDays(1)
		if _, err := s.svc.SearchHotels(s.anon, r); err != nil {
			t.Fatal(err)
		}
	})
}

func (s *suite) testQuote(t *testing.T) {
	h := s.hotel(t, "Sagres", "Cape Hotel", 4, 4.4, room("Standard Double", 2, 6, 10000))
	rt := h.RoomTypes[0]
	if _, err := s.svc.SetRates(s.staff, search.SetRatesRequest{RoomTypeID: rt.ID, Rates: []search.Rate{{Date: s.checkIn.AddDays(2), Amount: 15000}}}); err != nil {
		t.Fatal(err)
	}
	req := search.QuoteRequest{RoomTypeID: rt.ID, CheckIn: s.checkIn, CheckOut: s.checkOut, Guests: 2}
	t.Run("OK", func(t *testing.T) {
		q, err := s.svc.Quote(s.booking, req)
		if err != nil {
			t.Fatal(err)
		}
		if q.Total != money.New(35000, "EUR") || len(q.Nights) != 3 || q.Nights[2].Price.Amount != 15000 || q.Nights[0].Date != s.checkIn {
			t.Fatalf("quote = %+v", q)
		}
		if q.HotelID != h.ID || q.HotelName != "Cape Hotel" || q.RoomTypeName != "Standard Double" || q.RoomsTotal != 6 ||
			q.TimeZone != s.lisbonZone || q.City != "Sagres" || q.Address == "" || q.Currency != "EUR" || q.MaxGuests != 2 {
			t.Fatalf("quote = %+v", q)
		}
	})
	t.Run("FollowsRateChanges", func(t *testing.T) {
		if _, err := s.svc.SetRates(s.staff, search.SetRatesRequest{RoomTypeID: rt.ID, Rates: []search.Rate{{Date: s.checkIn, Amount: 12000}}}); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := s.svc.DeleteRate(s.staff, search.DeleteRateRequest{RoomTypeID: rt.ID, Date: s.checkIn}); err != nil {
				t.Fatal(err)
			}
		}()
		q, err := s.svc.Quote(s.booking, req)
		if err != nil {
			t.Fatal(err)
		}
		if q.Total != money.New(37000, "EUR") || q.Nights[0].Price.Amount != 12000 || q.Nights[1].Price.Amount != 10000 || q.Nights[2].Price.Amount != 15000 {
			t.Fatalf("quote after a rate change = %+v", q)
		}
	})
	t.Run("ErrTooManyGuests", func(t *testing.T) {
		r := req
		r.Guests = 3
		_, err := s.svc.Quote(s.booking, r)
		wantErr(t, err, search.ErrTooManyGuests, "guests")
	})
	t.Run("ErrInvalidStay", func(t *testing.T) {
		r := req
		r.CheckOut = r.CheckIn
		_, err := s.svc.Quote(s.booking, r)
		wantErr(t, err, search.ErrInvalidStay, "check_out")
	})
	t.Run("Year9999IsBeyondHorizon", func(t *testing.T) {
		r := req
		r.CheckIn, r.CheckOut = civil.MustParse("9999-12-01"), civil.MustParse("9999-12-03")
		_, err := s.svc.Quote(s.booking, r)
		wantErr(t, err, search.ErrInvalidStay, "check_in")
	})
	t.Run("ErrRoomTypeNotFound", func(t *testing.T) {
		r := req
		r.RoomTypeID = "rt_missing"
		_, err := s.svc.Quote(s.booking, r)
		wantErr(t, err, search.ErrRoomTypeNotFound)
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		_, err := s.svc.Quote(s.guest, req)
		wantErr(t, err, authn.ErrForbidden)
	})
	t.Run("ErrUnauthenticated", func(t *testing.T) {
		_, err := s.svc.Quote(s.anon, req)
		wantErr(t, err, authn.ErrUnauthenticated)
	})
}

func (s *suite) testDelete(t *testing.T) {
	h := s.hotel(t, "Tavira", "Salt Pans Inn", 3, 4, room("Standard Double", 2, 2, 7000), room("Suite", 4, 1, 20000))
	if err := s.svc.DeleteRoomType(s.staff, search.DeleteRoomTypeRequest{ID: h.RoomTypes[1].ID}); err != nil {
		t.Fatal(err)
	}
	got, err := s.svc.GetHotel(s.anon, search.GetHotelRequest{ID: h.ID})
	if err != nil || len(got.RoomTypes) != 1 {
		t.Fatalf("after room type delete: %+v, %v", got.RoomTypes, err)
	}
	wantErr(t, s.svc.DeleteRoomType(s.staff, search.DeleteRoomTypeRequest{ID: h.RoomTypes[1].ID}), search.ErrRoomTypeNotFound)
	wantErr(t, s.svc.DeleteHotel(s.guest, search.DeleteHotelRequest{ID: h.ID}), authn.ErrForbidden)
	if err := s.svc.DeleteHotel(s.staff, search.DeleteHotelRequest{ID: h.ID}); err != nil {
		t.Fatal(err)
	}
	_, err = s.svc.GetHotel(s.anon, search.GetHotelRequest{ID: h.ID})
	wantErr(t, err, search.ErrHotelNotFound)
	_, err = s.svc.Quote(s.booking, search.QuoteRequest{RoomTypeID: h.RoomTypes[0].ID, CheckIn: s.checkIn, CheckOut: s.checkOut, Guests: 1})
	wantErr(t, err, search.ErrRoomTypeNotFound)
	res, err := s.svc.SearchHotels(s.anon, search.SearchRequest{City: "Tavira", CheckIn: s.checkIn, CheckOut: s.checkOut, Guests: 1})
	if err != nil || len(res.Hotels) != 0 {
		t.Fatalf("deleted hotel still found: %v, %v", hotelIDs(res), err)
	}
	wantErr(t, s.svc.DeleteHotel(s.staff, search.DeleteHotelRequest{ID: h.ID}), search.ErrHotelNotFound)
}

func hotelIDs(r search.SearchResult) []string {
	ids := make([]string, len(r.Hotels))
	for i, h := range r.Hotels {
		ids[i] = h.ID
	}
	return ids
}
