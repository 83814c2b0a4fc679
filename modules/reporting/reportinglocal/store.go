package reportinglocal

import (
	"time"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/events"
)

// The reporting module's tables, prefixed so modules may share a PostgreSQL
// database. Dates are "YYYY-MM-DD" text (they sort and compare in SQLite and
// PostgreSQL alike), in the hotel's time zone.
//
// Two kinds of table: what was received and issued (events, documents,
// series, mail) is kept forever and never rebuilt; the read models (hotels,
// room types, capacity, bookings, nights, payments, ledger) are derived from
// the events and can be dropped and rebuilt by Rebuild.

// eventRow is an event reporting consumed, kept whole so the read models
// can be rebuilt without asking anyone.
type eventRow struct {
	Seq        int64     `gorm:"primaryKey;autoIncrement"`
	EventID    string    `gorm:"size:64;not null;uniqueIndex:ux_reporting_events_id"`
	Type       string    `gorm:"size:255;not null"`
	Envelope   []byte    `gorm:"not null"`
	ReceivedAt time.Time `gorm:"not null"`
}

func (eventRow) TableName() string { return "reporting_events" }

type hotelRow struct {
	ID       string `gorm:"primaryKey;size:64"`
	Name     string `gorm:"size:200;not null"`
	CityID   string `gorm:"size:80;not null;index"`
	City     string `gorm:"size:100;not null"`
	Country  string `gorm:"size:2;not null"`
	Address  string `gorm:"size:300;not null"`
	TimeZone string `gorm:"size:64;not null"`
}

func (hotelRow) TableName() string { return "reporting_hotels" }

type roomTypeRow struct {
	ID       string `gorm:"primaryKey;size:64"`
	HotelID  string `gorm:"size:64;not null;index"`
	CityID   string `gorm:"size:80;not null"`
	Name     string `gorm:"size:100;not null"`
	Currency string `gorm:"size:3;not null"`
}

func (roomTypeRow) TableName() string { return "reporting_room_types" }

// capacityRow says from which night on a room type has Rooms on sale (0
// once deleted). The first row of a room type also stands for the nights
// before it: the room type was on sale before reporting heard of it.
type capacityRow struct {
	RoomTypeID string `gorm:"primaryKey;size:64"`
	FromDate   string `gorm:"primaryKey;size:10"`
	Rooms      int    `gorm:"not null"`
}

func (capacityRow) TableName() string { return "reporting_capacity" }

// bookingRow is reporting's view of a booking. The *Date columns are in the
// hotel's time zone.
type bookingRow struct {
	ID            string `gorm:"primaryKey;size:64"`
	GuestID       string `gorm:"size:64;not null;index"`
	HotelID       string `gorm:"size:64;not null;index"`
	RoomTypeID    string `gorm:"size:64;not null"`
	CityID        string `gorm:"size:80;not null"`
	Status        string `gorm:"size:16;not null"`
	CheckIn       string `gorm:"size:10;not null"`
	CheckOut      string `gorm:"size:10;not null"`
	Nights        int    `gorm:"not null"`
	Currency      string `gorm:"size:3;not null"`
	Total         int64  `gorm:"not null"`
	HeldDate      string `gorm:"size:10;not null;index"`
	ConfirmedDate string `gorm:"size:10;not null"` // "" until confirmed
	CancelledDate string `gorm:"size:10;not null"` // "" unless a confirmed booking was cancelled
	EndedStatus   string `gorm:"size:16;not null"` // expired / rejected / cancelled, or ""
	// Payload is the latest booking event's data: what a receipt is made of.
	Payload []byte `gorm:"not null"`
}

func (bookingRow) TableName() string { return "reporting_bookings" }

