package reportinglocal

import (
	"context"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/platform/db"
)

// store is what the service reads; gormStore implements it on the module's
// database. Writes happen in the event handlers' transactions.
type store interface {
	bookingGuest(ctx context.Context, bookingID string) (string, error)
	documentsOf(ctx context.Context, bookingID string) ([]documentRow, error)
	document(ctx context.Context, id string) (documentRow, error)
	known(ctx context.Context, kind, id string) (bool, error)
	roomTypes(ctx context.Context, f filter) ([]roomTypeCapacity, error)
	names(ctx context.Context) (hotels map[string]hotelRow, roomTypes map[string]string, err error)
	soldNights(ctx context.Context, f filter, from, to string, month bool) ([]aggRow, error)
	movements(ctx context.Context, f filter, from, to string) ([]stay, error)
	placesOf(ctx context.Context, roomTypeIDs []string) (map[string]roomTypeRow, error)
	ledger(ctx context.Context, f filter, from, to string) ([]ledgerAgg, error)
	heldBookings(ctx context.Context, f filter, from, to string) ([]bookingRow, error)
	onBooks(ctx context.Context, f filter, asOf, from, to string) ([]aggRow, error)
}

// filter narrows a report.
type filter struct {
	HotelID, RoomTypeID, CityID string
}

// where applies the filter to a query on a table with hotel_id, room_type_id
// and city_id columns (prefix: its alias and a dot, or "").
func (f filter) where(q *gorm.DB, prefix string) *gorm.DB {
	if f.HotelID != "" {
		q = q.Where(prefix+"hotel_id = ?", f.HotelID)
	}
	if f.RoomTypeID != "" {
		q = q.Where(prefix+"room_type_id = ?", f.RoomTypeID)
	}
	if f.CityID != "" {
		q = q.Where(prefix+"city_id = ?", f.CityID)
	}
	return q
}

type gormStore struct{ db *db.DB }

func (s gormStore) bookingGuest(ctx context.Context, bookingID string) (string, error) {
	var b bookingRow
	err := s.db.WithContext(ctx).Select("guest_id").Where("id = ?", bookingID).Take(&b).Error
	return b.GuestID, err
}

func (s gormStore) documentsOf(ctx context.Context, bookingID string) ([]documentRow, error) {
	var out []documentRow
	err := s.db.WithContext(ctx).Where("booking_id = ?", bookingID).Order("issued_at, id").Find(&out).Error
	return out, err
}

func (s gormStore) document(ctx context.Context, id string) (documentRow, error) {
	var d documentRow
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&d).Error
	return d, err
}

func (s gormStore) known(ctx context.Context, kind, id string) (bool, error) {
	var n int64
	q := s.db.WithContext(ctx)
	switch kind {
	case "hotel":
		q = q.Model(&hotelRow{}).Where("id = ?", id)
	case "room_type":
		// A room type is known from the catalog or from a booking of it.
		var b int64
		if err := q.Model(&nightRow{}).Where("room_type_id = ?", id).Limit(1).Count(&b).Error; err != nil || b > 0 {
			return b > 0, err
		}
		q = s.db.WithContext(ctx).Model(&roomTypeRow{}).Where("id = ?", id)
	default:
		q = q.Model(&hotelRow{}).Where("city_id = ?", id)
	}
	err := q.Limit(1).Count(&n).Error
	return n > 0, err
}

// roomTypeCapacity is a room type with its rooms on sale over time.
type roomTypeCapacity struct {
	roomTypeRow
	timeline []capacityRow // by FromDate
}

func (s gormStore) roomTypes(ctx context.Context, f filter) ([]roomTypeCapacity, error) {
	// One query, scanned by hand: gorm's reflection over thousands of room
	// types cost more than the query.
	q := s.db.WithContext(ctx).Table("reporting_room_types AS rt").
		Select("rt.id, rt.hotel_id, rt.city_id, rt.name, rt.currency, COALESCE(c.from_date, ''), COALESCE(c.rooms, 0)").
		Joins("LEFT JOIN reporting_capacity AS c ON c.room_type_id = rt.id")
	if f.HotelID != "" {
		q = q.Where("rt.hotel_id = ?", f.HotelID)
	}
	if f.RoomTypeID != "" {
		q = q.Where("rt.id = ?", f.RoomTypeID)
	}
	if f.CityID != "" {
		q = q.Where("rt.city_id = ?", f.CityID)
	}
	rows, err := q.Order("rt.id, c.from_date").Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []roomTypeCapacity
	for rows.Next() {
		var rt roomTypeRow
		var c capacityRow
		if err := rows.Scan(&rt.ID, &rt.HotelID, &rt.CityID, &rt.Name, &rt.Currency, &c.FromDate, &c.Rooms); err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].ID != rt.ID {
			out = append(out, roomTypeCapacity{roomTypeRow: rt})
		}
		if c.FromDate != "" {
			c.RoomTypeID = rt.ID
			last := &out[len(out)-1]
			last.timeline = append(last.timeline, c)
		}
	}
	return out, rows.Err()
}

