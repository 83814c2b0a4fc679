package host

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/observability"
)

// Shadow traffic: a module hosted here whose config names a remote copy
// (modules.<name>.shadow) keeps serving every call in-process; a sample of
// its read calls is also replayed against the copy, off the caller's path,
// and the two answers are compared. The module declares which methods are
// reads by the decorator it gives as Descriptor.Shadow (see [ShadowRead]):
// only those are replayed, so a write never runs twice.

// ShadowOptions tune a [Shadow].
type ShadowOptions struct {
	// Module is the shadowed module's name; Remote the copy's base URL
	// (for the status and the log).
	Module, Remote string
	// Ratio is the share of read calls replayed, in (0, 1].
	Ratio float64
	// Queue bounds the replays waiting for a worker (default 256): a full
	// queue drops the sample, never delays the caller.
	Queue int
	// Workers replay in parallel (default 2).
	Workers int
	// Timeout bounds one replay (default 5 s).
	Timeout time.Duration
	// Log receives one line per mismatch (ids and field names, no values).
	Log *slog.Logger
	// Registerer receives bellhop_shadow_calls_total (nil: none).
	Registerer prometheus.Registerer
}

// Shadow replays sampled read calls against a remote copy of a module and
// counts how the answers compare. Its Run is the workers; without it
// running, samples are dropped once the queue is full.
type Shadow struct {
	o     ShadowOptions
	queue chan func(context.Context)
	// pick, when set, decides sampling instead of the random draw (tests).
	pick func() bool

	matched, mismatched, failed, dropped atomic.Uint64

	mu       sync.Mutex
	byMethod map[string]*ShadowMethodStats
	calls    *prometheus.CounterVec
}

// NewShadow builds a shadow; it starts nothing (see Run).
func NewShadow(o ShadowOptions) (*Shadow, error) {
	if o.Ratio <= 0 || o.Ratio > 1 {
		return nil, errors.New("host: shadow ratio must be in (0, 1]")
	}
	if o.Queue <= 0 {
		o.Queue = 256
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Shadow{o: o, queue: make(chan func(context.Context), o.Queue), byMethod: map[string]*ShadowMethodStats{}}
	s.calls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bellhop_shadow_calls_total",
		Help: "Read calls replayed against a module's remote copy (shadow traffic), by outcome: match, mismatch, failed (the copy did not answer) or dropped (queue full).",
	}, []string{"module", "method", "outcome"})
	if o.Registerer != nil {
		if err := o.Registerer.Register(s.calls); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
			s.calls = are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	return s, nil
}

// Run replays queued samples until ctx is done.
func (s *Shadow) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range s.o.Workers {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case job := <-s.queue:
					job(ctx)
				}
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}

// ShadowRead is what a module's shadow decorator does for each read method:
// it answers with primary (the in-process call) and, for a sample, queues
// the same request to shadow (the remote copy) and compares the answers
// later. The caller never waits for the copy, and the copy's answer or
// failure never reaches it. A nil s only calls primary.
func ShadowRead[Req, Res any](s *Shadow, ctx context.Context, method string, req Req,
	primary, shadow func(context.Context, Req) (Res, error)) (Res, error) {
	res, err := primary(ctx, req)
	if s == nil || !s.sample() {
		return res, err
	}
	// The replay outlives the call: it keeps the caller's identity and
	// request id (the context's values), not its deadline or cancellation.
	detached := context.WithoutCancel(ctx)
	job := func(run context.Context) {
		rctx, cancel := context.WithTimeout(detached, s.o.Timeout)
		defer cancel()
		stop := context.AfterFunc(run, cancel) // the process is stopping
		defer stop()
		got, gotErr := shadow(rctx, req)
		s.compare(ctx, method, res, err, got, gotErr)
	}
	select {
	case s.queue <- job:
	default:
		s.count(method, "dropped")
	}
	return res, err
}

func (s *Shadow) sample() bool {
	if s.pick != nil {
		return s.pick()
	}
	return s.o.Ratio >= 1 || rand.Float64() < s.o.Ratio
}

