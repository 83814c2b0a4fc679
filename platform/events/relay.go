package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/observability"
	"github.com/bellhop/bellhop/platform/retry"
)

// maxBatch is the default number of outbox rows a relay publishes before it
// waits for their acknowledgements and marks them published.
const maxBatch = 256

// RelayOptions configure a module's [Relay].
type RelayOptions struct {
	// Module is the publishing module: the relay publishes its outbox rows
	// (those whose source it is) to its stream.
	Module string
	// DB is the module's database, migrated with [Migrations].
	DB *gorm.DB
	// BatchSize is how many rows are published before waiting for their
	// acknowledgements (default 256).
	BatchSize int
	// PollInterval is the fallback for rows nobody notified the relay of, for
	// instance written by another process (default 1s). It is also how often
	// the backlog metrics are refreshed.
	PollInterval time.Duration
	// Retention is how long published rows stay in the outbox, for
	// inspection, before they are pruned (default 24h).
	Retention time.Duration
	// PruneInterval is how often pruning runs (default 1 minute).
	PruneInterval time.Duration
	// AckTimeout bounds the wait for JetStream's acknowledgements of a batch
	// (default 5s).
	AckTimeout time.Duration
	Log        *slog.Logger
}

// Relay publishes a module's outbox to JetStream. Build it with [NewRelay]
// and run it with Run: it publishes pending rows in outbox order, with the
// event id as the Nats-Msg-Id (JetStream drops a copy it has seen within its
// duplicate window), waits for the acknowledgements, then hands the rows to a
// marker goroutine that marks them published (coalesced, off the publishing
// path: a busy SQLite database makes writers wait for its lock). A relay that
// stops between publishing and marking republishes those rows when it starts
// again; JetStream drops the copies, and the consumers' inboxes make any copy
// past the window harmless.
//
// It reads after an in-memory cursor (the last row it published) and, once
// everything published is marked, rescans from the start on the fallback
// poll: a PostgreSQL row whose transaction committed after a later row's is
// published then.
//
// Order: rows are published in outbox order. A publish that fails in the
// middle of a batch is retried from that row, so a later row of the same
// batch may already be in the stream before it; consumers must not rely on
// strict order (redeliveries after a failure reorder events anyway). Run one
// relay per module database: two (say, two copies of a module on one
// PostgreSQL database) are safe, as above, but do the work twice.
type Relay struct {
	bus     *Bus
	db      *gorm.DB
	o       RelayOptions
	log     *slog.Logger
	wake    chan struct{}
	running atomic.Bool

	mu       sync.Mutex
	unmarked []int64 // seqs published, not yet marked
	marking  int     // seqs taken from unmarked by a mark not yet committed
	markWake chan struct{}
}

