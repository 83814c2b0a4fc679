package reportinglocal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/platform/db"
)

// renderer draws the PDFs of issued documents after the transaction that
// numbered them has committed, so the event consumer's write transaction
// (and SQLite's one write lock) is never held while a PDF is drawn. A
// document numbered but not yet drawn has no rendered_at; the renderer finds
// such documents after every commit and at start, so a crash between the
// commit and the drawing only delays the PDF. Drawing depends on the stored
// model alone, and storing it is guarded by rendered_at IS NULL, so drawing
// twice stores one PDF and queues one email.
type renderer struct {
	db      *db.DB
	mail    *mailComposer
	metrics *metrics
	log     *slog.Logger
	now     func() time.Time
	poll    time.Duration
	wake    chan struct{}
	// rendered is called after a pass that queued mail (wakes the mailer).
	rendered func()
}

// notify wakes the loop (after a commit that may have issued documents).
func (r *renderer) notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run draws documents until ctx is done: at start, after each commit, and
// every poll interval (a document whose drawing failed is tried again).
func (r *renderer) Run(ctx context.Context) error {
	for {
		if _, err := r.renderPending(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("render documents", "err", err)
		}
		t := time.NewTimer(r.poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-r.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// renderPending draws every document not drawn yet, oldest first, and
// returns how many it stored. A document that fails to draw is logged and
// left for the next pass; the others go on.
func (r *renderer) renderPending(ctx context.Context) (int, error) {
	n := 0
	lastID := "" // ids sort by time of issue
	for ctx.Err() == nil {
		var batch []documentRow
		q := r.db.WithContext(ctx).Omit("pdf").Where("rendered_at IS NULL AND id > ?", lastID)
		if err := q.Order("id").Limit(50).Find(&batch).Error; err != nil {
			return n, err
		}
		if len(batch) == 0 {
			break
		}
		for i := range batch {
			d := &batch[i]
			lastID = d.ID
			stored, err := r.render(ctx, d)
			if err != nil {
				if ctx.Err() != nil {
					return n, nil
				}
				r.log.Error("render document; will retry", "document", d.ID, "number", d.Number, "err", err)
				continue
			}
			if stored {
				n++
			}
		}
	}
	if n > 0 && r.rendered != nil {
		r.rendered()
	}
	return n, nil
}

// render draws d (a document row without its PDF) and, unless another pass
// stored it first, stores the PDF and queues its email in one short
// transaction. d is updated with what was stored.
func (r *renderer) render(ctx context.Context, d *documentRow) (bool, error) {
	var m docModel
	if err := json.Unmarshal(d.Model, &m); err != nil {
		return false, fmt.Errorf("document %s: model: %w", d.ID, err)
	}
	start := time.Now()
	pdf, err := renderDocument(m, d.IssuedAt)
	if err != nil {
		return false, err
	}
	r.metrics.renderSeconds.Observe(time.Since(start).Seconds())
	sum := sha256.Sum256(pdf)
	now := r.now()
	stored := false
	// Finishing a document already issued goes before new work on SQLite's
	// one writer, like the consumer's own transactions: at normal priority
	// a steady stream of events starved the renderer.
	err = r.db.WithContext(db.WithPriority(ctx)).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&documentRow{}).Where("id = ? AND rendered_at IS NULL", d.ID).
			Updates(map[string]any{"pdf": pdf, "sha256": hex.EncodeToString(sum[:]), "rendered_at": now})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error // drawn by another pass: its PDF and mail stand
		}
		d.PDF, d.SHA256, d.RenderedAt = pdf, hex.EncodeToString(sum[:]), &now
		stored = true
		return r.mail.document(tx, d, m)
	})
	if err != nil {
		return false, err
	}
	if stored {
		// The document's event time is when the booking's change committed:
		// this is the delay from that commit to the document a guest can get.
		r.metrics.documentDelay.WithLabelValues(d.Kind).Observe(now.Sub(d.IssuedAt).Seconds())
	}
	return stored, nil
}

// ensureRendered draws the documents among docs not drawn yet (a request
// that came before the renderer got to them) and fills in their PDFs.
func (r *renderer) ensureRendered(ctx context.Context, docs []documentRow) error {
	n := 0
	for i := range docs {
		d := &docs[i]
		if d.RenderedAt != nil {
			continue
		}
		stored, err := r.render(ctx, d)
		if err != nil {
			return err
		}
		if stored {
			n++
		} else { // drawn meanwhile: read what was stored
			if err := r.db.WithContext(ctx).Where("id = ?", d.ID).Take(d).Error; err != nil {
				return err
			}
		}
	}
	if n > 0 && r.rendered != nil {
		r.rendered()
	}
	return nil
}
