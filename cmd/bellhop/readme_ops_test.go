package main_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bellhop/bellhop/platform/observability/otlptest"
)

// The operator's blocks of README: the load run, shadow traffic and tracing.
// Each test runs its blocks as written (runREADMEBlocks), with only the
// addresses and paths changed, and checks what the block says it shows.

// readmePath is README.md at the repository's root.
var readmePath = filepath.Join("..", "..", "README.md")

// readmeScript is README blocks to run in one bash session.
type readmeScript struct {
	blocks []readmeBlock
	// replace turns README's addresses and paths into this test's.
	replace *strings.Replacer
	env     []string // added to the test's environment
	dir     string   // where bash runs; a temp dir when empty
	timeout time.Duration
	// logs returns what the servers wrote, shown when a block fails.
	logs func() string
}

// runREADMEBlocks runs the blocks in order in one `bash -euo pipefail`
// session and returns its output, failing the test with the block that
// failed. The session is its own process group, so whatever a failed block
// left running in the background stops with it; its output goes to a file,
// not a pipe, which such a process would hold open.
func runREADMEBlocks(t *testing.T, s readmeScript) string {
	t.Helper()
	needTool(t, "bash", "bash")
	needTool(t, "curl", "curl")
	var script strings.Builder
	for i, b := range s.blocks {
		name := ""
		if b.name != "" {
			name = " [" + b.name + "]"
		}
		fmt.Fprintf(&script, "printf '\\n@@ block %d%s (%s line %d)\\n'\n", i+1, name, b.source(), b.line)
		script.WriteString(s.replace.Replace(b.text))
	}
	script.WriteString("printf '\\n@@ end\\n'\n")

	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-s")
	cmd.Dir = s.dir
	if cmd.Dir == "" {
		cmd.Dir = t.TempDir()
	}
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Stdin = strings.NewReader(script.String())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	outFile, err := os.Create(filepath.Join(t.TempDir(), "output"))
	if err != nil {
		t.Fatal(err)
	}
	defer outFile.Close()
	cmd.Stdout, cmd.Stderr = outFile, outFile
	began := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	err = cmd.Wait()
	b, _ := os.ReadFile(outFile.Name())
	output := string(b)
	if err == nil && strings.Contains(output, "\n@@ end\n") {
		t.Logf("%d README block(s) passed in %s; their output:\n%s", len(s.blocks), time.Since(began).Round(time.Millisecond), output)
		return output
	}
	failed := 0
	for i := range s.blocks {
		if strings.Contains(output, fmt.Sprintf("@@ block %d ", i+1)) {
			failed = i
		}
	}
	since := output
	if at := strings.LastIndex(output, "@@ block "); at >= 0 {
		since = output[at:]
	}
	var logs string
	if s.logs != nil {
		logs = s.logs()
	}
	fb := s.blocks[failed]
	t.Fatalf("%s block at line %d failed (%v, after %s):\n--- block ---\n%s--- its output ---\n%s\n%s",
		fb.source(), fb.line, err, time.Since(began).Round(time.Millisecond), fb.text, since, logs)
	return ""
}

// tailOfFiles is the last lines of each file that exists, for a failure
// message.
func tailOfFiles(paths ...string) string {
	var b strings.Builder
	for _, p := range paths {
		if l, err := os.ReadFile(p); err == nil {
			lines := strings.Split(strings.TrimSpace(string(l)), "\n")
			fmt.Fprintf(&b, "--- %s (last lines) ---\n%s\n", filepath.Base(p), strings.Join(lines[max(0, len(lines)-20):], "\n"))
		}
	}
	return b.String()
}

// blockNamed returns the one block of blocks named name.
func blockNamed(t *testing.T, blocks []readmeBlock, tag, name string) readmeBlock {
	t.Helper()
	var found []readmeBlock
	for _, b := range blocks {
		if b.name == name {
			found = append(found, b)
		}
	}
	if len(found) != 1 {
		t.Fatalf("README.md has %d blocks marked %s, want one", len(found), strings.TrimSpace(tag+" "+name))
	}
	return found[0]
}

