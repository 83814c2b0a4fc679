package db_test

import (
	"context"
	"errors"
	"testing"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/db/dbtest"
)

type widgetRow struct {
	ID   string `gorm:"primaryKey"`
	Name string
}

func TestTakeByID(t *testing.T) {
	t.Parallel()
	d := dbtest.Open(t, "widgets", []db.Migration{{ID: "1", Up: func(tx *gorm.DB) error { return tx.Migrator().CreateTable(&widgetRow{}) }}})
	if err := d.Create(&widgetRow{ID: "w1", Name: "one"}).Error; err != nil {
		t.Fatal(err)
	}
	errNoWidget := apperr.NotFound("widgets.not_found", "no such widget")
	got, err := db.TakeByID[widgetRow](context.Background(), d.DB, "widget", "w1", errNoWidget)
	if err != nil || got.Name != "one" {
		t.Fatalf("TakeByID(w1) = %+v, %v", got, err)
	}
	if _, err := db.TakeByID[widgetRow](context.Background(), d.DB, "widget", "w2", errNoWidget); !errors.Is(err, errNoWidget) {
		t.Fatalf("TakeByID(w2) err = %v, want the not-found error", err)
	}
	if _, err := db.TakeByID[struct{ Nope int }](context.Background(), d.DB.Table("no_such_table"), "widget", "w1", errNoWidget); apperr.CodeOf(err) != apperr.CodeInternal {
		t.Fatalf("a failing read: err = %v, want internal", err)
	}
}
