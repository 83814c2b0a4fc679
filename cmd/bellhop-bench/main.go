// Command bellhop-bench measures a real bellhop binary on this machine: cold
// start (exec to the first 200 from /readyz), resident memory when idle, and
// throughput and tail latency under load with wrk, for the search endpoint
// against the trivial /healthz endpoint. It prints a Markdown table for the
// Performance section of the README. `make bench` runs it after the Go
// benchmarks; run it from the repository (go run ./cmd/bellhop-bench).
//
// It installs nothing except wrk, and only when wrk is missing and it runs as
// root (apt-get). Everything it starts listens on 127.0.0.1 and is stopped
// before it exits; its files live in a temp directory it removes.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type options struct {
	duration    time.Duration
	connections int
	threads     int
	rounds      int
	starts      int
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each wrk run")
	flag.IntVar(&o.connections, "connections", 64, "wrk connections (-c)")
	flag.IntVar(&o.threads, "threads", 1, "wrk threads (-t)")
	flag.IntVar(&o.rounds, "rounds", 2, "rounds of load, each a /healthz run then a search run")
	flag.IntVar(&o.starts, "starts", 5, "cold starts to time (the median is reported)")
	deploymentMode := flag.Bool("fire", false, "instead: bellhop load against a monolith and a split deployment (see deployment_load.go; -fire-* flags)")
	fo := deploymentLoadFlags(flag.CommandLine)
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./cmd/bellhop-bench [flags]\n\n"+
			"Builds bellhop, seeds a temp data dir, times cold starts, reads idle RSS and runs wrk\n"+
			"against /healthz and search alternately. Needs wrk (installed with apt-get when root).\n"+
			"With -fire it runs `bellhop load` (booking and hotel mixes) against one process and\n"+
			"against a split deployment instead, and prints those figures.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *deploymentMode {
		os.Exit(runDeploymentLoadMain(fo))
	}
	if o.duration < time.Second || o.connections < 1 || o.threads < 1 || o.rounds < 1 || o.starts < 1 {
		fmt.Fprintln(os.Stderr, "bellhop-bench: -duration must be at least 1s and the counts at least 1")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bellhop-bench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) { fmt.Printf("bellhop-bench: "+format+"\n", args...) }

func run(ctx context.Context, o options) error {
	wrk, wrkErr := ensureWrk(ctx)
	if wrkErr != nil {
		logf("LOAD runs will be skipped: %v", wrkErr)
	}

	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "bellhop-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "bellhop")
	dataDir := filepath.Join(tmp, "data")

	if err := buildBellhop(ctx, root, bin); err != nil {
		return err
	}
	t := time.Now()
	out, err := seedDataDir(ctx, bin, dataDir)
	if err != nil {
		return err
	}
	logf("seeded a temp data dir in %s: %s", time.Since(t).Round(10*time.Millisecond), out)

	rep := report{date: time.Now().UTC().Format("2006-01-02"), nproc: runtime.NumCPU(), cpu: cpuModel(), goVersion: goVersion(ctx, root), o: o}
	logf("server env for every run: BELLHOP_LOG_FORMAT=json BELLHOP_LOG_ACCESS_LOG=false BELLHOP_SERVER_RATE_LIMIT_ENABLED=false " +
		"(log level stays info: the address is read from the \"bellhop listening\" line); other BELLHOP_* variables are cleared")

	// COLD START: exec → first 200 from /readyz, o.starts times.
	logf("COLD START: %d starts of `bellhop serve --addr 127.0.0.1:0`, timed from exec to the first 200 from /readyz (polled every 1 ms)", o.starts)
	for i := range o.starts {
		s, err := startServer(ctx, bin, dataDir)
		if err != nil {
			return err
		}
		rep.starts = append(rep.starts, s.coldStart)
		rep.startupMS = append(rep.startupMS, s.startupMS)
		logf("  start %d: %s to ready (%s to the listening line; server's own startup_ms %d)",
			i+1, ms(s.coldStart), ms(s.listening), s.startupMS)
		if i < o.starts-1 {
			if err := s.stop(); err != nil {
				return err
			}
			continue
		}

		// The last process stays up for the memory and load measurements.
		if err := measure(ctx, s, wrk, wrkErr, o, tmp, &rep); err != nil {
			_ = s.stop()
			return err
		}
		if err := s.stop(); err != nil {
			return err
		}
	}

	rep.print(os.Stdout)
	if wrkErr != nil {
		return fmt.Errorf("the load runs were skipped (%v)", wrkErr)
	}
	return nil
}

