package searchlocal

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/money"
)

// The search module's tables. Dates are "YYYY-MM-DD" text: they sort and
// compare correctly in SQLite and PostgreSQL alike.

type cityRow struct {
	ID        string `gorm:"primaryKey;size:80"`
	Name      string `gorm:"size:100;not null"`
	NameKey   string `gorm:"size:100;not null;index"` // lower-cased name, for prefix search
	Country   string `gorm:"size:2;not null"`
	TimeZone  string `gorm:"size:64;not null"`
	CreatedAt time.Time
}

func (cityRow) TableName() string { return "cities" }

type hotelRow struct {
	ID          string   `gorm:"primaryKey;size:64"`
	CityID      string   `gorm:"size:80;not null;index"`
	City        cityRow  `gorm:"foreignKey:CityID;constraint:OnDelete:RESTRICT"`
	Name        string   `gorm:"size:200;not null"`
	Address     string   `gorm:"size:300;not null"`
	TimeZone    string   `gorm:"size:64;not null"`
	Stars       int      `gorm:"not null"`
	Rating      float64  `gorm:"not null"`
	Description string   `gorm:"not null"`
	Amenities   []string `gorm:"serializer:json;not null"`
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (hotelRow) TableName() string { return "hotels" }

type roomTypeRow struct {
	ID         string   `gorm:"primaryKey;size:64"`
	HotelID    string   `gorm:"size:64;not null;uniqueIndex:room_types_hotel_name"`
	Hotel      hotelRow `gorm:"foreignKey:HotelID;constraint:OnDelete:CASCADE"`
	Name       string   `gorm:"size:100;not null;uniqueIndex:room_types_hotel_name"`
	MaxGuests  int      `gorm:"not null"`
	RoomsTotal int      `gorm:"not null"`
	BaseRate   int64    `gorm:"not null"`
	Currency   string   `gorm:"size:3;not null"`
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

func (roomTypeRow) TableName() string { return "room_types" }

type rateRow struct {
	RoomTypeID string      `gorm:"primaryKey;size:64"`
	RoomType   roomTypeRow `gorm:"foreignKey:RoomTypeID;constraint:OnDelete:CASCADE"`
	Date       string      `gorm:"primaryKey;size:10"`
	Amount     int64       `gorm:"not null"`
}

func (rateRow) TableName() string { return "rate_overrides" }

// availabilityRow is search's view of rooms taken per room type and night.
// Bookings owns the truth; booking events keep this view up to date. No row
// means no room is taken that night.
type availabilityRow struct {
	RoomTypeID string `gorm:"primaryKey;size:64"`
	Date       string `gorm:"primaryKey;size:10"`
	Taken      int    `gorm:"not null"`
}

func (availabilityRow) TableName() string { return "availability" }

// Migrations are the search module's schema steps, in order: its own, then
// the event backbone's outbox, inbox and dead letters.
var Migrations = append([]db.Migration{
	{ID: "0001_catalog", Up: func(tx *gorm.DB) error {
		return tx.Migrator().CreateTable(&cityRow{}, &hotelRow{}, &roomTypeRow{}, &rateRow{}, &availabilityRow{})
	}},
	{ID: "0002_availability_bookings", Up: func(tx *gorm.DB) error {
		return tx.Migrator().CreateTable(&bookingSeenRow{})
	}},
}, events.Migrations...)

// store is the catalog's queries: the service's steps read and write the
// database only through it, and every write goes through the outbox's
// transaction (commit, then wake the relay). Errors are the module's
// (search.ErrHotelNotFound and the like, wrapped) or the database's.
type store struct {
	db     *db.DB
	outbox *events.Outbox
}

// cities lists cities by hotel count, optionally only those whose name
// starts with prefix (a name key).
func (st store) cities(ctx context.Context, prefix string, limit int) ([]search.City, error) {
	type row struct {
		ID, Name, Country, TimeZone string
		Hotels                      int
	}
	var rows []row
	q := st.db.WithContext(ctx).Table("cities AS c").
		Select("c.id, c.name, c.country, c.time_zone, COUNT(h.id) AS hotels").
		Joins("LEFT JOIN hotels h ON h.city_id = c.id").
		Group("c.id, c.name, c.country, c.time_zone").
		Order("hotels DESC, c.name, c.id").Limit(limit)
	if prefix != "" {
		q = q.Where("c.name_key LIKE ? ESCAPE '\\'", escapeLike(prefix)+"%")
	}
	if err := q.Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("list cities: %w", err)
	}
	out := make([]search.City, len(rows))
	for i, r := range rows {
		out[i] = search.City{ID: r.ID, Name: r.Name, Country: r.Country, TimeZone: r.TimeZone, HotelCount: r.Hotels}
	}
	return out, nil
}

// hotel is hotel id with its room types and their upcoming rate overrides.
func (st store) hotel(ctx context.Context, id string) (search.Hotel, error) {
	g := st.db.WithContext(ctx)
	var h hotelRow
	if err := g.Preload("City").Where("id = ?", id).Take(&h).Error; err != nil {
		return search.Hotel{}, notFound(err, search.ErrHotelNotFound, "hotel "+id)
	}
	var rooms []roomTypeRow
	if err := g.Where("hotel_id = ?", id).Order("name, id").Find(&rooms).Error; err != nil {
		return search.Hotel{}, fmt.Errorf("load room types of %s: %w", id, err)
	}
	out := toHotel(h)
	out.RoomTypes = make([]search.RoomType, len(rooms))
	rates, err := upcomingRates(g, h.TimeZone, roomIDs(rooms)...)
	if err != nil {
		return search.Hotel{}, err
	}
	for i, r := range rooms {
		out.RoomTypes[i] = toRoomType(r, rates[r.ID])
	}
	return out, nil
}

// roomType is room type id with its upcoming rate overrides.
func (st store) roomType(ctx context.Context, id string) (search.RoomType, error) {
	g := st.db.WithContext(ctx)
	var r roomTypeRow
	if err := g.Preload("Hotel").Where("id = ?", id).Take(&r).Error; err != nil {
		return search.RoomType{}, notFound(err, search.ErrRoomTypeNotFound, "room type "+id)
	}
	rates, err := upcomingRates(g, r.Hotel.TimeZone, r.ID)
	if err != nil {
		return search.RoomType{}, err
	}
	return toRoomType(r, rates[r.ID]), nil
}

// upcomingRates returns the overrides from today (in the hotel's zone) on.
func upcomingRates(g *gorm.DB, zone string, ids ...string) (map[string][]search.Rate, error) {
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
		return nil, fmt.Errorf("load rates: %w", err)
	}
	for _, r := range rows {
		d, _ := civil.Parse(r.Date)
		out[r.RoomTypeID] = append(out[r.RoomTypeID], search.Rate{Date: d, Amount: r.Amount})
	}
	return out, nil
}