// NewRelay builds the relay of o.Module's outbox. It starts nothing: Run does.
func NewRelay(b *Bus, o RelayOptions) (*Relay, error) {
	if b == nil {
		return nil, errors.New("events: relay needs a bus")
	}
	if !moduleRE.MatchString(o.Module) {
		return nil, fmt.Errorf("events: relay: invalid module name %q", o.Module)
	}
	if o.DB == nil {
		return nil, fmt.Errorf("events: relay %s: no database", o.Module)
	}
	if o.BatchSize <= 0 {
		o.BatchSize = maxBatch
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.Retention <= 0 {
		o.Retention = 24 * time.Hour
	}
	if o.PruneInterval <= 0 {
		o.PruneInterval = time.Minute
	}
	if o.AckTimeout <= 0 {
		o.AckTimeout = 5 * time.Second
	}
	log := o.Log
	if log == nil {
		log = b.log
	}
	return &Relay{
		bus:      b,
		db:       o.DB,
		o:        o,
		log:      log.With("component", "events.relay", "module", o.Module),
		wake:     make(chan struct{}, 1),
		markWake: make(chan struct{}, 1),
	}, nil
}

// Notify wakes the relay up: call it after committing a transaction that
// recorded events. It never blocks; notifications while the relay is busy
// coalesce into one more round.
func (r *Relay) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Transaction is [Outbox.Transaction] on the relay's database: for a test's
// stand-in of a publishing module. Modules use the Outbox [Wire] gives them.
func (r *Relay) Transaction(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return NewOutbox(r.db, r).Transaction(ctx, fn)
}

// Run publishes until ctx is done, then returns nil. Failures (NATS or the
// database unavailable) are logged, counted and retried with backoff.
func (r *Relay) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return fmt.Errorf("events: relay %s is already running", r.o.Module)
	}
	defer r.running.Store(false)

	// The marker records what was published, apart from the publishing: a
	// module busy writing holds SQLite's write lock most of the time, and
	// waiting for it must not hold up the next events.
	markCtx, stopMarker := context.WithCancel(context.WithoutCancel(ctx))
	var marker sync.WaitGroup
	marker.Go(func() { r.markLoop(markCtx) })
	defer func() { stopMarker(); marker.Wait() }()

	bo := Backoff{Initial: 100 * time.Millisecond, Max: 5 * time.Second}
	poll := time.NewTicker(r.o.PollInterval)
	defer poll.Stop()
	prune := time.NewTicker(r.o.PruneInterval)
	defer prune.Stop()
	failures := 0
	streamReady := false
	cursor := int64(0) // rows up to here were published by this run (or skipped as not yet visible)
	for {
		err := r.round(ctx, &streamReady, &cursor)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			// Set the stream up again before the next try: it may have been
			// deleted or changed (an external server reset, an operator).
			streamReady = false
			failures++
			r.bus.metrics.publishErrors.WithLabelValues(r.o.Module).Inc()
			r.log.Warn("publishing the outbox failed; retrying", "err", err, "failures", failures)
			r.refreshBacklog(ctx)
			if !retry.Sleep(ctx, bo.Delay(failures)) {
				return nil
			}
			continue
		}
		if failures > 0 {
			r.log.Info("publishing the outbox again", "after_failures", failures)
			failures = 0
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		case <-poll.C:
			// A row whose transaction committed after a later one (possible
			// in PostgreSQL) sits below the cursor: once everything published
			// is marked, rescan from the start.
			if r.unmarkedCount() == 0 {
				cursor = 0
			}
			r.refreshBacklog(ctx)
		case <-prune.C:
			r.prune(ctx)
		}
	}
}

// round sets the stream up if needed, then publishes everything pending.
func (r *Relay) round(ctx context.Context, streamReady *bool, cursor *int64) error {
	if !*streamReady {
		if err := r.bus.ensureStream(ctx, r.o.Module, true); err != nil {
			return err
		}
		*streamReady = true
		r.prune(ctx)
	}
	return r.drain(ctx, cursor)
}

// drain publishes pending rows after the cursor, batch by batch, until none
// is left, and hands them to the marker.
func (r *Relay) drain(ctx context.Context, cursor *int64) error {
	for ctx.Err() == nil {
		var rows []outboxRow
		err := r.db.WithContext(ctx).
			Select("seq", "event_id", "subject", "payload").
			Where("source = ? AND published_at IS NULL AND seq > ?", r.o.Module, *cursor).
			Order("seq").Limit(r.o.BatchSize).
			Find(&rows).Error
		if err != nil {
			return fmt.Errorf("read outbox: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		n, pubErr := r.publish(ctx, rows)
		if n > 0 {
			*cursor = rows[n-1].Seq
			r.toMark(rows[:n])
			r.bus.metrics.published.WithLabelValues(r.o.Module).Add(float64(n))
		}
		if pubErr != nil {
			return pubErr
		}
		if len(rows) < r.o.BatchSize {
			return nil
		}
	}
	return nil
}

// toMark queues published rows for the marker.
func (r *Relay) toMark(rows []outboxRow) {
	r.mu.Lock()
	for _, row := range rows {
		r.unmarked = append(r.unmarked, row.Seq)
	}
	r.mu.Unlock()
	select {
	case r.markWake <- struct{}{}:
	default:
	}
}

func (r *Relay) unmarkedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.unmarked) + r.marking
}

