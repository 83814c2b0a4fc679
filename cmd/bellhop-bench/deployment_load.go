// The -fire mode: `bellhop load` against two deployments of the same build,
// for the load figures of README's Performance section.
//
//	monolith  one `bellhop serve` with every module and the embedded NATS
//	split     a nats-server with JetStream; a gateway with auth and search
//	          (bookings and payments remote); bookings and payments each in a
//	          process of its own with a service identity (as
//	          cmd/bellhop/split_invariants_test.go sets them up)
//
// Each deployment gets a fresh copy of one seeded data dir and one set of
// processes for all its runs: first the booking mix at each -fire-rates rate
// (with the invariants check), then the hotel mix (DeathStarBench's) stepped
// up from -fire-hotel-start until a rate fails. Everything listens on
// 127.0.0.1; every process is stopped (SIGTERM, killed after 20s) and the
// temp dir removed, also on an error or an interrupt.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// deploymentLoadOptions are the -fire-* flags.
type deploymentLoadOptions struct {
	duration   time.Duration
	rates      string
	users      int
	settle     time.Duration
	hotelStart int
	hotelStep  int
	hotelMax   int
	hotelP99   time.Duration
	topologies string
	pause      time.Duration
}

func deploymentLoadFlags(fs *flag.FlagSet) *deploymentLoadOptions {
	o := &deploymentLoadOptions{}
	fs.DurationVar(&o.duration, "fire-duration", 10*time.Second, "-fire: length of each bellhop load run (--duration)")
	fs.StringVar(&o.rates, "fire-rates", "125,250,330,420", "-fire: booking-mix rates, comma-separated; empty skips the booking mix (--rate counts holds and searches, pays come on top)")
	fs.IntVar(&o.users, "fire-users", 20, "-fire: guests each load run registers (--users)")
	fs.DurationVar(&o.settle, "fire-settle", 30*time.Second, "-fire: how long a booking-mix run waits for the invariants to hold (--settle)")
	fs.IntVar(&o.hotelStart, "fire-hotel-start", 500, "-fire: first hotel-mix rate; 0 skips the hotel mix")
	fs.IntVar(&o.hotelStep, "fire-hotel-step", 500, "-fire: hotel-mix rate step")
	fs.IntVar(&o.hotelMax, "fire-hotel-max", 20000, "-fire: highest hotel-mix rate tried (a bound: the step-up stops at the first rate that fails)")
	fs.DurationVar(&o.hotelP99, "fire-hotel-p99", 20*time.Millisecond, "-fire: a hotel-mix rate fails when the p99 of a kind with ≥ 1% of the requests exceeds this")
	fs.StringVar(&o.topologies, "fire-topologies", "monolith,split", "-fire: deployments to measure, in order (monolith, split)")
	fs.DurationVar(&o.pause, "fire-pause", 2*time.Second, "-fire: pause between load runs")
	return o
}

// seedAdminEmail is the demo admin `bellhop seed` creates; its password is read
// from seed's output.
const seedAdminEmail = "admin@bellhop.demo"

var reSeedAdmin = regexp.MustCompile(`demo admin created: admin@bellhop\.demo / (\S+)`)

// loadServerEnv lifts the per-caller limits meant for real users (one host
// registers, signs in and pays for every guest: see bellhop load --help), on
// top of launchServe's environment (access log and server rate limit off).
var loadServerEnv = []string{
	"BELLHOP_AUTH_SIGN_IN_RATE_LIMIT_RPS=1000", "BELLHOP_AUTH_SIGN_IN_RATE_LIMIT_BURST=1000",
	"BELLHOP_PAYMENTS_RATE_LIMIT_RPS=1000", "BELLHOP_PAYMENTS_RATE_LIMIT_BURST=1000",
	"BELLHOP_BOOKINGS_MAX_PENDING_HOLDS=1000",
}

// runDeploymentLoadMain runs -fire and returns the exit code (usage errors: 2).
func runDeploymentLoadMain(o *deploymentLoadOptions) int {
	rates, topos, err := o.check()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bellhop-bench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runDeploymentLoad(ctx, o, rates, topos); err != nil {
		fmt.Fprintln(os.Stderr, "bellhop-bench:", err)
		return 1
	}
	return 0
}

