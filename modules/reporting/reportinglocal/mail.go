package reportinglocal

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/ids"
	"github.com/bellhop/bellhop/platform/mail"
	"github.com/bellhop/bellhop/platform/retry"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// Kinds of mail.
const (
	mailWelcome  = "welcome"
	mailDocument = "document"
	// mailRegistrationAttempt tells an account's owner that someone tried
	// to register their address (account_mail.go).
	mailRegistrationAttempt = "registration_attempt"
)

// mailComposer renders mail into the outbox, in the caller's transaction.
type mailComposer struct {
	cfg      Config
	welcomeT *mail.Template
	docT     *mail.Template
	attemptT *mail.Template
	now      func() time.Time
}

func newMailComposer(cfg Config, now func() time.Time) (*mailComposer, error) {
	load := func(name string) (*mail.Template, error) {
		src, err := templateFS.ReadFile("templates/" + name)
		if err != nil {
			return nil, err
		}
		return mail.ParseTemplate(name, string(src))
	}
	w, err := load("welcome.tmpl")
	if err != nil {
		return nil, err
	}
	d, err := load("document.tmpl")
	if err != nil {
		return nil, err
	}
	a, err := load("registration_attempt.tmpl")
	if err != nil {
		return nil, err
	}
	return &mailComposer{cfg: cfg, welcomeT: w, docT: d, attemptT: a, now: now}, nil
}

// queue writes a mail row; a row with the same Message-ID already queued
// (the same document or user seen again) is left alone: one email each.
func (c *mailComposer) queue(tx *gorm.DB, r mailRow) error {
	r.ID = ids.New("mail")
	r.CreatedAt = c.now()
	r.NextAttemptAt = r.CreatedAt
	return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&r).Error
}

func (c *mailComposer) welcome(tx *gorm.DB, u userRegistered) error {
	name := u.Name
	if name == "" {
		name = u.Email
	}
	subject, text, html, err := c.welcomeT.Render(map[string]string{"Name": name, "Email": u.Email})
	if err != nil {
		return err
	}
	return c.queue(tx, mailRow{
		MessageID: "welcome." + u.UserID + "@" + c.cfg.MessageIDDomain, Kind: mailWelcome,
		ToAddress: u.Email, ToName: u.Name, Subject: subject, Text: text, HTML: html,
	})
}

func (c *mailComposer) document(tx *gorm.DB, d *documentRow, m docModel) error {
	if m.GuestEmail == "" {
		return nil
	}
	data := map[string]any{
		"Kind": m.Kind, "Number": m.Number, "Corrects": m.Corrects, "GuestName": m.GuestName,
		"HotelName": m.HotelName, "RoomType": m.RoomType, "CheckIn": m.CheckIn.String(), "CheckOut": m.CheckOut.String(),
		"BookingID": m.BookingID, "Total": fmtMoney(abs(m.Total), m.Currency),
	}
	subject, text, html, err := c.docT.Render(data)
	if err != nil {
		return err
	}
	return c.queue(tx, mailRow{
		MessageID: d.ID + "@" + c.cfg.MessageIDDomain, Kind: mailDocument, DocumentID: d.ID,
		ToAddress: m.GuestEmail, ToName: m.GuestName, Subject: subject, Text: text, HTML: html,
	})
}

func abs(a int64) int64 {
	if a < 0 {
		return -a
	}
	return a
}

// metrics are the module's: mail queued, sent, failed, and the age of the
// oldest mail waiting; documents issued.
type metrics struct {
	queued    prometheus.Gauge
	oldestAge prometheus.Gauge
	sent      prometheus.Counter
	failed    prometheus.Counter
	documents *prometheus.CounterVec
	// renderSeconds is the time to draw one PDF; documentDelay the time
	// from the booking's change (its event) to its document stored.
	renderSeconds prometheus.Histogram
	documentDelay *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		queued: prometheus.NewGauge(prometheus.GaugeOpts{Name: "bellhop_reporting_mail_queued",
			Help: "Emails waiting in reporting's mail outbox."}),
		oldestAge: prometheus.NewGauge(prometheus.GaugeOpts{Name: "bellhop_reporting_mail_oldest_age_seconds",
			Help: "Age of the oldest email waiting in reporting's mail outbox (0 when none waits)."}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{Name: "bellhop_reporting_mail_sent_total",
			Help: "Emails reporting delivered to the mail server."}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "bellhop_reporting_mail_failed_total",
			Help: "Attempts to deliver an email that failed (each is retried with backoff)."}),
		documents: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bellhop_reporting_documents_issued_total",
			Help: "Receipts and credit notes issued."}, []string{"kind"}),
		renderSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "bellhop_reporting_document_render_seconds",
			Help: "Time to draw one receipt or credit note PDF.", Buckets: prometheus.ExponentialBuckets(0.0002, 2, 12)}),
		documentDelay: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bellhop_reporting_document_delay_seconds",
			Help:    "Time from the booking event (its commit in bookings) to its receipt or credit note stored with its PDF.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}, []string{"kind"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.queued, m.oldestAge, m.sent, m.failed, m.documents, m.renderSeconds, m.documentDelay} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("reporting metrics: %w", err)
			}
		}
	}
	return m, nil
}

