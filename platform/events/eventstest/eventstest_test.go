package eventstest_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/platform/db/dbtest"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/events/eventstest"
)

type greeted struct {
	Name string `json:"name"`
}

// What a module's test looks like: one publisher, one consumer, one event.
func TestBusAndRun(t *testing.T) {
	bus := eventstest.Bus(t)
	pub := dbtest.Open(t, "auth", events.Migrations)
	sub := dbtest.Open(t, "reporting", events.Migrations)

	relay, err := events.NewRelay(bus, events.RelayOptions{Module: "auth", DB: pub.DB})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	c, err := bus.Subscribe("reporting", "welcome", []string{events.Subject("auth", "bellhop.user.>")},
		func(ctx context.Context, tx *gorm.DB, evt events.Event) error {
			var p greeted
			if err := evt.Decode(&p); err != nil {
				return err
			}
			got <- p.Name
			return nil
		}, events.SubscribeOptions{DB: sub.DB})
	if err != nil {
		t.Fatal(err)
	}
	eventstest.Run(t, relay)
	eventstest.Run(t, c)

	evt, err := events.New(context.Background(), "auth", "bellhop.user.registered.v1", greeted{Name: "Zoë"})
	if err != nil {
		t.Fatal(err)
	}
	if err := relay.Transaction(context.Background(), func(tx *gorm.DB) error { return events.Record(tx, evt) }); err != nil {
		t.Fatal(err)
	}
	select {
	case name := <-got:
		if name != "Zoë" {
			t.Errorf("name = %q", name)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the event never arrived")
	}
}
