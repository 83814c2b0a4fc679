package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/observability"
	"github.com/bellhop/bellhop/platform/retry"
)

// Handler applies one event inside tx, a transaction of the consuming
// module's database that already holds the event's inbox row: whatever it
// writes through tx commits together with "this event was handled". It must
// not call other modules or hold tx across slow work. Returning an error rolls
// everything back and the event is retried later; [Permanent] errors (and
// [Event.Decode] failures) go straight to the dead letters. A handler should
// return nil for event types it does not know. ctx carries the event's
// correlation id as the request ID, and events created with it name this one
// as their cause.
//
// A handler's transaction may be rolled back for another event's sake (see
// [SubscribeOptions].MaxBatch) and the handler run again; anything it does
// outside tx must bear repetition, as with any redelivery. Events of
// different source modules may be handled concurrently.
type Handler func(ctx context.Context, tx *gorm.DB, evt Event) error

// SubscribeOptions configure a [Consumer].
type SubscribeOptions struct {
	// DB is the consuming module's database, migrated with [Migrations].
	DB *gorm.DB
	// MaxDeliver is how many failed attempts make an event a dead letter
	// (default 5).
	MaxDeliver int
	// Backoff spaces the attempts (default 1s doubling up to 1 minute).
	Backoff Backoff
	// AckWait is how long JetStream waits for a handled event's ack before
	// delivering it again (default 30s); handlers must finish well within it.
	AckWait time.Duration
	// MaxAckPending bounds events delivered but not yet acknowledged,
	// including those waiting for a retry (default 1000).
	MaxAckPending int
	// Prefetch is how many messages the client buffers ahead (default 256).
	Prefetch int
	// MaxBatch is how many already-buffered events may share one transaction
	// (default 64; 1: a transaction per event). Batching never waits for
	// events to arrive. A batch runs without savepoints first; if a handler
	// fails, the transaction is rolled back and the batch run again with a
	// savepoint per event, so the others commit and only the failing one is
	// retried.
	MaxBatch int
	// InboxRetention is how long inbox rows are kept (default 7 days, like a
	// stream's MaxAge): a copy of an event arriving later than that would be
	// applied again.
	InboxRetention time.Duration
	// ShutdownTimeout bounds how long Run, once ctx is done, keeps handling
	// the messages already buffered before it cancels the handlers' context
	// (default 5s).
	ShutdownTimeout time.Duration
	// Relay, if set, is the consuming module's own relay: it is notified after
	// each handled event, for handlers that [Record] events of their own.
	Relay *Relay
	// Committed, if set, is called with the events whose effects have just
	// committed: for work that must see them, such as refreshing a cache.
	Committed func(ctx context.Context, applied []Event)
	Log       *slog.Logger
}

var subscriptionRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// Consumer is one durable subscription of a consuming module: a JetStream
// pull consumer per source stream its subjects cover, all feeding one
// handler. Build it with [Bus.Subscribe]; Run consumes.
type Consumer struct {
	bus      *Bus
	module   string
	name     string
	key      string              // "<module>.<name>": the inbox's and dead letters' consumer column
	durable  string              // "<module>-<name>": the JetStream durable name (module names have no "-")
	byStream map[string][]string // stream → filter subjects
	handler  Handler
	db       *gorm.DB
	o        SubscribeOptions
	log      *slog.Logger
	running  atomic.Bool
}

