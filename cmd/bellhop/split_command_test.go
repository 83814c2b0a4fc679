package main_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/bellhop/bellhop/cmd/internal/topology"
	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/search"
)

// splitModules are the modules and their calls as cmd/bellhop lists them
// (TestSplit_OneCommand fails if they drift: a process would lack a URL).
var splitModules = []topology.Module{
	{Name: "auth"},
	{Name: "bookings", Calls: []string{"search"}},
	{Name: "payments", Calls: []string{"bookings"}},
	{Name: "reporting"},
	{Name: "search"},
}

// splitRun is `bellhop split` running the real configs/split.yaml on free
// loopback ports.
type splitRun struct {
	// Launch is what the command runs: every process's URL, data directory
	// and configuration.
	Launch *topology.Launch
	// AdminPassword and GuestPassword are the demo accounts' passwords.
	AdminPassword, GuestPassword string
	Dir                          string

	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan error
	once sync.Once
}

var (
	goremanOnce sync.Once
	goremanPath string
	goremanErr  error
)

// goreman builds the goreman go.mod pins (a tool of the module), once.
func goreman(t *testing.T) string {
	t.Helper()
	goremanOnce.Do(func() {
		goremanPath = filepath.Join(filepath.Dir(binary), "goreman")
		out, err := exec.Command("go", "build", "-o", goremanPath, "github.com/mattn/goreman").CombinedOutput()
		if err != nil {
			goremanErr = fmt.Errorf("build goreman: %v\n%s", err, out)
		}
	})
	if goremanErr != nil {
		t.Fatal(goremanErr)
	}
	return goremanPath
}

// startSplit runs `bellhop split` with configs/split.yaml moved to free
// loopback ports (env is added to every process's environment) and waits
// until it says every process is ready. It is stopped with SIGINT, as
// Ctrl-C does, when the test ends (or by stop).
func startSplit(t *testing.T, env ...string) *splitRun {
	t.Helper()
	topo, err := topology.Load(filepath.Join("..", "..", "configs", "split.yaml"), splitModules)
	if err != nil {
		t.Fatal(err)
	}
	port := func() int {
		_, p, _ := net.SplitHostPort(freeLoopbackAddr(t))
		n, _ := strconv.Atoi(p)
		return n
	}
	topo.NATS.Port, topo.Gateway.Port = port(), port()
	for i := range topo.Processes {
		topo.Processes[i].Port = port()
	}
	b, err := yaml.Marshal(topo)
	if err != nil {
		t.Fatal(err)
	}
	topoFile := filepath.Join(t.TempDir(), "split.yaml")
	writeTestFile(t, topoFile, string(b))
	dir := filepath.Join(t.TempDir(), "split")

	r := &splitRun{Dir: dir, out: &lockedBuffer{}, done: make(chan error, 1)}
	r.cmd = exec.Command(binary, "split", "--topology", topoFile, "--dir", dir, "--nats-server", natsServer, "--goreman", goreman(t))
	r.cmd.Env = append(append(os.Environ(), "BELLHOP_SERVER_RATE_LIMIT_ENABLED=false"), env...)
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r.cmd.Stderr = r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			r.out.Write([]byte(sc.Text() + "\n"))
			if strings.HasPrefix(sc.Text(), "Each process's data") {
				close(ready)
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() { r.stop(t) })
	select {
	case <-ready:
	case err := <-r.done:
		r.once.Do(func() {})
		t.Fatalf("bellhop split exited before it was ready: %v\n%s", err, r.out)
	case <-time.After(90 * time.Second):
		t.Fatalf("bellhop split not ready in 90s\n%s", r.out)
	}
	// The same plan again, from the test's list of modules: it must write
	// what the command wrote from the binary's.
	configs, _ := filepath.Glob(filepath.Join(dir, "*", "bellhop.yaml"))
	written := map[string]string{}
	for _, f := range configs {
		b, _ := os.ReadFile(f)
		written[f] = string(b)
	}
	if r.Launch, err = topo.Prepare(topology.LaunchOptions{Dir: dir, Bellhop: binary, NATSServer: natsServer, Modules: splitModules}); err != nil {
		t.Fatal(err)
	}
	for f, was := range written {
		if b, _ := os.ReadFile(f); string(b) != was {
			t.Fatalf("splitModules differ from the binary's modules: %s was\n%s\nnow\n%s", f, was, b)
		}
	}
	if len(written) != len(r.Launch.Commands)-1 {
		t.Fatalf("bellhop split wrote %d process configurations, want %d", len(written), len(r.Launch.Commands)-1)
	}
	pw := regexp.MustCompile(`demo (admin|guest): \S+  password (\S+)`)
	for _, m := range pw.FindAllStringSubmatch(r.out.String(), -1) {
		if m[1] == "admin" {
			r.AdminPassword = m[2]
		} else {
			r.GuestPassword = m[2]
		}
	}
	if r.AdminPassword == "" || r.GuestPassword == "" {
		t.Fatalf("bellhop split did not print the demo credentials:\n%s", r.out)
	}
	return r
}

