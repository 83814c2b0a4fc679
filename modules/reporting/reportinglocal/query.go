package reportinglocal

import (
	"context"
	"sort"

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
	movements(ctx context.Context, f filter, column, from, to string) ([]aggRow, error)
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
	var rts []roomTypeRow
	q := s.db.WithContext(ctx).Model(&roomTypeRow{})
	if f.HotelID != "" {
		q = q.Where("hotel_id = ?", f.HotelID)
	}
	if f.RoomTypeID != "" {
		q = q.Where("id = ?", f.RoomTypeID)
	}
	if f.CityID != "" {
		q = q.Where("city_id = ?", f.CityID)
	}
	if err := q.Order("id").Find(&rts).Error; err != nil {
		return nil, err
	}
	var caps []capacityRow
	cq := s.db.WithContext(ctx).Model(&capacityRow{})
	if f.HotelID != "" || f.RoomTypeID != "" || f.CityID != "" {
		sub := s.db.Model(&roomTypeRow{}).Select("id")
		if f.HotelID != "" {
			sub = sub.Where("hotel_id = ?", f.HotelID)
		}
		if f.RoomTypeID != "" {
			sub = sub.Where("id = ?", f.RoomTypeID)
		}
		if f.CityID != "" {
			sub = sub.Where("city_id = ?", f.CityID)
		}
		cq = cq.Where("room_type_id IN (?)", sub)
	}
	if err := cq.Order("room_type_id, from_date").Find(&caps).Error; err != nil {
		return nil, err
	}
	byID := make(map[string][]capacityRow, len(rts))
	for _, c := range caps {
		byID[c.RoomTypeID] = append(byID[c.RoomTypeID], c)
	}
	out := make([]roomTypeCapacity, 0, len(rts))
	for _, rt := range rts {
		tl := byID[rt.ID]
		sort.Slice(tl, func(i, j int) bool { return tl[i].FromDate < tl[j].FromDate })
		out = append(out, roomTypeCapacity{roomTypeRow: rt, timeline: tl})
	}
	return out, nil
}

func (s gormStore) names(ctx context.Context) (map[string]hotelRow, map[string]string, error) {
	var hs []hotelRow
	if err := s.db.WithContext(ctx).Find(&hs).Error; err != nil {
		return nil, nil, err
	}
	var rts []roomTypeRow
	if err := s.db.WithContext(ctx).Select("id, name").Find(&rts).Error; err != nil {
		return nil, nil, err
	}
	hotels := make(map[string]hotelRow, len(hs))
	for _, h := range hs {
		hotels[h.ID] = h
	}
	names := make(map[string]string, len(rts))
	for _, r := range rts {
		names[r.ID] = r.Name
	}
	return hotels, names, nil
}

// aggRow is a count and sum per room type, hotel, city, date and currency.
type aggRow struct {
	RoomTypeID, HotelID, CityID, Date, Currency string
	N, Amount                                   int64
}

func (s gormStore) soldNights(ctx context.Context, f filter, from, to string, month bool) ([]aggRow, error) {
	bucket := "date"
	if month {
		// One row per room type and month instead of per night.
		bucket = "substr(date, 1, 7) || '-01'"
	}
	q := s.db.WithContext(ctx).Model(&nightRow{}).
		Select("room_type_id, hotel_id, city_id, "+bucket+" AS bucket, currency, COUNT(*) AS n, SUM(price) AS amount").
		Where("sold AND date >= ? AND date < ?", from, to)
	rows, err := f.where(q, "").Group("room_type_id, hotel_id, city_id, bucket, currency").Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []aggRow
	for rows.Next() {
		var a aggRow
		if err := rows.Scan(&a.RoomTypeID, &a.HotelID, &a.CityID, &a.Date, &a.Currency, &a.N, &a.Amount); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// movements counts confirmed stays by their check-in or check-out date.
func (s gormStore) movements(ctx context.Context, f filter, column, from, to string) ([]aggRow, error) {
	var out []aggRow
	q := s.db.WithContext(ctx).Model(&bookingRow{}).
		Select("room_type_id, hotel_id, city_id, "+column+" AS date, currency, COUNT(*) AS n").
		Where("status = ? AND "+column+" >= ? AND "+column+" < ?", "confirmed", from, to)
	err := f.where(q, "").Group("room_type_id, hotel_id, city_id, " + column + ", currency").Scan(&out).Error
	return out, err
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