// createHotel adds hotel, and its city if the city is new.
func (st store) createHotel(ctx context.Context, city cityRow, hotel hotelRow) error {
	return st.outbox.Transaction(ctx, func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&city).Error; err != nil {
			return err
		}
		return tx.Omit(clause.Associations).Create(&hotel).Error
	})
}

// hotelChanges are the columns of a hotel to update; Amenities (nil: keep)
// goes apart because only a struct field runs its JSON serializer.
type hotelChanges struct {
	Columns   map[string]any
	Amenities *[]string
}

// updateHotel applies changes to hotel id and returns its city.
func (st store) updateHotel(ctx context.Context, id string, changes hotelChanges) (cityID string, err error) {
	err = st.outbox.Transaction(ctx, func(tx *gorm.DB) error {
		place, err := placeOfHotel(tx, id)
		if err != nil {
			return err
		}
		cityID = place.CityID
		if changes.Amenities != nil {
			err := tx.Model(&hotelRow{}).Where("id = ?", id).Select("amenities").Updates(&hotelRow{Amenities: *changes.Amenities}).Error
			if err != nil {
				return err
			}
		}
		if err := tx.Model(&hotelRow{}).Where("id = ?", id).Updates(changes.Columns).Error; err != nil {
			return err
		}
		_, renamed := changes.Columns["name"]
		_, moved := changes.Columns["time_zone"]
		if !renamed && !moved {
			return nil
		}
		// Room-type events carry the hotel's name and time zone: tell their
		// consumers the new ones.
		if place, err = placeOfHotel(tx, id); err != nil {
			return err
		}
		var rooms []roomTypeRow
		if err := tx.Where("hotel_id = ?", id).Find(&rooms).Error; err != nil {
			return err
		}
		for _, rt := range rooms {
			if err := recordChange(ctx, tx, search.ChangeUpdated, rt, place, nil); err != nil {
				return err
			}
		}
		return nil
	})
	return cityID, err
}