// markLoop marks queued rows published until ctx is done, then makes a last
// attempt (for up to 5s): a row left unmarked is published again by the next
// run, which JetStream drops as a duplicate.
func (r *Relay) markLoop(ctx context.Context) {
	bo := Backoff{Initial: 50 * time.Millisecond, Max: 5 * time.Second}
	failures := 0
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := r.flushMarks(final); err != nil {
				r.log.Warn("rows published but not marked; the next run republishes them", "err", err)
			}
			cancel()
			return
		case <-r.markWake:
		}
		if err := r.flushMarks(ctx); err != nil && ctx.Err() == nil {
			failures++
			r.bus.metrics.publishErrors.WithLabelValues(r.o.Module).Inc()
			r.log.Warn("marking published rows failed; retrying", "err", err, "failures", failures)
			retry.Sleep(ctx, bo.Delay(failures))
			select {
			case r.markWake <- struct{}{}:
			default:
			}
			continue
		}
		failures = 0
	}
}

// flushMarks marks every queued row published, a chunk per statement. Rows
// it could not mark stay queued.
func (r *Relay) flushMarks(ctx context.Context) error {
	r.mu.Lock()
	seqs := r.unmarked
	r.unmarked = nil
	// Still unmarked in the database until the update commits: counted, so
	// the poll does not rescan (and republish) them meanwhile.
	r.marking += len(seqs)
	r.mu.Unlock()
	defer func(n int) {
		r.mu.Lock()
		r.marking -= n
		r.mu.Unlock()
	}(len(seqs))
	const chunk = 500
	for len(seqs) > 0 {
		n := min(chunk, len(seqs))
		// Ahead of new work at platform/db's write gate (a lone write on
		// SQLite takes its turn there too): the events are out already.
		err := r.db.WithContext(db.WithPriority(ctx)).Model(&outboxRow{}).Where("seq IN ?", seqs[:n]).
			Update("published_at", time.Now().UTC()).Error
		if err != nil {
			r.mu.Lock()
			r.unmarked = append(seqs, r.unmarked...)
			r.mu.Unlock()
			return err
		}
		seqs = seqs[n:]
	}
	return nil
}

// publish sends rows without waiting in between, then waits for their
// acknowledgements in order. It returns how many leading rows JetStream
// acknowledged (stored, or dropped as duplicates).
func (r *Relay) publish(ctx context.Context, rows []outboxRow) (int, error) {
	if fp := r.bus.opts.Failpoints.BeforePublish; fp != nil {
		fp(r.o.Module)
	}
	stream := StreamName(r.o.Module)
	futures := make([]jetstream.PubAckFuture, 0, len(rows))
	// With tracing, each event's stay in the outbox and its publishing is a
	// producer span; those not acknowledged end failed.
	var spans []trace.Span
	acked := 0
	if r.bus.tracer != nil {
		spans = make([]trace.Span, len(rows))
		defer func() {
			for _, span := range spans[acked:] {
				observability.EndSpan(span, errNotAcknowledged)
			}
		}()
	}
	var sendErr error
	for i, row := range rows {
		if spans != nil {
			spans[i] = r.publishSpan(ctx, row)
		}
		msg := nats.NewMsg(row.Subject)
		msg.Data = row.Payload
		msg.Header.Set(jetstream.MsgIDHeader, row.EventID)
		msg.Header.Set("Content-Type", ContentTypeCloudEvents)
		f, err := r.bus.js.PublishMsgAsync(msg, jetstream.WithExpectStream(stream))
		if err != nil {
			sendErr = fmt.Errorf("publish %s: %w", row.EventID, err)
			break
		}
		futures = append(futures, f)
	}
	timeout := time.NewTimer(r.o.AckTimeout)
	defer timeout.Stop()
	for i, f := range futures {
		select {
		case ack := <-f.Ok():
			if ack.Duplicate {
				r.log.Debug("JetStream dropped a republished event", "event_id", rows[i].EventID)
			}
			if spans != nil {
				observability.EndSpan(spans[i], nil)
				acked = i + 1
			}
		case err := <-f.Err():
			return i, fmt.Errorf("publish %s: %w", rows[i].EventID, err)
		case <-timeout.C:
			return i, fmt.Errorf("publish %s: no acknowledgement within %s", rows[i].EventID, r.o.AckTimeout)
		case <-ctx.Done():
			return i, ctx.Err()
		}
	}
	if fp := r.bus.opts.Failpoints.AfterPublish; fp != nil && len(futures) > 0 {
		fp(r.o.Module)
	}
	return len(futures), sendErr
}

