package main_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// extractionModules are the modules README's extraction exercises take out
// of the monolith, each with the edges (caller → callee) the exercise must
// show turning remote.
var extractionModules = []struct {
	name  string
	edges []string
}{
	{"search", []string{"api → search (remote)", "bookings → search (remote)"}},
	{"bookings", []string{"api → bookings (remote)", "payments → bookings (remote)"}},
	{"payments", []string{"api → payments (remote)"}},
	{"reporting", []string{"api → reporting (remote)"}},
	{"auth", []string{"api → auth (remote)"}},
}

// TestREADME_ExtractionExercises runs README's "```sh exercise NAME" blocks
// in order in one bash session, as a reader would after `make run`: a seeded
// data dir and bin/bellhop built; the first block builds the nats-server
// the others run (to a temp path, not the repository's bin/); only the
// addresses changed (free loopback ports) and the paths of the binaries and
// data dir. Each block checks its
// own steps (curl -f, the contract suite, bellhop load --check-only exit
// non-zero); this test also checks that each exercise shows its module's
// edges turn remote and, once merged back, in-process again.
func TestREADME_ExtractionExercises(t *testing.T) {
	needTool(t, "bash", "bash")
	needTool(t, "curl", "curl")
	needTool(t, "jq", "jq")
	blocks := taggedBlocks(t, filepath.Join("..", "..", "README.md"), "```sh exercise")
	byName := map[string]readmeBlock{}
	for _, b := range blocks {
		byName[b.name] = b
	}
	want := []string{"build", "setup"}
	for _, m := range extractionModules {
		want = append(want, m.name)
	}
	want = append(want, "teardown")
	for _, name := range want {
		if _, ok := byName[name]; !ok {
			t.Fatalf("README.md has no ```sh exercise %s block (it has %d exercise blocks)", name, len(blocks))
		}
	}
	// The exercises run the nats-server the build block makes: it comes first.
	if blocks[0].name != "build" {
		t.Fatalf("README.md's first ```sh exercise block is %q (line %d), want build", blocks[0].name, blocks[0].line)
	}

	dataDir, adminPassword := seededDataDirWithAdmin(t)
	natsAddr := freeLoopbackAddr(t)
	_, natsPort, _ := net.SplitHostPort(natsAddr)
	// bin/nats-server is where the build block puts it (never the
	// repository's own bin/) and where the exercises find it.
	builtNATSServer := filepath.Join(t.TempDir(), "nats-server")
	replacements := []string{
		"bin/bellhop", binary,
		"bin/nats-server", builtNATSServer,
		"./data", dataDir,
		"127.0.0.1:4222", natsAddr,
		"-p 4222", "-p " + natsPort,
		"127.0.0.1:8080", freeLoopbackAddr(t),
	}
	for port := 8101; port <= 8105; port++ {
		replacements = append(replacements, fmt.Sprintf("127.0.0.1:%d", port), freeLoopbackAddr(t))
	}

	logs := func() string {
		var paths []string
		for _, name := range []string{"monolith", "auth", "search", "bookings", "payments", "reporting", "nats-server"} {
			paths = append(paths, filepath.Join(dataDir, name+".log"))
		}
		return tailOfFiles(paths...)
	}
	output := runREADMEBlocks(t, readmeScript{
		blocks:  blocks,
		replace: strings.NewReplacer(replacements...),
		env:     []string{"ADMIN_PASSWORD=" + adminPassword},
		dir:     filepath.Join("..", ".."), // the repository: the blocks run go build and go test ./modules/...
		timeout: 8 * time.Minute,
		logs:    logs,
	})
	if fi, err := os.Stat(builtNATSServer); err != nil || fi.Mode()&0o111 == 0 {
		t.Errorf("the build block made no executable nats-server for the exercises: %v", err)
	}

	// What each exercise shows: its module's edges remote while it runs
	// alone, and in-process again once merged back.
	for _, m := range extractionModules {
		section := output[strings.Index(output, "["+m.name+"] ("):]
		section = section[:strings.Index(section[1:], "@@ ")+1]
		merged := strings.LastIndex(section, "booked, paid, confirmed")
		for _, edge := range m.edges {
			if !strings.Contains(section[:merged], edge) {
				t.Errorf("exercise %s does not show %q while %s runs alone:\n%s", m.name, edge, m.name, section)
			}
			local := strings.Replace(edge, "(remote)", "(local)", 1)
			if !strings.Contains(section[merged:], local) || strings.Contains(section[merged:], edge) {
				t.Errorf("exercise %s does not show %q once merged back:\n%s", m.name, local, section[merged:])
			}
		}
		if !strings.Contains(section, "all invariants hold") {
			t.Errorf("exercise %s: bellhop load --check-only does not say the invariants hold:\n%s", m.name, section)
		}
	}
}
