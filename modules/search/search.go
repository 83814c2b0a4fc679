// Package search is the contract of the search module: the catalog of cities,
// hotels, room types and rates, searching it by city and dates with free rooms
// and prices, and quoting a stay for bookings. Callers depend on Service only;
// whether it runs in this process (searchlocal) or behind HTTP (searchhttp) is
// chosen by configuration in cmd/bellhop.
package search

import (
	"context"
	"strconv"
	"time"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/money"
)

// Module is the module's name: its database file, metrics label and config key.
const Module = "search"

// Scopes the search module checks.
const (
	// ScopeCatalogWrite lets staff create, change and delete hotels, room types and rates.
	ScopeCatalogWrite = "catalog:write"
	// ScopeQuote lets a service (bookings) ask for quotes on the internal route.
	ScopeQuote = "search:quote"
)

// Limits of a stay and of a page.
const (
	MaxNights    = 30
	MaxGuests    = 16
	DefaultLimit = 20
	MaxLimit     = 100
)

// Sort orders of SearchHotels.
const (
	SortPrice  = "price"  // cheapest stay first
	SortRating = "rating" // best rated first
	SortStars  = "stars"  // most stars first
)

// Errors returned by Service methods. Compare with errors.Is: they match
// after an HTTP hop too.
var (
	ErrInvalidRequest   = apperr.Invalid("search.invalid_request", "the request has invalid values")
	ErrInvalidStay      = apperr.Invalid("search.invalid_stay", "the dates of the stay are not valid")
	ErrUnknownCity      = apperr.Invalid("search.unknown_city", "no city matches; look cities up with GET /api/v1/cities?prefix=")
	ErrInvalidCursor    = apperr.Invalid("search.invalid_cursor", "the cursor is not valid for this search; start again without it")
	ErrTooManyGuests    = apperr.Invalid("search.too_many_guests", "the room type does not take that many guests")
	ErrHotelNotFound    = apperr.NotFound("search.hotel_not_found", "no hotel has that id")
	ErrRoomTypeNotFound = apperr.NotFound("search.room_type_not_found", "no room type has that id")
	ErrRateNotFound     = apperr.NotFound("search.rate_not_found", "the room type has no rate override on that date")
	ErrCatalogInUse     = apperr.Conflict("search.catalog_in_use", "rooms are held or sold on future nights; the change would strand those bookings")
	ErrRoomTypeExists   = apperr.Conflict("search.room_type_exists", "the hotel already has a room type with that name")
)

// Service is the search module. Every method checks the caller itself (so an
// in-process call is checked like an HTTP one); catalog changes need the
// ScopeCatalogWrite scope and Quote (a service-only operation) ScopeQuote.
type Service interface {
	// ListCities autocompletes city names. Errors: ErrInvalidRequest.
	ListCities(ctx context.Context, req ListCitiesRequest) (CityList, error)
	// SearchHotels finds hotels in a city with a room type free for the whole
	// stay and big enough for the guests, with prices for the stay.
	// Errors: ErrInvalidRequest, ErrInvalidStay, ErrUnknownCity, ErrInvalidCursor.
	SearchHotels(ctx context.Context, req SearchRequest) (SearchResult, error)
	// GetHotel returns a hotel with its room types and upcoming rate overrides.
	// Errors: ErrHotelNotFound.
	GetHotel(ctx context.Context, req GetHotelRequest) (Hotel, error)

	// CreateHotel adds a hotel (and its city, the first time it is named).
	// Errors: ErrInvalidRequest, authn errors.
	CreateHotel(ctx context.Context, req CreateHotelRequest) (Hotel, error)
	// UpdateHotel changes the fields that are set. Errors: ErrHotelNotFound, ErrInvalidRequest.
	UpdateHotel(ctx context.Context, req UpdateHotelRequest) (Hotel, error)
	// DeleteHotel removes a hotel with its room types and rates. Errors:
	// ErrHotelNotFound, ErrCatalogInUse (a room is held or sold on a future night).
	DeleteHotel(ctx context.Context, req DeleteHotelRequest) error
	// CreateRoomType adds a room type to a hotel.
	// Errors: ErrHotelNotFound, ErrInvalidRequest, ErrRoomTypeExists.
	CreateRoomType(ctx context.Context, req CreateRoomTypeRequest) (RoomType, error)
	// UpdateRoomType changes the fields that are set.
	// Errors: ErrRoomTypeNotFound, ErrInvalidRequest, ErrRoomTypeExists.
	UpdateRoomType(ctx context.Context, req UpdateRoomTypeRequest) (RoomType, error)
	// DeleteRoomType removes a room type and its rates. Errors:
	// ErrRoomTypeNotFound, ErrCatalogInUse (a room is held or sold on a future night).
	DeleteRoomType(ctx context.Context, req DeleteRoomTypeRequest) error
	// SetRates sets nightly rates for specific dates, replacing any already set
	// on those dates. Errors: ErrRoomTypeNotFound, ErrInvalidRequest.
	SetRates(ctx context.Context, req SetRatesRequest) (RoomType, error)
	// DeleteRate removes the override on one date (the base rate applies again).
	// Errors: ErrRoomTypeNotFound, ErrRateNotFound.
	DeleteRate(ctx context.Context, req DeleteRateRequest) error

	// Quote prices a stay in a room type: what bookings needs to hold a room and
	// describe the stay. Errors: ErrRoomTypeNotFound, ErrInvalidRequest,
	// ErrInvalidStay, ErrTooManyGuests.
	Quote(ctx context.Context, req QuoteRequest) (Quote, error)
}