// errNotAcknowledged ends the span of an event JetStream did not acknowledge.
var errNotAcknowledged = errors.New("events: not acknowledged by JetStream")

// publishSpan starts the producer span of publishing row: a child of the
// span the event was written in, starting when it was written, so it shows
// the event's wait in the outbox. Nil for an event written outside any
// trace (a background job's): no trace of its own for the relay's work.
func (r *Relay) publishSpan(ctx context.Context, row outboxRow) trace.Span {
	var head struct {
		Type        string    `json:"type"`
		Time        time.Time `json:"time"`
		Traceparent string    `json:"traceparent"`
	}
	if gojson.Unmarshal(row.Payload, &head) != nil || head.Traceparent == "" {
		return nil
	}
	_, span := r.bus.tracer.Start(observability.WithTraceparent(ctx, head.Traceparent), "publish "+head.Type,
		trace.WithSpanKind(trace.SpanKindProducer), trace.WithTimestamp(head.Time),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", row.Subject),
			attribute.String("messaging.message.id", row.EventID),
		))
	return span
}

// refreshBacklog sets the backlog gauges from the outbox.
func (r *Relay) refreshBacklog(ctx context.Context) {
	q := r.db.WithContext(ctx).Model(&outboxRow{}).Where("source = ? AND published_at IS NULL", r.o.Module)
	var n int64
	if err := q.Count(&n).Error; err != nil {
		return
	}
	// Rows published but not yet marked are not backlog.
	n = max(0, n-int64(r.unmarkedCount()))
	age := 0.0
	if n > 0 {
		var oldest outboxRow
		err := r.db.WithContext(ctx).Select("created_at").
			Where("source = ? AND published_at IS NULL", r.o.Module).
			Order("seq").Limit(1).Find(&oldest).Error
		if err == nil && !oldest.CreatedAt.IsZero() {
			age = time.Since(oldest.CreatedAt).Seconds()
		}
	}
	r.bus.metrics.backlog.WithLabelValues(r.o.Module).Set(float64(n))
	r.bus.metrics.oldestPending.WithLabelValues(r.o.Module).Set(age)
}

// prune deletes published rows older than the retention, a chunk at a time
// so no single statement holds SQLite's write lock for long.
func (r *Relay) prune(ctx context.Context) {
	cutoff := time.Now().UTC().Add(-r.o.Retention)
	const chunk = 1000
	total := int64(0)
	for ctx.Err() == nil {
		sub := r.db.Model(&outboxRow{}).Select("seq").
			Where("source = ? AND published_at IS NOT NULL AND published_at < ?", r.o.Module, cutoff).
			Order("seq").Limit(chunk)
		var deleted int64
		err := r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error { // in turn with the writers (see flushMarks)
			res := tx.Where("seq IN (?)", sub).Delete(&outboxRow{})
			deleted = res.RowsAffected
			return res.Error
		})
		if err != nil {
			r.log.Warn("pruning the outbox failed", "err", err)
			return
		}
		total += deleted
		if deleted < chunk {
			break
		}
	}
	if total > 0 {
		r.log.Debug("pruned published outbox rows", "rows", total)
	}
}

// Backoff is a capped exponential delay: Initial after the first failure,
// doubling after each further one, never more than Max.
type Backoff struct{ Initial, Max time.Duration }

// Delay is the wait after n failures (n ≥ 1).
func (b Backoff) Delay(n int) time.Duration {
	d := b.Initial
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}