// nightRow is one night of a booking, with its price. Sold mirrors the
// booking's status (confirmed and not cancelled), so occupancy reads one
// table, from an index that covers what it reads (sold nights in a date
// range, per room type and currency) without visiting the table.
type nightRow struct {
	BookingID  string `gorm:"primaryKey;size:64"`
	Date       string `gorm:"primaryKey;size:10;index:ix_reporting_nights_sold_cover,priority:2"`
	Sold       bool   `gorm:"not null;index:ix_reporting_nights_sold_cover,priority:1"`
	RoomTypeID string `gorm:"size:64;not null;index:ix_reporting_nights_sold_cover,priority:3"`
	HotelID    string `gorm:"size:64;not null"`
	CityID     string `gorm:"size:80;not null"`
	Currency   string `gorm:"size:3;not null;index:ix_reporting_nights_sold_cover,priority:4"`
	Price      int64  `gorm:"not null;index:ix_reporting_nights_sold_cover,priority:5"`
}

func (nightRow) TableName() string { return "reporting_nights" }

// paymentRow is what payment events said about a payment: the card for a
// receipt when the booking event does not carry it.
type paymentRow struct {
	ID        string    `gorm:"primaryKey;size:64"`
	BookingID string    `gorm:"size:64;not null;index"`
	Status    string    `gorm:"size:16;not null"`
	Currency  string    `gorm:"size:3;not null"`
	Amount    int64     `gorm:"not null"`
	Brand     string    `gorm:"size:32;not null"`
	Last4     string    `gorm:"size:4;not null"`
	PaidAt    time.Time `gorm:"not null"`
}

func (paymentRow) TableName() string { return "reporting_payments" }

// ledgerRow is money that moved for a booking, on a date in the hotel's time zone.
type ledgerRow struct {
	ID int64 `gorm:"primaryKey;autoIncrement"`
	// Key makes the entry once per booking and kind ("receipt:<booking>",
	// "cancel:<booking>"), whatever copies of an event arrive.
	Key        string `gorm:"size:200;not null;uniqueIndex:ux_reporting_ledger_key"`
	BookingID  string `gorm:"size:64;not null;index"`
	DocumentID string `gorm:"size:64;not null"`
	HotelID    string `gorm:"size:64;not null"`
	RoomTypeID string `gorm:"size:64;not null"`
	CityID     string `gorm:"size:80;not null"`
	Date       string `gorm:"size:10;not null;index"`
	Currency   string `gorm:"size:3;not null"`
	Bookings   int64  `gorm:"not null"`
	Gross      int64  `gorm:"not null"`
	Refund     int64  `gorm:"not null"`
	Fee        int64  `gorm:"not null"`
	Tax        int64  `gorm:"not null"` // included in gross less refund
}

func (ledgerRow) TableName() string { return "reporting_ledger" }

// documentRow is an issued document: its PDF as rendered once, and the
// figures it shows (Model, JSON) for the ledger. DedupKey makes a redelivered
// or replayed event find the document instead of issuing another.
type documentRow struct {
	ID        string    `gorm:"primaryKey;size:64"`
	Kind      string    `gorm:"size:16;not null"`
	DedupKey  string    `gorm:"size:200;not null;uniqueIndex:ux_reporting_documents_dedup"`
	Series    string    `gorm:"size:32;not null;uniqueIndex:ux_reporting_documents_number,priority:1"`
	Seq       int64     `gorm:"not null;uniqueIndex:ux_reporting_documents_number,priority:2"`
	Number    string    `gorm:"size:64;not null"`
	BookingID string    `gorm:"size:64;not null;index"`
	GuestID   string    `gorm:"size:64;not null"`
	Corrects  string    `gorm:"size:64;not null"`
	Reason    string    `gorm:"size:32;not null"`
	IssueDate string    `gorm:"size:10;not null"`
	Currency  string    `gorm:"size:3;not null"`
	Total     int64     `gorm:"not null"`
	SHA256    string    `gorm:"size:64;not null"` // "" until drawn
	PDF       []byte    `gorm:"not null"`         // empty until drawn
	Model     []byte    `gorm:"not null"`
	IssuedAt  time.Time `gorm:"not null"`
	// RenderedAt is when the PDF was drawn and stored, after the
	// transaction that numbered the document; nil until then.
	RenderedAt *time.Time `gorm:"index:ix_reporting_documents_unrendered"`
}

