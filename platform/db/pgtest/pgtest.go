// Package pgtest runs a real, throwaway PostgreSQL for tests: one cluster per
// test binary, created with Debian's PostgreSQL binaries (installed with
// apt-get when they are missing and the tests run as root, as CI does) in a
// temp directory, listening on 127.0.0.1 and a socket directory of its own
// only, with one fresh database per test.
//
// A test package that uses it runs its tests through Main, which stops the
// cluster and removes its directory when the tests are done:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		dsn := pgtest.Start(t).NewDatabase(t) // "postgres://postgres@127.0.0.1:PORT/DB?sslmode=disable"
//		...
//	}
//
// or, for a module's migrated database, d := pgtest.Open(t, module, migrations).
//
// The cluster starts on the first call to Start, so tests that don't use it
// cost nothing. If the test binary dies without reaching the end of Main (a
// panic, a test timeout, a signal), a watchdog process it leaves behind stops
// the cluster and removes the directory: no postgres process outlives the
// tests.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bellhop/bellhop/platform/db"
)

// Cluster is the test binary's PostgreSQL cluster.
type Cluster struct {
	bin  string // directory of initdb, pg_ctl, postgres
	root string // temp dir holding data/, sock/ and postgres.log
	port int
	cred *syscall.Credential // the postgres user when we are root; nil to run as ourselves

	watchdog     *exec.Cmd
	watchdogPipe io.WriteCloser // closing it (or our death) makes the watchdog stop the cluster

	mu    sync.Mutex // guards admin and n
	admin *pgx.Conn
	n     int
}

var (
	mainRunning atomic.Bool
	startOnce   sync.Once
	shared      *Cluster
	startErr    error
	stopOnce    sync.Once
)

