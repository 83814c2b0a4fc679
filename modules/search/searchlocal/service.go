package searchlocal

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/ids"
	"github.com/bellhop/bellhop/platform/money"
	"github.com/bellhop/bellhop/platform/validation"
)

// Service is the in-process search.Service.
type Service struct {
	store    catalogStore
	index    *index
	validate *validation.Validator
	zones    sync.Map // zone name → *time.Location (LoadLocation reads a file each time)
}

// checkStaff lets catalog changes through only for callers with the
// catalog:write scope, and only with valid requests.
func (s *Service) checkStaff(ctx context.Context, req any) error {
	if _, err := authn.RequireScope(ctx, search.ScopeCatalogWrite); err != nil {
		return err
	}
	return s.validate.Struct(search.ErrInvalidRequest.Reason, req)
}

// zone loads a time zone once; zones are validated when hotels are written.
func (s *Service) zone(name string) *time.Location {
	if loc, ok := s.zones.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = time.UTC
	}
	s.zones.Store(name, loc)
	return loc
}

var _ search.Service = (*Service)(nil)

// catalogStore is what the service's steps need from the database (store
// implements it). Writes that record events return the city they touched,
// whose index entry the service then refreshes.
type catalogStore interface {
	cities(ctx context.Context, prefix string, limit int) ([]search.City, error)
	hotel(ctx context.Context, id string) (search.Hotel, error)
	roomType(ctx context.Context, id string) (search.RoomType, error)
	roomForQuote(ctx context.Context, id string, in, out civil.Date) (quotedRoom, error)
	createHotel(ctx context.Context, city cityRow, hotel hotelRow) error
	updateHotel(ctx context.Context, id string, changes hotelChanges) (cityID string, err error)
	deleteHotel(ctx context.Context, id string) (cityID string, err error)
	createRoomType(ctx context.Context, row roomTypeRow) (cityID string, err error)
	updateRoomType(ctx context.Context, id string, changes map[string]any) (cityID string, err error)
	deleteRoomType(ctx context.Context, id string) (cityID string, err error)
	setRates(ctx context.Context, id string, rates []search.Rate) (cityID string, err error)
	deleteRate(ctx context.Context, id string, date civil.Date) (cityID string, err error)
}

// ListCities implements search.Service.
func (s *Service) ListCities(ctx context.Context, req search.ListCitiesRequest) (search.CityList, error) {
	if err := s.validate.Struct(search.ErrInvalidRequest.Reason, req); err != nil {
		return search.CityList{}, err
	}
	if req.Limit == 0 {
		req.Limit = 10
	}
	cities, err := s.store.cities(ctx, nameKey(req.Prefix), req.Limit)
	if err != nil {
		return search.CityList{}, apperr.OrInternal(err, "list cities")
	}
	return search.CityList{Cities: cities}, nil
}

// GetHotel implements search.Service.
func (s *Service) GetHotel(ctx context.Context, req search.GetHotelRequest) (search.Hotel, error) {
	if err := s.validate.Struct(search.ErrInvalidRequest.Reason, req); err != nil {
		return search.Hotel{}, err
	}
	h, err := s.store.hotel(ctx, req.ID)
	return h, apperr.OrInternal(err, "get hotel")
}

// CreateHotel implements search.Service.
func (s *Service) CreateHotel(ctx context.Context, req search.CreateHotelRequest) (search.Hotel, error) {
	if err := s.checkStaff(ctx, req); err != nil {
		return search.Hotel{}, err
	}
	row := hotelRow{
		ID: ids.New("htl"), Name: strings.TrimSpace(req.Name), Address: strings.TrimSpace(req.Address),
		TimeZone: req.TimeZone, Stars: req.Stars, Rating: roundRating(req.Rating),
		Description: strings.TrimSpace(req.Description), Amenities: cleanList(req.Amenities),
	}
	city := cityRow{
		ID: citySlug(req.City, req.Country), Name: strings.TrimSpace(req.City), NameKey: nameKey(req.City),
		Country: req.Country, TimeZone: req.TimeZone,
	}
	row.CityID = city.ID
	if err := s.store.createHotel(ctx, city, row); err != nil {
		return search.Hotel{}, apperr.Internal(fmt.Errorf("create hotel: %w", err))
	}
	s.index.refresh(ctx, row.CityID)
	return s.getHotel(ctx, row.ID)
}

