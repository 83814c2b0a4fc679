package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/platform/apperr"
)

// SystemStatus is what the System page shows: where each module runs and how
// it is, the calls between them and the event backbone. cmd/bellhop
// implements it (the dashboard knows no module's insides); implementations
// check that the caller in ctx is an admin.
type SystemStatus interface {
	Status(ctx context.Context) (SystemReport, error)
	// ReplayDeadLetter re-runs a dead letter's handler (ids as the report
	// lists them). Errors: events.ErrDeadLetterNotFound, a conflict when the
	// handler fails again.
	ReplayDeadLetter(ctx context.Context, id string) error
}

// SystemReport is the system as this process sees it at At: in split mode
// with every process it calls remotely, as each reports itself.
type SystemReport struct {
	At      time.Time
	Process string // this process: its listen address and version
	Modules []ModuleStatus
	// Processes are this one first, then every process it calls (the
	// gateway gathers their reports); a process that did not answer is
	// there with Up false.
	Processes []ProcessStatus
	// Edges are the calls between modules over Window (the public API and
	// this dashboard call as "api"), as every process recorded them.
	Edges       []EdgeStatus
	Window      time.Duration
	Outboxes    []OutboxStatus
	Consumers   []ConsumerStatus
	DeadLetters []DeadLetter
	Recent      []RecentEvent
	// Shadows are the modules replaying reads against a copy.
	Shadows []ShadowStatus
	// SlowTraces are the most recent slow requests and events of every
	// process, newest first; Tracing says whether any process traces.
	SlowTraces []SlowTrace
	Tracing    bool
}

// SlowTrace is a request or handled event that took long in one process,
// with a link to its whole trace when a trace viewer is configured.
type SlowTrace struct {
	TraceID  string        `json:"trace_id"`
	Name     string        `json:"name"`
	Kind     string        `json:"kind"`
	Process  string        `json:"process"`
	URL      string        `json:"url,omitempty"`
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration_ns"`
	Failed   bool          `json:"failed"`
}

// ProcessStatus is one process as it reports itself (the JSON its
// operator endpoint, GET /api/v1/admin/system/process, serves).
type ProcessStatus struct {
	// Name is its listen address and version; URL is how the gateway
	// reaches it ("" for the gateway itself).
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
	// Up: it answered. Detail says why not.
	Up     bool     `json:"up"`
	Detail string   `json:"detail,omitempty"`
	Hosted []string `json:"hosted"`
	// Calls are the modules it calls over HTTP: module → URL.
	Calls map[string]string `json:"calls"`
	// Ready: every readiness check passed (its databases, NATS).
	Ready       bool             `json:"ready"`
	Checks      []CheckStatus    `json:"checks"`
	Edges       []EdgeStatus     `json:"edges"`
	Window      time.Duration    `json:"window_ns"`
	Outboxes    []OutboxStatus   `json:"outboxes"`
	Consumers   []ConsumerStatus `json:"consumers"`
	DeadLetters []DeadLetter     `json:"dead_letters"`
	Shadows     []ShadowStatus   `json:"shadows"`
	// Tracing: the process traces (and keeps its slow traces);
	// SlowThreshold is from how long a request or event counts as slow.
	Tracing       bool          `json:"tracing"`
	SlowThreshold time.Duration `json:"slow_threshold_ns"`
	SlowTraces    []SlowTrace   `json:"slow_traces"`
}

// CheckStatus is one readiness check of a process.
type CheckStatus struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// ShadowStatus is a module replaying a sample of its reads against a
// remote copy, and how the answers compared since its process started.
type ShadowStatus struct {
	Module     string  `json:"module"`
	Remote     string  `json:"remote"`
	Process    string  `json:"process"`
	Ratio      float64 `json:"ratio"`
	Compared   uint64  `json:"compared"`
	Matches    uint64  `json:"matches"`
	Mismatches uint64  `json:"mismatches"`
	Failed     uint64  `json:"failed"`
	Dropped    uint64  `json:"dropped"`
	MatchRate  float64 `json:"match_rate"`
}

// ModuleStatus is one module: in this process or remote, and its health.
type ModuleStatus struct {
	Name string
	// Location is "in-process" or the remote base URL.
	Location string
	Remote   bool
	// Process is the process hosting it, as it names itself ("" when it
	// did not answer).
	Process string
	// Ready: its database (local) or its process's readiness (remote).
	Ready  bool
	Detail string // why not ready
}