// measure reads idle RSS, warms every search query, then runs the load rounds.
func measure(ctx context.Context, s *server, wrk string, wrkErr error, o options, tmp string, rep *report) error {
	var err error
	if rep.rssReady, err = s.rss("VmRSS"); err != nil {
		return err
	}
	// A few warm-up requests: health, readiness, one search in three cities.
	cities, err := s.cities(ctx)
	if err != nil {
		return err
	}
	paths := searchPaths(cities)
	for _, p := range []string{"/healthz", "/readyz", paths[0], paths[1], paths[2]} {
		if _, err := s.get(ctx, p); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if rep.rssIdle, err = s.rss("VmRSS"); err != nil {
		return err
	}
	logf("IDLE RSS: %s right after ready, %s after 5 warm-up requests", mib(rep.rssReady), mib(rep.rssIdle))

	// Every query wrk will send, once: each must answer 200 with 20 hotels,
	// and every city's index is loaded before the clock starts.
	for _, p := range paths {
		body, err := s.get(ctx, p)
		if err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		var res struct {
			Hotels []json.RawMessage `json:"hotels"`
		}
		if err := json.Unmarshal(body, &res); err != nil || len(res.Hotels) != 20 {
			return fmt.Errorf("warm-up: GET %s: %d hotels (want 20), %v", p, len(res.Hotels), err)
		}
	}
	if rep.rssWarm, err = s.rss("VmRSS"); err != nil {
		return err
	}
	rep.queries = len(paths)
	rep.cities = len(cities)
	logf("warmed %d search queries (%d cities × %d date windows): RSS %s with every city indexed",
		len(paths), len(cities), len(paths)/len(cities), mib(rep.rssWarm))

	if wrkErr != nil {
		return nil
	}
	script := filepath.Join(tmp, "search.lua")
	if err := os.WriteFile(script, luaScript(paths), 0o600); err != nil {
		return err
	}
	logf("LOAD: wrk -t%d -c%d -d%s --latency, /healthz and search alternately, %d rounds "+
		"(search: a Lua script rotating over the %d queries)", o.threads, o.connections, o.duration, o.rounds, len(paths))
	for r := range o.rounds {
		var round loadRound
		for _, target := range []struct {
			name   string
			out    *wrkResult
			script string
			path   string
		}{
			{"healthz", &round.healthz, "", "/healthz"},
			{"search", &round.search, script, "/api/v1/hotels"},
		} {
			res, err := runWrk(ctx, wrk, o, s.url+target.path, target.script)
			if err != nil {
				return err
			}
			*target.out = res
			logf("  round %d %-7s %9.0f req/s  p50 %-9s p99 %-9s %s", r+1, target.name, res.rps, ms(res.p50), ms(res.p99), res.problems())
			if s.exited() {
				return fmt.Errorf("bellhop exited during the load run:\n%s", s.logs.String())
			}
			time.Sleep(time.Second)
		}
		logf("  round %d ratios: search/healthz rps %.2f (target ≥ 0.5), search/healthz p99 %.1f× (target ≤ 3×)",
			r+1, round.rpsRatio(), round.p99Ratio())
		rep.rounds = append(rep.rounds, round)
	}
	if rep.rssLoaded, err = s.rss("VmRSS"); err != nil {
		return err
	}
	if rep.rssPeak, err = s.rss("VmHWM"); err != nil {
		return err
	}
	logf("RSS after load: %s (peak %s)", mib(rep.rssLoaded), mib(rep.rssPeak))
	return nil
}

// buildBellhop builds ./cmd/bellhop into bin as `make build` does.
func buildBellhop(ctx context.Context, root, bin string) error {
	logf("building bellhop (go build -trimpath -ldflags '-s -w', as `make build`)")
	t := time.Now()
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=bench", "-o", bin, "./cmd/bellhop")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/bellhop: %w", err)
	}
	logf("built in %s", time.Since(t).Round(100*time.Millisecond))
	return nil
}