// Subscribe declares the durable subscription name of consumerModule to
// subjects, handled by h in transactions of o.DB. Subjects name the source
// module literally ("bellhop.search.catalog.>", or with [Subject]) because
// each source module has a stream of its own; one subscription may cover
// several. Subscribe only checks and registers (so [Bus.Replay] finds the
// handler); Run does the consuming.
func (b *Bus) Subscribe(consumerModule, name string, subjects []string, h Handler, o SubscribeOptions) (*Consumer, error) {
	if !moduleRE.MatchString(consumerModule) {
		return nil, fmt.Errorf("events: subscribe: invalid module name %q", consumerModule)
	}
	if !subscriptionRE.MatchString(name) {
		return nil, fmt.Errorf("events: subscribe %s: invalid subscription name %q (lower case, digits, _ and -)", consumerModule, name)
	}
	key := consumerModule + "." + name
	if h == nil || o.DB == nil {
		return nil, fmt.Errorf("events: subscribe %s: a handler and the module's database are required", key)
	}
	if len(subjects) == 0 {
		return nil, fmt.Errorf("events: subscribe %s: no subjects", key)
	}
	byStream := map[string][]string{}
	for _, s := range subjects {
		source, err := subjectSource(s)
		if err != nil {
			return nil, fmt.Errorf("events: subscribe %s: %w", key, err)
		}
		byStream[source] = append(byStream[source], s)
	}
	if o.MaxDeliver <= 0 {
		o.MaxDeliver = 5
	}
	if o.Backoff.Initial <= 0 {
		o.Backoff.Initial = time.Second
	}
	if o.Backoff.Max < o.Backoff.Initial {
		o.Backoff.Max = max(time.Minute, o.Backoff.Initial)
	}
	if o.AckWait <= 0 {
		o.AckWait = 30 * time.Second
	}
	if o.MaxAckPending <= 0 {
		o.MaxAckPending = 1000
	}
	if o.Prefetch <= 0 {
		o.Prefetch = 256
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 64
	}
	if o.InboxRetention <= 0 {
		o.InboxRetention = 7 * 24 * time.Hour
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 5 * time.Second
	}
	log := o.Log
	if log == nil {
		log = b.log
	}
	c := &Consumer{
		bus: b, module: consumerModule, name: name, key: key,
		durable:  consumerModule + "-" + name,
		byStream: byStream, handler: h, db: o.DB, o: o,
		log: log.With("component", "events.consumer", "consumer", key),
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, dup := b.consumers[key]; dup {
		return nil, fmt.Errorf("events: subscription %s is declared twice", key)
	}
	b.consumers[key] = c
	return c, nil
}

// subjectSource is the source module a subscription subject belongs to.
func subjectSource(s string) (string, error) {
	tokens := strings.Split(s, ".")
	if len(tokens) < 3 || tokens[0] != "bellhop" || !moduleRE.MatchString(tokens[1]) {
		return "", fmt.Errorf("subject %q: want \"bellhop.<source module>.<type or wildcard>\"", s)
	}
	for i, t := range tokens {
		if t == "" || strings.ContainsAny(t, " \t\r\n") || (t == ">" && i != len(tokens)-1) ||
			(strings.ContainsAny(t, "*>") && len(t) > 1) {
			return "", fmt.Errorf("subject %q is not a valid NATS subject filter", s)
		}
	}
	return tokens[1], nil
}

// Name is the subscription's "<module>.<name>", as the inbox and the dead
// letters record it.
func (c *Consumer) Name() string { return c.key }

// Run consumes until ctx is done, then lets the handlers finish the messages
// already buffered (up to ShutdownTimeout) and returns nil. It creates the
// durable consumers (and, if their publisher has not yet, the streams), and
// sets them up again whenever NATS is unavailable or a consumer disappears.
func (c *Consumer) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return fmt.Errorf("events: consumer %s is already running", c.key)
	}
	defer c.running.Store(false)

	// Handlers get a context that outlives ctx for the shutdown drain.
	hctx, cancelHandlers := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHandlers()
	var wg sync.WaitGroup
	for source := range c.byStream {
		wg.Go(func() { c.consumeStream(ctx, hctx, cancelHandlers, source) })
	}
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	c.pruneInbox(ctx)
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-prune.C:
			c.pruneInbox(ctx)
		}
	}
	wg.Wait()
	return nil
}