func (o *deploymentLoadOptions) check() (rates []int, topos []string, err error) {
	for f := range strings.SplitSeq(o.rates, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		r, err := strconv.Atoi(f)
		if err != nil || r < 1 {
			return nil, nil, fmt.Errorf("-fire-rates: %q is not a positive rate", f)
		}
		rates = append(rates, r)
	}
	for t := range strings.SplitSeq(o.topologies, ",") {
		switch t = strings.TrimSpace(t); t {
		case "monolith", "split":
			if !slices.Contains(topos, t) {
				topos = append(topos, t)
			}
		case "":
		default:
			return nil, nil, fmt.Errorf("-fire-topologies: %q is not monolith or split", t)
		}
	}
	switch {
	case len(topos) == 0:
		return nil, nil, errors.New("-fire-topologies names no deployment")
	case len(rates) == 0 && o.hotelStart == 0:
		return nil, nil, errors.New("nothing to run: -fire-rates is empty and -fire-hotel-start is 0")
	case o.duration < time.Second || o.users < 1 || o.settle < 0 || o.pause < 0:
		return nil, nil, errors.New("-fire-duration must be at least 1s, -fire-users at least 1, -fire-settle and -fire-pause not negative")
	case o.hotelStart < 0 || (o.hotelStart > 0 && (o.hotelStep < 1 || o.hotelMax < o.hotelStart || o.hotelP99 <= 0)):
		return nil, nil, errors.New("-fire-hotel-step must be positive, -fire-hotel-max at least -fire-hotel-start, -fire-hotel-p99 positive")
	}
	return rates, topos, nil
}

// deploymentLoad is one -fire run: the binaries, the seeded data dir and the options.
type deploymentLoad struct {
	o             *deploymentLoadOptions
	rates         []int
	tmp           string
	bin, natsBin  string
	seedDir       string
	adminPassword string
}

func runDeploymentLoad(ctx context.Context, o *deploymentLoadOptions, rates []int, topos []string) error {
	began := time.Now()
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "bellhop-fire-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	f := &deploymentLoad{o: o, rates: rates, tmp: tmp, bin: filepath.Join(tmp, "bellhop"), seedDir: filepath.Join(tmp, "seed")}

	if err := buildBellhop(ctx, root, f.bin); err != nil {
		return err
	}
	if slices.Contains(topos, "split") {
		f.natsBin = filepath.Join(tmp, "nats-server")
		logf("building nats-server from the module cache (the version go.mod pins), as cmd/bellhop's end-to-end tests do")
		t := time.Now()
		build := exec.CommandContext(ctx, "go", "build", "-o", f.natsBin, "github.com/nats-io/nats-server/v2")
		build.Dir = root
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build github.com/nats-io/nats-server/v2: %w", err)
		}
		logf("built in %s", time.Since(t).Round(100*time.Millisecond))
	}
	t := time.Now()
	out, err := seedDataDir(ctx, f.bin, f.seedDir)
	if err != nil {
		return err
	}
	m := reSeedAdmin.FindStringSubmatch(out)
	if m == nil {
		return fmt.Errorf("bellhop seed did not print the demo admin:\n%s", out)
	}
	f.adminPassword = m[1]
	logf("seeded a data dir in %s: %s (the admin's password is read from seed's output); each deployment runs on a fresh copy of it",
		time.Since(t).Round(10*time.Millisecond), strings.SplitN(out, "\n", 2)[0])
	logf("server env: BELLHOP_LOG_FORMAT=json BELLHOP_LOG_ACCESS_LOG=false BELLHOP_SERVER_RATE_LIMIT_ENABLED=false %s "+
		"(other BELLHOP_* variables are cleared)", strings.Join(loadServerEnv, " "))

	rep := deploymentLoadReport{
		date: time.Now().UTC().Format("2006-01-02"), nproc: runtime.NumCPU(), cpu: cpuModel(), goVersion: goVersion(ctx, root),
		command: commandLine(), o: o, rates: rates,
	}
	var errs []error
	for _, name := range topos {
		d := f.measure(ctx, name)
		rep.deps = append(rep.deps, d)
		if d.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, d.err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	rep.wall = time.Since(began)
	rep.print(os.Stdout)
	for _, d := range rep.deps {
		for _, b := range d.booking {
			if b.res != nil && (b.res.InvariantsOK == nil || !*b.res.InvariantsOK) {
				errs = append(errs, fmt.Errorf("%s, booking mix at %d/s: invariants broken: %v", d.name, b.rate, b.res.Violations))
			}
		}
	}
	return errors.Join(errs...)
}

// commandLine is how this run was started, for the report.
func commandLine() string {
	args := []string{"go", "run", "./cmd/bellhop-bench"}
	for _, a := range os.Args[1:] {
		if strings.ContainsAny(a, " \t'\"") {
			a = strconv.Quote(a)
		}
		args = append(args, a)
	}
	return strings.Join(args, " ")
}

// deployment is a running set of processes and the URL load drives.
type deployment struct {
	name   string
	target string
	procs  []*server // in start order: stopped in reverse
}

