// Package dbtest opens real module databases for tests: a SQLite file in the
// test's temp directory, migrated, and closed when the test ends.
package dbtest

import (
	"context"
	"testing"

	"github.com/bellhop/bellhop/platform/db"
)

// Open returns a migrated SQLite database for module in t.TempDir().
func Open(tb testing.TB, module string, steps []db.Migration) *db.DB {
	tb.Helper()
	d, err := db.Open(context.Background(), db.Options{Module: module, DataDir: tb.TempDir()})
	if err != nil {
		tb.Fatalf("open %s db: %v", module, err)
	}
	tb.Cleanup(func() { _ = d.Close() })
	if err := d.Migrate(context.Background(), steps); err != nil {
		tb.Fatalf("migrate %s db: %v", module, err)
	}
	return d
}
