package main

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"gorm.io/gorm"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/payments/provider/sandbox"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/config"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/observability"
	"github.com/bellhop/bellhop/web"
)

// webDeps is what the dashboard is composed from in serve.
type webDeps struct {
	cfg      *config.Config
	log      *slog.Logger
	svcs     services
	verifier *authn.Verifier
	mods     *modules
	bus      *events.Bus
	monitor  *events.Monitor
	reg      prometheus.Gatherer
	edges    *observability.EdgeMetrics
	addr     string
}

// mountWeb composes the dashboard where this process can serve every page:
// it has all four modules' Services (local or remote) and verifies tokens,
// and is not a single module's process (--only). It returns nil, nil where
// the dashboard does not run. The caller closes the returned database.
func mountWeb(ctx context.Context, e *echo.Echo, d webDeps) (*web.Web, *db.DB, error) {
	s := d.svcs
	if len(d.cfg.Only) > 0 || s.auth == nil || s.search == nil || s.bookings == nil || s.payments == nil || d.verifier == nil {
		return nil, nil, nil
	}
	sessions, err := db.Open(ctx, db.Options{Module: web.Module, DataDir: d.cfg.DataDir, Log: d.log})
	if err != nil {
		return nil, nil, err
	}
	if err := sessions.Migrate(ctx, web.Migrations); err != nil {
		_ = sessions.Close()
		return nil, nil, err
	}
	var key []byte
	if d.cfg.Auth.CSRFKey != "" {
		key, _ = base64.StdEncoding.DecodeString(d.cfg.Auth.CSRFKey) // validated with the config
	}
	deps := web.Deps{
		Auth: s.auth, Search: s.search, Bookings: s.bookings, Payments: s.payments, Verifier: d.verifier,
		DB: sessions, CSRFKey: key, Log: d.log,
		System: newSystemStatus(d),
	}
	if s.bank != nil {
		deps.Bank = bankFaults{bank: s.bank, log: d.log}
	}
	w, err := web.New(deps)
	if err != nil {
		_ = sessions.Close()
		return nil, nil, err
	}
	w.Register(e)
	return w, sessions, nil
}

// bankFaults lets the dashboard switch the embedded sandbox bank's faults,
// like PUT /api/v1/admin/payments/sandbox/faults, for admins only.
type bankFaults struct {
	bank *sandbox.Bank
	log  *slog.Logger
}

func requireAdminCtx(ctx context.Context) (authn.Principal, error) {
	p, err := authn.RequireUser(ctx)
	if err != nil {
		return p, err
	}
	if !p.HasRole(RoleAdmin) {
		return p, authn.ErrForbidden.With("this needs the %q role", RoleAdmin)
	}
	return p, nil
}

func (b bankFaults) Faults(ctx context.Context) (web.SandboxFaults, error) {
	if _, err := requireAdminCtx(ctx); err != nil {
		return web.SandboxFaults{}, err
	}
	f := b.bank.Faults()
	return web.SandboxFaults{Latency: f.Latency, LatencyMax: f.LatencyMax, FailureRate: f.FailureRate, Down: f.Down}, nil
}

func (b bankFaults) SetFaults(ctx context.Context, in web.SandboxFaults) error {
	p, err := requireAdminCtx(ctx)
	if err != nil {
		return err
	}
	f := sandbox.Faults{Latency: in.Latency, LatencyMax: in.LatencyMax, FailureRate: in.FailureRate, Down: in.Down}
	if err := b.bank.Inject(f); err != nil {
		return apperr.Invalid("payments.invalid_sandbox_faults", err.Error())
	}
	b.log.Warn("sandbox bank faults changed", "by", p.Subject, "latency", f.Latency, "latency_max", f.LatencyMax,
		"failure_rate", f.FailureRate, "down", f.Down)
	return nil
}

