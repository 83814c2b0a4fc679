package events_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/bellhop/bellhop/platform/db/dbtest"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/events/eventstest"
)

// The monitor sees what any relay publishes, newest first, and counts it.
func TestMonitor(t *testing.T) {
	bus := eventstest.Bus(t)
	reg := prometheus.NewRegistry()
	mon, err := events.NewMonitor(bus, 3, reg)
	if err != nil {
		t.Fatal(err)
	}
	eventstest.Run(t, mon)
	d := dbtest.Open(t, "monitored", events.Migrations)
	relay, err := events.NewRelay(bus, events.RelayOptions{Module: "monitored", DB: d.DB})
	if err != nil {
		t.Fatal(err)
	}
	eventstest.Run(t, relay)
	time.Sleep(50 * time.Millisecond) // the monitor's subscription is live before publishing
	var ids []string
	for i := range 5 {
		evt, err := events.New(context.Background(), "monitored", "bellhop.thing.happened.v1", map[string]int{"n": i})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, evt.ID)
		if err := relay.Transaction(context.Background(), func(tx *gorm.DB) error { return events.Record(tx, evt) }); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for observed(t, reg) < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("monitor saw %v events", observed(t, reg))
		}
		time.Sleep(10 * time.Millisecond)
	}
	recent := mon.Recent(10)
	if len(recent) != 3 || recent[0].ID != ids[4] || recent[2].ID != ids[2] || recent[0].Type != "bellhop.thing.happened.v1" || recent[0].Source != "monitored" {
		t.Fatalf("recent = %+v", recent)
	}
	if got := mon.Recent(1); len(got) != 1 || got[0].ID != ids[4] {
		t.Fatalf("recent(1) = %+v", got)
	}
}

// observed sums bellhop_events_observed_total over its labels.
func observed(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() == "bellhop_events_observed_total" {
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}
