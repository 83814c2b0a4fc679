package searchlocal

import (
	"time"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/events"
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
