package searchlocal

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/ids"
	"github.com/bellhop/bellhop/platform/money"
	"github.com/bellhop/bellhop/platform/validation"
)

// Service is the in-process search.Service.
type Service struct {
	db       *db.DB
	index    *index
	validate *validation.Validator
	zones    sync.Map // zone name → *time.Location (LoadLocation reads a file each time)
	// outbox is where writes that record events go: it commits, then wakes the relay.
	outbox *events.Outbox
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

// ListCities implements search.Service.
func (s *Service) ListCities(ctx context.Context, req search.ListCitiesRequest) (search.CityList, error) {
	if err := s.validate.Struct(search.ErrInvalidRequest.Reason, req); err != nil {
		return search.CityList{}, err
	}
	if req.Limit == 0 {
		req.Limit = 10
	}
	type row struct {
		ID, Name, Country, TimeZone string
		Hotels                      int
	}
	var rows []row
	q := s.db.WithContext(ctx).Table("cities AS c").
		Select("c.id, c.name, c.country, c.time_zone, COUNT(h.id) AS hotels").
		Joins("LEFT JOIN hotels h ON h.city_id = c.id").
		Group("c.id, c.name, c.country, c.time_zone").
		Order("hotels DESC, c.name, c.id").Limit(req.Limit)
	if p := nameKey(req.Prefix); p != "" {
		q = q.Where("c.name_key LIKE ? ESCAPE '\\'", escapeLike(p)+"%")
	}
	if err := q.Scan(&rows).Error; err != nil {
		return search.CityList{}, apperr.Internal(fmt.Errorf("list cities: %w", err))
	}
	out := search.CityList{Cities: make([]search.City, len(rows))}
	for i, r := range rows {
		out.Cities[i] = search.City{ID: r.ID, Name: r.Name, Country: r.Country, TimeZone: r.TimeZone, HotelCount: r.Hotels}
	}
	return out, nil
}

// GetHotel implements search.Service.
func (s *Service) GetHotel(ctx context.Context, req search.GetHotelRequest) (search.Hotel, error) {
	if err := s.validate.Struct(search.ErrInvalidRequest.Reason, req); err != nil {
		return search.Hotel{}, err
	}
	return s.loadHotel(ctx, s.db.DB, req.ID)
}

func (s *Service) loadHotel(ctx context.Context, g *gorm.DB, id string) (search.Hotel, error) {
	g = g.WithContext(ctx)
	var h hotelRow
	if err := g.Preload("City").Where("id = ?", id).Take(&h).Error; err != nil {
		return search.Hotel{}, notFound(err, search.ErrHotelNotFound, "hotel "+id)
	}
	var rooms []roomTypeRow
	if err := g.Where("hotel_id = ?", id).Order("name, id").Find(&rooms).Error; err != nil {
		return search.Hotel{}, apperr.Internal(fmt.Errorf("load room types of %s: %w", id, err))
	}
	out := toHotel(h)
	out.RoomTypes = make([]search.RoomType, len(rooms))
	rates, err := s.upcomingRates(g, h.TimeZone, roomIDs(rooms)...)
	if err != nil {
		return search.Hotel{}, err
	}
	for i, r := range rooms {
		out.RoomTypes[i] = toRoomType(r, rates[r.ID])
	}
	return out, nil
}

// upcomingRates returns the overrides from today (in the hotel's zone) on.
func (s *Service) upcomingRates(g *gorm.DB, zone string, ids ...string) (map[string][]search.Rate, error) {
	out := map[string][]search.Rate{}
	if len(ids) == 0 {
		return out, nil
	}
	today, err := civil.TodayIn(zone)
	if err != nil {
		today = civil.Of(time.Now().UTC())
	}
	var rows []rateRow
	if err := g.Where("room_type_id IN ? AND date >= ?", ids, today.String()).Order("date").Find(&rows).Error; err != nil {
		return nil, apperr.Internal(fmt.Errorf("load rates: %w", err))
	}
	for _, r := range rows {
		d, _ := civil.Parse(r.Date)
		out[r.RoomTypeID] = append(out[r.RoomTypeID], search.Rate{Date: d, Amount: r.Amount})
	}
	return out, nil
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
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&city).Error; err != nil {
			return err
		}
		return tx.Omit(clause.Associations).Create(&row).Error
	})
	if err != nil {
		return search.Hotel{}, apperr.Internal(fmt.Errorf("create hotel: %w", err))
	}
	s.index.refresh(ctx, row.CityID)
	return s.loadHotel(ctx, s.db.DB, row.ID)
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
	var cityID string
	err := s.outbox.Transaction(ctx, func(tx *gorm.DB) error {
		var h hotelRow
		if err := tx.Select("id", "city_id").Where("id = ?", req.ID).Take(&h).Error; err != nil {
			return notFound(err, search.ErrHotelNotFound, "hotel "+req.ID)
		}
		cityID = h.CityID
		q := tx.Model(&hotelRow{}).Where("id = ?", req.ID)
		if req.Amenities != nil {
			// The JSON serializer runs on struct fields, so amenities go through one.
			if err := q.Select("amenities").Updates(&hotelRow{Amenities: cleanList(*req.Amenities)}).Error; err != nil {
				return err
			}
		}
		return tx.Model(&hotelRow{}).Where("id = ?", req.ID).Updates(changes).Error
	})
	if err != nil {
		return search.Hotel{}, apperr.OrInternal(err, "update hotel")
	}
	s.index.refresh(ctx, cityID)
	return s.loadHotel(ctx, s.db.DB, req.ID)
}

