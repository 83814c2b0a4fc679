package db_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/db/dbtest"
)

type counter struct {
	ID    int `gorm:"primaryKey"`
	Value int
}

var steps = []db.Migration{
	{ID: "0001_counter", Up: func(tx *gorm.DB) error { return tx.Migrator().CreateTable(&counter{}) }},
	{ID: "0002_seed", Up: func(tx *gorm.DB) error { return tx.Create(&counter{ID: 1}).Error }},
}

func TestMigrate_IsIdempotent(t *testing.T) {
	d := dbtest.Open(t, "test", steps)
	if err := d.Migrate(context.Background(), steps); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	var n int64
	d.Model(&counter{}).Count(&n)
	if n != 1 {
		t.Fatalf("rows = %d, want 1 (seed step ran twice?)", n)
	}
}

func TestMigrate_RejectsOutOfOrder(t *testing.T) {
	d := dbtest.Open(t, "test", nil)
	bad := []db.Migration{steps[1], steps[0]}
	if err := d.Migrate(context.Background(), bad); err == nil {
		t.Fatal("want an error for out-of-order steps")
	}
}

// Read-then-write transactions must not fail with "database is locked" under
// concurrency: they begin IMMEDIATE and queue on the busy timeout.
func TestSQLite_ConcurrentReadThenWrite(t *testing.T) {
	d := dbtest.Open(t, "test", steps)
	const workers = 64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			errs <- d.Transaction(func(tx *gorm.DB) error {
				var c counter
				if err := tx.First(&c, 1).Error; err != nil {
					return err
				}
				return tx.Model(&c).Update("value", c.Value+1).Error
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("transaction failed: %v", err)
		}
	}
	var c counter
	d.First(&c, 1)
	if c.Value != workers {
		t.Fatalf("value = %d, want %d (lost updates)", c.Value, workers)
	}
}

func TestUniqueViolation(t *testing.T) {
	d := dbtest.Open(t, "test", steps)
	err := d.Create(&counter{ID: 1}).Error
	if !db.IsUniqueViolation(err) {
		t.Fatalf("err = %v, want a unique violation", err)
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		t.Fatal("confused errors")
	}
}

// More writers than pooled connections, each preparing a statement of its
// own, with readers doing the same meanwhile: every transaction commits and
// no update is lost. (The gate's ordering is tested in gate_test.go.)
func TestSQLite_WriteBurstSmallPool(t *testing.T) {
	d, err := db.Open(context.Background(), db.Options{Module: "burst", DataDir: t.TempDir(), MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if err := d.Migrate(context.Background(), steps); err != nil {
		t.Fatal(err)
	}
	const writers, readers = 64, 16
	var wg sync.WaitGroup
	errs := make(chan error, writers+readers)
	for i := range writers {
		wg.Go(func() {
			errs <- d.Transaction(func(tx *gorm.DB) error {
				var c counter
				if err := tx.First(&c, 1).Error; err != nil {
					return err
				}
				// A statement no one prepared before.
				if err := tx.Exec(fmt.Sprintf("UPDATE counters SET value = value + 1 WHERE id = 1 AND %d = %d", i, i)).Error; err != nil {
					return err
				}
				return nil
			})
		})
	}
	for i := range readers {
		wg.Go(func() {
			var n int
			errs <- d.Raw(fmt.Sprintf("SELECT value + %d FROM counters WHERE id = 1", i)).Scan(&n).Error
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("failed: %v", err)
		}
	}
	var c counter
	d.First(&c, 1)
	if c.Value != writers {
		t.Fatalf("value = %d, want %d", c.Value, writers)
	}
}

// A lone write (Create, Update, Delete outside a transaction) takes its turn
// at the process's write gate like a transaction: while another transaction
// writes, it waits there, and gives up when its context ends, rather than
// sleeping in SQLite's busy handler until the busy timeout (5 s) says
// "database is locked". Once the transaction ends it goes through.
func TestSQLite_LoneWriteWaitsAtTheGate(t *testing.T) {
	d := dbtest.Open(t, "test", steps)
	tx := d.Begin()
	if err := tx.Model(&counter{}).Where("id = 1").Update("value", 1).Error; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	began := time.Now()
	err := d.WithContext(ctx).Model(&counter{}).Where("id = 1").Update("value", 2).Error
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a lone write while a transaction writes: %v after %v, want it to wait at the gate until its context ends", err, time.Since(began))
	}
	if err := tx.Commit().Error; err != nil {
		t.Fatal(err)
	}
	if err := d.Model(&counter{}).Where("id = 1").Update("value", 3).Error; err != nil {
		t.Fatalf("a lone write after the transaction: %v", err)
	}
	var c counter
	if err := d.First(&c, 1).Error; err != nil || c.Value != 3 {
		t.Fatalf("counter %+v (%v), want 3", c, err)
	}
}
