package main_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// readmeBlock is one tagged fenced block of README.md (or of a module's).
type readmeBlock struct {
	file string // the README, from the repository's root ("modules/payments/README.md")
	line int    // README line of the opening fence
	name string // what follows the tag on the fence ("search" in "```sh exercise search")
	text string
}

// source names the README the block is in.
func (b readmeBlock) source() string {
	if b.file == "" {
		return "README.md"
	}
	return b.file
}

// walkthroughBlocks returns README's "```sh walkthrough" blocks in order,
// then the module READMEs' (modules/*/README.md, by module name): the
// walkthrough goes on into them, in the same shell.
func walkthroughBlocks(t *testing.T, readme string) []readmeBlock {
	t.Helper()
	blocks := taggedBlocks(t, readme, "```sh walkthrough")
	modules, err := filepath.Glob(filepath.Join(filepath.Dir(readme), "modules", "*", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(modules)
	for _, m := range modules {
		blocks = append(blocks, taggedBlocks(t, m, "```sh walkthrough")...)
	}
	return blocks
}

// taggedBlocks returns README's blocks whose opening fence is tag, or tag,
// a space and a name, in order.
func taggedBlocks(t *testing.T, readme, tag string) []readmeBlock {
	t.Helper()
	f, err := os.Open(readme)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		blocks []readmeBlock
		cur    *readmeBlock
		n      int
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := sc.Text()
		fence := strings.TrimSpace(line)
		switch {
		case cur == nil && (fence == tag || strings.HasPrefix(fence, tag+" ")):
			cur = &readmeBlock{file: repoRelative(readme), line: n, name: strings.TrimSpace(strings.TrimPrefix(fence, tag))}
		case cur != nil && fence == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("%s:%d: %s block never closed", cur.source(), cur.line, tag)
	}
	return blocks
}

// repoRelative is path (relative to this package's directory) from the
// repository's root, as a reader names the file.
func repoRelative(path string) string {
	return strings.TrimPrefix(filepath.ToSlash(filepath.Clean(path)), "../../")
}

// needTool finds a program the walkthrough uses, installing it with apt-get
// when it is missing and the test runs as root (as `make test-tools` does);
// otherwise the test skips, naming what to install.
func needTool(t *testing.T, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err == nil {
		return
	}
	if os.Geteuid() == 0 {
		install := fmt.Sprintf("apt-get install -y %[1]s || (apt-get update && apt-get install -y %[1]s)", pkg)
		if out, err := exec.Command("sh", "-c", install).CombinedOutput(); err != nil {
			t.Logf("apt-get install %s: %v\n%s", pkg, err, out)
		}
		if _, err := exec.LookPath(name); err == nil {
			return
		}
	}
	t.Skipf("README walkthrough needs %s, which is missing and could not be installed (as root: apt-get install -y %s)", name, pkg)
}

var seededAdmin = regexp.MustCompile(`(?m)^demo admin created: admin@bellhop\.demo / (\S+)`)

// TestREADME_Walkthrough runs README's walkthrough blocks in order, as a user
// would after `make run`: a freshly seeded data dir, the server's own rate
// limits on, one bash session (so variables carry from block to block) with
// only the base URL changed. Each block checks its own statuses (curl -f,
// explicit status tests), so a README that drifts from the API fails here.
func TestREADME_Walkthrough(t *testing.T) {
	needTool(t, "bash", "bash")
	needTool(t, "curl", "curl")
	needTool(t, "jq", "jq")

	blocks := walkthroughBlocks(t, filepath.Join("..", "..", "README.md"))
	if len(blocks) < 5 {
		t.Fatalf("README.md has %d blocks marked ```sh walkthrough; the guest path (search, sign-up, hold and pay, receipt, cancel) and staff need at least 5", len(blocks))
	}

	// Seed afresh (as make run does the first time) to learn the demo
	// admin's password, which only seed's output shows.
	dataDir := t.TempDir()
	out, err := exec.Command(binary, "seed", "--data-dir", dataDir).CombinedOutput()
	if err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	m := seededAdmin.FindSubmatch(out)
	if m == nil {
		t.Fatalf("seed printed no demo admin password:\n%s", out)
	}
	p := start(t, []string{"BELLHOP_SERVER_RATE_LIMIT_ENABLED=true"}, "--data-dir", dataDir)
	runWalkthrough(t, blocks, p.Addr, string(m[1]), p.logs.String)
}

// The same walkthrough against `bellhop split`'s gateway, every module in a
// process of its own: README says it works there as written.
func TestREADME_WalkthroughSplit(t *testing.T) {
	needTool(t, "bash", "bash")
	needTool(t, "curl", "curl")
	needTool(t, "jq", "jq")
	blocks := walkthroughBlocks(t, filepath.Join("..", "..", "README.md"))
	r := startSplit(t, "BELLHOP_SERVER_RATE_LIMIT_ENABLED=true")
	runWalkthrough(t, blocks, strings.TrimPrefix(r.Launch.GatewayURL, "http://"), r.AdminPassword, r.out.String)
}

// runWalkthrough runs blocks in one bash session against the server at addr
// (in place of 127.0.0.1:8080), the demo admin's password in ADMIN_PASSWORD,
// and fails naming the block that failed, with the server's log.
func runWalkthrough(t *testing.T, blocks []readmeBlock, addr, adminPassword string, serverLog func() string) {
	t.Helper()
	runREADMEBlocks(t, readmeScript{
		blocks:  blocks,
		replace: strings.NewReplacer("127.0.0.1:8080", addr),
		env:     []string{"ADMIN_PASSWORD=" + adminPassword},
		timeout: 3 * time.Minute, // in a temp dir: the walkthrough writes a few files (hotels.json, receipt.pdf) where it runs
		logs:    func() string { return "--- server log ---\n" + serverLog() },
	})
}