// deleteHotel deletes hotel id with its room types, recording a deletion
// event for each room type, and returns its city.
func (st store) deleteHotel(ctx context.Context, id string) (cityID string, err error) {
	err = st.outbox.Transaction(ctx, func(tx *gorm.DB) error {
		place, err := placeOfHotel(tx, id)
		if err != nil {
			return err
		}
		cityID = place.CityID
		var rooms []roomTypeRow
		if err := tx.Where("hotel_id = ?", id).Find(&rooms).Error; err != nil {
			return err
		}
		ids := make([]string, len(rooms))
		for i, rt := range rooms {
			ids[i] = rt.ID
		}
		if err := refuseIfTaken(tx, ids, 0, "delete the hotel"); err != nil {
			return err
		}
		for _, rt := range rooms {
			if err := recordChange(ctx, tx, search.ChangeDeleted, rt, place, nil); err != nil {
				return err
			}
		}
		return tx.Delete(&hotelRow{}, "id = ?", id).Error
	})
	return cityID, err
}

// hotelPlace is what a RoomTypeChanged event says of the room type's hotel.
type hotelPlace struct {
	CityID, City, HotelName, Country, TimeZone string
}

func placeOfHotel(tx *gorm.DB, id string) (hotelPlace, error) {
	var p hotelPlace
	err := tx.Table("hotels AS h").Select("h.city_id, c.name AS city, h.name AS hotel_name, c.country, h.time_zone").
		Joins("JOIN cities c ON c.id = h.city_id").Where("h.id = ?", id).Take(&p).Error
	if err != nil {
		return hotelPlace{}, notFound(err, search.ErrHotelNotFound, "hotel "+id)
	}
	return p, nil
}

// createRoomType adds row to its hotel, recording its creation event, and
// returns the hotel's city.
func (st store) createRoomType(ctx context.Context, row roomTypeRow) (cityID string, err error) {
	err = st.outbox.Transaction(ctx, func(tx *gorm.DB) error {
		place, err := placeOfHotel(tx, row.HotelID)
		if err != nil {
			return err
		}
		cityID = place.CityID
		if err := tx.Omit(clause.Associations).Create(&row).Error; err != nil {
			if db.IsUniqueViolation(err) {
				return search.ErrRoomTypeExists
			}
			return err
		}
		return recordChange(ctx, tx, search.ChangeCreated, row, place, nil)
	})
	return cityID, err
}

// updateRoomType applies changes (columns) to room type id.
func (st store) updateRoomType(ctx context.Context, id string, changes map[string]any) (cityID string, err error) {
	return st.changeRoomType(ctx, id, search.ChangeUpdated, nil, func(tx *gorm.DB) error {
		if total, ok := changes["rooms_total"].(int); ok {
			if err := refuseIfTaken(tx, []string{id}, total, "lower rooms_total to "+strconv.Itoa(total)); err != nil {
				return err
			}
		}
		err := tx.Model(&roomTypeRow{}).Where("id = ?", id).Updates(changes).Error
		if db.IsUniqueViolation(err) {
			return search.ErrRoomTypeExists
		}
		return err
	})
}

// deleteRoomType deletes room type id with its rates.
func (st store) deleteRoomType(ctx context.Context, id string) (cityID string, err error) {
	return st.changeRoomType(ctx, id, search.ChangeDeleted, nil, func(tx *gorm.DB) error {
		if err := refuseIfTaken(tx, []string{id}, 0, "delete the room type"); err != nil {
			return err
		}
		return tx.Delete(&roomTypeRow{}, "id = ?", id).Error
	})
}

