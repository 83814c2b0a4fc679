package reportinglocal_test

import (
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/modules/reporting/reportinglocal"
	"github.com/bellhop/bellhop/modules/reporting/reportingtest"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/db/dbtest"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/events/eventstest"
)

// pipeline is reporting consuming from an embedded bus, fed by a stand-in
// bookings module (its own outbox and relay), as in the monolith.
type pipeline struct {
	db  *db.DB // reporting's
	pub *eventstest.Publisher
}

func newPipeline(b *testing.B) pipeline {
	bus := eventstest.Bus(b)
	d := dbtest.Open(b, reporting.Module, reportinglocal.Migrations)
	eventstest.Run(b, newModule(b, reportinglocal.Deps{DB: d, Bus: bus}))
	return pipeline{db: d, pub: eventstest.NewPublisher(b, bus, bookings.Module)}
}

// stayN is the n-th booking of a run.
func stayN(n int, at time.Time) reportingtest.Stay {
	st := reportingtest.Zurich
	st.BookingID, st.PaymentID = fmt.Sprintf("bkg_pipe_%06d", n), fmt.Sprintf("pay_pipe_%06d", n)
	st.CheckIn, st.Prices = civil.MustParse("2026-09-01").AddDays(n%200), []int64{18000, 19000}
	st.HeldAt, st.PaidAt = at, at
	return st
}

// publishPaced publishes events at rate per second (each from event(i) at
// its time) and returns when the last one is recorded.
func publishPaced(b *testing.B, p pipeline, n int, rate float64, event func(i int, at time.Time) events.Event) time.Duration {
	start := time.Now()
	gap := time.Duration(float64(time.Second) / rate)
	for i := range n {
		if d := time.Until(start.Add(time.Duration(i) * gap)); d > 0 {
			time.Sleep(d)
		}
		p.pub.Publish(b, event(i, time.Now()))
	}
	return time.Since(start)
}

// delays waits until want documents are stored with their PDFs and returns
// each one's delay from its event (the commit in bookings) to its PDF
// stored, sorted, and when the last was stored.
func delays(b *testing.B, p pipeline, want int, within time.Duration) ([]time.Duration, time.Time) {
	for deadline := time.Now().Add(within); ; time.Sleep(50 * time.Millisecond) {
		var n int64
		if err := p.db.Raw("SELECT COUNT(*) FROM reporting_documents WHERE rendered_at IS NOT NULL").Scan(&n).Error; err != nil {
			b.Fatal(err)
		}
		if n >= int64(want) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d documents stored after %s", n, want, within)
		}
	}
	var rows []struct{ IssuedAt, RenderedAt time.Time }
	if err := p.db.Raw("SELECT issued_at, rendered_at FROM reporting_documents").Scan(&rows).Error; err != nil {
		b.Fatal(err)
	}
	out := make([]time.Duration, len(rows))
	var last time.Time
	for i, r := range rows {
		out[i] = r.RenderedAt.Sub(r.IssuedAt)
		if r.RenderedAt.After(last) {
			last = r.RenderedAt
		}
	}
	slices.Sort(out)
	return out, last
}

// cpuTime is the CPU time this process has used (user and system): on a
// shared machine a steadier measure of cost than the time on the clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// BenchmarkPipeline_ConfirmedToReceipt: booking.confirmed events committed
// at 200 a second (b.N of them); reports the delay from each commit to its
// receipt stored (PDF drawn), p50 and p99 (run with -benchtime 2000x for
// ten seconds of load).
func BenchmarkPipeline_ConfirmedToReceipt(b *testing.B) {
	p := newPipeline(b)
	b.ResetTimer()
	cpu := cpuTime()
	publishPaced(b, p, b.N, 200, func(i int, at time.Time) events.Event {
		return reportingtest.BookingEvent(b, bookings.EventConfirmed, stayN(i, at), bookings.StatusConfirmed, at, 0, 0)
	})
	d, _ := delays(b, p, b.N, 2*time.Minute)
	b.StopTimer()
	// The CPU the whole pipeline (the stand-in producer's outbox and relay,
	// NATS, reporting) spends per receipt.
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/receipt")
	b.ReportMetric(float64(quantile(d, 0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(quantile(d, 0.99).Microseconds())/1000, "p99-ms")
}

// BenchmarkPipeline_500EventsPerSecond: booking events committed at 500 a
// second (b.N of them, at least 2: each booking held, then confirmed, so half of them
// issue a receipt); reports the rate published, how long reporting took
// after the last event to catch up, and the commit-to-receipt p99 under
// that load (run with -benchtime 5000x for ten seconds).
func BenchmarkPipeline_500EventsPerSecond(b *testing.B) {
	p := newPipeline(b)
	n := max(b.N, 2)
	b.ResetTimer()
	cpu := cpuTime()
	took := publishPaced(b, p, n, 500, func(i int, at time.Time) events.Event {
		st := stayN(i/2, at)
		if i%2 == 0 {
			return reportingtest.BookingEvent(b, bookings.EventHeld, st, bookings.StatusPending, at, 0, 0)
		}
		return reportingtest.BookingEvent(b, bookings.EventConfirmed, st, bookings.StatusConfirmed, at, 0, 0)
	})
	published := time.Now()
	d, last := delays(b, p, n/2, 2*time.Minute)
	b.StopTimer()
	b.ReportMetric(float64(n)/took.Seconds(), "events/s")
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(n), "cpu-ms/event")
	b.ReportMetric(float64(max(0, last.Sub(published).Milliseconds())), "catch-up-ms")
	b.ReportMetric(float64(quantile(d, 0.99).Microseconds())/1000, "p99-ms")
}