// stop stops every process, the last started first.
func (d *deployment) stop() error {
	var errs []error
	for _, p := range slices.Backward(d.procs) {
		if err := p.stop(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// died is an error when a process has exited.
func (d *deployment) died() error {
	for _, p := range d.procs {
		if p.exited() {
			return fmt.Errorf("%s exited during the runs (%v)\n%s", p.name, p.waitErr, lastLines(p.logs.String(), 30))
		}
	}
	return nil
}

// deploymentFigures is what was measured of one deployment.
type deploymentFigures struct {
	name    string
	about   string
	booking []bookingMixRun
	hotel   []hotelMixStep
	procs   []procFigures
	err     error
}

type bookingMixRun struct {
	rate int
	res  *loadResult
	err  error
}

type hotelMixStep struct {
	rate int
	res  *loadResult // nil when bellhop load failed
	why  string      // why the rate failed; "" when it passed
}

// procFigures is what the report says of a process after the runs.
type procFigures struct {
	name     string
	peakKB   int64
	warnings []string // "N× LEVEL msg" and the first record
}

// measure starts a deployment, runs every load run on it and stops it.
func (f *deploymentLoad) measure(ctx context.Context, name string) (res deploymentFigures) {
	res.name = name
	logf("%s: starting", strings.ToUpper(name))
	t := time.Now()
	var d *deployment
	var err error
	if name == "monolith" {
		d, err = f.startMonolith(ctx)
		res.about = "one `bellhop serve` with all four modules and the embedded NATS"
	} else {
		d, err = f.startSplit(ctx)
		res.about = "nats-server with JetStream; a gateway with auth and search (bookings and payments remote); " +
			"bookings (`--only bookings`) and payments (`--only payments`) each in a process of its own, with service identities"
	}
	defer func() {
		for _, p := range d.procs {
			fp := procFigures{name: p.name}
			fp.peakKB, _ = p.rss("VmHWM")
			keys, n, first := p.warnings.snapshot()
			for _, k := range keys {
				fp.warnings = append(fp.warnings, fmt.Sprintf("%d× %s — first: %s", n[k], k, first[k]))
			}
			if p.name == "nats-server" {
				for line := range strings.Lines(p.logs.String()) {
					if strings.Contains(line, "[ERR]") || strings.Contains(line, "[WRN]") {
						fp.warnings = append(fp.warnings, strings.TrimSpace(line))
					}
				}
			}
			res.procs = append(res.procs, fp)
		}
		t := time.Now()
		if err := d.stop(); err != nil {
			res.err = errors.Join(res.err, fmt.Errorf("stop: %w", err))
		}
		logf("%s: stopped (%d processes) in %s", name, len(d.procs), time.Since(t).Round(10*time.Millisecond))
	}()
	if err != nil {
		res.err = err
		return res
	}
	var names []string
	for _, p := range d.procs {
		names = append(names, p.name)
	}
	logf("%s: %s up in %s; bellhop load --target %s", name, strings.Join(names, ", "), time.Since(t).Round(10*time.Millisecond), d.target)

	// 1. The booking mix, with the invariants checked after each run.
	for _, rate := range f.rates {
		r := bookingMixRun{rate: rate}
		r.res, r.err = f.load(ctx, d.target, true, "--mix", "booking", "--rate", strconv.Itoa(rate), "--users", strconv.Itoa(f.o.users),
			"--duration", f.o.duration.String(), "--settle", f.o.settle.String())
		res.booking = append(res.booking, r)
		if r.err != nil {
			logf("  booking %4d/s: FAILED: %v", rate, r.err)
		} else {
			logf("  booking %4d/s: %s", rate, r.res.bookingLine())
			r.res.logErrors()
		}
		if res.err = errors.Join(d.died(), ctx.Err()); res.err != nil {
			return res
		}
		f.pause(ctx)
	}

	// 2. The hotel mix, stepped up until a rate fails.
	if f.o.hotelStart > 0 {
		logf("  hotel mix from %d/s in steps of %d: a rate fails when the p99 of search or hotel (the kinds with ≥ 1%% of the requests) "+
			"exceeds %s, errors exceed 0.1%% or throughput falls under 95%% of the rate", f.o.hotelStart, f.o.hotelStep, ms(f.o.hotelP99))
	}
	for rate := f.o.hotelStart; f.o.hotelStart > 0 && rate <= f.o.hotelMax; rate += f.o.hotelStep {
		s := hotelMixStep{rate: rate}
		var err error
		s.res, err = f.load(ctx, d.target, false, "--mix", "hotel", "--rate", strconv.Itoa(rate), "--users", strconv.Itoa(f.o.users),
			"--duration", f.o.duration.String())
		if err != nil {
			s.why = "bellhop load failed: " + firstLine(err.Error())
			logf("  hotel %5d/s: FAILED: %v", rate, err)
		} else {
			s.why = s.res.hotelVerdict(rate, f.o.hotelP99)
			verdict := "passed"
			if s.why != "" {
				verdict = "FAILED: " + s.why
			}
			logf("  hotel %5d/s: %s — %s", rate, s.res.hotelLine(), verdict)
			s.res.logErrors()
		}
		res.hotel = append(res.hotel, s)
		if res.err = errors.Join(d.died(), ctx.Err()); res.err != nil {
			return res
		}
		if s.why != "" {
			break
		}
		f.pause(ctx)
	}
	return res
}

func (f *deploymentLoad) pause(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(f.o.pause):
	}
}

// startMonolith runs one `bellhop serve` on a fresh copy of the seeded data dir.
func (f *deploymentLoad) startMonolith(ctx context.Context) (*deployment, error) {
	d := &deployment{name: "monolith"}
	dir := filepath.Join(f.tmp, "monolith")
	if err := copyDir(f.seedDir, dir); err != nil {
		return d, err
	}
	s, err := launchServe(ctx, "monolith", f.bin, loadServerEnv, "--addr", "127.0.0.1:0", "--data-dir", dir)
	if err != nil {
		return d, err
	}
	d.procs = append(d.procs, s)
	if err := s.waitReady(ctx); err != nil {
		return d, err
	}
	d.target = s.url
	return d, nil
}

// startSplit runs the split deployment of cmd/bellhop/split_invariants_test.go:
// nats-server, a gateway (auth + search) on a fresh copy of the seeded data
// dir, bookings and payments on empty data dirs of their own.
func (f *deploymentLoad) startSplit(ctx context.Context) (*deployment, error) {
	d := &deployment{name: "split"}
	base := filepath.Join(f.tmp, "split")
	natsDir, gwDir, bkDir, pmDir := filepath.Join(base, "nats"), filepath.Join(base, "gateway"), filepath.Join(base, "bookings"), filepath.Join(base, "payments")
	for _, dir := range []string{natsDir, bkDir, pmDir} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return d, err
		}
	}
	if err := copyDir(f.seedDir, gwDir); err != nil {
		return d, err
	}
	nats, err := startNATS(ctx, f.natsBin, natsDir)
	if err != nil {
		return d, err
	}
	d.procs = append(d.procs, nats)

	// The gateway names the bookings and payments processes at start, and
	// they name it: pick their ports first.
	bkAddr, err := freeAddr()
	if err != nil {
		return d, err
	}
	pmAddr, err := freeAddr()
	if err != nil {
		return d, err
	}
	bkSecret, pmSecret := randomSecret(), randomSecret()
	gwConfig := filepath.Join(base, "gateway.yaml")
	if err := os.WriteFile(gwConfig, fmt.Appendf(nil, `auth:
  service_clients:
    - id: bookings
      secret: %s
      scopes: [search:quote]
    - id: payments
      secret: %s
      scopes: [bookings:read]
`, bkSecret, pmSecret), 0o600); err != nil {
		return d, err
	}
	common := slices.Concat(loadServerEnv, []string{"BELLHOP_EVENTS_NATS_URL=" + nats.url})

	gw, err := launchServe(ctx, "gateway", f.bin, common, "--addr", "127.0.0.1:0", "--data-dir", gwDir, "--config", gwConfig,
		"--remote", "bookings=http://"+bkAddr, "--remote", "payments=http://"+pmAddr)
	if err != nil {
		return d, err
	}
	d.procs = append(d.procs, gw)
	bk, err := launchServe(ctx, "bookings", f.bin,
		slices.Concat(common, []string{"BELLHOP_AUTH_CLIENT_ID=bookings", "BELLHOP_AUTH_CLIENT_SECRET=" + bkSecret}),
		"--only", "bookings", "--addr", bkAddr, "--data-dir", bkDir, "--remote", "auth="+gw.url, "--remote", "search="+gw.url)
	if err != nil {
		return d, err
	}
	d.procs = append(d.procs, bk)
	pm, err := launchServe(ctx, "payments", f.bin,
		slices.Concat(common, []string{"BELLHOP_AUTH_CLIENT_ID=payments", "BELLHOP_AUTH_CLIENT_SECRET=" + pmSecret}),
		"--only", "payments", "--addr", pmAddr, "--data-dir", pmDir, "--remote", "auth="+gw.url, "--remote", "bookings="+bk.url)
	if err != nil {
		return d, err
	}
	d.procs = append(d.procs, pm)
	for _, p := range []*server{gw, bk, pm} {
		if err := p.waitReady(ctx); err != nil {
			return d, err
		}
	}
	d.target = gw.url
	return d, nil
}