// DeleteHotel implements search.Service.
func (s *Service) DeleteHotel(ctx context.Context, req search.DeleteHotelRequest) error {
	if err := s.checkStaff(ctx, req); err != nil {
		return err
	}
	var cityID string
	err := s.outbox.Transaction(ctx, func(tx *gorm.DB) error {
		var h hotelRow
		if err := tx.Select("id", "city_id").Where("id = ?", req.ID).Take(&h).Error; err != nil {
			return notFound(err, search.ErrHotelNotFound, "hotel "+req.ID)
		}
		cityID = h.CityID
		var rooms []roomTypeRow
		if err := tx.Where("hotel_id = ?", req.ID).Find(&rooms).Error; err != nil {
			return err
		}
		for _, rt := range rooms {
			if err := recordChange(ctx, tx, search.ChangeDeleted, rt, cityID, nil); err != nil {
				return err
			}
		}
		return tx.Delete(&hotelRow{}, "id = ?", req.ID).Error
	})
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
	var cityID string
	err = s.outbox.Transaction(ctx, func(tx *gorm.DB) error {
		var h hotelRow
		if err := tx.Select("id", "city_id").Where("id = ?", req.HotelID).Take(&h).Error; err != nil {
			return notFound(err, search.ErrHotelNotFound, "hotel "+req.HotelID)
		}
		cityID = h.CityID
		if err := tx.Omit(clause.Associations).Create(&row).Error; err != nil {
			if db.IsUniqueViolation(err) {
				return search.ErrRoomTypeExists
			}
			return err
		}
		return recordChange(ctx, tx, search.ChangeCreated, row, cityID, nil)
	})
	if err != nil {
		return search.RoomType{}, apperr.OrInternal(err, "create room type")
	}
	s.index.refresh(ctx, cityID)
	return s.loadRoomType(ctx, row.ID)
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
	cityID, err := s.writeRoomType(ctx, req.ID, search.ChangeUpdated, nil, func(tx *gorm.DB) error {
		err := tx.Model(&roomTypeRow{}).Where("id = ?", req.ID).Updates(changes).Error
		if db.IsUniqueViolation(err) {
			return search.ErrRoomTypeExists
		}
		return err
	})
	if err != nil {
		return search.RoomType{}, apperr.OrInternal(err, "update room type")
	}
	s.index.refresh(ctx, cityID)
	return s.loadRoomType(ctx, req.ID)
}

// DeleteRoomType implements search.Service.
func (s *Service) DeleteRoomType(ctx context.Context, req search.DeleteRoomTypeRequest) error {
	if err := s.checkStaff(ctx, req); err != nil {
		return err
	}
	cityID, err := s.writeRoomType(ctx, req.ID, search.ChangeDeleted, nil, func(tx *gorm.DB) error {
		return tx.Delete(&roomTypeRow{}, "id = ?", req.ID).Error
	})
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
	rows := make([]rateRow, len(req.Rates))
	for i, r := range req.Rates {
		rows[i] = rateRow{RoomTypeID: req.RoomTypeID, Date: r.Date.String(), Amount: r.Amount}
	}
	dates := make([]civil.Date, len(req.Rates))
	for i, r := range req.Rates {
		dates[i] = r.Date
	}
	cityID, err := s.writeRoomType(ctx, req.RoomTypeID, search.ChangeRatesChanged, dates, func(tx *gorm.DB) error {
		return tx.Omit(clause.Associations).Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "room_type_id"}, {Name: "date"}},
			DoUpdates: clause.AssignmentColumns([]string{"amount"}),
		}).Create(&rows).Error
	})
	if err != nil {
		return search.RoomType{}, apperr.OrInternal(err, "set rates")
	}
	s.index.refresh(ctx, cityID)
	return s.loadRoomType(ctx, req.RoomTypeID)
}

// DeleteRate implements search.Service.
func (s *Service) DeleteRate(ctx context.Context, req search.DeleteRateRequest) error {
	if err := s.checkStaff(ctx, req); err != nil {
		return err
	}
	cityID, err := s.writeRoomType(ctx, req.RoomTypeID, search.ChangeRatesChanged, []civil.Date{req.Date}, func(tx *gorm.DB) error {
		res := tx.Delete(&rateRow{}, "room_type_id = ? AND date = ?", req.RoomTypeID, req.Date.String())
		if res.Error == nil && res.RowsAffected == 0 {
			return search.ErrRateNotFound
		}
		return res.Error
	})
	if err != nil {
		return apperr.OrInternal(err, "delete rate")
	}
	s.index.refresh(ctx, cityID)
	return nil
}