// compare counts one replay and logs a mismatch by the ids it has (request
// id, caller) and the names of the fields that differ, never their values:
// answers carry personal data and the log must not.
func (s *Shadow) compare(ctx context.Context, method string, want any, wantErr error, got any, gotErr error) {
	if gotErr != nil && apperr.CodeOf(gotErr) == apperr.CodeUnavailable && (wantErr == nil || apperr.CodeOf(wantErr) != apperr.CodeUnavailable) {
		s.count(method, "failed")
		return
	}
	var diff []string
	switch {
	case wantErr != nil || gotErr != nil:
		if errorKey(wantErr) != errorKey(gotErr) {
			diff = []string{"error: " + errorKey(wantErr) + " vs " + errorKey(gotErr)}
		}
	default:
		diff = jsonDiff(want, got)
	}
	if len(diff) == 0 {
		s.count(method, "match")
		return
	}
	s.count(method, "mismatch")
	attrs := []any{"module", s.o.Module, "method", method, "copy", s.o.Remote, "differs", strings.Join(diff, ", ")}
	if id := observability.RequestID(ctx); id != "" {
		attrs = append(attrs, "request_id", id)
	}
	if p, err := authn.Caller(ctx); err == nil && p.Subject != "" {
		attrs = append(attrs, "caller", p.Subject)
	}
	s.o.Log.Warn("shadow mismatch: the remote copy answered differently", attrs...)
}

// errorKey is what must agree between two errors: "ok", or the code and
// namespaced reason (the message may be worded differently).
func errorKey(err error) string {
	if err == nil {
		return "ok"
	}
	ae := apperr.As(err)
	return string(ae.Code) + "/" + ae.Reason
}

// jsonDiff compares two answers as JSON (the form they cross the network
// in, so an in-process value and its decoded copy compare alike) and
// returns the paths of the fields that differ, at most 5.
func jsonDiff(a, b any) []string {
	av, aerr := asJSON(a)
	bv, berr := asJSON(b)
	if aerr != nil || berr != nil {
		return []string{"(not JSON)"}
	}
	var out []string
	walkDiff("", av, bv, &out)
	return out
}

func asJSON(v any) (any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	return out, json.Unmarshal(raw, &out)
}

func walkDiff(path string, a, b any, out *[]string) {
	if len(*out) >= 5 || reflect.DeepEqual(a, b) {
		return
	}
	name := path
	if name == "" {
		name = "(answer)"
	}
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			walkDiff(strings.TrimPrefix(path+"."+k, "."), am[k], bm[k], out)
		}
		return
	}
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if aok && bok && len(as) == len(bs) {
		for i := range as {
			walkDiff(path+"[]", as[i], bs[i], out)
			if len(*out) > 0 && (*out)[len(*out)-1] == path+"[]" {
				break // one mention per list is enough
			}
		}
		return
	}
	if !slices.Contains(*out, name) {
		*out = append(*out, name)
	}
}

func (s *Shadow) count(method, outcome string) {
	switch outcome {
	case "match":
		s.matched.Add(1)
	case "mismatch":
		s.mismatched.Add(1)
	case "failed":
		s.failed.Add(1)
	case "dropped":
		s.dropped.Add(1)
	}
	s.calls.WithLabelValues(s.o.Module, method, outcome).Inc()
	s.mu.Lock()
	m := s.byMethod[method]
	if m == nil {
		m = &ShadowMethodStats{Method: method}
		s.byMethod[method] = m
	}
	switch outcome {
	case "match":
		m.Matches++
	case "mismatch":
		m.Mismatches++
	case "failed":
		m.Failed++
	case "dropped":
		m.Dropped++
	}
	s.mu.Unlock()
}

// ShadowStats are a shadow's counts since the process started.
type ShadowStats struct {
	Module, Remote string
	Ratio          float64
	// Compared = Matches + Mismatches: replays the copy answered.
	Compared, Matches, Mismatches uint64
	// Failed: the copy did not answer (unavailable); Dropped: the queue
	// was full.
	Failed, Dropped uint64
	// MatchRate is Matches/Compared (0 before any).
	MatchRate float64
	Methods   []ShadowMethodStats
}

// ShadowMethodStats are the counts of one method.
type ShadowMethodStats struct {
	Method                               string
	Matches, Mismatches, Failed, Dropped uint64
}

// Stats are the counts so far.
func (s *Shadow) Stats() ShadowStats {
	st := ShadowStats{Module: s.o.Module, Remote: s.o.Remote, Ratio: s.o.Ratio,
		Matches: s.matched.Load(), Mismatches: s.mismatched.Load(), Failed: s.failed.Load(), Dropped: s.dropped.Load()}
	st.Compared = st.Matches + st.Mismatches
	if st.Compared > 0 {
		st.MatchRate = float64(st.Matches) / float64(st.Compared)
	}
	s.mu.Lock()
	for _, m := range s.byMethod {
		st.Methods = append(st.Methods, *m)
	}
	s.mu.Unlock()
	slices.SortFunc(st.Methods, func(a, b ShadowMethodStats) int { return strings.Compare(a.Method, b.Method) })
	return st
}