// startNATS runs nats-server with JetStream on a free loopback port and waits
// (up to 10s) until it accepts connections.
func startNATS(ctx context.Context, bin, storeDir string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", port, "-js", "-sd", storeDir)
	s := newServer("nats-server", cmd)
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	s.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start nats-server: %w", err)
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	s.url = "nats://" + addr
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return s, nil
		}
		if time.Now().After(deadline) || s.exited() || ctx.Err() != nil {
			_ = s.stop()
			return nil, fmt.Errorf("nats-server did not accept connections on %s within 10s\n%s", addr, s.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freeAddr is a loopback address free right now, for a process another one
// must name before it starts.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// randomSecret is a service client secret: 64 hex digits.
func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// copyDir copies the regular files and directories under src to dst.
func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if e.IsDir() {
			return os.MkdirAll(to, 0o700)
		}
		if !e.Type().IsRegular() {
			return nil
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

// loadResult is `bellhop load --json`'s last line, and the error lines of
// its summary.
type loadResult struct {
	Mix               string              `json:"mix"`
	Rate              int                 `json:"rate"`
	Requests          int64               `json:"requests"`
	Errors            int64               `json:"errors"`
	ThroughputRPS     float64             `json:"throughput_rps"`
	PaymentsSucceeded int                 `json:"payments_succeeded"`
	Kinds             map[string]loadKind `json:"kinds"`
	// With the admin (the booking mix) only.
	InvariantsOK   *bool    `json:"invariants_ok"`
	Violations     []string `json:"violations"`
	Confirmed      int      `json:"confirmed"`
	ConfirmedPerS  *float64 `json:"confirmed_per_s"`
	ConfirmLatency *struct {
		P50ms    float64 `json:"p50_ms"`
		P90ms    float64 `json:"p90_ms"`
		P99ms    float64 `json:"p99_ms"`
		MaxMs    float64 `json:"max_ms"`
		Measured int     `json:"measured"`
		Skipped  int     `json:"skipped"`
	} `json:"confirm_latency"`

	errorLines []string // "count  kind status reason"
}

type loadKind struct {
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	P50ms    float64 `json:"p50_ms"`
	P90ms    float64 `json:"p90_ms"`
	P99ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
}

// load runs `bellhop load --target target --json args...` (with the demo
// admin for the invariants when admin), bounded by the run's length, the
// settle time and three minutes for setup and the check. A run whose
// invariants break still answers its figures (bellhop load exits non-zero).
func (f *deploymentLoad) load(ctx context.Context, target string, admin bool, args ...string) (*loadResult, error) {
	args = append([]string{"load", "--target", target, "--json"}, args...)
	if admin {
		args = append(args, "--admin-email", seedAdminEmail, "--admin-password-stdin")
	}
	limit := f.o.duration + f.o.settle + 3*time.Minute
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, f.bin, args...)
	cmd.Env = baseEnv()
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 20 * time.Second
	if admin {
		cmd.Stdin = strings.NewReader(f.adminPassword + "\n")
	}
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: 16 << 10}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	runErr := cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		runErr = fmt.Errorf("no end within %s: %w", limit, runErr)
	}
	res, err := parseLoad(stdout.String())
	if err != nil {
		return nil, fmt.Errorf("bellhop %s: %v (%v)\n%s\n%s", strings.Join(args, " "), runErr, err,
			lastLines(stdout.String(), 30), lastLines(stderr.String(), 30))
	}
	if runErr != nil && (res.InvariantsOK == nil || *res.InvariantsOK) {
		return nil, fmt.Errorf("bellhop %s: %v\n%s\n%s", strings.Join(args, " "), runErr,
			lastLines(stdout.String(), 30), lastLines(stderr.String(), 30))
	}
	return res, nil
}