// systemStatus is the System page's view of this process: the modules it
// hosts or calls, the per-edge call metrics over the last minute, and the
// event backbone (from the Prometheus registry and the modules' databases).
type systemStatus struct {
	d      webDeps
	dl     eventsAdmin
	client *http.Client

	mu      sync.Mutex
	samples []edgeSample // oldest first, at most a minute apart from the newest
	started time.Time
}

type edgeSample struct {
	at     time.Time
	totals []observability.EdgeTotals
}

// edgeWindow is how far back the edge figures look.
const edgeWindow = time.Minute

func newSystemStatus(d webDeps) *systemStatus {
	s := &systemStatus{d: d, client: &http.Client{Timeout: 800 * time.Millisecond}, started: time.Now()}
	s.dl = eventsAdmin{bus: d.bus, monitor: d.monitor, dbs: map[string]*gorm.DB{}}
	for name, m := range d.mods.dbByName {
		s.dl.dbs[name] = m.DB
	}
	return s
}

// edgeRates compares the edges now with the oldest sample within the window
// (or with zero, since the process started, before there is one).
func (s *systemStatus) edgeRates(now time.Time) ([]observability.EdgeRate, time.Duration) {
	cur := s.d.edges.Snapshot()
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.samples) > 1 && now.Sub(s.samples[1].at) >= edgeWindow {
		s.samples = s.samples[1:]
	}
	var prev []observability.EdgeTotals
	since := s.started
	if len(s.samples) > 0 && now.Sub(s.samples[0].at) > time.Second {
		prev, since = s.samples[0].totals, s.samples[0].at
	}
	if len(s.samples) == 0 || now.Sub(s.samples[len(s.samples)-1].at) >= 5*time.Second {
		s.samples = append(s.samples, edgeSample{at: now, totals: cur})
	}
	window := now.Sub(since)
	return observability.EdgeRates(prev, cur, window), window
}

func (s *systemStatus) Status(ctx context.Context) (web.SystemReport, error) {
	if _, err := requireAdminCtx(ctx); err != nil {
		return web.SystemReport{}, err
	}
	now := time.Now()
	r := web.SystemReport{At: now, Process: s.d.addr + " (bellhop " + version + ")"}
	r.Modules = s.modules(ctx)
	rates, window := s.edgeRates(now)
	r.Window = window
	for _, e := range rates {
		r.Edges = append(r.Edges, web.EdgeStatus{Caller: e.Caller, Callee: e.Callee, Remote: e.Location == observability.Remote,
			Calls: e.Calls, CallsPerSecond: e.CallsPerSecond, FailureRate: e.FailureRate, P50: e.P50, P99: e.P99})
	}
	s.backbone(&r)
	for name, g := range s.dl.dbs {
		dls, err := events.ListDeadLetters(ctx, g)
		if err != nil {
			return r, apperr.Internal(err)
		}
		for _, dl := range dls {
			r.DeadLetters = append(r.DeadLetters, web.DeadLetter{ID: name + "-" + strconv.FormatInt(dl.ID, 10), Module: name,
				Consumer: dl.Consumer, Type: dl.Type, Error: dl.Error, Attempts: dl.Attempts, CreatedAt: dl.CreatedAt})
		}
	}
	slices.SortFunc(r.DeadLetters, func(a, b web.DeadLetter) int { return a.CreatedAt.Compare(b.CreatedAt) })
	if s.d.monitor != nil {
		for _, e := range s.d.monitor.Recent(15) {
			r.Recent = append(r.Recent, web.RecentEvent{ID: e.ID, Source: e.Source, Type: e.Type, Time: e.Time})
		}
	}
	return r, nil
}