// setRates sets (adds or replaces) the rate overrides of room type id.
func (st store) setRates(ctx context.Context, id string, rates []search.Rate) (cityID string, err error) {
	rows := make([]rateRow, len(rates))
	dates := make([]civil.Date, len(rates))
	for i, r := range rates {
		rows[i] = rateRow{RoomTypeID: id, Date: r.Date.String(), Amount: r.Amount}
		dates[i] = r.Date
	}
	return st.changeRoomType(ctx, id, search.ChangeRatesChanged, dates, func(tx *gorm.DB) error {
		return tx.Omit(clause.Associations).Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "room_type_id"}, {Name: "date"}},
			DoUpdates: clause.AssignmentColumns([]string{"amount"}),
		}).Create(&rows).Error
	})
}

// deleteRate deletes the override of room type id on date.
func (st store) deleteRate(ctx context.Context, id string, date civil.Date) (cityID string, err error) {
	return st.changeRoomType(ctx, id, search.ChangeRatesChanged, []civil.Date{date}, func(tx *gorm.DB) error {
		res := tx.Delete(&rateRow{}, "room_type_id = ? AND date = ?", id, date.String())
		if res.Error == nil && res.RowsAffected == 0 {
			return search.ErrRateNotFound
		}
		return res.Error
	})
}

// changeRoomType runs write in a transaction after checking the room type
// exists, records the change as an event in the same transaction, and
// returns the city its hotel is in.
func (st store) changeRoomType(ctx context.Context, id, change string, dates []civil.Date, write func(tx *gorm.DB) error) (string, error) {
	var cityID string
	err := st.outbox.Transaction(ctx, func(tx *gorm.DB) error {
		var before roomTypeRow
		if err := tx.Where("id = ?", id).Take(&before).Error; err != nil {
			return notFound(err, search.ErrRoomTypeNotFound, "room type "+id)
		}
		place, err := placeOfHotel(tx, before.HotelID)
		if err != nil {
			return err
		}
		cityID = place.CityID
		if err := write(tx); err != nil {
			return err
		}
		after := before
		if change != search.ChangeDeleted {
			if err := tx.Where("id = ?", id).Take(&after).Error; err != nil {
				return err
			}
		}
		return recordChange(ctx, tx, change, after, place, dates)
	})
	return cityID, err
}

// recordChange writes a RoomTypeChanged event into the outbox, in tx.
func recordChange(ctx context.Context, tx *gorm.DB, change string, rt roomTypeRow, place hotelPlace, dates []civil.Date) error {
	evt, err := events.New(ctx, search.Module, search.EventRoomTypeChanged, search.RoomTypeChanged{
		Change: change, RoomTypeID: rt.ID, HotelID: rt.HotelID, HotelName: place.HotelName, CityID: place.CityID, City: place.City,
		Country: place.Country, TimeZone: place.TimeZone, Name: rt.Name,
		MaxGuests: rt.MaxGuests, RoomsTotal: rt.RoomsTotal, BaseRate: money.New(rt.BaseRate, rt.Currency), RateDates: dates,
	})
	if err != nil {
		return err
	}
	return events.Record(tx, evt)
}

// countHotels counts the hotels of ids that are in the catalog.
func (st store) countHotels(ctx context.Context, ids ...string) (int, error) {
	var n int64
	if err := st.db.WithContext(ctx).Model(&hotelRow{}).Where("id IN ?", ids).Count(&n).Error; err != nil {
		return 0, err
	}
	return int(n), nil
}

// addCatalog adds the rows of cat not in the catalog yet (in batches) and
// records a creation event for every room type of cat, in one transaction.
func (st store) addCatalog(ctx context.Context, cat catalog) (SeedStats, error) {
	var added SeedStats
	err := st.outbox.Transaction(ctx, func(tx *gorm.DB) error {
		insert := func(rows any, n *int) error {
			res := tx.Omit(clause.Associations).Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(rows, 500)
			*n += int(res.RowsAffected)
			return res.Error
		}
		if err := insert(&cat.cities, &added.Cities); err != nil {
			return err
		}
		if err := insert(&cat.hotels, &added.Hotels); err != nil {
			return err
		}
		if err := insert(&cat.rooms, &added.RoomTypes); err != nil {
			return err
		}
		if err := insert(&cat.rates, &added.Rates); err != nil {
			return err
		}
		return recordCatalog(ctx, tx, cat)
	})
	return added, err
}

