package db_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/platform/db"
)

type blob struct {
	ID   int `gorm:"primaryKey"`
	Data []byte
}

// Commits do not checkpoint (wal_autocheckpoint is 0 on every connection of
// the pool); the checkpointer copies the log into the database file beside
// them, and the file holds every commit soon after.
func TestSQLite_CheckpointsInTheBackground(t *testing.T) {
	dir := t.TempDir()
	d, err := db.Open(context.Background(), db.Options{Module: "ckpt", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Migrate(context.Background(), []db.Migration{
		{ID: "0001_blob", Up: func(tx *gorm.DB) error { return tx.Migrator().CreateTable(&blob{}) }},
	}); err != nil {
		t.Fatal(err)
	}
	// Every connection of the pool, not only the first.
	sqlDB, err := d.DB.DB()
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		c, err := sqlDB.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var pages int
		if err := c.QueryRowContext(context.Background(), "PRAGMA wal_autocheckpoint").Scan(&pages); err != nil || pages != 0 {
			t.Fatalf("wal_autocheckpoint = %d (%v), want 0", pages, err)
		}
	}

	// 1,500 commits of 4 KiB: past the 1,000 pages at which a commit would
	// checkpoint by itself.
	data := bytes.Repeat([]byte("x"), 4096)
	for i := range 1500 {
		if err := d.Create(&blob{ID: i + 1, Data: data}).Error; err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "ckpt.db")
	want := int64(1500 * 4096)
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() >= want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the database file is %d bytes 10s after the commits, want ≥ %d: nothing checkpointed the log", st.Size(), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var n int64
	if err := d.Model(&blob{}).Count(&n).Error; err != nil || n != 1500 {
		t.Fatalf("%d rows (%v), want 1500", n, err)
	}
}