// City is a place with hotels. Its ID is a stable slug such as "lisbon-pt".
type City struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Country    string `json:"country"`
	TimeZone   string `json:"time_zone"`
	HotelCount int    `json:"hotel_count"`
}

// ListCitiesRequest asks for cities whose name starts with Prefix (any case).
type ListCitiesRequest struct {
	Prefix string `query:"prefix" json:"prefix" validate:"max=100,safetext"`
	Limit  int    `query:"limit" json:"limit" validate:"gte=0,lte=100"` // 0: 10
}

// CityList is a page of cities, most hotels first.
type CityList struct {
	Cities []City `json:"cities"`
}

// SearchRequest is a search by city and dates. City is a city ID or name.
type SearchRequest struct {
	City     string     `query:"city" json:"city" validate:"notblank,max=100,safetext"`
	CheckIn  civil.Date `query:"check_in" json:"check_in" validate:"required"`
	CheckOut civil.Date `query:"check_out" json:"check_out" validate:"required"`
	Guests   int        `query:"guests" json:"guests" validate:"min=1,max=16"`
	// MaxPrice is the highest average nightly price, in minor units of the
	// hotel's currency (0: no limit).
	MaxPrice int64  `query:"max_price" json:"max_price" validate:"gte=0"`
	Sort     string `query:"sort" json:"sort" validate:"omitempty,oneof=price rating stars"` // "": price
	Limit    int    `query:"limit" json:"limit" validate:"gte=0,lte=100"`                    // 0: DefaultLimit
	Cursor   string `query:"cursor" json:"cursor" validate:"max=512"`
}