var envAssignment = regexp.MustCompile(`^(BELLHOP_[A-Z0-9_]+)=([A-Za-z0-9._:/,-]*)$`)

// makeEnv reads a block that is exactly `VAR=value ... make TARGET`
// (lines continued with a backslash), the variables BELLHOP_* settings with
// plain values: the "```sh load server" block (make run), the edge's first
// terminal (make split). It returns the assignments, which the test starts
// the server (or the split deployment) with, as make would.
func makeEnv(block, target string) ([]string, error) {
	line := strings.TrimSpace(strings.ReplaceAll(block, "\\\n", " "))
	if strings.Contains(line, "\n") {
		return nil, fmt.Errorf("want one command, `VAR=value ... make %s`, got several lines:\n%s", target, block)
	}
	words := strings.Fields(line)
	if len(words) < 2 || words[len(words)-2] != "make" || words[len(words)-1] != target {
		return nil, fmt.Errorf("want `VAR=value ... make %s`, got %q", target, line)
	}
	env := words[:len(words)-2]
	for _, w := range env {
		if !envAssignment.MatchString(w) {
			return nil, fmt.Errorf("%q is not a BELLHOP_* setting with a plain value (the test starts the server with these alone)", w)
		}
	}
	return env, nil
}

func TestMakeEnv(t *testing.T) {
	t.Parallel()
	env, err := makeEnv("BELLHOP_A_B=1 \\\nBELLHOP_C=x,y make run\n", "run")
	if err != nil || strings.Join(env, " ") != "BELLHOP_A_B=1 BELLHOP_C=x,y" {
		t.Fatalf("makeEnv = %q, %v", env, err)
	}
	if env, err := makeEnv("BELLHOP_A=1 make split\n", "run"); err == nil {
		t.Errorf("make split read as make run: %q", env)
	}
	for _, bad := range []string{
		"BELLHOP_A=1 make run --foo\n",     // more than make run
		"BELLHOP_A=1 bin/bellhop serve\n",  // not make run
		"PATH=/x make run\n",               // not a Bellhop setting
		"BELLHOP_A='a b' make run\n",       // quoting the test would not undo
		"BELLHOP_A=1 make run\necho hi\n",  // a second command
		"# raise the limits\nmake run\n",   // a comment the test would not run
		"BELLHOP_A=$(cat secret) make run", // a command substitution
	} {
		if env, err := makeEnv(bad, "run"); err == nil {
			t.Errorf("makeEnv(%q) = %q, want an error", bad, env)
		}
	}
}

// TestREADME_Load runs README's load blocks as a reader would: `make run`
// with the "load server" block's variables (the test starts the binary on a
// freshly seeded data dir with those alone, the server's own limits on, as
// make run does), then the "load" block in bash against it with the demo
// admin's password in ADMIN_PASSWORD. Both bellhop load runs must exit 0
// and say the invariants hold, and the run must have confirmed bookings.
func TestREADME_Load(t *testing.T) {
	t.Parallel()
	blocks := taggedBlocks(t, readmePath, "```sh load")
	server, client := blockNamed(t, blocks, "```sh load", "server"), blockNamed(t, blocks, "```sh load", "")
	env, err := makeEnv(server.text, "run")
	if err != nil {
		t.Fatalf("README.md line %d, the load server block: %v", server.line, err)
	}
	dataDir, adminPassword := seededDataDirWithAdmin(t)
	p := start(t, append([]string{"BELLHOP_SERVER_RATE_LIMIT_ENABLED=true"}, env...), "--data-dir", dataDir)

	output := runREADMEBlocks(t, readmeScript{
		blocks:  []readmeBlock{client},
		replace: strings.NewReplacer("bin/bellhop", binary, "127.0.0.1:8080", p.Addr),
		env:     []string{"ADMIN_PASSWORD=" + adminPassword},
		timeout: 3 * time.Minute,
		logs:    p.logs.String,
	})
	if n := strings.Count(output, "all invariants hold"); n != 2 {
		t.Errorf("want both bellhop load runs to say all invariants hold, %d did:\n%s", n, output)
	}
	m := regexp.MustCompile(`bookings confirmed by this run: (\d+)`).FindStringSubmatch(output)
	if m == nil || m[1] == "0" {
		t.Errorf("the load run confirmed no booking:\n%s", output)
	}
}

