package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
	"github.com/bellhop/bellhop/modules/auth/authmodule"
	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/config"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/host"
	"github.com/bellhop/bellhop/platform/observability"
	"github.com/bellhop/bellhop/web"
)

// webDeps is what the dashboard is composed from in serve.
type webDeps struct {
	cfg      *config.Config
	log      *slog.Logger
	host     *host.Host
	verifier *authn.Verifier
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
	ath, ok1 := host.Service[auth.Service](d.host, auth.Module)
	srch, ok2 := host.Service[search.Service](d.host, search.Module)
	bkg, ok3 := host.Service[bookings.Service](d.host, bookings.Module)
	pay, ok4 := host.Service[payments.Service](d.host, payments.Module)
	if len(d.cfg.Only) > 0 || !ok1 || !ok2 || !ok3 || !ok4 || d.verifier == nil {
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
	if k := authmodule.Settings(d.cfg).CSRFKey; k != "" {
		key, _ = base64.StdEncoding.DecodeString(k) // validated with the config
	}
	deps := web.Deps{
		Auth: ath, Search: srch, Bookings: bkg, Payments: pay, Verifier: d.verifier,
		DB: sessions, CSRFKey: key, Log: d.log,
		System:  newSystemStatus(d),
		Mailbox: mailboxOf(d.cfg),
	}
	// Reporting is optional: without it the booking pages omit documents and
	// the reports page says reports are not available here.
	if rep, ok := host.Service[reporting.Service](d.host, reporting.Module); ok {
		deps.Reporting = rep
		deps.ReportFiles = newReportFiles(e, d.cfg.Modules[reporting.Module].URL)
	}
	if d.cfg.Modules[payments.Module].URL == "" {
		// The sandbox bank's fault controls are an admin route of the
		// payments module where it runs: the dashboard calls that route in
		// this process, as the admin, when it is mounted (payments on the
		// sandbox provider).
		deps.Bank = bankFaults{handler: e}
	}
	w, err := web.New(deps)
	if err != nil {
		_ = sessions.Close()
		return nil, nil, err
	}
	w.Register(e)
	return w, sessions, nil
}

// bankFaults lets the dashboard switch the sandbox bank's faults through
// the payments module's own admin route (GET/PUT
// /api/v1/admin/payments/sandbox/faults), served in this process: the
// caller's bearer token goes with the request, so the route checks the
// admin role exactly as for an API call.
type bankFaults struct {
	handler http.Handler
}

const sandboxFaultsPath = "/api/v1/admin/payments/sandbox/faults"

// sandboxFaultsWire is the route's JSON.
type sandboxFaultsWire struct {
	LatencyMS    int64   `json:"latency_ms"`
	LatencyMaxMS int64   `json:"latency_max_ms"`
	FailureRate  float64 `json:"failure_rate"`
	Down         bool    `json:"down"`
}

func (b bankFaults) call(ctx context.Context, method string, in any) (sandboxFaultsWire, error) {
	var out sandboxFaultsWire
	p, err := authn.RequireUser(ctx)
	if err != nil {
		return out, err
	}
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return out, apperr.Internal(err)
		}
		body = bytes.NewReader(raw)
	}
	req := httptest.NewRequestWithContext(ctx, method, sandboxFaultsPath, body)
	req.Header.Set(echo.HeaderAuthorization, "Bearer "+p.Token)
	req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	req.RemoteAddr = "127.0.0.1:0"
	rec := httptest.NewRecorder()
	b.handler.ServeHTTP(rec, req)
	if rec.Code == http.StatusNotFound {
		return out, apperr.Unavailable("payments.sandbox_not_here", "payments does not run on the sandbox bank in this process")
	}
	if rec.Code != http.StatusOK {
		var prob apperr.Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &prob); err == nil && prob.Code != "" {
			return out, prob.Err()
		}
		return out, apperr.Internal(fmt.Errorf("sandbox faults: %d %s", rec.Code, rec.Body.String()))
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		return out, apperr.Internal(err)
	}
	return out, nil
}

func (b bankFaults) Faults(ctx context.Context) (web.SandboxFaults, error) {
	w, err := b.call(ctx, http.MethodGet, nil)
	return web.SandboxFaults{Latency: time.Duration(w.LatencyMS) * time.Millisecond, LatencyMax: time.Duration(w.LatencyMaxMS) * time.Millisecond,
		FailureRate: w.FailureRate, Down: w.Down}, err
}

func (b bankFaults) SetFaults(ctx context.Context, f web.SandboxFaults) error {
	_, err := b.call(ctx, http.MethodPut, sandboxFaultsWire{LatencyMS: f.Latency.Milliseconds(), LatencyMaxMS: f.LatencyMax.Milliseconds(),
		FailureRate: f.FailureRate, Down: f.Down})
	return err
}

// requireAdminCtx is requireAdmin for a context (the System page's calls).
func requireAdminCtx(ctx context.Context) (authn.Principal, error) {
	p, err := authn.RequireUser(ctx)
	if err != nil {
		return p, err
	}
	if !p.HasRole(authn.RoleAdmin) {
		return p, authn.ErrForbidden.With("this needs the %q role", authn.RoleAdmin)
	}
	return p, nil
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
	for name, m := range d.host.Databases() {
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
		d, ok := s.d.host.Databases()[name]
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