// UpdateHotel implements search.Service.
func (s *Service) UpdateHotel(ctx context.Context, req search.UpdateHotelRequest) (search.Hotel, error) {
	if err := s.checkStaff(ctx, req); err != nil {
		return search.Hotel{}, err
	}
	changes := map[string]any{"updated_at": time.Now().UTC()}
	set := func(col string, v any) { changes[col] = v }
	if req.Name != nil {
		set("name", strings.TrimSpace(*req.Name))
	}
	if req.Address != nil {
		set("address", strings.TrimSpace(*req.Address))
	}
	if req.TimeZone != nil {
		set("time_zone", *req.TimeZone)
	}
	if req.Stars != nil {
		set("stars", *req.Stars)
	}
	if req.Rating != nil {
		set("rating", roundRating(*req.Rating))
	}
	if req.Description != nil {
		set("description", strings.TrimSpace(*req.Description))
	}
	var amenities *[]string
	if req.Amenities != nil {
		cleaned := cleanList(*req.Amenities)
		amenities = &cleaned
	}
	cityID, err := s.store.updateHotel(ctx, req.ID, hotelChanges{Columns: changes, Amenities: amenities})
	if err != nil {
		return search.Hotel{}, apperr.OrInternal(err, "update hotel")
	}
	s.index.refresh(ctx, cityID)
	return s.getHotel(ctx, req.ID)
}

// DeleteHotel implements search.Service.
func (s *Service) DeleteHotel(ctx context.Context, req search.DeleteHotelRequest) error {
	if err := s.checkStaff(ctx, req); err != nil {
		return err
	}
	cityID, err := s.store.deleteHotel(ctx, req.ID)
	if err != nil {
		return apperr.OrInternal(err, "delete hotel")
	}
	s.index.refresh(ctx, cityID)
	return nil
}

// CreateRoomType implements search.Service.
func (s *Service) CreateRoomType(ctx context.Context, req search.CreateRoomTypeRequest) (search.RoomType, error) {
	if _, err := authn.RequireScope(ctx, search.ScopeCatalogWrite); err != nil {
		return search.RoomType{}, err
	}
	err := s.validate.Struct(search.ErrInvalidRequest.Reason, req)
	if err = withMoneyErrors(err, "base_rate", req.BaseRate); err != nil {
		return search.RoomType{}, err
	}
	row := roomTypeRow{
		ID: ids.New("rt"), HotelID: req.HotelID, Name: strings.TrimSpace(req.Name), MaxGuests: req.MaxGuests,
		RoomsTotal: req.RoomsTotal, BaseRate: req.BaseRate.Amount, Currency: req.BaseRate.Currency,
	}
	cityID, err := s.store.createRoomType(ctx, row)
	if err != nil {
		return search.RoomType{}, apperr.OrInternal(err, "create room type")
	}
	s.index.refresh(ctx, cityID)
	return s.getRoomType(ctx, row.ID)
}

// UpdateRoomType implements search.Service.
func (s *Service) UpdateRoomType(ctx context.Context, req search.UpdateRoomTypeRequest) (search.RoomType, error) {
	if err := s.checkStaff(ctx, req); err != nil {
		return search.RoomType{}, err
	}
	changes := map[string]any{"updated_at": time.Now().UTC()}
	if req.Name != nil {
		changes["name"] = strings.TrimSpace(*req.Name)
	}
	if req.MaxGuests != nil {
		changes["max_guests"] = *req.MaxGuests
	}
	if req.RoomsTotal != nil {
		changes["rooms_total"] = *req.RoomsTotal
	}
	if req.BaseRate != nil {
		changes["base_rate"] = *req.BaseRate
	}
	cityID, err := s.store.updateRoomType(ctx, req.ID, changes)
	if err != nil {
		return search.RoomType{}, apperr.OrInternal(err, "update room type")
	}
	s.index.refresh(ctx, cityID)
	return s.getRoomType(ctx, req.ID)
}

// DeleteRoomType implements search.Service.
func (s *Service) DeleteRoomType(ctx context.Context, req search.DeleteRoomTypeRequest) error {
	if err := s.checkStaff(ctx, req); err != nil {
		return err
	}
	cityID, err := s.store.deleteRoomType(ctx, req.ID)
	if err != nil {
		return apperr.OrInternal(err, "delete room type")
	}
	s.index.refresh(ctx, cityID)
	return nil
}

// SetRates implements search.Service.
func (s *Service) SetRates(ctx context.Context, req search.SetRatesRequest) (search.RoomType, error) {
	if err := s.checkStaff(ctx, req); err != nil {
		return search.RoomType{}, err
	}
	seen := map[civil.Date]bool{}
	for i, r := range req.Rates {
		if seen[r.Date] {
			return search.RoomType{}, search.ErrInvalidRequest.WithFields(apperr.FieldError{
				Field: fmt.Sprintf("rates[%d].date", i), Reason: "duplicate", Detail: "sets " + r.Date.String() + " twice"})
		}
		seen[r.Date] = true
	}
	cityID, err := s.store.setRates(ctx, req.RoomTypeID, req.Rates)
	if err != nil {
		return search.RoomType{}, apperr.OrInternal(err, "set rates")
	}
	s.index.refresh(ctx, cityID)
	return s.getRoomType(ctx, req.RoomTypeID)
}