func (documentRow) TableName() string { return "reporting_documents" }

// seriesRow is the last number given in a series ("BH-2026"): numbers are
// taken in the transaction that stores the document, so a rollback gives the
// number back and the series has no gaps.
type seriesRow struct {
	Series string `gorm:"primaryKey;size:32"`
	Last   int64  `gorm:"not null"`
}

func (seriesRow) TableName() string { return "reporting_series" }

// mailRow is an email to send: written in the transaction that stores its
// document (or handles the registration), sent by the mail loop.
type mailRow struct {
	ID            string     `gorm:"primaryKey;size:64"`
	MessageID     string     `gorm:"size:255;not null;uniqueIndex:ux_reporting_mail_message_id"`
	Kind          string     `gorm:"size:32;not null"`
	DocumentID    string     `gorm:"size:64;not null"`
	ToAddress     string     `gorm:"size:320;not null"`
	ToName        string     `gorm:"size:200;not null"`
	Subject       string     `gorm:"size:300;not null"`
	Text          string     `gorm:"not null"`
	HTML          string     `gorm:"not null"`
	CreatedAt     time.Time  `gorm:"not null"`
	Attempts      int        `gorm:"not null"`
	NextAttemptAt time.Time  `gorm:"not null;index:ix_reporting_mail_pending,priority:2"`
	SentAt        *time.Time `gorm:"index:ix_reporting_mail_pending,priority:1"`
	LastError     string     `gorm:"not null"`
}

func (mailRow) TableName() string { return "reporting_mail" }

// readModels are the tables Rebuild empties and fills again from the events.
var readModels = []any{&hotelRow{}, &roomTypeRow{}, &capacityRow{}, &bookingRow{}, &nightRow{}, &paymentRow{}, &ledgerRow{}}

// Migrations are the reporting module's schema steps, then the event
// backbone's outbox, inbox and dead letters.
var Migrations = append([]db.Migration{
	{ID: "0001_reporting", Up: func(tx *gorm.DB) error {
		return tx.Migrator().CreateTable(append([]any{&eventRow{}, &documentRow{}, &seriesRow{}, &mailRow{}}, readModels...)...)
	}},
	// Documents are drawn after the transaction that numbers them; the ones
	// issued before were drawn in it.
	{ID: "0002_reporting_render_after_commit", Up: func(tx *gorm.DB) error {
		m := tx.Migrator()
		if !m.HasColumn(&documentRow{}, "RenderedAt") { // 0001 made it on a new database
			if err := m.AddColumn(&documentRow{}, "RenderedAt"); err != nil {
				return err
			}
			if err := tx.Exec("UPDATE reporting_documents SET rendered_at = issued_at").Error; err != nil {
				return err
			}
		}
		if !m.HasIndex(&documentRow{}, "ix_reporting_documents_unrendered") {
			return m.CreateIndex(&documentRow{}, "ix_reporting_documents_unrendered")
		}
		return nil
	}},
	// Occupancy reads sold nights from an index that covers them (with an
	// index on (sold, date) alone, SQLite's planner, once it has statistics,
	// reads the table row by row: twice as slow over a year of 2,400 hotels).
	{ID: "0003_reporting_nights_covering_index", Up: func(tx *gorm.DB) error {
		m := tx.Migrator()
		if m.HasIndex(&nightRow{}, "ix_reporting_nights_sold") {
			if err := m.DropIndex(&nightRow{}, "ix_reporting_nights_sold"); err != nil {
				return err
			}
		}
		if !m.HasIndex(&nightRow{}, "ix_reporting_nights_sold_cover") {
			return m.CreateIndex(&nightRow{}, "ix_reporting_nights_sold_cover")
		}
		return nil
	}},
}, events.Migrations...)