// recordCatalog records, in tx, a creation event for every room type of cat.
func recordCatalog(ctx context.Context, tx *gorm.DB, cat catalog) error {
	cities := make(map[string]cityRow, len(cat.cities))
	for _, c := range cat.cities {
		cities[c.ID] = c
	}
	places := make(map[string]hotelPlace, len(cat.hotels))
	for _, h := range cat.hotels {
		places[h.ID] = hotelPlace{CityID: h.CityID, HotelName: h.Name, Country: cities[h.CityID].Country, TimeZone: h.TimeZone}
	}
	for _, rt := range cat.rooms {
		if err := recordChange(ctx, tx, search.ChangeCreated, rt, places[rt.HotelID], nil); err != nil {
			return err
		}
	}
	return nil
}

// quotedRoom is a room type with its hotel and city and the rate overrides
// of the nights quoted (by "YYYY-MM-DD").
type quotedRoom struct {
	roomTypeRow
	overrides map[string]int64
}

// roomForQuote reads room type id and its overrides for the nights from in
// to out (exclusive).
func (st store) roomForQuote(ctx context.Context, id string, in, out civil.Date) (quotedRoom, error) {
	g := st.db.WithContext(ctx)
	var r roomTypeRow
	if err := g.Preload("Hotel.City").Where("id = ?", id).Take(&r).Error; err != nil {
		return quotedRoom{}, notFound(err, search.ErrRoomTypeNotFound, "room type "+id)
	}
	var rates []rateRow
	if err := g.Where("room_type_id = ? AND date >= ? AND date < ?", r.ID, in.String(), out.String()).Find(&rates).Error; err != nil {
		return quotedRoom{}, fmt.Errorf("load rates: %w", err)
	}
	q := quotedRoom{roomTypeRow: r, overrides: make(map[string]int64, len(rates))}
	for _, rr := range rates {
		q.overrides[rr.Date] = rr.Amount
	}
	return q, nil
}

// notFound turns gorm's not-found into the module's error nf, wrapped;
// other errors say what failed to load.
func notFound(err error, nf *apperr.Error, what string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("%s: %w", what, nf)
	}
	return fmt.Errorf("load %s: %w", what, err)
}

// refuseIfTaken returns ErrCatalogInUse if, on some night from yesterday
// (UTC: today somewhere on Earth) on, more than allowed rooms of the room
// types are taken according to the availability view.
//
// Why refuse rather than archive: search cannot see bookings' tables, only
// this view, which booking events keep (held and confirmed take rooms,
// expired, rejected and cancelled give them back). Refusing keeps one rule
// that holds in split mode too: a hotel or room type with held or sold
// future nights cannot disappear (a booking whose hotel vanished was still
// payable), and rooms_total never drops below the rooms taken on any future
// night. Staff cancel those bookings first. The view trails bookings by the
// event delay, so a hold made in that window can still race a deletion;
// bookings' own inventory keeps the rooms it sold either way.
func refuseIfTaken(tx *gorm.DB, roomTypeIDs []string, allowed int, what string) error {
	if len(roomTypeIDs) == 0 {
		return nil
	}
	var taken []int
	from := civil.Today(time.UTC).AddDays(-1).String()
	err := tx.Model(&availabilityRow{}).Where("room_type_id IN ? AND date >= ?", roomTypeIDs, from).
		Select("COALESCE(MAX(taken), 0)").Scan(&taken).Error
	if err != nil {
		return fmt.Errorf("rooms taken: %w", err)
	}
	if len(taken) > 0 && taken[0] > allowed {
		return search.ErrCatalogInUse.With("cannot %s: %d rooms are held or sold on a future night; cancel those bookings first", what, taken[0])
	}
	return nil
}

// allCities reads every city: the index's directory of ids and names.
func (st store) allCities(ctx context.Context) ([]cityRow, error) {
	var rows []cityRow
	if err := st.db.WithContext(ctx).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("load cities: %w", err)
	}
	return rows, nil
}