// consumeStream runs the durable consumer on source's stream until ctx is
// done, setting it up again after failures. Messages go from the client's
// callback to a worker that handles them in batches (see handleBatch).
func (c *Consumer) consumeStream(ctx, hctx context.Context, cancelHandlers context.CancelFunc, source string) {
	stream := StreamName(source)
	log := c.log.With("stream", stream)
	bo := Backoff{Initial: 100 * time.Millisecond, Max: 5 * time.Second}
	lag := time.NewTicker(5 * time.Second)
	defer lag.Stop()
	for failures := 0; ; {
		queue := make(chan jetstream.Msg, c.o.Prefetch)
		cons, err := c.setUp(ctx, source)
		var cc jetstream.ConsumeContext
		if err == nil {
			cc, err = cons.Consume(
				func(msg jetstream.Msg) {
					select {
					case queue <- msg:
					case <-hctx.Done():
						_ = msg.Nak() // shutting down past the timeout: redeliver it
					}
				},
				jetstream.PullMaxMessages(c.o.Prefetch),
				jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
					if ctx.Err() == nil {
						log.Warn("consuming", "err", err)
					}
				}),
			)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			log.Error("cannot set up the durable consumer; retrying", "err", err, "failures", failures)
			if !retry.Sleep(ctx, bo.Delay(failures)) {
				return
			}
			continue
		}
		var worker sync.WaitGroup
		worker.Go(func() { c.work(hctx, stream, queue) })
		started := time.Now()
		stopping := false
	consuming:
		for {
			select {
			case <-ctx.Done():
				stopping = true
				break consuming
			case <-cc.Closed():
				// The consumer was deleted, or the connection closed.
				break consuming
			case <-lag.C:
				if info, err := cons.Info(ctx); err == nil {
					c.bus.metrics.lag.WithLabelValues(c.module, c.name, stream).Set(float64(info.NumPending))
				}
			}
		}
		c.stop(cc, queue, &worker, cancelHandlers)
		if stopping {
			return
		}
		if time.Since(started) > time.Minute {
			failures = 0
		}
		failures++
		log.Warn("consuming stopped; setting the consumer up again", "failures", failures)
		if !retry.Sleep(ctx, bo.Delay(failures)) {
			return
		}
	}
}

// stop drains cc and lets the worker handle what is buffered, for up to
// ShutdownTimeout; then it cancels the handlers' context (their events are
// redelivered later) and waits for the rest.
func (c *Consumer) stop(cc jetstream.ConsumeContext, queue chan jetstream.Msg, worker *sync.WaitGroup, cancelHandlers context.CancelFunc) {
	deadline := time.NewTimer(c.o.ShutdownTimeout)
	defer deadline.Stop()
	if c.bus.nc.Status() != nats.CONNECTED {
		// A drain needs the server to confirm the unsubscription: without
		// a connection it would only wait out the deadline. Stop delivering
		// instead; what is queued is still handled (and redelivered later,
		// as no ack can reach the server now).
		cc.Stop()
	} else {
		cc.Drain()
	}
	select {
	case <-cc.Closed():
	case <-deadline.C:
		c.log.Warn("handlers did not finish in time; cancelling them", "timeout", c.o.ShutdownTimeout)
		cancelHandlers()
		cc.Stop()
		<-cc.Closed()
	}
	close(queue) // the callback runs no more
	done := make(chan struct{})
	go func() { worker.Wait(); close(done) }()
	select {
	case <-done:
	case <-deadline.C:
		c.log.Warn("handlers did not finish in time; cancelling them", "timeout", c.o.ShutdownTimeout)
		cancelHandlers()
		<-done
	}
}

// work handles the queued messages: each batch is the first message waiting
// plus whatever else is already queued, up to MaxBatch; it never waits to
// fill a batch.
func (c *Consumer) work(ctx context.Context, stream string, queue <-chan jetstream.Msg) {
	batch := make([]jetstream.Msg, 0, c.o.MaxBatch)
	for msg := range queue {
		batch = append(batch[:0], msg)
	fill:
		for len(batch) < c.o.MaxBatch {
			select {
			case m, ok := <-queue:
				if !ok {
					break fill
				}
				batch = append(batch, m)
			default:
				break fill
			}
		}
		c.handleBatch(ctx, stream, batch)
	}
}