// TestREADME_ShadowTraffic runs README's shadow block as written (only the
// addresses and paths changed) on a freshly seeded data dir, nothing else
// running, as after stopping make run: the block must pass, and show
// replays that matched.
func TestREADME_ShadowTraffic(t *testing.T) {
	t.Parallel()
	block := blockNamed(t, taggedBlocks(t, readmePath, "```sh shadow"), "```sh shadow", "")
	dataDir := seededDataDir(t)
	natsAddr := freeLoopbackAddr(t)
	_, natsPort, _ := net.SplitHostPort(natsAddr)
	output := runREADMEBlocks(t, readmeScript{
		blocks: []readmeBlock{block},
		replace: strings.NewReplacer(
			"bin/bellhop", binary,
			"bin/nats-server", natsServer,
			"./data", dataDir,
			"127.0.0.1:8080", freeLoopbackAddr(t),
			"127.0.0.1:8102", freeLoopbackAddr(t),
			"127.0.0.1:4223", natsAddr,
			"-p 4223", "-p "+natsPort,
		),
		timeout: 2 * time.Minute,
		logs: func() string {
			return tailOfFiles(filepath.Join(dataDir, "shadow.log"), filepath.Join(dataDir, "search-copy", "bellhop.log"),
				filepath.Join(dataDir, "search-copy", "nats.log"))
		},
	})
	matched := 0
	for _, m := range regexp.MustCompile(`(?m)^bellhop_shadow_calls_total\{[^}]*outcome="match"[^}]*\} (\d+)$`).FindAllStringSubmatch(output, -1) {
		n, _ := strconv.Atoi(m[1])
		matched += n
	}
	if matched == 0 {
		t.Errorf("the shadow block shows no replay that matched:\n%s", output)
	}
	if strings.Contains(output, `outcome="mismatch"`) {
		t.Errorf("a copy of the catalog answered differently:\n%s", output)
	}
}

// TestREADME_Tracing runs README's tracing block as written against a real
// OTLP/HTTP receiver on loopback in place of 127.0.0.1:4318 (only addresses
// and paths changed): the block must pass, and the receiver must hold the
// search's server span from service bellhop.
func TestREADME_Tracing(t *testing.T) {
	t.Parallel()
	block := blockNamed(t, taggedBlocks(t, readmePath, "```sh tracing"), "```sh tracing", "")
	recv := otlptest.NewReceiver(t)
	dataDir := seededDataDir(t)
	runREADMEBlocks(t, readmeScript{
		blocks: []readmeBlock{block},
		replace: strings.NewReplacer(
			"bin/bellhop", binary,
			"./data", dataDir,
			"127.0.0.1:8080", freeLoopbackAddr(t),
			"http://127.0.0.1:4318", recv.URL,
		),
		timeout: time.Minute,
		logs:    func() string { return tailOfFiles(filepath.Join(dataDir, "tracing.log")) },
	})
	var names []string
	for _, s := range recv.Spans() {
		if s.Service == "bellhop" && s.Kind == "server" && s.Name == "GET /api/v1/hotels" {
			return
		}
		names = append(names, s.Service+" "+s.Kind+" "+s.Name)
	}
	t.Fatalf("no server span GET /api/v1/hotels from service bellhop; the receiver has %d: %q", len(names), names)
}