func (s gormStore) names(ctx context.Context) (map[string]hotelRow, map[string]string, error) {
	hotels := map[string]hotelRow{}
	rows, err := s.db.WithContext(ctx).Model(&hotelRow{}).Select("id, name, city_id, city").Rows()
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var h hotelRow
		if err := rows.Scan(&h.ID, &h.Name, &h.CityID, &h.City); err != nil {
			return nil, nil, err
		}
		hotels[h.ID] = h
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	names := map[string]string{}
	rtRows, err := s.db.WithContext(ctx).Model(&roomTypeRow{}).Select("id, name").Rows()
	if err != nil {
		return nil, nil, err
	}
	defer rtRows.Close()
	for rtRows.Next() {
		var id, name string
		if err := rtRows.Scan(&id, &name); err != nil {
			return nil, nil, err
		}
		names[id] = name
	}
	return hotels, names, rtRows.Err()
}

// aggRow is a count and sum per room type, hotel, city, date and currency.
type aggRow struct {
	RoomTypeID, HotelID, CityID, Date, Currency string
	N, Amount                                   int64
}

// soldNights counts the sold nights from..to (exclusive) and sums their
// prices per room type, night (or month) and currency. The rows name the
// room type only: its hotel and city come from the room types (placesOf).
func (s gormStore) soldNights(ctx context.Context, f filter, from, to string, month bool) ([]aggRow, error) {
	bucket := "date"
	if month {
		// One row per room type and month instead of per night.
		bucket = "substr(date, 1, 7) || '-01'"
	}
	q := s.db.WithContext(ctx).Model(&nightRow{}).
		Select("room_type_id, "+bucket+" AS bucket, currency, COUNT(*) AS n, SUM(price) AS amount").
		Where("sold AND date >= ? AND date < ?", from, to)
	rows, err := f.where(q, "").Group("room_type_id, bucket, currency").Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []aggRow
	for rows.Next() {
		var a aggRow
		if err := rows.Scan(&a.RoomTypeID, &a.Date, &a.Currency, &a.N, &a.Amount); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// stay is a confirmed stay's room type, dates and currency.
type stay struct {
	RoomTypeID, CheckIn, CheckOut, Currency string
}

// movements are the confirmed stays that arrive or depart from..to
// (exclusive), for arrivals and departures.
func (s gormStore) movements(ctx context.Context, f filter, from, to string) ([]stay, error) {
	q := s.db.WithContext(ctx).Model(&bookingRow{}).Select("room_type_id, check_in, check_out, currency").
		Where("status = ? AND ((check_in >= ? AND check_in < ?) OR (check_out >= ? AND check_out < ?))", "confirmed", from, to, from, to)
	rows, err := f.where(q, "").Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []stay
	for rows.Next() {
		var st stay
		if err := rows.Scan(&st.RoomTypeID, &st.CheckIn, &st.CheckOut, &st.Currency); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// placesOf finds the hotel and city of room types reporting knows only from
// bookings (never from the catalog's events).
func (s gormStore) placesOf(ctx context.Context, roomTypeIDs []string) (map[string]roomTypeRow, error) {
	out := make(map[string]roomTypeRow, len(roomTypeIDs))
	for len(roomTypeIDs) > 0 {
		chunk := roomTypeIDs[:min(500, len(roomTypeIDs))]
		roomTypeIDs = roomTypeIDs[len(chunk):]
		var rows []bookingRow
		if err := s.db.WithContext(ctx).Select("DISTINCT room_type_id, hotel_id, city_id").
			Where("room_type_id IN ?", chunk).Find(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.RoomTypeID] = roomTypeRow{ID: r.RoomTypeID, HotelID: r.HotelID, CityID: r.CityID}
		}
	}
	return out, nil
}

type ledgerAgg struct {
	RoomTypeID, HotelID, CityID, Date, Currency string
	Bookings, Gross, Refund, Fee, Tax           int64
}

func (s gormStore) ledger(ctx context.Context, f filter, from, to string) ([]ledgerAgg, error) {
	var out []ledgerAgg
	q := s.db.WithContext(ctx).Model(&ledgerRow{}).
		Select("room_type_id, hotel_id, city_id, date, currency, SUM(bookings) AS bookings, SUM(gross) AS gross, SUM(refund) AS refund, SUM(fee) AS fee, SUM(tax) AS tax").
		Where("date >= ? AND date < ?", from, to)
	err := f.where(q, "").Group("room_type_id, hotel_id, city_id, date, currency").Scan(&out).Error
	return out, err
}

func (s gormStore) heldBookings(ctx context.Context, f filter, from, to string) ([]bookingRow, error) {
	var out []bookingRow
	q := s.db.WithContext(ctx).Select("id, status, check_in, check_out, nights, held_date, confirmed_date, cancelled_date, ended_status").
		Where("held_date >= ? AND held_date < ?", from, to)
	err := f.where(q, "").Find(&out).Error
	return out, err
}

// onBooks counts room-nights from..to (exclusive) of stays confirmed on or
// before asOf and not cancelled by then.
func (s gormStore) onBooks(ctx context.Context, f filter, asOf, from, to string) ([]aggRow, error) {
	var out []aggRow
	q := s.db.WithContext(ctx).Table("reporting_nights AS n").
		Select("n.date, COUNT(*) AS n").
		Joins("JOIN reporting_bookings AS b ON b.id = n.booking_id").
		Where("b.confirmed_date <> '' AND b.confirmed_date <= ? AND (b.cancelled_date = '' OR b.cancelled_date > ?)", asOf, asOf).
		Where("n.date >= ? AND n.date < ?", from, to)
	err := f.where(q, "n.").Group("n.date").Scan(&out).Error
	return out, err
}
