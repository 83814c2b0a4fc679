package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"gorm.io/gorm"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/config"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/host"
	"github.com/bellhop/bellhop/platform/httpserver"
	"github.com/bellhop/bellhop/platform/observability"
	"github.com/bellhop/bellhop/web"
)

// processStatusPath is every process's operator endpoint: its own status
// (modules hosted, the modules it calls over HTTP, readiness, per-edge call
// figures, outbox, consumer lag, dead letters, shadow traffic), for admins.
// The gateway's System page gathers it from every process it calls.
const processStatusPath = "/api/v1/admin/system/process"

// systemDeps are what the status of a process is read from.
type systemDeps struct {
	cfg     *config.Config
	host    *host.Host
	bus     *events.Bus
	monitor *events.Monitor
	reg     prometheus.Gatherer
	edges   *observability.EdgeMetrics
	ready   []httpserver.ReadyCheck
	tracing *observability.Tracing
}

// systemStatus is a process's view of itself (served on processStatusPath)
// and, for the dashboard, of the whole deployment: itself plus the report of
// every process it calls remotely.
type systemStatus struct {
	d      systemDeps
	dl     eventsAdmin
	client *http.Client
	name   string // set by listening, before serving

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

// maxSlowTraces is how many slow traces the System page lists.
const maxSlowTraces = 20

// remoteStatusTimeout bounds asking another process for its status: a
// process that does not answer in time is shown as down.
const remoteStatusTimeout = 800 * time.Millisecond

func newSystemStatus(d systemDeps) *systemStatus {
	s := &systemStatus{d: d, client: &http.Client{Timeout: remoteStatusTimeout}, started: time.Now(), name: "bellhop " + version}
	s.dl = eventsAdmin{bus: d.bus, monitor: d.monitor, dbs: map[string]*gorm.DB{}}
	for name, m := range d.host.Databases() {
		s.dl.dbs[name] = m.DB
	}
	return s
}

// listening names the process by the address it serves on; call it before
// serving.
func (s *systemStatus) listening(addr string) { s.name = addr + " (bellhop " + version + ")" }

func (s *systemStatus) register(e *echo.Echo) {
	e.GET(processStatusPath, s.serveProcess, authn.RequireRoles(authn.RoleAdmin))
}

func (s *systemStatus) serveProcess(c echo.Context) error {
	if err := requireAdmin(c); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.process(c.Request().Context()))
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

// process is this process's own status.
func (s *systemStatus) process(ctx context.Context) web.ProcessStatus {
	// Empty lists, not null: the JSON says "none" the same way everywhere.
	p := web.ProcessStatus{Name: s.name, Up: true, Hosted: s.d.host.Hosted(), Calls: s.d.host.Remote(), Ready: true,
		Edges: []web.EdgeStatus{}, Outboxes: []web.OutboxStatus{}, Consumers: []web.ConsumerStatus{}, DeadLetters: []web.DeadLetter{},
		Shadows: []web.ShadowStatus{}, SlowTraces: []web.SlowTrace{}}
	if p.Hosted == nil {
		p.Hosted = []string{}
	}
	p.Checks = make([]web.CheckStatus, len(s.d.ready))
	var wg sync.WaitGroup
	for i, c := range s.d.ready {
		p.Checks[i] = web.CheckStatus{Name: c.Name, OK: true}
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			if err := c.Check(cctx); err != nil {
				p.Checks[i].OK, p.Checks[i].Detail = false, err.Error()
			}
		})
	}
	wg.Wait()
	for _, c := range p.Checks {
		p.Ready = p.Ready && c.OK
	}
	rates, window := s.edgeRates(time.Now())
	p.Window = window
	for _, e := range rates {
		p.Edges = append(p.Edges, web.EdgeStatus{Caller: e.Caller, Callee: e.Callee, Remote: e.Location == observability.Remote,
			Process: p.Name, Calls: e.Calls, CallsPerSecond: e.CallsPerSecond, FailureRate: e.FailureRate, P50: e.P50, P99: e.P99})
	}
	s.backbone(&p)
	for _, name := range slices.Sorted(maps.Keys(s.dl.dbs)) {
		dls, err := events.ListDeadLetters(ctx, s.dl.dbs[name])
		if err != nil {
			p.Checks = append(p.Checks, web.CheckStatus{Name: "dead letters:" + name, Detail: err.Error()})
			continue
		}
		for _, dl := range dls {
			p.DeadLetters = append(p.DeadLetters, web.DeadLetter{ID: name + "-" + strconv.FormatInt(dl.ID, 10), Module: name, Process: p.Name,
				Consumer: dl.Consumer, Type: dl.Type, Error: dl.Error, Attempts: dl.Attempts, CreatedAt: dl.CreatedAt})
		}
	}
	if s.d.tracing.Enabled() {
		p.Tracing = true
		slow := s.d.tracing.Slow()
		p.SlowThreshold = slow.Threshold()
		for _, st := range slow.Recent() {
			p.SlowTraces = append(p.SlowTraces, web.SlowTrace{TraceID: st.TraceID, Name: st.Name, Kind: st.Kind, Process: p.Name,
				URL: st.URL, Start: st.Start, Duration: st.Duration, Failed: st.Failed})
		}
	}
	for _, sh := range s.d.host.Shadows() {
		p.Shadows = append(p.Shadows, web.ShadowStatus{Module: sh.Module, Remote: sh.Remote, Process: p.Name, Ratio: sh.Ratio,
			Compared: sh.Compared, Matches: sh.Matches, Mismatches: sh.Mismatches, Failed: sh.Failed, Dropped: sh.Dropped, MatchRate: sh.MatchRate})
	}
	return p
}