// seedDataDir runs `bellhop seed` into dataDir and returns what it printed.
func seedDataDir(ctx context.Context, bin, dataDir string) (string, error) {
	seed := exec.CommandContext(ctx, bin, "seed", "--data-dir", dataDir)
	seed.Env = baseEnv()
	out, err := seed.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("bellhop seed: %w\n%s", err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// ensureWrk finds wrk, installing it with apt-get when missing and root.
func ensureWrk(ctx context.Context) (string, error) {
	if p, err := exec.LookPath("wrk"); err == nil {
		return p, nil
	}
	logf("wrk (the HTTP load generator) is not installed")
	if os.Geteuid() != 0 {
		return "", errors.New("wrk is not installed and this is not root: install it (sudo apt-get install -y wrk) and run again")
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return "", errors.New("wrk is not installed and there is no apt-get: install wrk and run again")
	}
	apt := func(args ...string) error {
		logf("running apt-get %s", strings.Join(args, " "))
		c := exec.CommandContext(ctx, "apt-get", args...)
		c.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		c.Stdout, c.Stderr = os.Stderr, os.Stderr
		return c.Run()
	}
	if err := apt("install", "-y", "wrk"); err != nil {
		if err := apt("update"); err != nil {
			return "", fmt.Errorf("apt-get update: %w", err)
		}
		if err := apt("install", "-y", "wrk"); err != nil {
			return "", fmt.Errorf("apt-get install -y wrk: %w", err)
		}
	}
	p, err := exec.LookPath("wrk")
	if err != nil {
		return "", errors.New("apt-get installed wrk but it is not on PATH")
	}
	return p, nil
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run this inside the bellhop repository (go run ./cmd/bellhop-bench)")
	}
	return filepath.Dir(gomod), nil
}

func goVersion(ctx context.Context, root string) string {
	c := exec.CommandContext(ctx, "go", "env", "GOVERSION")
	c.Dir = root
	out, err := c.Output()
	if v := strings.TrimSpace(string(out)); err == nil && v != "" {
		return v + " " + runtime.GOOS + "/" + runtime.GOARCH
	}
	return runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// baseEnv is this process's environment without BELLHOP_* variables, so the
// figures do not depend on what the caller's shell happens to set.
func baseEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "BELLHOP_") })
}

// server is a running `bellhop serve` (or, in -fire mode, nats-server).
type server struct {
	name      string // in messages: "bellhop serve", "gateway", ...
	cmd       *exec.Cmd
	url       string
	started   time.Time     // just before exec
	coldStart time.Duration // exec → first 200 from /readyz
	listening time.Duration // exec → the "bellhop listening" log line
	startupMS int64         // the server's own startup_ms
	logs      *tailBuffer
	warnings  logTally // WARN and ERROR log records, by level and message
	done      chan struct{}
	waitErr   error
	client    *http.Client
}

func startServer(ctx context.Context, bin, dataDir string) (*server, error) {
	s, err := launchServe(ctx, "bellhop serve", bin, nil, "--addr", "127.0.0.1:0", "--data-dir", dataDir)
	if err != nil {
		return nil, err
	}
	if err := s.waitReady(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func newServer(name string, cmd *exec.Cmd) *server {
	return &server{
		name: name, cmd: cmd, logs: &tailBuffer{max: 64 << 10}, done: make(chan struct{}),
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4}},
	}
}

