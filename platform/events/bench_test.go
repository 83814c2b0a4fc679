package events

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"
)

// BenchmarkOutboxToConsumer measures the whole path on the embedded
// defaults: a module commits a state change with its event (outbox), the
// relay publishes it to JetStream, a consumer in another module's database
// applies it through the inbox (with a handler that decodes the payload and
// inserts a row). It reports events/s and the latency from commit to the
// handler running (p50, p99, max; the handler's own commit is not included).
// Everything shares the machine: the writers, the relay, the NATS server and
// the consumer.
//
//   - max: 4 writers commit one event per transaction as fast as they can;
//     events/s is the throughput (on SQLite the writers' own transactions
//     are usually the limit).
//   - max-10-per-tx: the same with 10 events per transaction, which shows
//     what the relay, JetStream and the consumer sustain.
//   - rate=N: writers paced at N events/s in all, for the latency at a
//     sustainable load.
func BenchmarkOutboxToConsumer(b *testing.B) {
	b.Run("max", func(b *testing.B) { benchOutboxToConsumer(b, 4, 0, 1) })
	b.Run("max-10-per-tx", func(b *testing.B) { benchOutboxToConsumer(b, 4, 0, 10) })
	b.Run("rate=1000", func(b *testing.B) { benchOutboxToConsumer(b, 4, 1000, 1) })
	b.Run("rate=2500", func(b *testing.B) { benchOutboxToConsumer(b, 4, 2500, 1) })
}

func benchOutboxToConsumer(b *testing.B, writers int, rate float64, perTx int) {
	src, dst := uniq("benchpub"), uniq("benchsub")
	pub, sub := openDB(b, src), openDB(b, dst)
	r := newRelay(b, src, pub.DB, RelayOptions{})

	n := b.N
	committed := make([]atomic.Int64, n) // unix ns of each event's commit
	handled := make([]atomic.Int64, n)
	var done atomic.Int64
	finished := make(chan struct{})
	h := func(ctx context.Context, tx *gorm.DB, evt Event) error {
		var p roomChanged
		if err := evt.Decode(&p); err != nil {
			return err
		}
		if err := tx.Create(&effect{EventID: evt.ID}).Error; err != nil {
			return err
		}
		handled[p.Seq].Store(time.Now().UnixNano())
		if done.Add(1) == int64(n) {
			close(finished)
		}
		return nil
	}
	c, err := testBus.Subscribe(dst, "bench", []string{Subject(src, ">")}, h, SubscribeOptions{DB: sub.DB})
	if err != nil {
		b.Fatal(err)
	}
	background(b, r.Run)
	background(b, c.Run)
	// Let both set up their stream and consumer before the clock starts.
	eventually(b, 10*time.Second, "the durable consumer", func() bool {
		_, err := testBus.js.Consumer(context.Background(), StreamName(src), c.durable)
		return err == nil
	})

	// write commits events first..first+perTx-1 (fewer at the end) in one
	// transaction.
	write := func(first int) {
		last := min(first+perTx, n)
		evts := make([]Event, 0, last-first)
		for i := first; i < last; i++ {
			evt, err := New(context.Background(), src, roomChangedV1, roomChanged{RoomID: i % 100, Total: i, Seq: i})
			if err != nil {
				b.Error(err)
				return
			}
			evts = append(evts, evt)
		}
		err := pub.Transaction(func(tx *gorm.DB) error {
			if err := tx.Save(&room{ID: first % 100, Total: first}).Error; err != nil {
				return err
			}
			for _, evt := range evts {
				if err := Record(tx, evt); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Error(err)
			return
		}
		now := time.Now().UnixNano()
		for i := first; i < last; i++ {
			committed[i].Store(now)
		}
		r.Notify()
	}

	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for {
				i := int(next.Add(int64(perTx)) - int64(perTx))
				if i >= n {
					return
				}
				if rate > 0 {
					due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
					if d := time.Until(due); d > 0 {
						time.Sleep(d)
					}
				}
				write(i)
			}
		})
	}
	wg.Wait()
	select {
	case <-finished:
	case <-time.After(30*time.Second + time.Duration(n)*time.Millisecond):
		b.Fatalf("handled %d of %d events", done.Load(), n)
	}
	elapsed := time.Since(start)
	b.StopTimer()

	lat := make([]time.Duration, n)
	for i := range n {
		// A handler may (rarely) run before its writer notes the commit time.
		lat[i] = max(0, time.Duration(handled[i].Load()-committed[i].Load()))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
	b.ReportMetric(ms(lat[n/2]), "p50-ms")
	b.ReportMetric(ms(lat[min(n-1, n*99/100)]), "p99-ms")
	b.ReportMetric(ms(lat[n-1]), "max-ms")
	if n >= 1000 {
		b.Logf("%s: %d events in %s", b.Name(), n, elapsed.Round(time.Millisecond))
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