// EdgeStatus is the traffic along one caller → callee edge over the window.
type EdgeStatus struct {
	Caller string `json:"caller"`
	Callee string `json:"callee"`
	Remote bool   `json:"remote"`
	// Process recorded the edge (the caller's process).
	Process        string        `json:"process"`
	Calls          uint64        `json:"calls"`
	CallsPerSecond float64       `json:"calls_per_second"`
	FailureRate    float64       `json:"failure_rate"` // 5xx-class failures / calls
	P50            time.Duration `json:"p50_ns"`
	P99            time.Duration `json:"p99_ns"`
}

// OutboxStatus is a module's events not yet published.
type OutboxStatus struct {
	Module    string        `json:"module"`
	Process   string        `json:"process"`
	Backlog   int           `json:"backlog"`
	OldestAge time.Duration `json:"oldest_age_ns"`
}

// ConsumerStatus is a subscription's lag: events in the stream it has not
// been delivered yet.
type ConsumerStatus struct {
	Module       string `json:"module"`
	Subscription string `json:"subscription"`
	Process      string `json:"process"`
	Pending      int    `json:"pending"`
}

// DeadLetter is an event a consumer gave up on.
type DeadLetter struct {
	ID        string    `json:"id"`
	Module    string    `json:"module"`
	Consumer  string    `json:"consumer"`
	Type      string    `json:"type"`
	Error     string    `json:"error"`
	Process   string    `json:"process"`
	Attempts  int       `json:"attempts"`
	CreatedAt time.Time `json:"created_at"`
}

// RecentEvent is an event seen on the backbone.
type RecentEvent struct {
	ID, Source, Type string
	Time             time.Time
}

type systemData struct {
	Available bool
	Report    SystemReport
	Graph     *topology
}

func (w *Web) systemPage(c echo.Context) error {
	v := view{Title: "System · Bellhop"}
	if id := c.QueryParam("replayed"); id != "" {
		v.Notice = "Dead letter " + id + " is replayed"
	}
	return w.renderSystem(c, v)
}

// systemLive is the live part of the System page, polled by htmx.
func (w *Web) systemLive(c echo.Context) error {
	return w.renderSystem(c, view{Title: "System · Bellhop"})
}

func (w *Web) renderSystem(c echo.Context, v view) error {
	d := systemData{}
	if w.d.System != nil {
		r, err := w.d.System.Status(c.Request().Context())
		if err != nil {
			return w.fail(c, err)
		}
		d = systemData{Available: true, Report: r, Graph: layoutTopology(r)}
	}
	v.Data = &d
	return w.render(c, http.StatusOK, "system", v)
}

func (w *Web) replayDeadLetter(c echo.Context) error {
	if w.d.System == nil {
		return w.fail(c, apperr.Unavailable("web.no_system", "the system status is not available in this process"))
	}
	id := c.Param("id")
	if err := w.d.System.ReplayDeadLetter(c.Request().Context(), id); err != nil {
		if apperr.CodeOf(err) == apperr.CodeForbidden {
			return w.fail(c, err)
		}
		return w.renderSystem(c, view{Title: "System · Bellhop", Banner: "Dead letter " + id + " was not replayed: " + apperr.As(err).Message})
	}
	return redirect(c, "/system?replayed="+url.QueryEscape(id))
}

// topology is the module graph laid out for SVG: columns by call depth
// (callers left of callees), one row per node in a column.
type topology struct {
	Width, Height int
	Nodes         []topoNode
	Edges         []topoEdge
	Summary       string
}

type topoNode struct {
	Name, Location string
	X, Y, W, H     int
	Remote, Ready  bool
	Caller         bool // the gateway: calls, is not a module
}

type topoEdge struct {
	X1, Y1, X2, Y2 int
	LX, LY         int // label position
	Label, Title   string
	Failing        bool
	Remote         bool
}

const (
	nodeW, nodeH = 150, 54
	colGap       = 110
	rowGap       = 40
	margin       = 20
)