// cityCatalog is everything a search reads of one city: its hotels and room
// types by id, and the rate overrides and rooms taken from the first night a
// search can touch, by date.
type cityCatalog struct {
	city   cityRow // no ID: there is no such city
	hotels []hotelRow
	rooms  []roomTypeRow
	rates  []rateRow
	taken  []availabilityRow // nights with a room taken only
}

// cityCatalog reads the catalog of a city from night from ("YYYY-MM-DD").
func (st store) cityCatalog(ctx context.Context, cityID, from string) (cityCatalog, error) {
	g := st.db.WithContext(ctx)
	var cat cityCatalog
	if err := g.Where("id = ?", cityID).Limit(1).Find(&cat.city).Error; err != nil {
		return cat, fmt.Errorf("load city %s: %w", cityID, err)
	}
	if cat.city.ID == "" {
		return cat, nil
	}
	if err := g.Where("city_id = ?", cityID).Order("id").Find(&cat.hotels).Error; err != nil {
		return cat, fmt.Errorf("load hotels of %s: %w", cityID, err)
	}
	hotelIDs := make([]string, len(cat.hotels))
	for i, h := range cat.hotels {
		hotelIDs[i] = h.ID
	}
	if len(hotelIDs) > 0 {
		if err := g.Where("hotel_id IN ?", hotelIDs).Order("id").Find(&cat.rooms).Error; err != nil {
			return cat, fmt.Errorf("load room types of %s: %w", cityID, err)
		}
	}
	for chunk := range slices.Chunk(roomIDs(cat.rooms), 500) {
		var rates []rateRow
		if err := g.Where("room_type_id IN ? AND date >= ?", chunk, from).Order("date").Find(&rates).Error; err != nil {
			return cat, fmt.Errorf("load rates of %s: %w", cityID, err)
		}
		cat.rates = append(cat.rates, rates...)
		taken, err := st.roomsTaken(ctx, chunk, from)
		if err != nil {
			return cat, fmt.Errorf("load availability of %s: %w", cityID, err)
		}
		cat.taken = append(cat.taken, taken...)
	}
	return cat, nil
}

// roomsTaken reads the nights from night from with a room taken of room
// types, by room type and date.
func (st store) roomsTaken(ctx context.Context, roomTypeIDs []string, from string) ([]availabilityRow, error) {
	var rows []availabilityRow
	err := st.db.WithContext(ctx).Where("room_type_id IN ? AND date >= ? AND taken > 0", roomTypeIDs, from).
		Order("room_type_id, date").Find(&rows).Error
	return rows, err
}

// takeOrRelease takes (or gives back) a room of a booking's room type for
// each night of its stay, in the consumer's transaction tx. It applies a
// booking's take once and its release once, and only after its take
// (bookingSeenRow), whatever order or number of times the events arrive.
func takeOrRelease(tx *gorm.DB, b bookings.Booking, take bool) error {
	var seen bookingSeenRow
	err := tx.Where("booking_id = ?", b.ID).Take(&seen).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		if err := tx.Create(&bookingSeenRow{BookingID: b.ID, Holding: take}).Error; err != nil {
			return err
		}
		if !take {
			return nil // released before we saw it held: nothing was taken
		}
	case err != nil:
		return err
	case seen.Holding == take || !seen.Holding:
		return nil // already applied, or released for good
	default:
		if err := tx.Model(&seen).Update("holding", false).Error; err != nil {
			return err
		}
	}
	delta := 1
	if !take {
		delta = -1
	}
	for _, night := range civil.Nights(b.CheckIn, b.CheckOut) {
		row := availabilityRow{RoomTypeID: b.RoomTypeID, Date: night.String(), Taken: max(delta, 0)}
		err := tx.Clauses(clause.OnConflict{
			Columns: []clause.Column{{Name: "room_type_id"}, {Name: "date"}},
			// Never below zero: a release always follows its take (see bookingSeenRow).
			DoUpdates: clause.Assignments(map[string]any{"taken": gorm.Expr("CASE WHEN availability.taken + ? < 0 THEN 0 ELSE availability.taken + ? END", delta, delta)}),
		}).Create(&row).Error
		if err != nil {
			return fmt.Errorf("availability of %s on %s: %w", b.RoomTypeID, night, err)
		}
	}
	return nil
}
