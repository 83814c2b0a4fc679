package db_test

import (
	"context"
	"slices"
	"testing"

	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/db/dbtest"
)

type filterRow struct {
	ID     string `gorm:"primaryKey"`
	Guest  string
	Status string
}

// Filter applies only the conditions whose value is set: an empty filter
// selects everything, each set one narrows.
func TestFilter(t *testing.T) {
	t.Parallel()
	d := dbtest.Open(t, "filter", nil)
	ctx := context.Background()
	if err := d.Migrator().CreateTable(&filterRow{}); err != nil {
		t.Fatal(err)
	}
	rows := []filterRow{{"a", "g1", "pending"}, {"b", "g1", "confirmed"}, {"c", "g2", "pending"}}
	if err := d.WithContext(ctx).Create(&rows).Error; err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name          string
		guest, status string
		want          []string
	}{
		{"None", "", "", []string{"a", "b", "c"}},
		{"Guest", "g1", "", []string{"a", "b"}},
		{"Status", "", "pending", []string{"a", "c"}},
		{"Both", "g1", "pending", []string{"a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ids []string
			q := db.Filter(d.WithContext(ctx).Model(&filterRow{}), db.IfSet("guest = ?", tc.guest), db.IfSet("status = ?", tc.status))
			if err := q.Order("id").Pluck("id", &ids).Error; err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids, tc.want) {
				t.Fatalf("ids = %v, want %v", ids, tc.want)
			}
		})
	}
}
