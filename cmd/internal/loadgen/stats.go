package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loadStats gathers latencies and errors per request kind.
type loadStats struct {
	total, errs atomic.Int64

	mu     sync.Mutex
	lat    map[string][]time.Duration
	nerr   map[string]int
	errors map[string]int // "kind status reason"
	paid   int
}

func newLoadStats() *loadStats {
	return &loadStats{lat: map[string][]time.Duration{}, nerr: map[string]int{}, errors: map[string]int{}}
}

func (s *loadStats) record(kind string, code int, latency time.Duration, body []byte, transportErr string) {
	s.total.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lat[kind] = append(s.lat[kind], latency)
	if code/100 == 2 {
		return
	}
	s.errs.Add(1)
	s.nerr[kind]++
	reason := problemReason(body)
	if code == 0 {
		reason = transportReason(transportErr)
	}
	s.errors[fmt.Sprintf("%-8s %3d %s", kind, code, reason)]++
}

// transportReason shortens a transport error to what went wrong, without
// the request's URL (`Post "http://...": dial tcp ...: connection refused`
// → `dial tcp ...: connection refused`), so equal failures count together.
func transportReason(err string) string {
	if _, rest, ok := strings.Cut(err, `": `); ok && strings.Contains(err[:len(err)-len(rest)], "://") {
		err = rest
	}
	if len(err) > 100 {
		err = err[:100]
	}
	return err
}

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// loadJSON is the --json line: the run's fields, the invariants' fields, or
// both (a nil part is left out).
type loadJSON struct {
	*loadRunJSON
	*loadCheckJSON
}

type loadRunJSON struct {
	Mix               string                  `json:"mix"`
	Rate              int                     `json:"rate"`
	DurationS         float64                 `json:"duration_s"`
	Requests          int64                   `json:"requests"`
	Errors            int64                   `json:"errors"`
	ThroughputRPS     float64                 `json:"throughput_rps"`
	PaymentsSucceeded int                     `json:"payments_succeeded"`
	Kinds             map[string]loadKindJSON `json:"kinds"`
}

type loadKindJSON struct {
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	P50ms    float64 `json:"p50_ms"`
	P90ms    float64 `json:"p90_ms"`
	P99ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
}

type loadCheckJSON struct {
	InvariantsOK bool     `json:"invariants_ok"`
	Violations   []string `json:"violations"`
	Confirmed    int      `json:"confirmed"`
	// After a run only.
	ConfirmedPerS  *float64         `json:"confirmed_per_s,omitempty"`
	ConfirmLatency *loadLatencyJSON `json:"confirm_latency,omitempty"`
}

type loadLatencyJSON struct {
	P50ms    float64 `json:"p50_ms"`
	P90ms    float64 `json:"p90_ms"`
	P99ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
	Measured int     `json:"measured"`
	Skipped  int     `json:"skipped"`
}

func writeLoadJSON(out io.Writer, v loadJSON) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s\n", b)
	return err
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// loadSummary is a finished run's figures, printed and written as JSON.
type loadSummary struct {
	mix             string
	rate            int
	duration        time.Duration
	requests, errs  int64
	paid            int
	attack, elapsed time.Duration
	kinds           []kindSummary
	errors          map[string]int // "kind status reason"
}

type kindSummary struct {
	kind               string
	requests, errors   int
	p50, p90, p99, max time.Duration
}

func summarizeLoad(o options, s *loadStats, attack, elapsed time.Duration) loadSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := loadSummary{mix: o.mix, rate: o.rate, duration: o.duration, requests: s.total.Load(), errs: s.errs.Load(),
		paid: s.paid, attack: attack, elapsed: elapsed, errors: maps.Clone(s.errors)}
	for _, k := range slices.Sorted(maps.Keys(s.lat)) {
		lat := slices.Clone(s.lat[k])
		slices.Sort(lat)
		sum.kinds = append(sum.kinds, kindSummary{kind: k, requests: len(lat), errors: s.nerr[k],
			p50: percentile(lat, 0.50), p90: percentile(lat, 0.90), p99: percentile(lat, 0.99), max: percentile(lat, 1)})
	}
	return sum
}

func printLoadSummary(out io.Writer, s loadSummary) {
	fmt.Fprintf(out, "bellhop load: mix %s, rate %d/s for %s\n", s.mix, s.rate, s.duration)
	fmt.Fprintf(out, "requests %d in %s (attack %s), throughput %.1f/s, errors %d, payments succeeded %d (%.1f/s)\n",
		s.requests, s.elapsed.Round(time.Millisecond), s.attack.Round(time.Millisecond), float64(s.requests)/s.elapsed.Seconds(),
		s.errs, s.paid, float64(s.paid)/s.elapsed.Seconds())
	fmt.Fprintf(out, "\n%-8s %8s %7s %10s %10s %10s %10s\n", "kind", "requests", "errors", "p50", "p90", "p99", "max")
	for _, k := range s.kinds {
		fmt.Fprintf(out, "%-8s %8d %7d %10s %10s %10s %10s\n", k.kind, k.requests, k.errors,
			fmtDur(k.p50), fmtDur(k.p90), fmtDur(k.p99), fmtDur(k.max))
	}
	if len(s.errors) > 0 {
		fmt.Fprintln(out, "\nerrors (kind, status, reason):")
		for _, k := range slices.Sorted(maps.Keys(s.errors)) {
			fmt.Fprintf(out, "  %7d  %s\n", s.errors[k], k)
		}
	}
}

func (s loadSummary) json() *loadRunJSON {
	j := &loadRunJSON{Mix: s.mix, Rate: s.rate, DurationS: s.duration.Seconds(), Requests: s.requests, Errors: s.errs,
		ThroughputRPS: perSecond(int(s.requests), s.elapsed), PaymentsSucceeded: s.paid, Kinds: map[string]loadKindJSON{}}
	for _, k := range s.kinds {
		j.Kinds[k.kind] = loadKindJSON{Requests: k.requests, Errors: k.errors,
			P50ms: ms(k.p50), P90ms: ms(k.p90), P99ms: ms(k.p99), MaxMs: ms(k.max)}
	}
	return j
}

// percentile is the nearest-rank percentile p (0 < p ≤ 1) of sorted
// durations; 0 when there are none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, max(0, int(math.Ceil(p*float64(len(sorted))))-1))]
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}