// writeRoomType runs write in a transaction after checking the room type
// exists, records the change as an event in the same transaction, and
// returns the city its hotel is in.
func (s *Service) writeRoomType(ctx context.Context, id, change string, dates []civil.Date, write func(tx *gorm.DB) error) (string, error) {
	var cityID string
	err := s.outbox.Transaction(ctx, func(tx *gorm.DB) error {
		var found struct{ CityID string }
		err := tx.Table("room_types AS rt").Select("h.city_id").
			Joins("JOIN hotels h ON h.id = rt.hotel_id").Where("rt.id = ?", id).Take(&found).Error
		if err != nil {
			return notFound(err, search.ErrRoomTypeNotFound, "room type "+id)
		}
		cityID = found.CityID
		var before roomTypeRow
		if err := tx.Where("id = ?", id).Take(&before).Error; err != nil {
			return err
		}
		if err := write(tx); err != nil {
			return err
		}
		after := before
		if change != search.ChangeDeleted {
			if err := tx.Where("id = ?", id).Take(&after).Error; err != nil {
				return err
			}
		}
		return recordChange(ctx, tx, change, after, cityID, dates)
	})
	return cityID, err
}

// recordChange writes a RoomTypeChanged event into the outbox, in tx.
func recordChange(ctx context.Context, tx *gorm.DB, change string, rt roomTypeRow, cityID string, dates []civil.Date) error {
	evt, err := events.New(ctx, search.Module, search.EventRoomTypeChanged, search.RoomTypeChanged{
		Change: change, RoomTypeID: rt.ID, HotelID: rt.HotelID, CityID: cityID, Name: rt.Name,
		MaxGuests: rt.MaxGuests, RoomsTotal: rt.RoomsTotal, BaseRate: money.New(rt.BaseRate, rt.Currency), RateDates: dates,
	})
	if err != nil {
		return err
	}
	return events.Record(tx, evt)
}

func (s *Service) loadRoomType(ctx context.Context, id string) (search.RoomType, error) {
	g := s.db.WithContext(ctx)
	var r roomTypeRow
	if err := g.Preload("Hotel").Where("id = ?", id).Take(&r).Error; err != nil {
		return search.RoomType{}, notFound(err, search.ErrRoomTypeNotFound, "room type "+id)
	}
	rates, err := s.upcomingRates(g, r.Hotel.TimeZone, r.ID)
	if err != nil {
		return search.RoomType{}, err
	}
	return toRoomType(r, rates[r.ID]), nil
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
	g := s.db.WithContext(ctx)
	var r roomTypeRow
	if err := g.Preload("Hotel.City").Where("id = ?", req.RoomTypeID).Take(&r).Error; err != nil {
		return search.Quote{}, notFound(err, search.ErrRoomTypeNotFound, "room type "+req.RoomTypeID)
	}
	if err := search.CheckStay(req.CheckIn, req.CheckOut, s.zone(r.Hotel.TimeZone)); err != nil {
		return search.Quote{}, err
	}
	if req.Guests > r.MaxGuests {
		return search.Quote{}, search.ErrTooManyGuests.WithFields(apperr.FieldError{
			Field: "guests", Reason: "too_many_guests", Detail: fmt.Sprintf("must be at most %d for this room type", r.MaxGuests)})
	}
	var rates []rateRow
	if err := g.Where("room_type_id = ? AND date >= ? AND date < ?", r.ID, req.CheckIn.String(), req.CheckOut.String()).
		Find(&rates).Error; err != nil {
		return search.Quote{}, apperr.Internal(fmt.Errorf("load rates: %w", err))
	}
	override := make(map[string]int64, len(rates))
	for _, rr := range rates {
		override[rr.Date] = rr.Amount
	}
	q := search.Quote{
		RoomTypeID: r.ID, RoomTypeName: r.Name, HotelID: r.HotelID, HotelName: r.Hotel.Name,
		Address: r.Hotel.Address, City: r.Hotel.City.Name, Country: r.Hotel.City.Country,
		TimeZone: r.Hotel.TimeZone, CheckIn: req.CheckIn, CheckOut: req.CheckOut, Guests: req.Guests,
		MaxGuests: r.MaxGuests, RoomsTotal: r.RoomsTotal, Currency: r.Currency, Total: money.New(0, r.Currency),
	}
	for _, night := range civil.Nights(req.CheckIn, req.CheckOut) {
		price := r.BaseRate
		if o, ok := override[night.String()]; ok {
			price = o
		}
		q.Nights = append(q.Nights, search.NightPrice{Date: night, Price: money.New(price, r.Currency)})
		q.Total.Amount += price
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
		q.Total.Amount += price
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

// notFound turns gorm's not-found into the module's error; other errors are internal.
func notFound(err error, nf *apperr.Error, what string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nf
	}
	return apperr.Internal(fmt.Errorf("load %s: %w", what, err))
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