// modules: every module, hosted here (its database answers) or remote (its
// /readyz answers 200), checked in parallel.
func (s *systemStatus) modules(ctx context.Context) []web.ModuleStatus {
	names := []string{auth.Module, search.Module, bookings.Module, payments.Module}
	out := make([]web.ModuleStatus, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		out[i] = web.ModuleStatus{Name: name, Location: "in-process"}
		if u := s.d.cfg.Modules[name].URL; u != "" {
			out[i].Location, out[i].Remote = u, true
			wg.Go(func() { out[i].Ready, out[i].Detail = s.remoteReady(ctx, u) })
			continue
		}
		d, ok := s.d.mods.dbByName[name]
		if !ok {
			out[i].Detail = "not hosted here and no remote URL"
			continue
		}
		wg.Go(func() {
			if err := d.Ping(ctx); err != nil {
				out[i].Detail = "database: " + err.Error()
				return
			}
			out[i].Ready = true
		})
	}
	wg.Wait()
	return out
}

func (s *systemStatus) remoteReady(ctx context.Context, base string) (bool, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/readyz", nil)
	if err != nil {
		return false, err.Error()
	}
	res, err := s.client.Do(req)
	if err != nil {
		return false, "no answer from /readyz"
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return false, "/readyz answered " + res.Status
	}
	return true, ""
}

// backbone reads the outbox and consumer gauges of this process's registry.
func (s *systemStatus) backbone(r *web.SystemReport) {
	families, err := s.d.reg.Gather()
	if err != nil && len(families) == 0 {
		return
	}
	label := func(m *dto.Metric, name string) string {
		for _, l := range m.GetLabel() {
			if l.GetName() == name {
				return l.GetValue()
			}
		}
		return ""
	}
	outbox := map[string]*web.OutboxStatus{}
	for _, f := range families {
		switch f.GetName() {
		case "bellhop_events_outbox_backlog", "bellhop_events_outbox_oldest_pending_seconds":
			for _, m := range f.GetMetric() {
				mod := label(m, "module")
				o := outbox[mod]
				if o == nil {
					o = &web.OutboxStatus{Module: mod}
					outbox[mod] = o
				}
				if f.GetName() == "bellhop_events_outbox_backlog" {
					o.Backlog = int(m.GetGauge().GetValue())
				} else {
					o.OldestAge = time.Duration(m.GetGauge().GetValue() * float64(time.Second))
				}
			}
		case "bellhop_events_consumer_pending":
			for _, m := range f.GetMetric() {
				r.Consumers = append(r.Consumers, web.ConsumerStatus{Module: label(m, "module"), Subscription: label(m, "subscription"),
					Pending: int(m.GetGauge().GetValue())})
			}
		}
	}
	for _, o := range outbox {
		r.Outboxes = append(r.Outboxes, *o)
	}
	slices.SortFunc(r.Outboxes, func(a, b web.OutboxStatus) int { return strings.Compare(a.Module, b.Module) })
	slices.SortFunc(r.Consumers, func(a, b web.ConsumerStatus) int {
		return strings.Compare(a.Module+"/"+a.Subscription, b.Module+"/"+b.Subscription)
	})
}

func (s *systemStatus) ReplayDeadLetter(ctx context.Context, id string) error {
	if _, err := requireAdminCtx(ctx); err != nil {
		return err
	}
	i := strings.LastIndexByte(id, '-')
	if i <= 0 {
		return errBadDeadLetterID
	}
	n, err := strconv.ParseInt(id[i+1:], 10, 64)
	if err != nil || n < 1 {
		return errBadDeadLetterID
	}
	g, ok := s.dl.dbs[id[:i]]
	if !ok {
		return events.ErrDeadLetterNotFound
	}
	if err := s.d.bus.Replay(ctx, g, n); err != nil {
		if errors.Is(err, events.ErrDeadLetterNotFound) || apperr.CodeOf(err) != apperr.CodeInternal {
			return err
		}
		return apperr.Conflict("events.replay_failed", "the event's handler failed again; see the dead letter's error").WithCause(err)
	}
	return nil
}

var _ web.SystemStatus = (*systemStatus)(nil)
var _ web.BankFaults = bankFaults{}
var _ prometheus.Gatherer = (*prometheus.Registry)(nil)