// DeleteRate implements search.Service.
func (s *Service) DeleteRate(ctx context.Context, req search.DeleteRateRequest) error {
	if err := s.checkStaff(ctx, req); err != nil {
		return err
	}
	cityID, err := s.store.deleteRate(ctx, req.RoomTypeID, req.Date)
	if err != nil {
		return apperr.OrInternal(err, "delete rate")
	}
	s.index.refresh(ctx, cityID)
	return nil
}

// getHotel reads hotel id back after a write.
func (s *Service) getHotel(ctx context.Context, id string) (search.Hotel, error) {
	h, err := s.store.hotel(ctx, id)
	return h, apperr.OrInternal(err, "get hotel")
}

// getRoomType reads room type id back after a write.
func (s *Service) getRoomType(ctx context.Context, id string) (search.RoomType, error) {
	rt, err := s.store.roomType(ctx, id)
	return rt, apperr.OrInternal(err, "get room type")
}

// Quote implements search.Service.
func (s *Service) Quote(ctx context.Context, req search.QuoteRequest) (search.Quote, error) {
	// A service-only operation: users, even staff, get their prices from
	// SearchHotels; the quote route is for the modules that hold rooms.
	if _, err := authn.RequireScope(ctx, search.ScopeQuote); err != nil {
		return search.Quote{}, err
	}
	if err := s.validate.Struct(search.ErrInvalidRequest.Reason, req); err != nil {
		return search.Quote{}, err
	}
	if c, h, r, ok := s.index.roomType(req.RoomTypeID); ok {
		return s.quoteFromIndex(req, c, h, r)
	}
	r, err := s.store.roomForQuote(ctx, req.RoomTypeID, req.CheckIn, req.CheckOut)
	if err != nil {
		return search.Quote{}, apperr.OrInternal(err, "quote")
	}
	if err := search.CheckStay(req.CheckIn, req.CheckOut, s.zone(r.Hotel.TimeZone)); err != nil {
		return search.Quote{}, err
	}
	if req.Guests > r.MaxGuests {
		return search.Quote{}, search.ErrTooManyGuests.WithFields(apperr.FieldError{
			Field: "guests", Reason: "too_many_guests", Detail: fmt.Sprintf("must be at most %d for this room type", r.MaxGuests)})
	}
	q := search.Quote{
		RoomTypeID: r.ID, RoomTypeName: r.Name, HotelID: r.HotelID, HotelName: r.Hotel.Name,
		Address: r.Hotel.Address, City: r.Hotel.City.Name, Country: r.Hotel.City.Country,
		TimeZone: r.Hotel.TimeZone, CheckIn: req.CheckIn, CheckOut: req.CheckOut, Guests: req.Guests,
		MaxGuests: r.MaxGuests, RoomsTotal: r.RoomsTotal, Currency: r.Currency, Total: money.New(0, r.Currency),
	}
	for _, night := range civil.Nights(req.CheckIn, req.CheckOut) {
		price := r.BaseRate
		if o, ok := r.overrides[night.String()]; ok {
			price = o
		}
		q.Nights = append(q.Nights, search.NightPrice{Date: night, Price: money.New(price, r.Currency)})
		total, err := q.Total.Add(money.New(price, r.Currency))
		if err != nil { // rates are bounded (search.MaxRate), so only bad data gets here
			return search.Quote{}, apperr.Internal(fmt.Errorf("quote %s: %w", req.RoomTypeID, err))
		}
		q.Total = total
	}
	// The next quote of this city comes from the index (if the city cannot
	// be loaded now, the next quote reads the database again).
	_, _ = s.index.city(ctx, search.City{ID: r.Hotel.CityID})
	return q, nil
}

