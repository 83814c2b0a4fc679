package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/spf13/cobra"

	"github.com/bellhop/bellhop/platform/host"
)

// The split advisor: `bellhop split plan` reads a running deployment's
// per-edge metrics (GET /metrics) and predicts, for each module, what
// running it in its own process would add: the calls that would cross the
// network, on which public routes, with the latency and CPU a loopback hop
// costs (measured by the command, against the same deployment) plus the
// JSON those calls would carry; and the events it would need from a shared
// NATS server.

// newSplitPlanCmd is `bellhop split plan`.
func newSplitPlanCmd() *cobra.Command {
	plan := &cobra.Command{
		Use:   "plan",
		Short: "Predict, from a running deployment's live metrics, what running a module in its own process would add",
		Long: `Reads the per-edge call metrics of a running Bellhop (its /metrics: calls, latency
and answer sizes per caller → callee edge, and per public route), measures a loopback
HTTP hop to it (--hops round trips to /healthz: latency, and CPU on both ends from the
server's process_cpu_seconds_total and this command's own), and prints for each module
(or --module) the calls that would cross the network if it ran remote, what that adds
per call and per request of each public route that makes them (hot routes first), the
CPU it adds, and the events it would need from the shared NATS server.

Run it against the deployment under its usual load. --window 0 uses the totals since
the server started instead of two samples --window apart. /metrics answers loopback
peers without a token; elsewhere give --metrics-token (server.metrics_token).`,
		Example: `  bellhop split plan
  bellhop split plan --module search --url http://127.0.0.1:8080 --window 30s
  bellhop split plan --module bookings --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o := planOptions{}
			o.url, _ = cmd.Flags().GetString("url")
			o.modules, _ = cmd.Flags().GetStringSlice("module")
			o.window, _ = cmd.Flags().GetDuration("window")
			o.hops, _ = cmd.Flags().GetInt("hops")
			o.token, _ = cmd.Flags().GetString("metrics-token")
			if o.token == "" {
				o.token = os.Getenv("BELLHOP_SERVER_METRICS_TOKEN")
			}
			asJSON, _ := cmd.Flags().GetBool("json")
			known := host.Names(bellhopModules())
			for _, m := range o.modules {
				if !slices.Contains(known, m) {
					return fmt.Errorf("split plan: --module %q: unknown module (known: %s)", m, strings.Join(known, ", "))
				}
			}
			if len(o.modules) == 0 {
				o.modules = known
			}
			if o.hops < 10 || o.hops > 100000 {
				return errors.New("split plan: --hops must be between 10 and 100000")
			}
			if o.window < 0 {
				return errors.New("split plan: --window must not be negative")
			}
			p, err := makePlan(cmd.Context(), o)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(p)
			}
			p.print(cmd.OutOrStdout())
			return nil
		},
	}
	plan.Flags().String("url", "http://127.0.0.1:8080", "base URL of the running deployment (the gateway: the process the modules would leave)")
	plan.Flags().StringSlice("module", nil, "plan only these modules (default: every module)")
	plan.Flags().Duration("window", 10*time.Second, "how long to watch the traffic (two samples this far apart); 0: totals since the server started")
	plan.Flags().Int("hops", 2000, "loopback round trips to /healthz for measuring a hop")
	plan.Flags().String("metrics-token", "", "bearer token for /metrics (server.metrics_token; default $BELLHOP_SERVER_METRICS_TOKEN)")
	plan.Flags().Bool("json", false, "print the plan as JSON")
	return plan
}

type planOptions struct {
	url     string
	modules []string
	window  time.Duration
	hops    int
	token   string
}

// splitPlan is the advisor's output.
type splitPlan struct {
	URL string `json:"url"`
	// Window is what the rates are over (the uptime with --window 0).
	WindowSeconds float64    `json:"window_seconds"`
	Hop           hopMeasure `json:"hop"`
	Modules       []modPlan  `json:"modules"`
}

// hopMeasure is one loopback HTTP round trip to the deployment, measured.
type hopMeasure struct {
	RoundTrips  int     `json:"round_trips"`
	P50Micros   float64 `json:"p50_us"`
	P99Micros   float64 `json:"p99_us"`
	MeanMicros  float64 `json:"mean_us"`
	CPUMicros   float64 `json:"cpu_us"`         // server + client CPU per round trip
	JSONNsPerKB float64 `json:"json_ns_per_kb"` // encode + decode, per KB of answer
}

// modPlan is what running one module remote would add.
type modPlan struct {
	Module string `json:"module"`
	// Crossing are the calls that would go over HTTP.
	Crossing []crossingCall `json:"crossing"`
	// Routes are the public routes whose requests make those calls, busiest
	// first.
	Routes          []routeCost `json:"routes"`
	CallsPerSecond  float64     `json:"calls_per_second"`
	BytesPerSecond  float64     `json:"bytes_per_second"`
	AddedCPUPercent float64     `json:"added_cpu_percent_of_a_core"`
	Publishes       []eventRate `json:"publishes"`
	Consumes        []string    `json:"consumes"`
	Note            string      `json:"note,omitempty"`
}

// crossingCall is one method along an edge that would cross the network.
type crossingCall struct {
	Caller, Callee, Method string
	CallsPerSecond         float64 `json:"calls_per_second"`
	Calls                  uint64  `json:"calls"`
	LocalMeanMicros        float64 `json:"local_mean_us"`
	AnswerBytes            float64 `json:"answer_bytes"` // mean of the sampled answers; 0: not sampled
	AddedMicros            float64 `json:"added_us_per_call"`
	AddedCPUMicros         float64 `json:"added_cpu_us_per_call"`
}

// routeCost is what one public route's requests would pay.
type routeCost struct {
	Route             string  `json:"route"`
	RequestsPerSecond float64 `json:"requests_per_second"`
	CallsPerRequest   float64 `json:"calls_per_request"`
	AddedMicros       float64 `json:"added_us_per_request"`
	Hot               bool    `json:"hot"`
}

type eventRate struct {
	Type      string  `json:"type"`
	PerSecond float64 `json:"per_second"`
}

func makePlan(ctx context.Context, o planOptions) (splitPlan, error) {
	base := strings.TrimSuffix(o.url, "/")
	client := &http.Client{Timeout: 10 * time.Second}
	first, err := scrapeMetrics(ctx, client, base, o.token)
	if err != nil {
		return splitPlan{}, err
	}
	var before map[string]*dto.MetricFamily
	window := time.Duration(0)
	if o.window > 0 {
		before = first
		select {
		case <-time.After(o.window):
		case <-ctx.Done():
			return splitPlan{}, ctx.Err()
		}
		window = o.window
	}
	after := first
	if o.window > 0 {
		if after, err = scrapeMetrics(ctx, client, base, o.token); err != nil {
			return splitPlan{}, err
		}
	} else {
		started := gaugeValue(after, "process_start_time_seconds", nil)
		if started == 0 {
			return splitPlan{}, errors.New("split plan: the server reports no process_start_time_seconds: use --window")
		}
		window = time.Since(time.Unix(0, int64(started*float64(time.Second))))
	}
	hop, err := measureHop(ctx, client, base, o.token, o.hops)
	if err != nil {
		return splitPlan{}, err
	}
	p := splitPlan{URL: base, WindowSeconds: window.Seconds(), Hop: hop}
	m := planMetrics{before: before, after: after, window: window}
	for _, mod := range o.modules {
		p.Modules = append(p.Modules, m.plan(mod, hop))
	}
	return p, nil
}

func scrapeMetrics(ctx context.Context, c *http.Client, base, token string) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, fmt.Errorf("split plan: --url: %w", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "text/plain")
	res, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("split plan: read %s/metrics: %w", base, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("split plan: %s/metrics answered %s (from another host, give --metrics-token)", base, res.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		return nil, fmt.Errorf("split plan: read %s/metrics: %w", base, err)
	}
	return fams, nil
}

// measureHop times sequential keep-alive round trips to /healthz (after a
// warm-up) and the CPU they cost on both ends: the server's
// process_cpu_seconds_total and this process's own rusage.
func measureHop(ctx context.Context, c *http.Client, base, token string, n int) (hopMeasure, error) {
	get := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
		if err != nil {
			return err
		}
		res, err := c.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, res.Body)
		return res.Body.Close()
	}
	for range 50 {
		if err := get(); err != nil {
			return hopMeasure{}, fmt.Errorf("split plan: %s/healthz: %w", base, err)
		}
	}
	cpuBefore, err := scrapeMetrics(ctx, c, base, token)
	if err != nil {
		return hopMeasure{}, err
	}
	ownBefore := ownCPU()
	took := make([]time.Duration, n)
	for i := range took {
		began := time.Now()
		if err := get(); err != nil {
			return hopMeasure{}, fmt.Errorf("split plan: %s/healthz: %w", base, err)
		}
		took[i] = time.Since(began)
	}
	ownAfter := ownCPU()
	cpuAfter, err := scrapeMetrics(ctx, c, base, token)
	if err != nil {
		return hopMeasure{}, err
	}
	slices.Sort(took)
	var sum time.Duration
	for _, d := range took {
		sum += d
	}
	server := gaugeOrCounter(cpuAfter, "process_cpu_seconds_total") - gaugeOrCounter(cpuBefore, "process_cpu_seconds_total")
	micros := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	return hopMeasure{
		RoundTrips: n,
		P50Micros:  micros(took[n/2]),
		P99Micros:  micros(took[n*99/100]),
		MeanMicros: micros(sum / time.Duration(n)),
		CPUMicros:  (server*1e6 + micros(ownAfter-ownBefore)) / float64(n),
		// Both ends: the callee encodes the answer, the caller decodes it.
		JSONNsPerKB: jsonCostPerKB(),
	}, nil
}

func ownCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// jsonCostPerKB measures encoding and decoding a typed answer shaped like
// the modules' (lists of records of strings and numbers), per KB.
func jsonCostPerKB() float64 {
	type money struct {
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
	}
	type row struct {
		ID        string   `json:"id"`
		Name      string   `json:"name"`
		City      string   `json:"city"`
		Address   string   `json:"address"`
		Stars     int      `json:"stars"`
		Rating    float64  `json:"rating"`
		Amenities []string `json:"amenities"`
		Total     money    `json:"total"`
		Nights    []money  `json:"nights"`
	}
	rows := make([]row, 40)
	for i := range rows {
		rows[i] = row{ID: fmt.Sprintf("htl_%026d", i), Name: "Hotel Number " + fmt.Sprint(i), City: "Porto", Address: "Rua das Flores 12",
			Stars: 4, Rating: 4.5, Amenities: []string{"wifi", "breakfast", "parking"}, Total: money{25900, "EUR"},
			Nights: []money{{12950, "EUR"}, {12950, "EUR"}}}
	}
	raw, _ := json.Marshal(rows)
	// The fastest of several batches: what encoding costs without the
	// machine's other work in the way (the hop's p50 already carries the
	// usual contention).
	best := time.Duration(math.MaxInt64)
	for range 15 {
		const rounds = 10
		began := time.Now()
		for range rounds {
			b, _ := json.Marshal(rows)
			var back []row
			_ = json.Unmarshal(b, &back)
		}
		best = min(best, time.Since(began)/rounds)
	}
	return float64(best) / (float64(len(raw)) / 1024)
}

// planMetrics are two scrapes (before nil: totals since start).
type planMetrics struct {
	before, after map[string]*dto.MetricFamily
	window        time.Duration
}

// series sums a family's counter (or a histogram's count and sum) by the
// given labels, as after − before.
type seriesKey string

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func keyOf(ls map[string]string, names ...string) seriesKey {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = ls[n]
	}
	return seriesKey(strings.Join(parts, "\x00"))
}

func (k seriesKey) parts() []string { return strings.Split(string(k), "\x00") }

type sums struct{ count, sum float64 }

func sumBy(fams map[string]*dto.MetricFamily, name string, filter func(map[string]string) bool, by ...string) map[seriesKey]sums {
	out := map[seriesKey]sums{}
	f := fams[name]
	if f == nil {
		return out
	}
	for _, m := range f.GetMetric() {
		ls := labelsOf(m)
		if filter != nil && !filter(ls) {
			continue
		}
		k := keyOf(ls, by...)
		s := out[k]
		switch {
		case m.GetCounter() != nil:
			s.count += m.GetCounter().GetValue()
		case m.GetHistogram() != nil:
			s.count += float64(m.GetHistogram().GetSampleCount())
			s.sum += m.GetHistogram().GetSampleSum()
		case m.GetGauge() != nil:
			s.count += m.GetGauge().GetValue()
		}
		out[k] = s
	}
	return out
}

func (p planMetrics) delta(name string, filter func(map[string]string) bool, by ...string) map[seriesKey]sums {
	cur := sumBy(p.after, name, filter, by...)
	if p.before == nil {
		return cur
	}
	prev := sumBy(p.before, name, filter, by...)
	for k, v := range cur {
		v.count -= prev[k].count
		v.sum -= prev[k].sum
		cur[k] = v
	}
	return cur
}

func gaugeValue(fams map[string]*dto.MetricFamily, name string, _ map[string]string) float64 {
	f := fams[name]
	if f == nil || len(f.GetMetric()) == 0 {
		return 0
	}
	return f.GetMetric()[0].GetGauge().GetValue()
}

func gaugeOrCounter(fams map[string]*dto.MetricFamily, name string) float64 {
	f := fams[name]
	if f == nil || len(f.GetMetric()) == 0 {
		return 0
	}
	m := f.GetMetric()[0]
	if m.GetCounter() != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// hotShare: a route with at least this share of the requests that make
// crossing calls is on the hot path.
const hotShare = 0.10

func (p planMetrics) plan(module string, hop hopMeasure) modPlan {
	mp := modPlan{Module: module, Consumes: []string{}, Publishes: []eventRate{}, Crossing: []crossingCall{}, Routes: []routeCost{}}
	secs := p.window.Seconds()
	local := func(ls map[string]string) bool {
		return ls["location"] == "local" && (ls["callee"] == module || ls["caller"] == module)
	}
	calls := p.delta("bellhop_edge_calls_total", local, "caller", "callee", "method")
	lat := p.delta("bellhop_edge_call_duration_seconds", local, "caller", "callee", "method")
	size := p.delta("bellhop_edge_answer_bytes", func(ls map[string]string) bool {
		return ls["callee"] == module || ls["caller"] == module
	}, "caller", "callee", "method")
	perCall := map[string]crossingCall{} // caller/callee/method
	for k, c := range calls {
		if c.count <= 0 {
			continue
		}
		ps := k.parts()
		cc := crossingCall{Caller: ps[0], Callee: ps[1], Method: ps[2], Calls: uint64(c.count), CallsPerSecond: c.count / secs}
		if l := lat[k]; l.count > 0 {
			cc.LocalMeanMicros = l.sum / l.count * 1e6
		}
		if s := size[k]; s.count > 0 {
			cc.AnswerBytes = s.sum / s.count
		}
		jsonMicros := cc.AnswerBytes / 1024 * hop.JSONNsPerKB / 1000
		cc.AddedMicros = hop.P50Micros + jsonMicros
		cc.AddedCPUMicros = hop.CPUMicros + jsonMicros
		perCall[string(k)] = cc
		mp.Crossing = append(mp.Crossing, cc)
		mp.CallsPerSecond += cc.CallsPerSecond
		mp.BytesPerSecond += cc.CallsPerSecond * cc.AnswerBytes
		mp.AddedCPUPercent += cc.CallsPerSecond * cc.AddedCPUMicros / 1e4
	}
	sort.Slice(mp.Crossing, func(i, j int) bool { return mp.Crossing[i].CallsPerSecond > mp.Crossing[j].CallsPerSecond })

	routeCalls := p.delta("bellhop_edge_route_calls_total", func(ls map[string]string) bool {
		return ls["callee"] == module || ls["caller"] == module
	}, "route", "caller", "callee", "method")
	requests := p.delta("bellhop_http_requests_total", nil, "method", "route")
	byRoute := map[string]*routeCost{}
	var total float64
	for k, c := range routeCalls {
		if c.count <= 0 {
			continue
		}
		ps := k.parts()
		route := ps[0]
		method, path, _ := strings.Cut(route, " ")
		n := requests[keyOf(map[string]string{"method": method, "route": path}, "method", "route")].count
		if n <= 0 {
			continue
		}
		rc := byRoute[route]
		if rc == nil {
			rc = &routeCost{Route: route, RequestsPerSecond: n / secs}
			byRoute[route] = rc
			total += n
		}
		cc := perCall[string(keyOf(map[string]string{"caller": ps[1], "callee": ps[2], "method": ps[3]}, "caller", "callee", "method"))]
		per := c.count / n
		rc.CallsPerRequest += per
		rc.AddedMicros += per * cc.AddedMicros
	}
	for _, rc := range byRoute {
		rc.Hot = total > 0 && rc.RequestsPerSecond*secs/total >= hotShare
		mp.Routes = append(mp.Routes, *rc)
	}
	sort.Slice(mp.Routes, func(i, j int) bool {
		if mp.Routes[i].RequestsPerSecond != mp.Routes[j].RequestsPerSecond {
			return mp.Routes[i].RequestsPerSecond > mp.Routes[j].RequestsPerSecond
		}
		return mp.Routes[i].Route < mp.Routes[j].Route
	})

	for k, c := range p.delta("bellhop_events_observed_total", func(ls map[string]string) bool { return ls["source"] == module }, "type") {
		mp.Publishes = append(mp.Publishes, eventRate{Type: k.parts()[0], PerSecond: c.count / secs})
	}
	sort.Slice(mp.Publishes, func(i, j int) bool { return mp.Publishes[i].Type < mp.Publishes[j].Type })
	subs := map[string]bool{}
	for _, name := range []string{"bellhop_events_handled_total", "bellhop_events_consumer_pending"} {
		for k := range sumBy(p.after, name, func(ls map[string]string) bool { return ls["module"] == module }, "subscription") {
			subs[k.parts()[0]] = true
		}
	}
	for s := range subs {
		mp.Consumes = append(mp.Consumes, s)
	}
	slices.Sort(mp.Consumes)
	if len(mp.Crossing) == 0 {
		mp.Note = "no in-process calls to or from it in the window: nothing would cross the network (or it is already remote)"
	}
	return mp
}

func (p splitPlan) print(w io.Writer) {
	fmt.Fprintf(w, "Split plan for %s, from its traffic over the last %s\n", p.URL, (time.Duration(p.WindowSeconds * float64(time.Second))).Round(time.Second))
	fmt.Fprintf(w, "Measured loopback hop (%d round trips to /healthz): p50 %.0f µs, p99 %.0f µs, CPU %.0f µs per round trip (both ends); JSON %.0f µs per KB of answer\n",
		p.Hop.RoundTrips, p.Hop.P50Micros, p.Hop.P99Micros, p.Hop.CPUMicros, p.Hop.JSONNsPerKB/1000)
	for _, m := range p.Modules {
		fmt.Fprintf(w, "\n== %s remote\n", m.Module)
		if m.Note != "" {
			fmt.Fprintf(w, "  %s\n", m.Note)
		} else {
			fmt.Fprintf(w, "  %.1f calls/s would cross the network (%s/s of answers), adding %.1f%% of a core\n",
				m.CallsPerSecond, humanBytes(m.BytesPerSecond), m.AddedCPUPercent)
			tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "  call\tcalls/s\tin-process mean\tanswer\tadded per call\tadded CPU per call")
			for _, c := range m.Crossing {
				size := "?"
				if c.AnswerBytes > 0 {
					size = humanBytes(c.AnswerBytes)
				}
				fmt.Fprintf(tw, "  %s → %s.%s\t%.2f\t%.0f µs\t%s\t+%.0f µs\t%.0f µs\n", c.Caller, c.Callee, c.Method, c.CallsPerSecond,
					c.LocalMeanMicros, size, c.AddedMicros, c.AddedCPUMicros)
			}
			_ = tw.Flush()
			if len(m.Routes) > 0 {
				tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "  public route\trequests/s\tcalls per request\tadded per request\t")
				for _, r := range m.Routes {
					hot := ""
					if r.Hot {
						hot = "hot path"
					}
					fmt.Fprintf(tw, "  %s\t%.2f\t%.2f\t+%.0f µs\t%s\n", r.Route, r.RequestsPerSecond, r.CallsPerRequest, r.AddedMicros, hot)
				}
				_ = tw.Flush()
			}
		}
		var pub []string
		for _, e := range m.Publishes {
			pub = append(pub, fmt.Sprintf("%s (%.2f/s)", e.Type, e.PerSecond))
		}
		if len(pub) == 0 && len(m.Consumes) == 0 {
			fmt.Fprintln(w, "  events: none seen in the window")
			continue
		}
		fmt.Fprintln(w, "  events through the shared NATS server (events.nats.url on every process):")
		if len(pub) > 0 {
			fmt.Fprintf(w, "    publishes %s\n", strings.Join(pub, ", "))
		}
		if len(m.Consumes) > 0 {
			fmt.Fprintf(w, "    consumes with its subscriptions %s\n", strings.Join(m.Consumes, ", "))
		}
	}
}

func humanBytes(b float64) string {
	switch {
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MB", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KB", b/(1<<10))
	default:
		return fmt.Sprintf("%.0f B", math.Round(b))
	}
}
