package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/web"
)

// splitStatus is a split deployment's report: the gateway, a bookings
// process that answered and a search process that did not.
type splitStatus struct{}

func (splitStatus) Status(ctx context.Context) (web.SystemReport, error) {
	if _, err := authn.RequireRole(ctx, authn.RoleAdmin); err != nil {
		return web.SystemReport{}, err
	}
	at := time.Date(2026, 12, 20, 10, 0, 0, 0, time.UTC)
	gw := "127.0.0.1:8080 (bellhop dev)"
	bk := "127.0.0.1:8102 (bellhop dev)"
	return web.SystemReport{
		At: at, Process: gw, Window: time.Minute,
		Modules: []web.ModuleStatus{
			{Name: "auth", Location: "in-process", Process: gw, Ready: true},
			{Name: "bookings", Location: "http://127.0.0.1:8102", Remote: true, Process: bk, Ready: true},
			{Name: "search", Location: "http://127.0.0.1:8101", Remote: true, Detail: "no answer (connection failed)"},
		},
		Processes: []web.ProcessStatus{
			{Name: gw, Up: true, Ready: true, Hosted: []string{"auth"}, Calls: map[string]string{"bookings": "http://127.0.0.1:8102", "search": "http://127.0.0.1:8101"}},
			{Name: bk, URL: "http://127.0.0.1:8102", Up: true, Ready: true, Hosted: []string{"bookings"}, Calls: map[string]string{"search": "http://127.0.0.1:8101"}},
			{Name: "http://127.0.0.1:8101", URL: "http://127.0.0.1:8101", Detail: "no answer (connection failed)"},
		},
		Edges: []web.EdgeStatus{
			{Caller: "api", Callee: "bookings", Remote: true, Process: gw, Calls: 120, CallsPerSecond: 2, P50: 3 * time.Millisecond, P99: 9 * time.Millisecond},
			{Caller: "bookings", Callee: "search", Remote: true, Process: bk, Calls: 60, CallsPerSecond: 1, FailureRate: 0.5, P50: time.Millisecond, P99: 800 * time.Millisecond},
		},
		Shadows: []web.ShadowStatus{{Module: "auth", Remote: "http://127.0.0.1:8201", Process: gw, Ratio: 0.1, Compared: 40, Matches: 30, Mismatches: 10, MatchRate: 0.75, Dropped: 2}},
		Tracing: true,
		SlowTraces: []web.SlowTrace{{TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", Name: "POST /api/v1/bookings <slow>", Kind: "server", Process: gw,
			URL: "http://127.0.0.1:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736", Start: at, Duration: 1200 * time.Millisecond, Failed: true}},
	}, nil
}

func (splitStatus) ReplayDeadLetter(context.Context, string) error { return nil }

// The System page in split mode: every process with what it hosts, the one
// that did not answer shown down (the page still renders), edges named by
// the process that recorded them, the shadow match rate and the slow
// traces linked to the trace viewer, every value escaped.
func TestSystemPage_SplitReport(t *testing.T) {
	t.Parallel()
	a := newAppWith(t, "Casa", func(d *web.Deps) { d.System = splitStatus{} })
	a.auth.add("admin@example.com", "Ann Admin", "admin password 1", authn.RoleAdmin)
	admin := a.browser(t)
	admin.post("/signin", "/signin", url.Values{"email": {"admin@example.com"}, "password": {"admin password 1"}})
	st, _, body := admin.get("/system")
	must(t, "system", st, body, 200,
		`data-process="http://127.0.0.1:8101"`, "no answer (connection failed)", `<span class="status status-failed">down</span>`,
		`data-process="http://127.0.0.1:8102"`, "up, ready",
		"remote: <code>http://127.0.0.1:8102</code>",
		`data-edge="bookings-search"`, "127.0.0.1:8102 (bellhop dev)", "50.0%",
		`data-shadow="auth"`, "75.0%",
		`href="http://127.0.0.1:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736"`, "POST /api/v1/bookings &lt;slow&gt;", "1200 ms",
		"down: 127.0.0.1:8101")
	if strings.Contains(body, "<slow>") {
		t.Error("a trace name is not escaped")
	}
	live, _, body := admin.get("/system/live")
	must(t, "live", live, body, 200, `id="live"`, "down")
}