// launchServe starts `bellhop serve args...` with the bench's server
// environment plus env, and waits (up to 30s) for its "bellhop listening" line.
func launchServe(ctx context.Context, name, bin string, env []string, args ...string) (*server, error) {
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	cmd.Env = append(append(baseEnv(),
		"BELLHOP_LOG_FORMAT=json", "BELLHOP_LOG_ACCESS_LOG=false", "BELLHOP_SERVER_RATE_LIMIT_ENABLED=false"), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	s := newServer(name, cmd)
	type listening struct {
		addr      string
		startupMS int64
		at        time.Time
	}
	addrCh := make(chan listening, 1)

	s.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		sent := false
		for sc.Scan() {
			line := sc.Bytes()
			s.logs.Write(line)
			s.logs.Write([]byte{'\n'})
			var rec struct {
				Level     string `json:"level"`
				Msg       string `json:"msg"`
				Addr      string `json:"addr"`
				StartupMS int64  `json:"startup_ms"`
			}
			if json.Unmarshal(line, &rec) != nil {
				continue
			}
			if rec.Level == "WARN" || rec.Level == "ERROR" {
				s.warnings.add(rec.Level+" "+rec.Msg, line)
			}
			if !sent && rec.Msg == "bellhop listening" && rec.Addr != "" {
				addrCh <- listening{rec.Addr, rec.StartupMS, time.Now()}
				sent = true
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		s.waitErr = cmd.Wait()
		close(s.done)
	}()

	var l listening
	select {
	case l = <-addrCh:
	case <-s.done:
		return nil, fmt.Errorf("%s exited before listening: %v\n%s", name, s.waitErr, s.logs.String())
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-s.done
		return nil, fmt.Errorf("%s did not log \"bellhop listening\" within 30s\n%s", name, s.logs.String())
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-s.done
		return nil, ctx.Err()
	}
	s.url = "http://" + l.addr
	s.listening = l.at.Sub(s.started)
	s.startupMS = l.startupMS
	return s, nil
}

// waitReady polls /readyz every millisecond until a 200 (up to 30s; the
// server is stopped when it does not come) and sets coldStart.
func (s *server) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := s.client.Get(s.url + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				s.coldStart = time.Since(s.started)
				return nil
			}
		}
		if time.Now().After(deadline) || s.exited() || ctx.Err() != nil {
			_ = s.stop()
			return fmt.Errorf("%s was not ready within 30s (last: %v)\n%s", s.name, err, s.logs.String())
		}
		time.Sleep(time.Millisecond)
	}
}

func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits for a clean exit (killing it after 20s).
func (s *server) stop() error {
	s.client.CloseIdleConnections()
	if s.exited() {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		if s.waitErr != nil {
			return fmt.Errorf("%s exited with %v\n%s", s.name, s.waitErr, s.logs.String())
		}
		return nil
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("%s did not stop within 20s of SIGTERM\n%s", s.name, s.logs.String())
	}
}

func (s *server) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+path, nil)
	if err != nil {
		return nil, err
	}
	res, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", path, res.Status, body)
	}
	return body, nil
}