// Status is the deployment as this process sees it: itself and every
// process it calls remotely (asked in parallel, with the admin's own token),
// where each module runs and whether it is ready.
func (s *systemStatus) Status(ctx context.Context) (web.SystemReport, error) {
	caller, err := requireAdminCtx(ctx)
	if err != nil {
		return web.SystemReport{}, err
	}
	self := s.process(ctx)
	r := web.SystemReport{At: time.Now(), Process: self.Name, Window: self.Window}
	remote := s.d.host.Remote()
	var urls []string
	for _, u := range remote {
		if u = strings.TrimSuffix(u, "/"); !slices.Contains(urls, u) {
			urls = append(urls, u)
		}
	}
	slices.Sort(urls)
	others := make([]web.ProcessStatus, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Go(func() { others[i] = s.fetch(ctx, u, caller.Token) })
	}
	wg.Wait()
	r.Processes = append([]web.ProcessStatus{self}, others...)
	for _, p := range r.Processes {
		r.Edges = append(r.Edges, p.Edges...)
		r.Outboxes = append(r.Outboxes, p.Outboxes...)
		r.Consumers = append(r.Consumers, p.Consumers...)
		r.DeadLetters = append(r.DeadLetters, p.DeadLetters...)
		r.Shadows = append(r.Shadows, p.Shadows...)
		r.SlowTraces = append(r.SlowTraces, p.SlowTraces...)
		r.Tracing = r.Tracing || p.Tracing
	}
	slices.SortFunc(r.SlowTraces, func(a, b web.SlowTrace) int { return b.Start.Compare(a.Start) })
	if len(r.SlowTraces) > maxSlowTraces {
		r.SlowTraces = r.SlowTraces[:maxSlowTraces]
	}
	slices.SortFunc(r.DeadLetters, func(a, b web.DeadLetter) int { return a.CreatedAt.Compare(b.CreatedAt) })
	byURL := map[string]web.ProcessStatus{}
	for i, u := range urls {
		byURL[u] = others[i]
	}
	for _, name := range s.d.host.Modules() {
		m := web.ModuleStatus{Name: name, Location: "in-process"}
		switch u := strings.TrimSuffix(s.d.cfg.Modules[name].URL, "/"); {
		case slices.Contains(self.Hosted, name):
			m.Process = self.Name
			m.Ready, m.Detail = moduleReady(self, name)
		case u != "":
			m.Location, m.Remote = u, true
			p := byURL[u]
			switch {
			case !p.Up:
				m.Detail = p.Detail
			case !slices.Contains(p.Hosted, name):
				m.Process, m.Detail = p.Name, "its process does not host it"
			default:
				m.Process = p.Name
				m.Ready, m.Detail = moduleReady(p, name)
			}
		default:
			m.Detail = "not hosted here and no remote URL"
		}
		r.Modules = append(r.Modules, m)
	}
	if s.d.monitor != nil {
		for _, e := range s.d.monitor.Recent(15) {
			r.Recent = append(r.Recent, web.RecentEvent{ID: e.ID, Source: e.Source, Type: e.Type, Time: e.Time})
		}
	}
	return r, nil
}