// parseLoad reads bellhop load's stdout: the JSON object on the last line and
// the "errors (kind, status, reason):" list of the summary.
func parseLoad(out string) (*loadResult, error) {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if !strings.HasPrefix(last, "{") {
		return nil, errors.New("no JSON object on the last line of its output")
	}
	var r loadResult
	if err := json.Unmarshal([]byte(last), &r); err != nil {
		return nil, fmt.Errorf("its JSON line: %w", err)
	}
	in := false
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "errors (kind, status, reason):"):
			in = true
		case in && strings.TrimSpace(l) == "":
			in = false
		case in:
			r.errorLines = append(r.errorLines, strings.TrimSpace(l))
		}
	}
	return &r, nil
}

func msf(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

func (r *loadResult) kind(k string) loadKind { return r.Kinds[k] }

// mainP99 is the highest p99 of the kinds with at least 1% of the requests
// (search and hotel in the hotel mix), and which kind it is.
func (r *loadResult) mainP99() (time.Duration, string) {
	total := 0
	for _, k := range r.Kinds {
		total += k.Requests
	}
	var p99 time.Duration
	which := ""
	for _, name := range slices.Sorted(maps.Keys(r.Kinds)) {
		k := r.Kinds[name]
		if k.Requests*100 >= total && msf(k.P99ms) >= p99 {
			p99, which = msf(k.P99ms), name
		}
	}
	return p99, which
}

// hotelVerdict is why a hotel-mix rate failed, or "" when it passed.
func (r *loadResult) hotelVerdict(rate int, p99Limit time.Duration) string {
	var why []string
	if p99, kind := r.mainP99(); p99 > p99Limit {
		why = append(why, fmt.Sprintf("%s p99 %s > %s", kind, ms(p99), ms(p99Limit)))
	}
	if r.Requests == 0 || r.Errors*1000 > r.Requests {
		why = append(why, fmt.Sprintf("errors %s > 0.1%%", r.errorShare()))
	}
	if r.ThroughputRPS < 0.95*float64(rate) {
		why = append(why, fmt.Sprintf("throughput %.0f/s < 95%% of %d/s", r.ThroughputRPS, rate))
	}
	return strings.Join(why, "; ")
}

func (r *loadResult) errorShare() string {
	if r.Requests == 0 {
		return "(no requests)"
	}
	return fmt.Sprintf("%d of %d (%.2f%%)", r.Errors, r.Requests, 100*float64(r.Errors)/float64(r.Requests))
}

func (r *loadResult) confirmedPerS() float64 {
	if r.ConfirmedPerS == nil {
		return 0
	}
	return *r.ConfirmedPerS
}

// confirmP50 and confirmP99 are payment succeeded → booking confirmed; 0
// when none was measured.
func (r *loadResult) confirmP50() time.Duration {
	if r.ConfirmLatency == nil || r.ConfirmLatency.Measured == 0 {
		return 0
	}
	return msf(r.ConfirmLatency.P50ms)
}

func (r *loadResult) confirmP99() time.Duration {
	if r.ConfirmLatency == nil || r.ConfirmLatency.Measured == 0 {
		return 0
	}
	return msf(r.ConfirmLatency.P99ms)
}

func (r *loadResult) invariants() string {
	switch {
	case r.InvariantsOK == nil:
		return "not checked"
	case *r.InvariantsOK:
		return "hold ✓"
	default:
		return fmt.Sprintf("%d VIOLATIONS ✗", len(r.Violations))
	}
}

func (r *loadResult) bookingLine() string {
	return fmt.Sprintf("confirmed %.1f/s (%d), hold p99 %s, pay p99 %s, payment → confirmed p50 %s p99 %s, %.0f req/s, errors %s, invariants %s",
		r.confirmedPerS(), r.Confirmed, ms(msf(r.kind("hold").P99ms)), ms(msf(r.kind("pay").P99ms)),
		orDash(r.confirmP50()), orDash(r.confirmP99()), r.ThroughputRPS, r.errorShare(), r.invariants())
}

func (r *loadResult) hotelLine() string {
	return fmt.Sprintf("%.0f req/s, search p50 %s p99 %s, hotel p50 %s p99 %s, errors %s",
		r.ThroughputRPS, ms(msf(r.kind("search").P50ms)), ms(msf(r.kind("search").P99ms)),
		ms(msf(r.kind("hotel").P50ms)), ms(msf(r.kind("hotel").P99ms)), r.errorShare())
}

func (r *loadResult) logErrors() {
	for _, l := range r.errorLines {
		logf("      error: %s", l)
	}
	for _, v := range r.Violations {
		logf("      VIOLATION: %s", v)
	}
}

func orDash(d time.Duration) string {
	if d == 0 {
		return "–"
	}
	return ms(d)
}

// deploymentLoadReport is everything -fire measured, printed as Markdown at the end.
type deploymentLoadReport struct {
	date, cpu, goVersion, command string
	nproc                         int
	wall                          time.Duration
	o                             *deploymentLoadOptions
	rates                         []int
	deps                          []deploymentFigures
}

func (r *deploymentLoadReport) dep(name string) *deploymentFigures {
	for i := range r.deps {
		if r.deps[i].name == name {
			return &r.deps[i]
		}
	}
	return nil
}

// bestHotel is the highest hotel-mix step that passed and the first that
// failed (nil when none did).
func (d *deploymentFigures) bestHotel() (best, failed *hotelMixStep) {
	for i := range d.hotel {
		if d.hotel[i].why == "" {
			best = &d.hotel[i]
		} else if failed == nil {
			failed = &d.hotel[i]
		}
	}
	return best, failed
}

func (d *deploymentFigures) bookingAt(rate int) *loadResult {
	for _, b := range d.booking {
		if b.rate == rate {
			return b.res
		}
	}
	return nil
}

func (r *deploymentLoadReport) print(w io.Writer) {
	cpu := ""
	if r.cpu != "" {
		cpu = ", " + r.cpu
	}
	o := r.o
	fmt.Fprintf(w, "\n---- for README's Performance section: load (-fire) ----\n\n")
	fmt.Fprintf(w, "Measured with `%s` on %s: nproc %d%s, %s; wall time %s. `bellhop load` runs on the same machine and "+
		"shares the cores with every server process: compare the deployments and the ratios, not the absolute numbers.\n\n",
		r.command, r.date, r.nproc, cpu, r.goVersion, r.wall.Round(time.Second))
	fmt.Fprintf(w, "Deployments, each on a fresh copy of one seeded data dir (demo catalog: 60 cities, 2,400 hotels; SQLite), "+
		"everything on 127.0.0.1, one set of processes per deployment for all its runs (the booking mix at each rate, then the hotel mix):\n\n")
	for _, d := range r.deps {
		fmt.Fprintf(w, "- %s: %s.\n", d.name, d.about)
	}
	fmt.Fprintf(w, "\nServer env: access log and the server rate limit off, sign-in and payment limits at 1,000/s (as `bellhop load --help` says).\n\n")

	if len(r.rates) > 0 {
		fmt.Fprintf(w, "Booking mix (80%% hold + pay, 20%% search): `bellhop load --mix booking --rate R --users %d --duration %s --json "+
			"--admin-email %s --admin-password-stdin --settle %s`; R counts holds and searches, the pays come on top. "+
			"Confirmed/s: bookings of the run confirmed, per second from the first request to the last payment answered; "+
			"payment → confirmed: the payment's and the booking's updated_at.\n\n",
			o.users, o.duration, seedAdminEmail, o.settle)
		fmt.Fprintln(w, "| rate | deployment | confirmed/s | hold p99 | pay p99 | payment → confirmed p50 / p99 | errors | invariants |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
		for _, rate := range r.rates {
			for _, d := range r.deps {
				res := d.bookingAt(rate)
				if res == nil {
					if d.err == nil || slices.ContainsFunc(d.booking, func(b bookingMixRun) bool { return b.rate == rate }) {
						fmt.Fprintf(w, "| %s/s | %s | failed: see the log above | | | | | |\n", thousands(float64(rate)), d.name)
					}
					continue
				}
				fmt.Fprintf(w, "| %s/s | %s | %.1f | %s | %s | %s / %s | %s | %s |\n", thousands(float64(rate)), d.name,
					res.confirmedPerS(), ms(msf(res.kind("hold").P99ms)), ms(msf(res.kind("pay").P99ms)),
					orDash(res.confirmP50()), orDash(res.confirmP99()), res.errorShare(), res.invariants())
			}
		}
		fmt.Fprintln(w)
	}

	if o.hotelStart > 0 {
		fmt.Fprintf(w, "Hotel mix (DeathStarBench's: 60%% search, 39%% hotel details, 0.5%% sign-in, 0.5%% hold + pay): "+
			"`bellhop load --mix hotel --rate R --users %d --duration %s --json`, R from %s/s in steps of %s up to the first rate where "+
			"the p99 of search or hotel exceeds %s, errors exceed 0.1%% or the throughput falls under 95%% of R.\n\n",
			o.users, o.duration, thousands(float64(o.hotelStart)), thousands(float64(o.hotelStep)), ms(o.hotelP99))
		fmt.Fprintln(w, "| deployment | highest rate passed | throughput | search p50 / p99 | hotel p50 / p99 | first rate failed |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|")
		for _, d := range r.deps {
			if len(d.hotel) == 0 {
				continue
			}
			best, failed := d.bestHotel()
			fail := fmt.Sprintf("none up to %s/s", thousands(float64(o.hotelMax)))
			if failed != nil {
				fail = fmt.Sprintf("%s/s: %s", thousands(float64(failed.rate)), failed.why)
			} else if d.err != nil {
				fail = "stopped: " + firstLine(d.err.Error())
			}
			if best == nil {
				fmt.Fprintf(w, "| %s | none (below %s/s) | | | | %s |\n", d.name, thousands(float64(o.hotelStart)), fail)
				continue
			}
			b := best.res
			fmt.Fprintf(w, "| %s | **%s/s** | %s req/s | %s / %s | %s / %s | %s |\n", d.name, thousands(float64(best.rate)),
				thousands(b.ThroughputRPS), ms(msf(b.kind("search").P50ms)), ms(msf(b.kind("search").P99ms)),
				ms(msf(b.kind("hotel").P50ms)), ms(msf(b.kind("hotel").P99ms)), fail)
		}
		fmt.Fprintln(w)
		for _, d := range r.deps {
			if best, _ := d.bestHotel(); best != nil {
				var kinds []string
				for _, k := range slices.Sorted(maps.Keys(best.res.Kinds)) {
					kk := best.res.Kinds[k]
					kinds = append(kinds, fmt.Sprintf("%s %s (p50 %s, p99 %s)", k, thousands(float64(kk.Requests)), ms(msf(kk.P50ms)), ms(msf(kk.P99ms))))
				}
				fmt.Fprintf(w, "%s at %s/s, every kind (requests): %s; errors %s.\n", d.name, thousands(float64(best.rate)), strings.Join(kinds, ", "), best.res.errorShare())
			}
		}
		fmt.Fprintln(w)
	}

	if mono, split := r.dep("monolith"), r.dep("split"); mono != nil && split != nil {
		fmt.Fprintln(w, "Split ÷ monolith:")
		fmt.Fprintln(w)
		ratio := func(s, m float64, unit string) string {
			if s == 0 || m == 0 {
				return "–"
			}
			return fmt.Sprintf("%.2f%s", s/m, unit)
		}
		if len(r.rates) > 0 {
			head, sep := "| measure |", "|---|"
			for _, rate := range r.rates {
				head += fmt.Sprintf(" %s/s |", thousands(float64(rate)))
				sep += "---|"
			}
			fmt.Fprintln(w, head)
			fmt.Fprintln(w, sep)
			row := func(name string, cell func(m, s *loadResult) string) {
				fmt.Fprintf(w, "| %s |", name)
				for _, rate := range r.rates {
					m, s := mono.bookingAt(rate), split.bookingAt(rate)
					c := "–"
					if m != nil && s != nil {
						c = cell(m, s)
					}
					fmt.Fprintf(w, " %s |", c)
				}
				fmt.Fprintln(w)
			}
			row("booking mix: confirmed/s", func(m, s *loadResult) string {
				return fmt.Sprintf("%s (%.1f vs %.1f)", ratio(s.confirmedPerS(), m.confirmedPerS(), ""), s.confirmedPerS(), m.confirmedPerS())
			})
			row("booking mix: payment → confirmed p99", func(m, s *loadResult) string {
				return fmt.Sprintf("%s (%s vs %s)", ratio(float64(s.confirmP99()), float64(m.confirmP99()), "×"), orDash(s.confirmP99()), orDash(m.confirmP99()))
			})
			row("booking mix: hold p99", func(m, s *loadResult) string {
				return ratio(s.kind("hold").P99ms, m.kind("hold").P99ms, "×")
			})
			row("booking mix: pay p99", func(m, s *loadResult) string {
				return ratio(s.kind("pay").P99ms, m.kind("pay").P99ms, "×")
			})
			fmt.Fprintln(w)
		}
		if o.hotelStart > 0 {
			mb, _ := mono.bestHotel()
			sb, _ := split.bestHotel()
			if mb != nil && sb != nil {
				fmt.Fprintf(w, "Hotel mix, highest rate passed: split ÷ monolith %.2f (%s/s vs %s/s).\n\n",
					float64(sb.rate)/float64(mb.rate), thousands(float64(sb.rate)), thousands(float64(mb.rate)))
			} else {
				fmt.Fprintf(w, "Hotel mix, highest rate passed: split ÷ monolith – (one of them passed no rate).\n\n")
			}
		}
	}

	fmt.Fprintln(w, "Processes after the runs (peak RSS; WARN and ERROR log records):")
	fmt.Fprintln(w)
	for _, d := range r.deps {
		for _, p := range d.procs {
			fmt.Fprintf(w, "- %s / %s: peak RSS %s; ", d.name, p.name, mib(p.peakKB))
			if len(p.warnings) == 0 {
				fmt.Fprintln(w, "no warnings or errors logged")
				continue
			}
			fmt.Fprintf(w, "warnings or errors logged (%d kinds):\n", len(p.warnings))
			for _, l := range p.warnings {
				fmt.Fprintf(w, "  - %s\n", l)
			}
		}
		if d.err != nil {
			fmt.Fprintf(w, "- %s: ERROR: %s\n", d.name, firstLine(d.err.Error()))
		}
	}
	fmt.Fprintln(w)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
