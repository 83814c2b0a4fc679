package bookingslocal

import (
	"time"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/modules/bookings"
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