// moduleReady: the module's database check and the process's event
// connection passed in p.
func moduleReady(p web.ProcessStatus, module string) (bool, string) {
	var bad []string
	for _, c := range p.Checks {
		if !c.OK && (c.Name == "db:"+module || c.Name == "nats") {
			bad = append(bad, c.Name+": "+c.Detail)
		}
	}
	return len(bad) == 0, strings.Join(bad, "; ")
}

// fetch asks the process at base for its status. A process that does not
// answer, or answers with an error, is down with the reason.
func (s *systemStatus) fetch(ctx context.Context, base, token string) web.ProcessStatus {
	down := web.ProcessStatus{Name: base, URL: base}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+processStatusPath, nil)
	if err != nil {
		down.Detail = err.Error()
		return down
	}
	req.Header.Set(echo.HeaderAuthorization, "Bearer "+token)
	res, err := s.client.Do(req)
	if err != nil {
		down.Detail = fmt.Sprintf("no answer in %s", remoteStatusTimeout)
		var ue *url.Error
		if errors.As(err, &ue) && !ue.Timeout() {
			down.Detail = "no answer (connection failed)"
		}
		return down
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		down.Detail = "its status endpoint answered " + res.Status
		return down
	}
	var p web.ProcessStatus
	if err := json.NewDecoder(io.LimitReader(res.Body, 4<<20)).Decode(&p); err != nil {
		down.Detail = "its status could not be read"
		return down
	}
	p.URL, p.Up = base, true
	return p
}

// backbone reads the outbox and consumer gauges of this process's registry.
func (s *systemStatus) backbone(p *web.ProcessStatus) {
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
					o = &web.OutboxStatus{Module: mod, Process: p.Name}
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
				p.Consumers = append(p.Consumers, web.ConsumerStatus{Module: label(m, "module"), Subscription: label(m, "subscription"),
					Process: p.Name, Pending: int(m.GetGauge().GetValue())})
			}
		}
	}
	for _, o := range outbox {
		p.Outboxes = append(p.Outboxes, *o)
	}
	slices.SortFunc(p.Outboxes, func(a, b web.OutboxStatus) int { return strings.Compare(a.Module, b.Module) })
	slices.SortFunc(p.Consumers, func(a, b web.ConsumerStatus) int {
		return strings.Compare(a.Module+"/"+a.Subscription, b.Module+"/"+b.Subscription)
	})
}

// ReplayDeadLetter replays a dead letter where it lives: in this process's
// module database, or through the operator route of the process hosting
// the module, with the admin's own token.
func (s *systemStatus) ReplayDeadLetter(ctx context.Context, id string) error {
	caller, err := requireAdminCtx(ctx)
	if err != nil {
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
	module := id[:i]
	g, ok := s.dl.dbs[module]
	if !ok {
		if u := s.d.cfg.Modules[module].URL; u != "" {
			return s.replayRemote(ctx, strings.TrimSuffix(u, "/"), id, caller.Token)
		}
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

func (s *systemStatus) replayRemote(ctx context.Context, base, id, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/admin/events/dead-letters/"+url.PathEscape(id)+"/replay", nil)
	if err != nil {
		return apperr.Internal(err)
	}
	req.Header.Set(echo.HeaderAuthorization, "Bearer "+token)
	res, err := s.client.Do(req)
	if err != nil {
		return apperr.Unavailable("events.process_unavailable", "the process hosting that module did not answer")
	}
	defer res.Body.Close()
	if res.StatusCode < 300 {
		return nil
	}
	var prob apperr.Problem
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&prob); err == nil && prob.Code != "" {
		return prob.Err()
	}
	return apperr.Internal(fmt.Errorf("replay %s at %s: %s", id, base, res.Status))
}

var _ web.SystemStatus = (*systemStatus)(nil)