// setUp creates (or updates) the durable consumer on source's stream.
func (c *Consumer) setUp(ctx context.Context, source string) (jetstream.Consumer, error) {
	if err := c.bus.ensureStream(ctx, source, false); err != nil {
		return nil, err
	}
	cfg := jetstream.ConsumerConfig{
		Durable:       c.durable,
		Description:   "Bellhop subscription " + c.key,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.o.AckWait,
		// Attempts are counted here, not by the server: after MaxDeliver the
		// event must become a dead letter, which the server cannot write.
		MaxDeliver:    -1,
		MaxAckPending: c.o.MaxAckPending,
	}
	if subjects := c.byStream[source]; len(subjects) == 1 {
		cfg.FilterSubject = subjects[0]
	} else {
		cfg.FilterSubjects = subjects
	}
	return c.bus.createConsumer(ctx, StreamName(source), cfg)
}

// delivery is one message of a batch and what became of it.
type delivery struct {
	msg     jetstream.Msg
	evt     Event
	attempt int // 1 for the first delivery
	applied bool
	err     error
}

// handleBatch applies a batch of deliveries in one transaction of the
// consumer's database, in which a failing event is rolled back alone while
// the others commit (see applyBatch). Each event is acknowledged after the
// commit; a failed one is retried later with backoff, or becomes a dead
// letter once it has failed MaxDeliver times (at once for a Permanent error).
func (c *Consumer) handleBatch(ctx context.Context, stream string, msgs []jetstream.Msg) {
	ds := make([]delivery, 0, len(msgs))
	for _, msg := range msgs {
		d := delivery{msg: msg, attempt: 1}
		if md, err := msg.Metadata(); err == nil {
			d.attempt = int(md.NumDelivered)
			c.bus.metrics.lag.WithLabelValues(c.module, c.name, stream).Set(float64(md.NumPending))
		}
		evt, err := parseEvent(msg.Data())
		if err != nil {
			// Not an envelope we can read: keep what came, under its message id.
			evt = Event{ID: msg.Headers().Get(jetstream.MsgIDHeader)}
			if evt.ID == "" {
				evt.ID = stream + ":" + msg.Subject()
			}
			c.giveUp(ctx, msg, evt, Permanent(err), d.attempt)
			continue
		}
		d.evt = evt
		ds = append(ds, d)
	}
	if len(ds) == 0 {
		return
	}
	run := func(isolate bool) error {
		for i := range ds {
			ds[i].applied, ds[i].err = false, nil
		}
		// Work under way (a saga's next step): first in line for the
		// write lock (platform/db's write gate).
		return c.db.WithContext(db.WithPriority(ctx)).Transaction(func(tx *gorm.DB) error { return c.applyBatch(ctx, tx, ds, isolate) })
	}
	// Optimistically without savepoints (they cost as much as a small
	// insert each); if a handler fails, again with each event isolated so
	// the others still commit.
	err := run(false)
	if err != nil && len(ds) > 1 && slices.ContainsFunc(ds, func(d delivery) bool { return d.err != nil }) {
		err = run(true)
	}
	if err != nil {
		// Nothing committed: every delivery failed, with its own error if it
		// had one, else with the transaction's.
		for i := range ds {
			ds[i].applied = false
			if ds[i].err == nil {
				ds[i].err = err
			}
		}
	}
	var applied []Event
	for _, d := range ds {
		if d.applied {
			applied = append(applied, d.evt)
		}
		c.settle(ctx, d)
	}
	if len(applied) > 0 && c.o.Relay != nil {
		c.o.Relay.Notify()
	}
	if len(applied) > 0 && c.o.Committed != nil {
		c.o.Committed(ctx, applied)
	}
}

