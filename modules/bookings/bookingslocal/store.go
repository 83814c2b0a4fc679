package bookingslocal

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/money"
)

// The bookings module's tables. Dates are "YYYY-MM-DD" text (they sort and
// compare correctly in SQLite and PostgreSQL alike); amounts are minor units
// of the booking's currency.

// bookingRow is one booking. Its quote (names, address, zone, nightly prices)
// is copied in at hold time: the booking describes the stay as it was sold.
type bookingRow struct {
	ID     string `gorm:"primaryKey;size:64;index:ix_bookings_guest,priority:2"`
	Status string `gorm:"size:16;not null;index:ix_bookings_expiry,priority:1"`
	// GuestID leads the guest's listing index (newest first: by id) and the
	// idempotency key's unique index. IdempotencyKey is NULL when the request had none (NULLs
	// never collide in a unique index).
	GuestID               string                `gorm:"size:64;not null;index:ix_bookings_guest,priority:1;uniqueIndex:ux_bookings_idempotency,priority:1"`
	IdempotencyKey        *string               `gorm:"size:255;uniqueIndex:ux_bookings_idempotency,priority:2"`
	GuestEmail            string                `gorm:"size:320;not null"`
	GuestName             string                `gorm:"size:200;not null"`
	HotelID               string                `gorm:"size:64;not null;index"`
	HotelName             string                `gorm:"size:200;not null"`
	RoomTypeID            string                `gorm:"size:64;not null"`
	RoomTypeName          string                `gorm:"size:100;not null"`
	Address               string                `gorm:"size:300;not null"`
	City                  string                `gorm:"size:100;not null"`
	Country               string                `gorm:"size:2;not null"`
	TimeZone              string                `gorm:"size:64;not null"`
	CheckIn               string                `gorm:"size:10;not null;index"`
	CheckOut              string                `gorm:"size:10;not null"`
	Guests                int                   `gorm:"not null"`
	Nights                []bookings.NightPrice `gorm:"serializer:json;not null"`
	Currency              string                `gorm:"size:3;not null"`
	Total                 int64                 `gorm:"not null"`
	HoldExpiresAt         time.Time             `gorm:"not null;index:ix_bookings_expiry,priority:2"`
	FreeCancellationUntil time.Time             `gorm:"not null"`
	LateCancellationFee   int64                 `gorm:"not null"`
	CancellationFee       int64                 `gorm:"not null"`
	Refund                int64                 `gorm:"not null"`
	PaymentID             string                `gorm:"size:64;not null"`
	CreatedAt             time.Time             `gorm:"not null"`
	UpdatedAt             time.Time             `gorm:"not null"`
	// payment is the payment event being applied, if any: not stored, it
	// travels on the booking event it causes (for reporting's receipts).
	payment *bookings.EventPayment `gorm:"-"`
}

func (bookingRow) TableName() string { return "bookings" }

// inventoryRow is the truth about rooms: how many rooms of a type are taken
// on a night, never more than RoomsTotal (the room type's rooms_total as
// last quoted). No row means none is taken.
type inventoryRow struct {
	RoomTypeID string `gorm:"primaryKey;size:64"`
	Date       string `gorm:"primaryKey;size:10"`
	Taken      int    `gorm:"not null"`
	RoomsTotal int    `gorm:"not null"`
}

func (inventoryRow) TableName() string { return "inventory" }

// Migrations are the bookings module's schema steps, in order: its own, then
// the event backbone's outbox, inbox and dead letters.
var Migrations = append([]db.Migration{
	{ID: "0001_bookings_inventory", Up: func(tx *gorm.DB) error {
		return tx.Migrator().CreateTable(&bookingRow{}, &inventoryRow{})
	}},
}, events.Migrations...)

// gormStore is the store on the module's GORM database; bound to a
// transaction, it is a storeTx.
type gormStore struct {
	db     *gorm.DB
	outbox *events.Outbox // runs writing transactions on db, then wakes the relay
}

func (s *gormStore) write(ctx context.Context, fn func(tx storeTx) error) error {
	return s.outbox.Transaction(ctx, func(tx *gorm.DB) error { return fn(&gormStore{db: tx}) })
}

// inTx is the store bound to tx, a transaction someone else opened (the
// event consumer's).
func inTx(tx *gorm.DB) storeTx { return &gormStore{db: tx} }

func (s *gormStore) booking(ctx context.Context, id string) (bookingRow, error) {
	return db.TakeByID[bookingRow](ctx, s.db, "booking", id, bookings.ErrNotFound)
}

func (s *gormStore) byIdempotencyKey(ctx context.Context, guestID, key string) (bookingRow, bool, error) {
	var rows []bookingRow
	if err := s.db.WithContext(ctx).Where("guest_id = ? AND idempotency_key = ?", guestID, key).Limit(1).Find(&rows).Error; err != nil {
		return bookingRow{}, false, apperr.Internal(fmt.Errorf("look up idempotency key: %w", err))
	}
	if len(rows) == 0 {
		return bookingRow{}, false, nil
	}
	return rows[0], true, nil
}

// listFilter selects a page of bookings, newest (highest id) first.
type listFilter struct {
	GuestID  string // "": every guest's
	HotelID  string
	Status   string
	From, To string // check-in on or after From, before To ("": open)
	AfterID  string // the page after this id ("": the first page)
	Limit    int
}