func layoutTopology(r SystemReport) *topology {
	names := []string{}
	add := func(n string) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	add("api")
	for _, m := range r.Modules {
		add(m.Name)
	}
	for _, e := range r.Edges {
		add(e.Caller)
		add(e.Callee)
	}
	// depth: the longest path from a caller (the graph is acyclic; the loop
	// is bounded in case a report is not).
	depth := map[string]int{}
	for range len(names) {
		for _, e := range r.Edges {
			if depth[e.Callee] < depth[e.Caller]+1 {
				depth[e.Callee] = depth[e.Caller] + 1
			}
		}
	}
	for _, m := range r.Modules {
		if depth[m.Name] == 0 {
			depth[m.Name] = 1 // a module nothing called yet still sits right of the gateway
		}
	}
	cols := map[int][]string{}
	maxCol, maxRows := 0, 0
	for _, n := range names {
		d := depth[n]
		cols[d] = append(cols[d], n)
		maxCol = max(maxCol, d)
		maxRows = max(maxRows, len(cols[d]))
	}
	t := &topology{Width: margin*2 + (maxCol+1)*nodeW + maxCol*colGap, Height: margin*2 + maxRows*nodeH + (maxRows-1)*rowGap + 20}
	pos := map[string]*topoNode{}
	status := map[string]ModuleStatus{}
	for _, m := range r.Modules {
		status[m.Name] = m
	}
	for col := 0; col <= maxCol; col++ {
		ns := cols[col]
		slices.Sort(ns)
		colH := len(ns)*nodeH + (len(ns)-1)*rowGap
		top := (t.Height - colH) / 2
		for i, n := range ns {
			st, isModule := status[n]
			node := topoNode{Name: n, X: margin + col*(nodeW+colGap), Y: top + i*(nodeH+rowGap), W: nodeW, H: nodeH,
				Remote: st.Remote, Ready: st.Ready || !isModule, Caller: !isModule}
			switch {
			case !isModule && n == "api":
				node.Location = "gateway: API + pages"
			case !isModule:
				node.Location = "caller"
			case st.Remote && !st.Ready && st.Process == "":
				node.Location = "down: " + strings.TrimPrefix(st.Location, "http://")
			case st.Remote:
				node.Location = "at " + strings.TrimPrefix(st.Location, "http://")
			default:
				node.Location = "in this process"
			}
			t.Nodes = append(t.Nodes, node)
		}
	}
	for i := range t.Nodes {
		pos[t.Nodes[i].Name] = &t.Nodes[i]
	}
	var busiest []string
	for _, e := range r.Edges {
		a, b := pos[e.Caller], pos[e.Callee]
		if a == nil || b == nil {
			continue
		}
		te := topoEdge{X1: a.X + a.W, Y1: a.Y + a.H/2, X2: b.X, Y2: b.Y + b.H/2, Remote: e.Remote,
			Failing: e.Calls > 0 && e.FailureRate >= 0.01}
		if b.X <= a.X { // same column: go around below
			te.X1, te.Y1, te.X2, te.Y2 = a.X+a.W/2, a.Y+a.H, b.X+b.W/2, b.Y
		}
		te.LX, te.LY = (te.X1+te.X2)/2, (te.Y1+te.Y2)/2-6
		te.Label = fmt.Sprintf("%.1f/s · p99 %s", e.CallsPerSecond, formatMillis(e.P99))
		if e.FailureRate > 0 {
			te.Label += fmt.Sprintf(" · %.1f%% fail", e.FailureRate*100)
		}
		where := "in-process"
		if e.Remote {
			where = "over HTTP"
		}
		te.Title = fmt.Sprintf("%s → %s (%s): %.2f calls/s, p50 %s, p99 %s, %.1f%% failed", e.Caller, e.Callee, where,
			e.CallsPerSecond, formatMillis(e.P50), formatMillis(e.P99), e.FailureRate*100)
		t.Edges = append(t.Edges, te)
		busiest = append(busiest, e.Caller+" → "+e.Callee)
	}
	t.Summary = fmt.Sprintf("%d modules; calls: %s", len(r.Modules), strings.Join(busiest, ", "))
	if len(busiest) == 0 {
		t.Summary = fmt.Sprintf("%d modules; no calls between them in the last %s", len(r.Modules), r.Window.Round(time.Second))
	}
	return t
}
