package db

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Migration is one step of a module's schema. IDs sort in the order they run
// ("0001_catalog", "0002_availability"); a step, once released, never changes.
type Migration struct {
	ID string
	Up func(tx *gorm.DB) error
}

// schemaMigration records applied steps. Module is part of the key so modules
// may share one PostgreSQL database without clashing.
type schemaMigration struct {
	Module    string `gorm:"primaryKey;size:64"`
	ID        string `gorm:"primaryKey;size:128"`
	AppliedAt time.Time
}

func (schemaMigration) TableName() string { return "schema_migrations" }

// Migrate applies, in order and each in its own transaction, the steps not yet
// recorded for this module. It is safe to run on every start.
func (d *DB) Migrate(ctx context.Context, steps []Migration) error {
	gdb := d.DB.WithContext(ctx)
	if err := gdb.AutoMigrate(&schemaMigration{}); err != nil {
		return fmt.Errorf("db %s: migrations table: %w", d.Module, err)
	}
	var applied []schemaMigration
	if err := gdb.Where("module = ?", d.Module).Find(&applied).Error; err != nil {
		return fmt.Errorf("db %s: read migrations: %w", d.Module, err)
	}
	done := make(map[string]bool, len(applied))
	for _, m := range applied {
		done[m.ID] = true
	}
	for i, step := range steps {
		if i > 0 && step.ID <= steps[i-1].ID {
			return fmt.Errorf("db %s: migration %q is out of order", d.Module, step.ID)
		}
		if done[step.ID] {
			continue
		}
		err := gdb.Transaction(func(tx *gorm.DB) error {
			if err := step.Up(tx); err != nil {
				return err
			}
			return tx.Create(&schemaMigration{Module: d.Module, ID: step.ID, AppliedAt: time.Now().UTC()}).Error
		})
		if err != nil {
			return fmt.Errorf("db %s: migration %s: %w", d.Module, step.ID, err)
		}
	}
	return nil
}