func (s *gormStore) list(ctx context.Context, f listFilter) ([]bookingRow, error) {
	q := db.Filter(s.db.WithContext(ctx).Model(&bookingRow{}),
		db.IfSet("guest_id = ?", f.GuestID), db.IfSet("hotel_id = ?", f.HotelID), db.IfSet("status = ?", f.Status),
		db.IfSet("check_in >= ?", f.From), db.IfSet("check_in < ?", f.To), db.IfSet("id < ?", f.AfterID))
	var rows []bookingRow
	if err := q.Order("id DESC").Limit(f.Limit).Find(&rows).Error; err != nil {
		return nil, apperr.Internal(fmt.Errorf("list bookings: %w", err))
	}
	return rows, nil
}

func (s *gormStore) expiredHolds(ctx context.Context, now time.Time, limit int) ([]string, error) {
	var ids []string
	err := s.db.WithContext(ctx).Model(&bookingRow{}).
		Where("status = ? AND hold_expires_at <= ?", bookings.StatusPending, now).
		Order("hold_expires_at, id").Limit(limit).Pluck("id", &ids).Error
	if err != nil {
		return nil, fmt.Errorf("find expired holds: %w", err)
	}
	return ids, nil
}

func (s *gormStore) insert(ctx context.Context, r bookingRow) error {
	if err := s.db.WithContext(ctx).Create(&r).Error; err != nil {
		if db.IsUniqueViolation(err) && r.IdempotencyKey != nil {
			return errKeyRace
		}
		return err
	}
	return nil
}

func (s *gormStore) updateStatus(ctx context.Context, from string, next bookingRow) error {
	res := s.db.WithContext(ctx).Model(&bookingRow{}).Where("id = ? AND status = ?", next.ID, from).Updates(map[string]any{
		"status": next.Status, "updated_at": next.UpdatedAt, "payment_id": next.PaymentID,
		"cancellation_fee": next.CancellationFee, "refund": next.Refund,
	})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return errStale
	}
	return nil
}

// takeRoomSQL takes a room on a night in one atomic statement: insert the
// night with one room taken, or add one to it, but only while fewer than
// rooms_total (that of the quote just made, which it also records) are
// taken. No row changed means the night is full.
const takeRoomSQL = `INSERT INTO inventory (room_type_id, date, taken, rooms_total) VALUES (?, ?, 1, ?)
ON CONFLICT (room_type_id, date) DO UPDATE SET taken = inventory.taken + 1, rooms_total = excluded.rooms_total
WHERE inventory.taken < excluded.rooms_total`

func (s *gormStore) takeRooms(ctx context.Context, roomTypeID string, nights []string, roomsTotal int) error {
	if roomsTotal < 1 {
		return bookings.ErrSoldOut
	}
	for _, night := range nights {
		res := s.db.WithContext(ctx).Exec(takeRoomSQL, roomTypeID, night, roomsTotal)
		if res.Error != nil {
			return fmt.Errorf("take %s on %s: %w", roomTypeID, night, res.Error)
		}
		if res.RowsAffected == 0 {
			return bookings.ErrSoldOut
		}
	}
	return nil
}

func (s *gormStore) pendingHolds(ctx context.Context, guestID string) (int, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&bookingRow{}).Where("guest_id = ? AND status = ?", guestID, bookings.StatusPending).Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("count pending holds: %w", err)
	}
	return int(n), nil
}

func (s *gormStore) releaseRooms(ctx context.Context, roomTypeID string, nights []string) error {
	err := s.db.WithContext(ctx).Exec("UPDATE inventory SET taken = taken - 1 WHERE room_type_id = ? AND date IN ? AND taken > 0", roomTypeID, nights).Error
	if err != nil {
		return fmt.Errorf("release %s: %w", roomTypeID, err)
	}
	return nil
}

func (s *gormStore) record(ctx context.Context, typ string, r bookingRow, paymentID string) error {
	evt, err := events.New(ctx, bookings.Module, typ, bookings.BookingEvent{Booking: toBooking(r), PaymentID: paymentID, Payment: r.payment})
	if err != nil {
		return err
	}
	return events.Record(s.db.WithContext(ctx), evt)
}

// toBooking is the contract's view of a row.
func toBooking(r bookingRow) bookings.Booking {
	cur := r.Currency
	nights := r.Nights
	if nights == nil {
		nights = []bookings.NightPrice{}
	}
	checkIn, _ := civil.Parse(r.CheckIn)
	checkOut, _ := civil.Parse(r.CheckOut)
	return bookings.Booking{
		ID: r.ID, Status: r.Status,
		GuestID: r.GuestID, GuestEmail: r.GuestEmail, GuestName: r.GuestName,
		HotelID: r.HotelID, HotelName: r.HotelName, RoomTypeID: r.RoomTypeID, RoomTypeName: r.RoomTypeName,
		Address: r.Address, City: r.City, Country: r.Country, TimeZone: r.TimeZone,
		CheckIn: checkIn, CheckOut: checkOut, Guests: r.Guests, Nights: nights,
		Total:                 money.New(r.Total, cur),
		HoldExpiresAt:         r.HoldExpiresAt.UTC(),
		FreeCancellationUntil: r.FreeCancellationUntil.UTC(),
		LateCancellationFee:   money.New(r.LateCancellationFee, cur),
		PaymentID:             r.PaymentID,
		CancellationFee:       money.New(r.CancellationFee, cur),
		Refund:                money.New(r.Refund, cur),
		CreatedAt:             r.CreatedAt.UTC(),
		UpdatedAt:             r.UpdatedAt.UTC(),
	}
}