// cities lists the ids of every city in the catalog.
func (s *server) cities(ctx context.Context) ([]string, error) {
	body, err := s.get(ctx, "/api/v1/cities?limit=100")
	if err != nil {
		return nil, err
	}
	var list struct {
		Cities []struct {
			ID string `json:"id"`
		} `json:"cities"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("GET /api/v1/cities: %w", err)
	}
	ids := make([]string, 0, len(list.Cities))
	for _, c := range list.Cities {
		ids = append(ids, c.ID)
	}
	if len(ids) < 3 {
		return nil, fmt.Errorf("GET /api/v1/cities: only %d cities (is the catalog seeded?)", len(ids))
	}
	return ids, nil
}

// rss reads a memory figure (VmRSS, VmHWM) of the server, in kB.
func (s *server) rss(field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", field, err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/PID/status", field)
}

// searchPaths are the search queries of the load run: every city crossed
// with 24 date windows (check-in 2 to 44 days from today, 1 to 7 nights),
// interleaved so consecutive requests differ in city and dates. Each answers
// a page of 20 hotels.
func searchPaths(cities []string) []string {
	today := time.Now().UTC().Truncate(24 * time.Hour)
	const windows = 24
	n := len(cities)
	paths := make([]string, 0, n*windows)
	for i := range n * windows {
		w := (i/n + i) % windows
		in := today.AddDate(0, 0, 2+(w*11)%43)
		out := in.AddDate(0, 0, 1+w%7)
		paths = append(paths, fmt.Sprintf("/api/v1/hotels?city=%s&check_in=%s&check_out=%s&guests=2",
			cities[i%n], in.Format(time.DateOnly), out.Format(time.DateOnly)))
	}
	return paths
}

func luaScript(paths []string) []byte {
	var b strings.Builder
	b.WriteString("-- written by bellhop-bench: rotate over search queries\nlocal paths = {\n")
	for _, p := range paths {
		b.WriteString("  " + strconv.Quote(p) + ",\n")
	}
	b.WriteString(`}
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
`)
	return []byte(b.String())
}

// wrkResult is what one wrk run reports.
type wrkResult struct {
	rps          float64
	p50, p99     time.Duration
	requests     int64
	non2xx       int64
	socketErrors string
}

func (r wrkResult) problems() string {
	var p []string
	if r.non2xx > 0 {
		p = append(p, fmt.Sprintf("%d non-2xx answers", r.non2xx))
	}
	if r.socketErrors != "" {
		p = append(p, "socket errors: "+r.socketErrors)
	}
	if len(p) == 0 {
		return ""
	}
	return "WARNING: " + strings.Join(p, ", ")
}

func runWrk(ctx context.Context, wrk string, o options, url, script string) (wrkResult, error) {
	args := []string{fmt.Sprintf("-t%d", o.threads), fmt.Sprintf("-c%d", o.connections),
		fmt.Sprintf("-d%ds", int(o.duration.Round(time.Second).Seconds())), "--latency"}
	if script != "" {
		args = append(args, "-s", script)
	}
	args = append(args, url)
	out, err := exec.CommandContext(ctx, wrk, args...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	res, err := parseWrk(string(out))
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return res, nil
}

var (
	reRPS      = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	reP50      = regexp.MustCompile(`(?m)^\s+50%\s+([0-9.]+)(us|ms|s)\b`)
	reP99      = regexp.MustCompile(`(?m)^\s+99%\s+([0-9.]+)(us|ms|s)\b`)
	reRequests = regexp.MustCompile(`(?m)^\s+([0-9]+) requests in`)
	reNon2xx   = regexp.MustCompile(`(?m)^\s+Non-2xx or 3xx responses:\s+([0-9]+)`)
	reSocket   = regexp.MustCompile(`(?m)^\s+Socket errors:\s+(.+)$`)
)

// parseWrk reads requests/sec and the latency percentiles from wrk --latency.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := reRPS.FindStringSubmatch(out)
	if m == nil {
		return r, errors.New("no Requests/sec in wrk's output")
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	var err error
	if r.p50, err = wrkDuration(reP50.FindStringSubmatch(out)); err != nil {
		return r, fmt.Errorf("50%%: %w", err)
	}
	if r.p99, err = wrkDuration(reP99.FindStringSubmatch(out)); err != nil {
		return r, fmt.Errorf("99%%: %w", err)
	}
	if m := reRequests.FindStringSubmatch(out); m != nil {
		r.requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := reNon2xx.FindStringSubmatch(out); m != nil {
		r.non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := reSocket.FindStringSubmatch(out); m != nil {
		r.socketErrors = strings.TrimSpace(m[1])
	}
	return r, nil
}

func wrkDuration(m []string) (time.Duration, error) {
	if m == nil {
		return 0, errors.New("no latency distribution (was --latency given?)")
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, err
	}
	unit := map[string]float64{"us": float64(time.Microsecond), "ms": float64(time.Millisecond), "s": float64(time.Second)}[m[2]]
	return time.Duration(v * unit), nil
}

type loadRound struct{ healthz, search wrkResult }

func (r loadRound) rpsRatio() float64 { return r.search.rps / r.healthz.rps }
func (r loadRound) p99Ratio() float64 { return float64(r.search.p99) / float64(r.healthz.p99) }

// report is everything measured, printed as Markdown at the end.
type report struct {
	date, cpu, goVersion       string
	nproc                      int
	o                          options
	starts                     []time.Duration
	startupMS                  []int64
	rssReady, rssIdle, rssWarm int64
	rssLoaded, rssPeak         int64
	queries, cities            int
	rounds                     []loadRound
}

func (r *report) print(w io.Writer) {
	starts := slices.Clone(r.starts)
	slices.Sort(starts)
	median := (starts[(len(starts)-1)/2] + starts[len(starts)/2]) / 2
	all := make([]string, len(r.starts))
	for i, d := range r.starts {
		all[i] = ms(d)
	}
	cpu := ""
	if r.cpu != "" {
		cpu = ", " + r.cpu
	}

	fmt.Fprintf(w, "\n---- for README's Performance section ----\n\n")
	fmt.Fprintf(w, "Measured with `make bench` on %s: nproc %d%s, %s. One bellhop process with the demo catalog "+
		"(60 cities, 2,400 hotels) in SQLite, access log and rate limit off; wrk `-t%d -c%d -d%s --latency` on the same machine "+
		"(it shares the cores with the server: compare the ratios, not the absolute numbers).\n\n",
		r.date, r.nproc, cpu, r.goVersion, r.o.threads, r.o.connections, r.o.duration)

	head := "| measure |"
	sep := "|---|"
	for i := range r.rounds {
		head += fmt.Sprintf(" run %d |", i+1)
		sep += "---|"
	}
	head += " target |"
	sep += "---|"
	if len(r.rounds) > 0 {
		fmt.Fprintln(w, head)
		fmt.Fprintln(w, sep)
		row := func(name string, cell func(loadRound) string, target string) {
			fmt.Fprintf(w, "| %s |", name)
			for _, rd := range r.rounds {
				fmt.Fprintf(w, " %s |", cell(rd))
			}
			fmt.Fprintf(w, " %s |\n", target)
		}
		row("`GET /healthz`", func(rd loadRound) string {
			return fmt.Sprintf("%s req/s, p99 %s", thousands(rd.healthz.rps), ms(rd.healthz.p99))
		}, "")
		row(fmt.Sprintf("`GET /api/v1/hotels` (20 results, %s city × date queries)", thousands(float64(r.queries))), func(rd loadRound) string {
			return fmt.Sprintf("%s req/s, p99 %s", thousands(rd.search.rps), ms(rd.search.p99))
		}, "")
		row("search ÷ healthz, req/s", func(rd loadRound) string {
			return fmt.Sprintf("%.2f%s", rd.rpsRatio(), mark(rd.rpsRatio() >= 0.5))
		}, "≥ 0.5")
		row("search ÷ healthz, p99", func(rd loadRound) string {
			return fmt.Sprintf("%.1f×%s", rd.p99Ratio(), mark(rd.p99Ratio() <= 3))
		}, "≤ 3×")
		fmt.Fprintln(w)
	}

	fmt.Fprintln(w, "| measure | figure |")
	fmt.Fprintln(w, "|---|---|")
	fmt.Fprintf(w, "| cold start, exec → first 200 from `/readyz` | %s median of %d (%s) |\n", ms(median), len(r.starts), strings.Join(all, ", "))
	fmt.Fprintf(w, "| idle RSS | %s after start, %s after warm-up requests, %s with all %d cities indexed |\n",
		mib(r.rssReady), mib(r.rssIdle), mib(r.rssWarm), r.cities)
	if len(r.rounds) > 0 {
		fmt.Fprintf(w, "| RSS after the load runs | %s (peak %s) |\n", mib(r.rssLoaded), mib(r.rssPeak))
	} else {
		fmt.Fprintln(w, "| load runs | skipped: wrk is not installed |")
	}
	fmt.Fprintln(w)
}

func mark(ok bool) string {
	if ok {
		return " ✓"
	}
	return " ✗"
}

func ms(d time.Duration) string {
	switch {
	case d >= 100*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
}

func mib(kb int64) string { return fmt.Sprintf("%.1f MiB", float64(kb)/1024) }

func thousands(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// logTally counts log records by a key (level and message) and keeps the
// first record of each.
type logTally struct {
	mu    sync.Mutex
	n     map[string]int
	first map[string]string
}

func (t *logTally) add(key string, line []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == nil {
		t.n, t.first = map[string]int{}, map[string]string{}
	}
	if t.n[key] == 0 {
		t.first[key] = string(line[:min(len(line), 600)])
	}
	t.n[key]++
}

// snapshot is the counts and first records, keys sorted.
func (t *logTally) snapshot() (keys []string, n map[string]int, first map[string]string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Sorted(maps.Keys(t.n)), maps.Clone(t.n), maps.Clone(t.first)
}