// mailer is the loop that sends the mail outbox: due rows oldest first,
// each attempt spaced by backoff while the server fails.
type mailer struct {
	db      *db.DB
	sender  mail.Sender
	cfg     Config
	metrics *metrics
	log     *slog.Logger
	wake    chan struct{}
	now     func() time.Time
}

// notify wakes the loop (after a commit that queued mail).
func (m *mailer) notify() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Run sends until ctx is done.
func (m *mailer) Run(ctx context.Context) error {
	for {
		next, err := m.sendDue(ctx)
		if err != nil && ctx.Err() == nil {
			m.log.Warn("mail outbox", "err", err)
		}
		wait := m.cfg.MailPoll
		if !next.IsZero() {
			wait = min(wait, max(time.Until(next), 10*time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-m.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// sendDue sends every due mail and returns when the next one falls due.
func (m *mailer) sendDue(ctx context.Context) (time.Time, error) {
	for ctx.Err() == nil {
		var rows []mailRow
		now := m.now()
		if err := m.db.WithContext(ctx).Where("sent_at IS NULL AND next_attempt_at <= ?", now).
			Order("next_attempt_at, id").Limit(50).Find(&rows).Error; err != nil {
			return time.Time{}, err
		}
		if err := m.refreshGauges(ctx); err != nil {
			return time.Time{}, err
		}
		if len(rows) == 0 {
			var next mailRow
			err := m.db.WithContext(ctx).Where("sent_at IS NULL").Order("next_attempt_at").Take(&next).Error
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return time.Time{}, nil
			}
			return next.NextAttemptAt, err
		}
		for _, r := range rows {
			if err := m.send(ctx, r); err != nil {
				return time.Time{}, err
			}
		}
	}
	return time.Time{}, nil
}

// send makes one attempt. A failure to deliver is recorded and retried
// later; only a database failure is returned.
func (m *mailer) send(ctx context.Context, r mailRow) error {
	msg := mail.Message{From: m.cfg.MailFrom, To: r.ToAddress, ToName: r.ToName, Subject: r.Subject,
		MessageID: r.MessageID, Date: r.CreatedAt, Text: r.Text, HTML: r.HTML}
	if r.DocumentID != "" {
		var d documentRow
		if err := m.db.WithContext(ctx).Where("id = ?", r.DocumentID).Take(&d).Error; err != nil {
			return err
		}
		info := d.info()
		msg.Attachments = []mail.Attachment{{Filename: info.Filename, ContentType: "application/pdf", Data: d.PDF}}
	}
	sendCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := m.sender.Send(sendCtx, msg)
	cancel()
	if err == nil {
		m.metrics.sent.Inc()
		return m.markSent(ctx, r)
	}
	if ctx.Err() != nil {
		return nil // shutting down: the mail stays due
	}
	m.metrics.failed.Inc()
	attempts := r.Attempts + 1
	delay := max(retry.Backoff(m.cfg.MailRetryBase, m.cfg.MailRetryMax, attempts), m.cfg.MailRetryBase/2)
	m.log.Warn("mail not delivered; will retry", "message_id", r.MessageID, "kind", r.Kind, "attempts", attempts, "retry_in", delay, "err", err)
	return m.update(ctx, r.ID, map[string]any{"attempts": attempts, "next_attempt_at": m.now().Add(delay), "last_error": truncate(err.Error(), 500)})
}

// update writes what an attempt found, ahead of new work at the write gate
// (platform/db): a mail sent is work under way.
func (m *mailer) update(ctx context.Context, id string, set map[string]any) error {
	return m.db.WithContext(db.WithPriority(ctx)).Model(&mailRow{}).Where("id = ?", id).Updates(set).Error
}

// markSent records a delivered mail. The mail is out: a row left unsent
// would be mailed again, so it tries again while the database refuses (a
// busy SQLite file), and finishes even when ctx ends (shutting down), within
// markSentTimeout.
func (m *mailer) markSent(ctx context.Context, r mailRow) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markSentTimeout)
	defer cancel()
	sentAt := m.now()
	for attempt := 1; ; attempt++ {
		err := m.update(ctx, r.ID, map[string]any{"sent_at": sentAt, "attempts": r.Attempts + 1, "last_error": ""})
		if err == nil {
			return nil
		}
		if !retry.Sleep(ctx, retry.Backoff(50*time.Millisecond, 2*time.Second, attempt)) {
			return fmt.Errorf("mail %s delivered but not marked sent, so it may be sent again: %w", r.MessageID, err)
		}
	}
}

// markSentTimeout bounds markSent's attempts.
const markSentTimeout = 20 * time.Second

func (m *mailer) refreshGauges(ctx context.Context) error {
	var st struct {
		N      int64
		Oldest *time.Time
	}
	var rows []mailRow
	if err := m.db.WithContext(ctx).Select("created_at").Where("sent_at IS NULL").Order("created_at").Limit(1).Find(&rows).Error; err != nil {
		return err
	}
	if err := m.db.WithContext(ctx).Model(&mailRow{}).Where("sent_at IS NULL").Count(&st.N).Error; err != nil {
		return err
	}
	m.metrics.queued.Set(float64(st.N))
	if len(rows) == 0 {
		m.metrics.oldestAge.Set(0)
	} else {
		m.metrics.oldestAge.Set(m.now().Sub(rows[0].CreatedAt).Seconds())
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