// stop sends SIGINT (Ctrl-C) and waits for a clean exit.
func (r *splitRun) stop(t *testing.T) {
	t.Helper()
	r.once.Do(func() {
		_ = r.cmd.Process.Signal(syscall.SIGINT)
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("bellhop split exited with %v\n%s", err, r.out)
			}
		case <-time.After(90 * time.Second):
			_ = r.cmd.Process.Kill()
			t.Errorf("bellhop split did not stop within 90s of SIGINT\n%s", r.out)
		}
	})
}

// The whole split topology from configs/split.yaml by one command: NATS,
// the gateway and one process per module, each ready; the demo admin signs
// in through the gateway, searches, holds, pays, and the booking is
// confirmed by the payment event across the processes; the receipt is
// issued by reporting's process. Ctrl-C stops every process. An address or
// data directory left in the shell's BELLHOP_* variables does not reach the
// processes (it would give all seven one address): it is named and ignored.
func TestSplit_OneCommand(t *testing.T) {
	r := startSplit(t, "BELLHOP_SERVER_ADDR=127.0.0.1:1", "BELLHOP_DATA_DIR="+t.TempDir())
	l := r.Launch
	for _, name := range []string{"BELLHOP_SERVER_ADDR", "BELLHOP_DATA_DIR"} {
		if !strings.Contains(r.out.String(), "ignoring "+name+" from the environment") {
			t.Errorf("bellhop split did not say it ignores %s:\n%s", name, r.out)
		}
	}
	if len(l.Commands) != 7 {
		t.Fatalf("%d processes, want 7 (NATS, the gateway, five modules)", len(l.Commands))
	}
	for _, c := range l.Commands {
		if c.Name == topology.NATSName {
			continue
		}
		if res := call(t, "GET", c.URL+"/readyz", "", nil, nil); res.StatusCode != 200 {
			t.Errorf("%s /readyz: %d", c.Name, res.StatusCode)
		}
	}
	// Each module's database is in its own process's directory only.
	for _, c := range l.Commands {
		if c.Name == topology.NATSName {
			continue
		}
		for _, m := range splitModules {
			_, err := os.Stat(filepath.Join(c.DataDir, m.Name+".db"))
			hosts := len(c.Hosts) == 1 && c.Hosts[0] == m.Name
			if hosts && err != nil {
				t.Errorf("%s has no %s.db: %v", c.Name, m.Name, err)
			}
			if !hosts && err == nil {
				t.Errorf("%s has %s.db, which it does not host", c.Name, m.Name)
			}
		}
	}

	gw := l.GatewayURL
	// The OAuth metadata names the gateway's endpoints whichever process
	// answers: through the gateway or straight from auth's own port.
	for _, c := range l.Commands {
		if c.Name != topology.GatewayName && !slices.Contains(c.Hosts, "auth") {
			continue
		}
		var meta struct {
			Issuer        string `json:"issuer"`
			TokenEndpoint string `json:"token_endpoint"`
		}
		if res := call(t, "GET", c.URL+"/.well-known/oauth-authorization-server", "", nil, &meta); res.StatusCode != 200 ||
			meta.Issuer == "" || meta.TokenEndpoint != gw+"/oauth/token" {
			t.Errorf("metadata from %s: %d %+v, want the token endpoint at %s", c.Name, res.StatusCode, meta, gw)
		}
	}
	admin := signIn(t, gw, "admin@bellhop.demo", r.AdminPassword).AccessToken
	// The service identities the topology configures cannot be deleted
	// through the API: bookings' calls to search would fail until auth's
	// next start.
	if res, body := rawSend(t, "DELETE", gw+"/api/v1/oauth-clients/bookings", admin, "", nil); res.StatusCode != 409 || !strings.Contains(string(body), `"auth.client_configured"`) {
		t.Errorf("delete the bookings service identity: %d %s, want 409 auth.client_configured", res.StatusCode, body)
	}
	in, out := stay()
	var page search.SearchResult
	if res := call(t, "GET", gw+"/api/v1/hotels?"+query("city", "Lisbon", "check_in", in, "check_out", out, "guests", "2", "limit", "5"), "", nil, &page); res.StatusCode != 200 || len(page.Hotels) == 0 {
		t.Fatalf("search through the gateway: %d %+v", res.StatusCode, page)
	}
	roomType := ""
	for _, rt := range page.Hotels[0].RoomTypes {
		if rt.MaxGuests >= 2 {
			roomType = rt.ID
			break
		}
	}
	var b bookings.Booking
	res, body := rawSend(t, "POST", gw+"/api/v1/bookings", admin, fmt.Sprintf(
		`{"room_type_id":%q,"check_in":%q,"check_out":%q,"guests":2}`, roomType, in, out), map[string]string{"Idempotency-Key": "split-hold-1"})
	if err := json.Unmarshal(body, &b); res.StatusCode != 201 || err != nil || b.Status != bookings.StatusPending {
		t.Fatalf("hold through the gateway: %d %s", res.StatusCode, body)
	}
	var p payments.Payment
	res, body = rawSend(t, "POST", gw+"/api/v1/payments", admin, fmt.Sprintf(
		`{"booking_id":%q,"payment_method":"pm_card_visa"}`, b.ID), map[string]string{"Idempotency-Key": "split-pay-1"})
	if err := json.Unmarshal(body, &p); res.StatusCode != 201 || err != nil || p.Status != payments.StatusSucceeded || p.Amount != b.Total {
		t.Fatalf("pay through the gateway: %d %s (booking total %v)", res.StatusCode, body, b.Total)
	}
	pollUntil(t, "the booking to be confirmed", 20*time.Second, func() (bool, string) {
		var got bookings.Booking
		res := call(t, "GET", gw+"/api/v1/bookings/"+b.ID, admin, nil, &got)
		return res.StatusCode == 200 && got.Status == bookings.StatusConfirmed && got.PaymentID == p.ID,
			fmt.Sprintf("%d %s", res.StatusCode, got.Status)
	})
	// booking.confirmed reaches reporting's process: the receipt, mailed to
	// its sink.
	rep, _ := l.Command("reporting")
	pollUntil(t, "reporting to mail the receipt", 20*time.Second, func() (bool, string) {
		mails, _ := filepath.Glob(filepath.Join(rep.DataDir, "mail", "doc_*.eml"))
		return len(mails) == 1, fmt.Sprintf("%d receipts mailed", len(mails))
	})

	// Ctrl-C: every process stops, none is left behind.
	r.stop(t)
	for _, c := range l.Commands {
		addr := strings.TrimPrefix(strings.TrimPrefix(c.URL, "http://"), "nats://")
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			t.Errorf("%s still listens on %s after Ctrl-C", c.Name, addr)
		}
	}
	if left := processesMentioning(t, r.Dir); len(left) > 0 {
		t.Errorf("processes left running after Ctrl-C:\n%s", strings.Join(left, "\n"))
	}
	if out := r.out.String(); !strings.Contains(out, "every process stopped") {
		t.Errorf("bellhop split did not say it stopped everything:\n%s", out)
	}
}

