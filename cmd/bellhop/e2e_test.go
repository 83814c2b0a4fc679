package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/db/pgtest"
)

// binary is the bellhop binary built once for every end-to-end test;
// natsServer is a NATS server binary built from the module cache (the same
// version the embedded server is), for split-mode tests.
var binary, natsServer string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bellhop-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "bellhop")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build bellhop:", err)
		os.Exit(1)
	}
	natsServer = filepath.Join(dir, "nats-server")
	build = exec.Command("go", "build", "-o", natsServer, "github.com/nats-io/nats-server/v2")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build nats-server:", err)
		os.Exit(1)
	}
	code := pgtest.Run(m) // also stops the PostgreSQL cluster, if a test started one
	os.RemoveAll(dir)
	os.Exit(code)
}

// seededDir is a data directory with the demo catalog and the demo users,
// made once and copied; seedAdminPassword is the demo admin's password.
var (
	seedOnce          sync.Once
	seedDir           string
	seedAdminPassword string
	seedErr           error
)

func seededDataDir(t testing.TB) string {
	t.Helper()
	dir, _ := seededDataDirWithAdmin(t)
	return dir
}

// seededDataDirWithAdmin is a copy of the seeded data dir and the demo
// admin's password.
func seededDataDirWithAdmin(t testing.TB) (dir, adminPassword string) {
	t.Helper()
	seedOnce.Do(func() {
		seedDir, seedErr = os.MkdirTemp("", "bellhop-seed-")
		if seedErr != nil {
			return
		}
		out, err := exec.Command(binary, "seed", "--data-dir", seedDir).CombinedOutput()
		if err != nil {
			seedErr = fmt.Errorf("seed: %v: %s", err, out)
			return
		}
		m := seededAdmin.FindSubmatch(out)
		if m == nil {
			seedErr = fmt.Errorf("seed printed no demo admin password:\n%s", out)
			return
		}
		seedAdminPassword = string(m[1])
	})
	if seedErr != nil {
		t.Fatal(seedErr)
	}
	dir = t.TempDir()
	entries, err := os.ReadDir(seedDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(seedDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, seedAdminPassword
}

// proc is a running bellhop process.
type proc struct {
	cmd  *exec.Cmd
	Addr string // host:port it listens on
	URL  string
	logs *lockedBuffer
	done chan error
	// exited is set once the test has collected the exit (waitExit): stop
	// then has nothing to do.
	exited atomic.Bool
}

// waitExit waits for the process to end by itself (a crash test) and returns
// how it ended.
func (p *proc) waitExit(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case err := <-p.done:
		p.exited.Store(true)
		return err
	case <-time.After(within):
		t.Fatalf("bellhop still running after %s\n%s", within, p.logs)
		return nil
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testIssuer signs the tokens end-to-end tests send; processes trust its JWKS.
type testAuth struct {
	iss      *authntest.Issuer
	jwksFile string
}

func newTestAuth(t *testing.T) *testAuth {
	iss := authntest.NewIssuer(t, "bellhop-e2e", "bellhop")
	f := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(f, iss.JWKS(), 0o600); err != nil {
		t.Fatal(err)
	}
	return &testAuth{iss: iss, jwksFile: f}
}

func (a *testAuth) env() []string {
	return []string{"BELLHOP_AUTH_JWKS_FILE=" + a.jwksFile, "BELLHOP_AUTH_ISSUER=bellhop-e2e", "BELLHOP_AUTH_AUDIENCE=bellhop"}
}

// start runs `bellhop serve args...` on a free loopback port and waits until
// it listens. The process is stopped (SIGTERM) when the test ends.
func start(t testing.TB, env []string, args ...string) *proc {
	t.Helper()
	if !containsFlag(args, "--addr") {
		args = append(args, "--addr", "127.0.0.1:0")
	}
	cmd := exec.Command(binary, append([]string{"serve"}, args...)...)
	cmd.Env = append(append(os.Environ(), "BELLHOP_LOG_FORMAT=json", "BELLHOP_SERVER_RATE_LIMIT_ENABLED=false"), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, logs: &lockedBuffer{}, done: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.logs.Write([]byte(line + "\n"))
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "bellhop listening" {
				addrCh <- rec.Addr
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() { p.stop(t) })
	select {
	case p.Addr = <-addrCh:
		p.URL = "http://" + p.Addr
	case err := <-p.done:
		p.exited.Store(true)
		t.Fatalf("bellhop exited before listening: %v\n%s", err, p.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("bellhop did not start in 30s\n%s", p.logs)
	}
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t testing.TB) {
	t.Helper()
	if p.exited.Load() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.exited.Store(true)
		if err != nil {
			t.Errorf("bellhop exited with %v\n%s", err, p.logs)
		}
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Errorf("bellhop did not stop within 20s of SIGTERM\n%s", p.logs)
	}
}

func containsFlag(args []string, flag string) bool {
	for _, a := range args {
		if a == flag || strings.HasPrefix(a, flag+"=") {
			return true
		}
	}
	return false
}

var httpc = &http.Client{Timeout: 10 * time.Second}

// call sends a request and decodes a JSON answer into out (if non-nil).
func call(t *testing.T, method, u, token string, body io.Reader, out any) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := httpc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, u, b, err)
		}
	}
	return res
}

func query(kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return q.Encode()
}

// startNATS runs a separate NATS server with JetStream on a free loopback
// port, as split mode needs, and returns its URL. It stops when the test ends.
func startNATS(t *testing.T) string {
	t.Helper()
	url, _ := startNATSServer(t)
	return url
}

// startNATSServer is startNATS that also returns a function stopping the
// server (SIGTERM, as an operator would) before the test ends.
func startNATSServer(t *testing.T) (url string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(natsServer, "-a", "127.0.0.1", "-p", port, "-js", "-sd", t.TempDir(), "--http_port", "0")
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
			}
		})
	}
	t.Cleanup(stop)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return "nats://" + addr, stop
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server did not start:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func jsonDecode(res *http.Response, v any) error {
	return json.NewDecoder(res.Body).Decode(v)
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