// quoteFromIndex prices a stay from the in-memory index (the same data as
// the database: the index is refreshed before every catalog write returns).
func (s *Service) quoteFromIndex(req search.QuoteRequest, c *cityEntry, h *hotelEntry, r *roomEntry) (search.Quote, error) {
	if err := search.CheckStay(req.CheckIn, req.CheckOut, s.zone(h.timeZone)); err != nil {
		return search.Quote{}, err
	}
	if req.Guests > r.maxGuests {
		return search.Quote{}, search.ErrTooManyGuests.WithFields(apperr.FieldError{
			Field: "guests", Reason: "too_many_guests", Detail: fmt.Sprintf("must be at most %d for this room type", r.maxGuests)})
	}
	q := search.Quote{
		RoomTypeID: r.id, RoomTypeName: r.name, HotelID: h.id, HotelName: h.name,
		Address: h.address, City: c.city.Name, Country: c.city.Country,
		TimeZone: h.timeZone, CheckIn: req.CheckIn, CheckOut: req.CheckOut, Guests: req.Guests,
		MaxGuests: r.maxGuests, RoomsTotal: r.roomsTotal, Currency: r.currency, Total: money.New(0, r.currency),
	}
	overrides := rangeOf(r.rates, req.CheckIn.DaysSinceEpoch(), req.CheckOut.DaysSinceEpoch())
	for _, night := range civil.Nights(req.CheckIn, req.CheckOut) {
		price := r.baseRate
		for len(overrides) > 0 && overrides[0].day < night.DaysSinceEpoch() {
			overrides = overrides[1:]
		}
		if len(overrides) > 0 && overrides[0].day == night.DaysSinceEpoch() {
			price = overrides[0].value
		}
		q.Nights = append(q.Nights, search.NightPrice{Date: night, Price: money.New(price, r.currency)})
		total, err := q.Total.Add(money.New(price, r.currency))
		if err != nil { // rates are bounded (search.MaxRate), so only bad data gets here
			return search.Quote{}, apperr.Internal(fmt.Errorf("quote %s: %w", req.RoomTypeID, err))
		}
		q.Total = total
	}
	return q, nil
}

func toHotel(h hotelRow) search.Hotel {
	return search.Hotel{
		ID: h.ID, Name: h.Name, CityID: h.CityID, City: h.City.Name, Country: h.City.Country,
		Address: h.Address, TimeZone: h.TimeZone, Stars: h.Stars, Rating: h.Rating,
		Description: h.Description, Amenities: nonNil(h.Amenities), RoomTypes: []search.RoomType{},
		CreatedAt: h.CreatedAt, UpdatedAt: h.UpdatedAt,
	}
}

func toRoomType(r roomTypeRow, rates []search.Rate) search.RoomType {
	if rates == nil {
		rates = []search.Rate{}
	}
	return search.RoomType{
		ID: r.ID, HotelID: r.HotelID, Name: r.Name, MaxGuests: r.MaxGuests, RoomsTotal: r.RoomsTotal,
		BaseRate: money.New(r.BaseRate, r.Currency), Rates: rates, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

func roomIDs(rooms []roomTypeRow) []string {
	ids := make([]string, len(rooms))
	for i, r := range rooms {
		ids[i] = r.ID
	}
	return ids
}

// withMoneyErrors adds field errors for an invalid amount to err (which may be nil).
func withMoneyErrors(err error, field string, m money.Money) error {
	var fields []apperr.FieldError
	if m.Amount < 1 {
		fields = append(fields, apperr.FieldError{Field: field + ".amount", Reason: "min", Detail: "must be at least 1 (minor units, e.g. cents)"})
	}
	if m.Amount > search.MaxRate {
		fields = append(fields, apperr.FieldError{Field: field + ".amount", Reason: "max", Detail: "must be at most 100000000 (minor units)"})
	}
	if !money.IsCurrency(m.Currency) {
		fields = append(fields, apperr.FieldError{Field: field + ".currency", Reason: "currency", Detail: "must be an ISO 4217 currency code such as EUR or USD"})
	}
	if len(fields) == 0 {
		return err
	}
	if err == nil {
		return search.ErrInvalidRequest.WithFields(fields...)
	}
	return apperr.As(err).WithFields(fields...)
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// citySlug is a stable, readable city id: "São Paulo", "BR" → "sao-paulo-br".
func citySlug(name, country string) string {
	s := strings.ToLower(strings.TrimSpace(name))
	s = strings.NewReplacer("á", "a", "à", "a", "â", "a", "ã", "a", "ä", "a", "å", "a", "é", "e", "è", "e", "ê", "e", "ë", "e",
		"í", "i", "ì", "i", "î", "i", "ï", "i", "ó", "o", "ò", "o", "ô", "o", "õ", "o", "ö", "o", "ø", "o", "ú", "u", "ù", "u",
		"û", "u", "ü", "u", "ç", "c", "ñ", "n", "ß", "ss", "ł", "l", "ś", "s", "ź", "z", "ż", "z", "č", "c", "ř", "r", "š", "s", "ž", "z").Replace(s)
	s = strings.Trim(nonSlug.ReplaceAllString(s, "-"), "-")
	if s == "" {
		s = "city"
	}
	return s + "-" + strings.ToLower(country)
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func roundRating(r float64) float64 { return float64(int(r*10+0.5)) / 10 }

func cleanList(in []string) []string {
	out := make([]string, 0, len(in))
	seen := map[string]bool{}
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