// settle acknowledges a delivery after its transaction ended.
func (c *Consumer) settle(ctx context.Context, d delivery) {
	m := c.bus.metrics
	switch {
	case d.err == nil:
		if err := d.msg.Ack(); err != nil {
			// The effect is committed; a redelivery will find the inbox row.
			c.log.Warn("ack failed", "event_id", d.evt.ID, "err", err)
		}
		if d.applied {
			m.handled.WithLabelValues(c.module, c.name).Inc()
			m.latency.WithLabelValues(c.module, c.name).Observe(time.Since(d.evt.Time).Seconds())
		} else {
			m.duplicates.WithLabelValues(c.module, c.name).Inc()
		}
	case ctx.Err() != nil:
		// Stopped in the middle of it: not the event's fault, and not an
		// attempt to count. JetStream delivers it again.
		_ = d.msg.Nak()
	case IsPermanent(d.err) || d.attempt >= c.o.MaxDeliver:
		c.giveUp(ctx, d.msg, d.evt, d.err, d.attempt)
	default:
		c.retry(d.msg, d.evt, d.err, d.attempt)
	}
}

func (c *Consumer) retry(msg jetstream.Msg, evt Event, cause error, attempt int) {
	delay := c.o.Backoff.Delay(attempt)
	c.log.Warn("handling failed; will retry", "event_id", evt.ID, "type", evt.Type,
		"attempt", attempt, "max_deliver", c.o.MaxDeliver, "retry_in", delay, "err", cause)
	if err := msg.NakWithDelay(delay); err != nil {
		c.log.Warn("nak failed; JetStream redelivers after the ack wait", "event_id", evt.ID, "err", err)
	}
	c.bus.metrics.retried.WithLabelValues(c.module, c.name).Inc()
}

// giveUp records a dead letter, then terminates the message. If even the dead
// letter cannot be written, the message is retried.
func (c *Consumer) giveUp(ctx context.Context, msg jetstream.Msg, evt Event, cause error, attempt int) {
	if err := c.recordDeadLetter(ctx, evt, msg.Subject(), msg.Data(), cause, attempt); err != nil {
		c.log.Error("cannot record a dead letter", "event_id", evt.ID, "err", err)
		c.retry(msg, evt, cause, attempt)
		return
	}
	c.log.Error("event dead-lettered", "event_id", evt.ID, "type", evt.Type, "attempts", attempt, "err", cause)
	if err := msg.TermWithReason("dead-lettered by " + c.key); err != nil {
		c.log.Warn("term failed", "event_id", evt.ID, "err", err)
	}
	c.bus.metrics.deadLettered.WithLabelValues(c.module, c.name).Inc()
}

// applyBatch applies deliveries inside tx. It first records every event id
// in the inbox with one statement; the ids that were new get their handler
// run, the others are copies already applied (or a second copy in the same
// batch) and only need their ack. Unless isolate is set, the first handler
// failure returns and fails the whole transaction. With isolate, each handler
// runs under a savepoint: a failure rolls back its own writes and inbox row,
// and the others still commit. (A failing event's handler may so run twice
// for one delivery, the batch's others at most twice in all.)
func (c *Consumer) applyBatch(ctx context.Context, tx *gorm.DB, ds []delivery, isolate bool) error {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.evt.ID
	}
	fresh, err := c.claim(tx, ids)
	if err != nil {
		return err
	}
	// Savepoint statements go straight to the transaction's connection: they
	// take no arguments, and GORM's callbacks would add to their cost. A
	// savepoint is not released: the next one nests, ROLLBACK TO finds the
	// latest, and the commit ends them all.
	conn := tx.Statement.ConnPool
	for i := range ds {
		d := &ds[i]
		if !fresh[d.evt.ID] {
			continue // a copy: acked and skipped
		}
		delete(fresh, d.evt.ID)
		if isolate {
			if _, err := conn.ExecContext(ctx, "SAVEPOINT events_delivery"); err != nil {
				return err
			}
		}
		hctx := handlerContext(ctx, d.evt)
		hctx, span := c.startSpan(hctx, d)
		d.err = c.callHandler(hctx, tx.WithContext(hctx), d.evt)
		observability.EndSpan(span, d.err)
		if d.err == nil {
			d.applied = true
			continue
		}
		if !isolate {
			return d.err
		}
		if _, err := conn.ExecContext(ctx, "ROLLBACK TO SAVEPOINT events_delivery"); err != nil {
			return err
		}
		if err := tx.Exec("DELETE FROM events_inbox WHERE consumer = ? AND event_id = ?", c.key, d.evt.ID).Error; err != nil {
			return err
		}
	}
	return nil
}

