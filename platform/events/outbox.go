package events

import (
	"errors"
	"fmt"
	"time"

	gojson "github.com/goccy/go-json"
	"gorm.io/gorm"

	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/observability"
)

// outboxRow is one event waiting to be (or already) published. Seq gives the
// publishing order; rows of several modules may share a table when modules
// share one PostgreSQL database, so every query filters on Source.
type outboxRow struct {
	Seq         int64      `gorm:"primaryKey;autoIncrement"`
	EventID     string     `gorm:"size:64;not null;uniqueIndex:ux_events_outbox_event_id"`
	Source      string     `gorm:"size:64;not null;index:ix_events_outbox_pending,priority:1"`
	Subject     string     `gorm:"size:255;not null"`
	Payload     []byte     `gorm:"not null"` // the whole CloudEvents envelope
	CreatedAt   time.Time  `gorm:"not null"`
	PublishedAt *time.Time `gorm:"index:ix_events_outbox_pending,priority:2"`
}

func (outboxRow) TableName() string { return "events_outbox" }

// inboxRow records that a consumer applied an event. Its primary key is what
// makes a redelivered event change nothing.
type inboxRow struct {
	Consumer  string    `gorm:"primaryKey;size:128;index:ix_events_inbox_age,priority:1"`
	EventID   string    `gorm:"primaryKey;size:64"`
	HandledAt time.Time `gorm:"not null;index:ix_events_inbox_age,priority:2"`
}

func (inboxRow) TableName() string { return "events_inbox" }

// DeadLetter is an event a consumer gave up on after MaxDeliver attempts (or
// at once, for a [Permanent] error). It keeps the whole envelope, so it can be
// replayed after the stream has forgotten the message.
type DeadLetter struct {
	ID         int64      `gorm:"primaryKey;autoIncrement" json:"id"`
	Consumer   string     `gorm:"size:128;not null;uniqueIndex:ux_events_dead_letters,priority:1" json:"consumer"` // "<module>.<subscription>"
	EventID    string     `gorm:"size:64;not null;uniqueIndex:ux_events_dead_letters,priority:2" json:"event_id"`
	Type       string     `gorm:"size:255;not null" json:"type"`
	Subject    string     `gorm:"size:255;not null" json:"subject"`
	Payload    []byte     `gorm:"not null" json:"-"`
	Error      string     `gorm:"not null" json:"error"`    // the last failure
	Attempts   int        `gorm:"not null" json:"attempts"` // deliveries and replays that failed
	CreatedAt  time.Time  `gorm:"not null" json:"created_at"`
	UpdatedAt  time.Time  `gorm:"not null" json:"updated_at"`
	ReplayedAt *time.Time `json:"replayed_at,omitempty"` // set when a replay applied (or found applied) the event
}

// TableName is the dead letters' table.
func (DeadLetter) TableName() string { return "events_dead_letters" }

// Event is the dead-lettered envelope.
func (d DeadLetter) Event() (Event, error) { return parseEvent(d.Payload) }

// Migrations create the outbox, inbox and dead-letter tables. A module that
// publishes or consumes events appends them to its own steps:
//
//	var Migrations = append([]db.Migration{{ID: "0001_catalog", ...}}, events.Migrations...)
//
// Their IDs begin with "events_", which sorts after a module's numbered
// steps; a module's later steps go before them in the list. A step creates
// its table only if it is missing, so modules may share one PostgreSQL
// database.
var Migrations = []db.Migration{
	{ID: "events_0001_outbox_inbox_dead_letters", Up: func(tx *gorm.DB) error {
		for _, m := range []any{&outboxRow{}, &inboxRow{}, &DeadLetter{}} {
			if tx.Migrator().HasTable(m) {
				continue
			}
			if err := tx.Migrator().CreateTable(m); err != nil {
				return err
			}
		}
		return nil
	}},
}

// Record writes evt to the outbox in the caller's transaction tx, so the
// event exists if and only if the state change it describes commits. An
// event without a traceparent takes the one of the transaction's context.
// Write
// through [Outbox.Transaction], which wakes the relay after the commit so it
// publishes at once rather than on its fallback poll.
func Record(tx *gorm.DB, evt Event) error {
	if tx == nil {
		return errors.New("events: Record needs the caller's transaction")
	}
	if err := evt.validate(); err != nil {
		return err
	}
	if evt.Traceparent == "" && tx.Statement != nil && tx.Statement.Context != nil {
		// Built without the request's context: the transaction's has it.
		evt.Traceparent = observability.Traceparent(tx.Statement.Context)
	}
	payload, err := gojson.Marshal(evt)
	if err != nil {
		return fmt.Errorf("events: encode %s: %w", evt.ID, err)
	}
	// Raw SQL rather than Create: GORM's model machinery would cost more
	// than the insert itself.
	err = tx.Exec("INSERT INTO events_outbox (event_id, source, subject, payload, created_at) VALUES (?, ?, ?, ?, ?)",
		evt.ID, evt.Source, Subject(evt.Source, evt.Type), payload, time.Now().UTC()).Error
	if err != nil {
		return fmt.Errorf("events: record %s %s: %w", evt.Type, evt.ID, err)
	}
	return nil
}