// Main runs the package's tests, then stops the cluster (if a test started
// it) and removes its directory, and exits with the tests' status. Call it
// from TestMain.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main for a TestMain with work of its own after the tests: it
// returns the tests' status instead of exiting.
func Run(m *testing.M) int {
	mainRunning.Store(true)
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Start returns the test binary's cluster, creating and starting it on first
// use. It fails the test if PostgreSQL cannot be installed or started.
func Start(tb testing.TB) *Cluster {
	tb.Helper()
	if !mainRunning.Load() {
		tb.Fatal("pgtest: the package's TestMain must call pgtest.Main(m), which stops the cluster when the tests end")
	}
	startOnce.Do(func() {
		begin := time.Now()
		shared, startErr = start(tb)
		if startErr == nil {
			tb.Logf("pgtest: PostgreSQL cluster on 127.0.0.1:%d ready in %s", shared.port, time.Since(begin).Round(time.Millisecond))
		}
	})
	if startErr != nil {
		tb.Fatalf("pgtest: %v", startErr)
	}
	return shared
}

// NewDatabase creates an empty database for this test and returns its DSN
// (postgres://, over TCP on 127.0.0.1, trust auth). The database is dropped
// when the test ends, after the test's own later-registered cleanups (which
// should close its connections; any still open are cut by the drop).
func (c *Cluster) NewDatabase(tb testing.TB) string {
	tb.Helper()
	c.mu.Lock()
	c.n++
	name := databaseName(c.n, tb.Name())
	c.mu.Unlock()
	if err := c.exec(context.Background(), "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if err := c.exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return c.DSN(name)
}

// DSN returns the URL of database name in the cluster.
func (c *Cluster) DSN(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, name)
}

// exec runs one statement on the admin connection (to the postgres database).
func (c *Cluster) exec(ctx context.Context, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.admin == nil || c.admin.IsClosed() {
		conn, err := pgx.Connect(ctx, c.DSN("postgres"))
		if err != nil {
			return err
		}
		c.admin = conn
	}
	_, err := c.admin.Exec(ctx, sql)
	return err
}

var nonIdent = regexp.MustCompile(`[^a-z0-9]+`)

// databaseName is unique in the cluster and says which test it belongs to.
func databaseName(n int, test string) string {
	s := fmt.Sprintf("t%d_%s", n, strings.Trim(nonIdent.ReplaceAllString(strings.ToLower(test), "_"), "_"))
	if len(s) > 63 { // PostgreSQL's identifier limit
		s = s[:63]
	}
	return s
}

// ---- starting and stopping ----

func start(tb testing.TB) (*Cluster, error) {
	bin, err := binDir(tb)
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin}
	uid, gid := os.Getuid(), os.Getgid()
	if os.Geteuid() == 0 { // PostgreSQL refuses to run as root
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("look up the postgres user (created by the postgresql package): %w", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if c.root, err = makeRoot(uid, gid); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			_ = c.shutdown()
		}
	}()
	// --locale=C: names sort byte by byte, as in SQLite (BINARY), so ORDER BY
	// name answers the same on both; a linguistic collation (en_US...) would
	// order non-ASCII names such as "São Paulo" differently.
	// -N: initdb need not fsync what it writes; the cluster is thrown away.
	if out, err := c.command(c.pgBin("initdb"), "-D", c.dataDir(), "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--locale=C", "-N").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	if err := os.Mkdir(c.sockDir(), 0o700); err != nil {
		return nil, err
	}
	if c.cred != nil {
		if err := os.Chown(c.sockDir(), uid, gid); err != nil {
			return nil, err
		}
	}
	if err := c.startWatchdog(); err != nil {
		return nil, err
	}
	// The port is free when we pick it but could be taken before the server
	// binds it: try a few.
	for attempt := 1; ; attempt++ {
		if c.port, err = freePort(); err != nil {
			return nil, err
		}
		opts := fmt.Sprintf("-k %s -c listen_addresses=127.0.0.1 -p %d -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
			c.sockDir(), c.port)
		out, err := c.command(c.pgBin("pg_ctl"), "start", "-w", "-t", "60", "-D", c.dataDir(), "-l", c.logFile(), "-o", opts).CombinedOutput()
		if err == nil {
			break
		}
		if attempt == 3 || !strings.Contains(c.logTail(), "in use") {
			return nil, fmt.Errorf("pg_ctl start: %v\n%s\nserver log:\n%s", err, out, c.logTail())
		}
	}
	// pg_ctl -w waited for the server to accept connections; check ours gets in.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		err := c.exec(ctx, "SELECT 1")
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("connect to the new cluster: %v\nserver log:\n%s", err, c.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
	ok = true
	return c, nil
}

// stop shuts the shared cluster down, if one was started.
func stop() error {
	var err error
	stopOnce.Do(func() {
		if shared != nil {
			err = shared.shutdown()
		}
	})
	return err
}

// shutdown stops the server (immediate mode: nothing in it is worth a clean
// checkpoint) and removes the cluster's directory.
func (c *Cluster) shutdown() error {
	c.mu.Lock()
	if c.admin != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = c.admin.Close(ctx)
		cancel()
		c.admin = nil
	}
	c.mu.Unlock()
	var errs []error
	if c.watchdog != nil {
		// The watchdog runs pg_ctl stop and removes the directory once its stdin closes.
		_ = c.watchdogPipe.Close()
		done := make(chan error, 1)
		go func() { done <- c.watchdog.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = c.watchdog.Process.Kill()
			<-done
		}
		c.watchdog = nil
	}
	// Whatever the watchdog managed, make sure: stop a server still running
	// and remove what is left.
	if _, err := os.Stat(filepath.Join(c.dataDir(), "postmaster.pid")); err == nil {
		if out, err := c.command(c.pgBin("pg_ctl"), "stop", "-D", c.dataDir(), "-m", "immediate", "-w", "-t", "30").CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("pg_ctl stop: %v\n%s", err, out))
		}
	}
	if c.root != "" {
		if err := os.RemoveAll(c.root); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// startWatchdog starts a small shell, in a session of its own so a Ctrl-C
// meant for the tests does not kill it, that waits for its stdin to close —
// when shutdown closes it or when this process dies, however it dies — and
// then stops the cluster and removes its directory.
func (c *Cluster) startWatchdog() error {
	cmd := c.command("/bin/sh", "-c", `read -r _ ; "$1" stop -D "$2" -m immediate -w -t 30 >/dev/null 2>&1 ; rm -rf "$3"`,
		"pgtest-watchdog", c.pgBin("pg_ctl"), c.dataDir(), c.root)
	cmd.SysProcAttr.Setsid = true
	w, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the watchdog: %w", err)
	}
	c.watchdog, c.watchdogPipe = cmd, w
	return nil
}

// command runs a PostgreSQL program as the cluster's owner, in its directory,
// without the PG* variables of our environment.
func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = c.root
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "PG") })
	cmd.Env = append(cmd.Env, "LC_ALL=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	return cmd
}

func (c *Cluster) pgBin(name string) string { return filepath.Join(c.bin, name) }
func (c *Cluster) dataDir() string          { return filepath.Join(c.root, "data") }
func (c *Cluster) sockDir() string          { return filepath.Join(c.root, "sock") }
func (c *Cluster) logFile() string          { return filepath.Join(c.root, "postgres.log") }

