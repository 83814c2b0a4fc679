package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/bellhop/bellhop/platform/apperr"
)

// Errors of the dead-letter API.
var (
	ErrDeadLetterNotFound = apperr.NotFound("events.dead_letter_not_found", "there is no such dead letter")
	ErrConsumerNotHosted  = apperr.Conflict("events.consumer_not_hosted",
		"the subscription that dead-lettered this event does not run in this process")
)

// maxErrorText bounds the failure text kept with a dead letter.
const maxErrorText = 8 << 10

// ListDeadLetters returns the dead letters in db (a consuming module's
// database) that have not been replayed, oldest first.
func ListDeadLetters(ctx context.Context, db *gorm.DB) ([]DeadLetter, error) {
	var out []DeadLetter
	err := db.WithContext(ctx).Where("replayed_at IS NULL").Order("id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("events: list dead letters: %w", err)
	}
	return out, nil
}

// Replay re-runs, through the inbox, the handler of the subscription that
// dead-lettered event id in db (the consuming module's database; the
// subscription must run in this process). If the handler succeeds (or the
// event turns out applied already) the dead letter is marked replayed in the
// same transaction, so replaying twice applies the event once. If it fails,
// the dead letter keeps the new error and one more attempt, and the error is
// returned.
func (b *Bus) Replay(ctx context.Context, db *gorm.DB, id int64) error {
	var dl DeadLetter
	err := db.WithContext(ctx).Where("id = ?", id).Take(&dl).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrDeadLetterNotFound
	}
	if err != nil {
		return fmt.Errorf("events: replay %d: %w", id, err)
	}
	if dl.ReplayedAt != nil {
		return nil
	}
	c := b.consumer(dl.Consumer)
	if c == nil {
		return ErrConsumerNotHosted.With("subscription %s does not run in this process", dl.Consumer)
	}
	evt, err := dl.Event()
	if err != nil {
		return fmt.Errorf("events: replay %d: %w", id, err)
	}
	applied, err := c.apply(ctx, db, evt, func(tx *gorm.DB) error {
		return tx.Model(&DeadLetter{}).Where("id = ?", id).
			Updates(map[string]any{"replayed_at": time.Now().UTC(), "updated_at": time.Now().UTC()}).Error
	})
	if err != nil {
		upd := db.WithContext(context.WithoutCancel(ctx)).Model(&DeadLetter{}).Where("id = ?", id).
			Updates(map[string]any{
				"error":      truncate(err.Error(), maxErrorText),
				"attempts":   gorm.Expr("attempts + 1"),
				"updated_at": time.Now().UTC(),
			})
		if upd.Error != nil {
			c.log.Warn("cannot update the dead letter after a failed replay", "id", id, "err", upd.Error)
		}
		return fmt.Errorf("events: replay %d (%s %s): %w", id, evt.Type, evt.ID, err)
	}
	if applied {
		if c.o.Relay != nil {
			c.o.Relay.Notify()
		}
		if c.o.Committed != nil {
			c.o.Committed(ctx, []Event{evt})
		}
		c.bus.metrics.handled.WithLabelValues(c.module, c.name).Inc()
	}
	c.log.Info("dead letter replayed", "id", id, "event_id", evt.ID, "applied", applied)
	return nil
}

// recordDeadLetter writes (or, for an event dead-lettered before and not yet
// replayed, updates) the consumer's dead letter for evt.
func (c *Consumer) recordDeadLetter(ctx context.Context, evt Event, subject string, payload []byte, cause error, attempts int) error {
	now := time.Now().UTC()
	dl := DeadLetter{
		Consumer:  c.key,
		EventID:   evt.ID,
		Type:      evt.Type,
		Subject:   subject,
		Payload:   payload,
		Error:     truncate(cause.Error(), maxErrorText),
		Attempts:  attempts,
		CreatedAt: now,
		UpdatedAt: now,
	}
	// The handler's context may be cancelled by a shutdown; the record must
	// still be written before the message is terminated.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return c.db.WithContext(wctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "consumer"}, {Name: "event_id"}},
		DoUpdates: clause.Assignments(map[string]any{
			"error":       dl.Error,
			"attempts":    gorm.Expr("events_dead_letters.attempts + ?", attempts),
			"payload":     payload,
			"updated_at":  now,
			"replayed_at": nil,
		}),
	}).Create(&dl).Error
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