// claim records ids in the inbox of this consumer and returns those that
// were not there yet. It is raw SQL (INSERT ... ON CONFLICT DO NOTHING
// RETURNING, in SQLite and PostgreSQL alike) because it runs for every
// event and GORM's model machinery would cost more than the insert.
func (c *Consumer) claim(tx *gorm.DB, ids []string) (map[string]bool, error) {
	var q strings.Builder
	q.WriteString("INSERT INTO events_inbox (consumer, event_id, handled_at) VALUES ")
	args := make([]any, 0, 3*len(ids))
	now := time.Now().UTC()
	for i, id := range ids {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?)")
		args = append(args, c.key, id, now)
	}
	q.WriteString(" ON CONFLICT DO NOTHING RETURNING event_id")
	var inserted []string
	if err := tx.Raw(q.String(), args...).Scan(&inserted).Error; err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	fresh := make(map[string]bool, len(inserted))
	for _, id := range inserted {
		fresh[id] = true
	}
	return fresh, nil
}

// apply handles evt alone in a transaction of its own on db, followed in the
// same transaction by also, if set (replays mark their dead letter with it).
// It reports whether the handler ran (false: the event was applied before).
func (c *Consumer) apply(ctx context.Context, db *gorm.DB, evt Event, also func(tx *gorm.DB) error) (bool, error) {
	ds := []delivery{{evt: evt}}
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := c.applyBatch(ctx, tx, ds, false); err != nil {
			return err
		}
		if also != nil {
			return also(tx)
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	return ds[0].applied, nil
}

// startSpan starts the consumer span of handling d's event, a child of the
// span the event was written in (ctx carries it: handlerContext). Nil
// without a tracer. It names the event, never its data.
func (c *Consumer) startSpan(ctx context.Context, d *delivery) (context.Context, trace.Span) {
	if c.bus.tracer == nil {
		return ctx, nil
	}
	return c.bus.tracer.Start(ctx, "consume "+d.evt.Type, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.consumer.group.name", c.key),
			attribute.String("messaging.message.id", d.evt.ID),
			attribute.String("bellhop.event.type", d.evt.Type),
			attribute.String("bellhop.event.source", d.evt.Source),
			attribute.Int("bellhop.event.attempt", d.attempt),
		))
}

// callHandler runs the handler, turning a panic into an error.
func (c *Consumer) callHandler(ctx context.Context, tx *gorm.DB, evt Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return c.handler(ctx, tx, evt)
}

// pruneInbox deletes this consumer's inbox rows older than InboxRetention, a
// chunk at a time.
func (c *Consumer) pruneInbox(ctx context.Context) {
	cutoff := time.Now().UTC().Add(-c.o.InboxRetention)
	const chunk = 1000
	for ctx.Err() == nil {
		sub := c.db.Model(&inboxRow{}).Select("event_id").
			Where("consumer = ? AND handled_at < ?", c.key, cutoff).Limit(chunk)
		var deleted int64
		err := c.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error { // in turn with the writers (platform/db's write gate)
			res := tx.Where("consumer = ? AND event_id IN (?)", c.key, sub).Delete(&inboxRow{})
			deleted = res.RowsAffected
			return res.Error
		})
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				c.log.Warn("pruning the inbox failed", "err", err)
			}
			return
		}
		if deleted < chunk {
			return
		}
	}
}

// consumer is the subscription of this process named key, or nil.
func (b *Bus) consumer(key string) *Consumer {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.consumers[key]
}