func (c *Cluster) logTail() string {
	b, _ := os.ReadFile(c.logFile())
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// makeRoot creates the cluster's directory in the temp dir, owned by the
// user the server runs as, after checking that user can reach it.
func makeRoot(uid, gid int) (string, error) {
	base := os.TempDir()
	if err := reachable(base, uid, gid); err != nil {
		return "", fmt.Errorf("the PostgreSQL server (uid %d) cannot reach the temp dir %s: %w; point TMPDIR at a directory it can reach", uid, base, err)
	}
	root, err := os.MkdirTemp(base, "pgtest-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(root, 0o700); err != nil {
		return root, err
	}
	if uid != os.Getuid() {
		if err := os.Chown(root, uid, gid); err != nil {
			return root, err
		}
	}
	return root, nil
}

// reachable reports whether uid (with primary group gid) may traverse dir and
// every directory above it.
func reachable(dir string, uid, gid int) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for {
		fi, err := os.Stat(dir)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if ok && uid != 0 {
			perm := fi.Mode().Perm()
			var x bool
			switch {
			case int(st.Uid) == uid:
				x = perm&0o100 != 0
			case int(st.Gid) == gid:
				x = perm&0o010 != 0
			default:
				x = perm&0o001 != 0
			}
			if !x {
				return fmt.Errorf("no search permission on %s (%s)", dir, fi.Mode())
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ---- finding and installing PostgreSQL ----

// binDir finds the newest of Debian's PostgreSQL installations, else pg_ctl
// on PATH; when there is none and we are root (as in CI), it installs
// Debian's postgresql package first.
func binDir(tb testing.TB) (string, error) {
	if dir := findBinDir(); dir != "" {
		return dir, nil
	}
	if os.Geteuid() != 0 {
		return "", errors.New("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl, no pg_ctl on PATH) " +
			"and the tests are not running as root, so they cannot install it: run `apt-get install -y postgresql` as root")
	}
	begin := time.Now()
	installed, err := install()
	if err != nil {
		return "", err
	}
	dir := findBinDir()
	if dir == "" {
		return "", errors.New("apt-get installed postgresql but no /usr/lib/postgresql/*/bin/pg_ctl appeared")
	}
	if installed {
		tb.Logf("pgtest: installed PostgreSQL (%s) in %s", dir, time.Since(begin).Round(time.Second))
	} else {
		tb.Logf("pgtest: waited %s for another test binary to install PostgreSQL", time.Since(begin).Round(time.Second))
	}
	return dir, nil
}

func findBinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	best, bestVersion := "", -1
	for _, d := range dirs {
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if err != nil || v <= bestVersion {
			continue
		}
		if ok, _ := allExecutable(d, "initdb", "pg_ctl", "postgres"); ok {
			best, bestVersion = d, v
		}
	}
	if best != "" {
		return best
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		d := filepath.Dir(p)
		if ok, _ := allExecutable(d, "initdb", "postgres"); ok {
			return d
		}
	}
	return ""
}

func allExecutable(dir string, names ...string) (bool, error) {
	for _, n := range names {
		fi, err := os.Stat(filepath.Join(dir, n))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return false, err
		}
	}
	return true, nil
}

// install runs apt-get, holding a lock so test binaries of other packages
// running at the same time don't install twice (apt itself waits for its lock
// if something else holds it). It reports false if another one installed
// PostgreSQL while we waited for the lock.
func install() (bool, error) {
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "pgtest-install.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return false, err
	}
	defer lock.Close() // closing releases the lock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return false, fmt.Errorf("lock: %w", err)
	}
	if findBinDir() != "" {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	wait := []string{"-o", "DPkg::Lock::Timeout=600"}
	for _, args := range [][]string{
		append([]string{"update"}, wait...),
		append([]string{"install", "-y", "--no-install-recommends", "postgresql"}, wait...),
	} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return false, fmt.Errorf("PostgreSQL is not installed and `apt-get %s` failed: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	stopPackageClusters()
	return true, nil
}

// stopPackageClusters stops the Debian "main" cluster the package's scripts
// may just have started (they do where no policy-rc.d forbids it): the tests
// run their own cluster, and nothing may outlive them.
func stopPackageClusters() {
	out, err := exec.Command("pg_lsclusters", "--no-header").Output()
	if err != nil {
		return
	}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) >= 4 && f[3] == "online" {
			_ = exec.Command("pg_ctlcluster", f[0], f[1], "stop").Run()
		}
	}
}

// Open returns module's database in a fresh PostgreSQL database of the
// test's cluster, migrated twice (migrating must be safe on every start),
// and closed when the test ends: dbtest.Open's PostgreSQL twin.
func Open(tb testing.TB, module string, steps []db.Migration) *db.DB {
	tb.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, db.Options{Module: module, DSN: Start(tb).NewDatabase(tb)})
	if err != nil {
		tb.Fatalf("pgtest: open %s db: %v", module, err)
	}
	tb.Cleanup(func() { _ = d.Close() })
	if d.Dialect != db.Postgres {
		tb.Fatalf("pgtest: %s db dialect = %q, want %q", module, d.Dialect, db.Postgres)
	}
	for range 2 {
		if err := d.Migrate(ctx, steps); err != nil {
			tb.Fatalf("pgtest: migrate %s db: %v", module, err)
		}
	}
	return d
}