// SearchResult is one page of hotels with offers for the stay.
type SearchResult struct {
	City       City          `json:"city"`
	CheckIn    civil.Date    `json:"check_in"`
	CheckOut   civil.Date    `json:"check_out"`
	Nights     int           `json:"nights"`
	Guests     int           `json:"guests"`
	Sort       string        `json:"sort"`
	Hotels     []HotelResult `json:"hotels"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// HotelResult is a hotel with the room types that fit the search.
type HotelResult struct {
	ID        string      `json:"id"`
	Name      string      `json:"name"`
	CityID    string      `json:"city_id"`
	Address   string      `json:"address"`
	TimeZone  string      `json:"time_zone"`
	Stars     int         `json:"stars"`
	Rating    float64     `json:"rating"`
	Amenities []string    `json:"amenities"`
	FromPrice money.Money `json:"from_price"` // cheapest total for the stay
	RoomTypes []RoomOffer `json:"room_types"`
}

// RoomOffer is a room type free for the whole stay, priced for it.
type RoomOffer struct {
	ID            string      `json:"id"`
	Name          string      `json:"name"`
	MaxGuests     int         `json:"max_guests"`
	RoomsFree     int         `json:"rooms_free"`
	PricePerNight money.Money `json:"price_per_night"` // average over the stay, rounded
	TotalPrice    money.Money `json:"total_price"`
}

// Hotel is a hotel in the catalog.
type Hotel struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	CityID      string     `json:"city_id"`
	City        string     `json:"city"`
	Country     string     `json:"country"`
	Address     string     `json:"address"`
	TimeZone    string     `json:"time_zone"`
	Stars       int        `json:"stars"`
	Rating      float64    `json:"rating"`
	Description string     `json:"description"`
	Amenities   []string   `json:"amenities"`
	RoomTypes   []RoomType `json:"room_types"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// RoomType is a kind of room in a hotel and how many of it there are.
type RoomType struct {
	ID         string      `json:"id"`
	HotelID    string      `json:"hotel_id"`
	Name       string      `json:"name"`
	MaxGuests  int         `json:"max_guests"`
	RoomsTotal int         `json:"rooms_total"`
	BaseRate   money.Money `json:"base_rate"`
	// Rates are the nightly overrides from today on (the base rate applies elsewhere).
	Rates     []Rate    `json:"rates"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Rate is the nightly price of one date, in minor units of the room type's currency.
type Rate struct {
	Date   civil.Date `json:"date" validate:"required"`
	Amount int64      `json:"amount" validate:"min=1,max=100000000"` // at most MaxRate
}

// GetHotelRequest names a hotel.
type GetHotelRequest struct {
	ID string `param:"id" json:"id" validate:"notblank,max=64"`
}

// CreateHotelRequest describes a new hotel. City is a name; Country is ISO 3166-1 alpha-2.
type CreateHotelRequest struct {
	Name        string   `json:"name" validate:"notblank,max=200,safetext"`
	City        string   `json:"city" validate:"notblank,max=100,safetext"`
	Country     string   `json:"country" validate:"len=2,uppercase"`
	Address     string   `json:"address" validate:"notblank,max=300,safetext"`
	TimeZone    string   `json:"time_zone" validate:"timezone"`
	Stars       int      `json:"stars" validate:"min=1,max=5"`
	Rating      float64  `json:"rating" validate:"gte=0,lte=5"`
	Description string   `json:"description" validate:"max=5000,safemultiline"`
	Amenities   []string `json:"amenities" validate:"max=50,dive,notblank,max=60,safetext"`
}

// UpdateHotelRequest changes the fields that are not nil. City and country
// are fixed once created.
type UpdateHotelRequest struct {
	ID          string    `param:"id" json:"-" validate:"notblank,max=64"`
	Name        *string   `json:"name" validate:"omitnil,notblank,max=200,safetext"`
	Address     *string   `json:"address" validate:"omitnil,notblank,max=300,safetext"`
	TimeZone    *string   `json:"time_zone" validate:"omitnil,timezone"`
	Stars       *int      `json:"stars" validate:"omitnil,min=1,max=5"`
	Rating      *float64  `json:"rating" validate:"omitnil,gte=0,lte=5"`
	Description *string   `json:"description" validate:"omitnil,max=5000,safemultiline"`
	Amenities   *[]string `json:"amenities" validate:"omitnil,max=50,dive,notblank,max=60,safetext"`
}

// DeleteHotelRequest names the hotel to delete.
type DeleteHotelRequest struct {
	ID string `param:"id" json:"id" validate:"notblank,max=64"`
}

// CreateRoomTypeRequest describes a new room type. BaseRate is the nightly
// price on dates without an override.
type CreateRoomTypeRequest struct {
	HotelID    string      `param:"id" json:"-" validate:"notblank,max=64"`
	Name       string      `json:"name" validate:"notblank,max=100,safetext"`
	MaxGuests  int         `json:"max_guests" validate:"min=1,max=16"`
	RoomsTotal int         `json:"rooms_total" validate:"min=0,max=10000"`
	BaseRate   money.Money `json:"base_rate"`
}

// UpdateRoomTypeRequest changes the fields that are not nil. The currency of
// a room type is fixed once created.
type UpdateRoomTypeRequest struct {
	ID         string  `param:"id" json:"-" validate:"notblank,max=64"`
	Name       *string `json:"name" validate:"omitnil,notblank,max=100,safetext"`
	MaxGuests  *int    `json:"max_guests" validate:"omitnil,min=1,max=16"`
	RoomsTotal *int    `json:"rooms_total" validate:"omitnil,min=0,max=10000"`
	BaseRate   *int64  `json:"base_rate" validate:"omitnil,min=1,max=100000000"` // minor units of the room type's currency, at most MaxRate
}

// DeleteRoomTypeRequest names the room type to delete.
type DeleteRoomTypeRequest struct {
	ID string `param:"id" json:"id" validate:"notblank,max=64"`
}

// SetRatesRequest sets nightly rates on dates (at most a year's worth at once).
type SetRatesRequest struct {
	RoomTypeID string `param:"id" json:"-" validate:"notblank,max=64"`
	Rates      []Rate `json:"rates" validate:"min=1,max=366,dive"`
}

// DeleteRateRequest removes the override of one date.
type DeleteRateRequest struct {
	RoomTypeID string     `param:"id" json:"-" validate:"notblank,max=64"`
	Date       civil.Date `param:"date" json:"date" validate:"required"`
}

// QuoteRequest asks the price of a stay.
type QuoteRequest struct {
	RoomTypeID string     `json:"room_type_id" validate:"notblank,max=64"`
	CheckIn    civil.Date `json:"check_in" validate:"required"`
	CheckOut   civil.Date `json:"check_out" validate:"required"`
	Guests     int        `json:"guests" validate:"min=1,max=16"`
}

// Quote is the price of a stay and what describes it.
type Quote struct {
	RoomTypeID   string       `json:"room_type_id"`
	RoomTypeName string       `json:"room_type_name"`
	HotelID      string       `json:"hotel_id"`
	HotelName    string       `json:"hotel_name"`
	Address      string       `json:"address"`
	City         string       `json:"city"`
	Country      string       `json:"country"`
	TimeZone     string       `json:"time_zone"`
	CheckIn      civil.Date   `json:"check_in"`
	CheckOut     civil.Date   `json:"check_out"`
	Guests       int          `json:"guests"`
	MaxGuests    int          `json:"max_guests"`
	RoomsTotal   int          `json:"rooms_total"`
	Currency     string       `json:"currency"`
	Nights       []NightPrice `json:"nights"`
	Total        money.Money  `json:"total"`
}

// NightPrice is the price of one night of a stay.
type NightPrice struct {
	Date  civil.Date  `json:"date"`
	Price money.Money `json:"price"`
}

// MaxRate is the highest nightly rate, in minor units (1,000,000.00 in a
// two-decimal currency): with at most MaxNights nights a stay's total stays
// far from int64's limit, so no sum of rates can overflow.
const MaxRate = 100_000_000

// HorizonMonths is how far ahead a stay may start: a check-in more than
// this many months after today (where the hotel is) is refused, so no one
// searches, quotes or holds a stay in the year 9999. Bookings may set a
// shorter horizon of its own (bookings.horizon_months), never a longer one.
const HorizonMonths = 18

// Horizon is the last check-in date allowed when today is today, months
// months ahead.
func Horizon(today civil.Date, months int) civil.Date {
	return civil.Of(today.In(time.UTC).AddDate(0, months, 0))
}

// CheckStay applies the rules every stay follows, wherever it is checked:
// check-out after check-in, at most MaxNights nights, check-in not in the
// past where the hotel is (loc) and not past the horizon (HorizonMonths
// ahead). It returns ErrInvalidStay naming each field.
func CheckStay(checkIn, checkOut civil.Date, loc *time.Location) error {
	var fields []apperr.FieldError
	today := civil.Today(loc)
	if checkIn.Before(today) {
		fields = append(fields, apperr.FieldError{Field: "check_in", Reason: "in_past",
			Detail: "must not be in the past (today is " + today.String() + " in " + loc.String() + ")"})
	} else if last := Horizon(today, HorizonMonths); checkIn.After(last) {
		fields = append(fields, apperr.FieldError{Field: "check_in", Reason: "beyond_horizon",
			Detail: "must be at most " + strconv.Itoa(HorizonMonths) + " months ahead (on or before " + last.String() + ")"})
	}
	switch n := checkIn.DaysUntil(checkOut); {
	case n <= 0:
		fields = append(fields, apperr.FieldError{Field: "check_out", Reason: "not_after_check_in", Detail: "must be after check_in"})
	case n > MaxNights:
		fields = append(fields, apperr.FieldError{Field: "check_out", Reason: "too_long",
			Detail: "the stay must be at most " + strconv.Itoa(MaxNights) + " nights (got " + strconv.Itoa(n) + ")"})
	}
	if len(fields) > 0 {
		return ErrInvalidStay.WithFields(fields...)
	}
	return nil
}

// EventRoomTypeChanged is published (as RoomTypeChanged) whenever a room
// type's rooms or rates change: created, updated, deleted (also when its
// hotel is), or rates set or removed.
const EventRoomTypeChanged = "bellhop.catalog.room_type.changed.v1"

// Kinds of RoomTypeChanged.
const (
	ChangeCreated      = "created"
	ChangeUpdated      = "updated"
	ChangeDeleted      = "deleted"
	ChangeRatesChanged = "rates_changed"
)

// RoomTypeChanged is the payload of EventRoomTypeChanged: the room type as it
// is after the change (as it was, for a deletion).
type RoomTypeChanged struct {
	Change     string `json:"change"`
	RoomTypeID string `json:"room_type_id"`
	HotelID    string `json:"hotel_id"`
	// HotelName, City, Country and TimeZone describe the hotel, so a
	// consumer (reporting) names it and its city and dates its nights
	// without calling search.
	HotelName  string      `json:"hotel_name"`
	CityID     string      `json:"city_id"`
	City       string      `json:"city"` // the city's name ("Lisbon")
	Country    string      `json:"country"`
	TimeZone   string      `json:"time_zone"`
	Name       string      `json:"name"`
	MaxGuests  int         `json:"max_guests"`
	RoomsTotal int         `json:"rooms_total"`
	BaseRate   money.Money `json:"base_rate"`
	// RateDates are the dates whose rate was set or removed (rates_changed only).
	RateDates []civil.Date `json:"rate_dates,omitempty"`
}
