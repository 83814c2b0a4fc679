// Package reportinglocal is the in-process reporting module: its own
// database of the events it consumed, the read models built from them
// (bookings, nights, capacity, ledger), the receipts and credit notes it
// issues and the mail outbox it sends. cmd/bellhop builds it with New and
// hosts it.
package reportinglocal

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	"gorm.io/gorm"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/mail"
	"github.com/bellhop/bellhop/platform/validation"
)

// Deps are what the module needs from its host.
type Deps struct {
	DB  *db.DB // the module's own database, migrated with Migrations
	Log *slog.Logger
	// Bus carries the events reporting consumes; nil in tests that feed
	// events with Apply instead.
	Bus *events.Bus
	// Mail delivers the mail outbox; nil queues mail without sending it.
	Mail   mail.Sender
	Config Config
	// Registerer receives the module's metrics; nil keeps them unregistered.
	Registerer prometheus.Registerer
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// Module is the reporting module hosted in this process.
type Module struct {
	svc      *Service
	db       *db.DB
	applier  *applier
	renderer *renderer
	mailer   *mailer
	consumer *events.Consumer
	log      *slog.Logger
}

// New builds the module. It starts nothing: Run does.
func New(d Deps) (*Module, error) {
	if d.DB == nil {
		return nil, fmt.Errorf("reporting: a database is required")
	}
	cfg := d.Config.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("module", reporting.Module)
	now := d.Now
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	met, err := newMetrics(d.Registerer)
	if err != nil {
		return nil, err
	}
	composer, err := newMailComposer(cfg, now)
	if err != nil {
		return nil, err
	}
	m := &Module{
		db:      d.DB,
		applier: &applier{cfg: cfg, mail: composer, metrics: met, now: now},
		log:     log,
	}
	// The renderer's poll only retries a drawing that failed: commits wake it.
	m.renderer = &renderer{db: d.DB, mail: composer, metrics: met, log: log, now: now, poll: cfg.MailPoll,
		wake: make(chan struct{}, 1), rendered: m.wakeMailer}
	m.svc = &Service{store: gormStore{db: d.DB}, validate: validation.New(), render: m.renderer}
	if d.Mail != nil {
		m.mailer = &mailer{db: d.DB, sender: d.Mail, cfg: cfg, metrics: met, log: log, wake: make(chan struct{}, 1), now: now}
	}
	if d.Bus != nil {
		c, err := d.Bus.Subscribe(reporting.Module, "documents", subjects, m.applier.handle, events.SubscribeOptions{
			DB: d.DB.DB, Log: log, Committed: func(context.Context, []events.Event) { m.afterCommit() },
		})
		if err != nil {
			return nil, err
		}
		m.consumer = c
	}
	return m, nil
}

// Service is the module's reporting.Service.
func (m *Module) Service() reporting.Service { return m.svc }

// Run runs the event consumer, the renderer and the mail loop until ctx is
// done.
func (m *Module) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	if m.consumer != nil {
		g.Go(func() error { return m.consumer.Run(ctx) })
	}
	g.Go(func() error { return m.renderer.Run(ctx) })
	if m.mailer != nil {
		g.Go(func() error { return m.mailer.Run(ctx) })
	}
	g.Go(func() error { <-ctx.Done(); return nil })
	return g.Wait()
}

func (m *Module) wakeMailer() {
	if m.mailer != nil {
		m.mailer.notify()
	}
}

// afterCommit follows a committed batch of events: documents to draw, and
// welcome mail to send.
func (m *Module) afterCommit() {
	m.renderer.notify()
	m.wakeMailer()
}

// Apply handles evt as the consumer would, in a transaction of its own
// with the same inbox, then draws the documents it issued (as the renderer
// would after the commit): for tests and tools that feed events without a
// bus. An event applied before changes nothing.
func (m *Module) Apply(ctx context.Context, evt events.Event) error {
	err := m.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Exec("INSERT INTO events_inbox (consumer, event_id, handled_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
			reporting.Module+".documents", evt.ID, time.Now().UTC())
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return nil
		}
		return m.applier.handle(ctx, tx, evt)
	})
	if err != nil {
		return err
	}
	m.wakeMailer()
	_, err = m.renderer.renderPending(ctx)
	return err
}

// RenderPending draws the documents not drawn yet now (tests, tools) and
// returns how many it stored.
func (m *Module) RenderPending(ctx context.Context) (int, error) {
	return m.renderer.renderPending(ctx)
}

// SendMail makes one pass over the mail outbox now (tests, tools).
func (m *Module) SendMail(ctx context.Context) error {
	if m.mailer == nil {
		return fmt.Errorf("reporting: no mail sender configured")
	}
	_, err := m.mailer.sendDue(ctx)
	return err
}

// RebuildStats says what Rebuild did.
type RebuildStats struct {
	Events    int `json:"events"`
	Documents int `json:"documents"` // issued documents, all kept
}

// Rebuild empties the read models and applies every event reporting has
// kept, in the order it received them, in one transaction. Issued documents
// and mail are left exactly as they are: the ledger takes its figures from
// the documents as issued, so the reports come out as before.
func (m *Module) Rebuild(ctx context.Context) (RebuildStats, error) {
	var st RebuildStats
	err := m.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, t := range readModels {
			if err := tx.Session(&gorm.Session{AllowGlobalUpdate: true}).Delete(t).Error; err != nil {
				return fmt.Errorf("empty %T: %w", t, err)
			}
		}
		var last int64
		for {
			var batch []eventRow
			if err := tx.Where("seq > ?", last).Order("seq").Limit(500).Find(&batch).Error; err != nil {
				return err
			}
			if len(batch) == 0 {
				break
			}
			for _, r := range batch {
				var evt events.Event
				if err := json.Unmarshal(r.Envelope, &evt); err != nil {
					return fmt.Errorf("event %s: %w", r.EventID, err)
				}
				if err := m.applier.apply(ctx, tx, evt, false); err != nil {
					return fmt.Errorf("event %s (%s): %w", r.EventID, r.Type, err)
				}
				last = r.Seq
				st.Events++
			}
		}
		var n int64
		if err := tx.Model(&documentRow{}).Count(&n).Error; err != nil {
			return err
		}
		st.Documents = int(n)
		return nil
	})
	return st, err
}