// processesMentioning are the command lines of running processes that
// mention s.
func processesMentioning(t *testing.T, s string) []string {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range procs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // gone since the glob
		}
		if line := strings.ReplaceAll(string(b), "\x00", " "); strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

// A port of the topology already taken (make run on 8080, say): bellhop
// split says which and starts nothing.
func TestSplit_PortTaken(t *testing.T) {
	t.Parallel()
	topo, err := topology.Load(filepath.Join("..", "..", "configs", "split.yaml"), splitModules)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := func() int {
		_, p, _ := net.SplitHostPort(freeLoopbackAddr(t))
		n, _ := strconv.Atoi(p)
		return n
	}
	topo.NATS.Port = port()
	topo.Gateway.Port = ln.Addr().(*net.TCPAddr).Port
	for i := range topo.Processes {
		topo.Processes[i].Port = port()
	}
	b, err := yaml.Marshal(topo)
	if err != nil {
		t.Fatal(err)
	}
	topoFile := filepath.Join(t.TempDir(), "split.yaml")
	writeTestFile(t, topoFile, string(b))
	dir := filepath.Join(t.TempDir(), "split")
	out, err := exec.Command(binary, "split", "--topology", topoFile, "--dir", dir, "--nats-server", natsServer, "--goreman", "/nonexistent/goreman").CombinedOutput()
	want := fmt.Sprintf("split: gateway's port %d in use", topo.Gateway.Port)
	if err == nil || !strings.Contains(string(out), want) {
		t.Fatalf("bellhop split with the gateway's port taken: %v\n%s\nwant it to fail saying %q", err, out, want)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("bellhop split prepared %s although it could not run", dir)
	}
}
