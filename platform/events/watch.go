package events

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Watch hands fn every event of module's stream on subject published since
// since, then each new one as it comes, until ctx is done or the bus closes.
// It is for state each process keeps in memory and rebuilds at start (token
// revocations): an ordered consumer of this process alone, no inbox, no
// acknowledgement, no dead letters; fn must be quick and must not fail. A
// stream not there yet (its publisher not started) is waited for.
func (b *Bus) Watch(ctx context.Context, module, subject string, since time.Time, fn func(Event)) {
	for ctx.Err() == nil && !b.nc.IsClosed() {
		err := b.watch(ctx, module, subject, since, fn)
		if err == nil || ctx.Err() != nil || b.nc.IsClosed() {
			return
		}
		b.log.Warn("events: watching failed, retrying", "subject", subject, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (b *Bus) watch(ctx context.Context, module, subject string, since time.Time, fn func(Event)) error {
	if err := b.ensureStream(ctx, module, false); err != nil {
		return err
	}
	c, err := b.js.OrderedConsumer(ctx, StreamName(module), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subject},
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
		OptStartTime:   &since,
	})
	if err != nil {
		return err
	}
	cc, err := c.Consume(func(m jetstream.Msg) {
		evt, err := parseEvent(m.Data())
		if err != nil {
			b.log.Warn("events: an unreadable event was skipped", "subject", m.Subject(), "err", err)
			return
		}
		fn(evt)
	})
	if err != nil {
		return err
	}
	defer cc.Stop()
	closed := make(chan struct{})
	go func() { // the bus closing ends the watch too
		for !b.nc.IsClosed() && ctx.Err() == nil {
			time.Sleep(200 * time.Millisecond)
		}
		close(closed)
	}()
	select {
	case <-ctx.Done():
	case <-closed:
	}
	return nil
}
