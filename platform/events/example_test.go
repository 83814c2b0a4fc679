package events_test

import (
	"context"
	"errors"
	"log"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/events"
)

// RoomTypeChangedV1 would live in the publishing module's contract package.
type RoomTypeChangedV1 struct {
	RoomTypeID int64 `json:"room_type_id"`
	RoomsTotal int   `json:"rooms_total"`
}

// A module that publishes: its migrations include the events tables, its
// writes record events in the same transaction, and its Run runs the relay.
func Example_publish() {
	ctx := context.Background()
	var (
		bus      *events.Bus // from events.StartEmbedded or events.Connect, in cmd/bellhop
		searchDB *db.DB      // migrated with append(own steps, events.Migrations...)
	)
	relay, err := events.NewRelay(bus, events.RelayOptions{Module: "search", DB: searchDB.DB})
	if err != nil {
		log.Fatal(err)
	}
	// In a Service method:
	evt, err := events.New(ctx, "search", "bellhop.catalog.room_type.changed.v1", RoomTypeChangedV1{RoomTypeID: 7, RoomsTotal: 12})
	if err != nil {
		log.Fatal(err)
	}
	err = relay.Transaction(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("UPDATE room_types SET rooms_total = ? WHERE id = ?", 12, 7).Error; err != nil {
			return err
		}
		return events.Record(tx, evt)
	})
	if err != nil {
		log.Fatal(err)
	}
	// In the module's Run: go relay.Run(ctx)
}

// A module that consumes: a handler applying the event in the consumer's
// own transaction, declared in New and run in Run.
func Example_consume() {
	var (
		bus         *events.Bus
		reportingDB *db.DB // migrated with append(own steps, events.Migrations...)
	)
	handler := func(ctx context.Context, tx *gorm.DB, evt events.Event) error {
		switch evt.Type {
		case "bellhop.catalog.room_type.changed.v1":
			var p RoomTypeChangedV1
			if err := evt.Decode(&p); err != nil {
				return err // permanent: straight to the dead letters
			}
			return tx.Exec("UPDATE rooms_available SET total = ? WHERE room_type_id = ?", p.RoomsTotal, p.RoomTypeID).Error
		default:
			return nil // a type this consumer does not know (yet)
		}
	}
	consumer, err := bus.Subscribe("reporting", "catalog",
		[]string{events.Subject("search", "bellhop.catalog.>")}, handler,
		events.SubscribeOptions{DB: reportingDB.DB})
	if err != nil {
		log.Fatal(err)
	}
	// In the module's Run: go consumer.Run(ctx)
	_ = consumer

	// An admin replays a dead letter after a fix:
	dls, _ := events.ListDeadLetters(context.Background(), reportingDB.DB)
	for _, dl := range dls {
		if err := bus.Replay(context.Background(), reportingDB.DB, dl.ID); err != nil && !errors.Is(err, events.ErrDeadLetterNotFound) {
			log.Print(err)
		}
	}
}
