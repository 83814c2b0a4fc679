package main_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// readmeBlockRunners are the tags of shell blocks some test runs: a block's
// fence is "```sh TAG" (or "```sh TAG NAME" where the tag takes a name).
var readmeBlockRunners = []struct {
	tag       string
	named     bool // the tag takes a name: "exercise search"
	inModules bool // also run from modules/*/README.md (and platform/*/README.md)
	test      string
}{
	{"walkthrough", false, true, "TestREADME_Walkthrough and TestREADME_WalkthroughSplit run them in order, in one shell, against make run's server (README.md's first, then the module READMEs')"},
	{"exercise", true, false, "TestREADME_ExtractionExercises runs them in order, in one shell, against the binaries and a seeded data dir"},
	{"edge", true, false, "TestEdge_NginxInFrontOfTheSplitDeployment runs nginx in front of the split deployment as they say"},
	{"load server", false, false, "TestREADME_Load starts the server with its variables (it must be `VAR=value ... make run`)"},
	{"load", false, false, "TestREADME_Load runs it against that server"},
	{"shadow", false, false, "TestREADME_ShadowTraffic runs it, nothing else running"},
	{"tracing", false, false, "TestREADME_Tracing runs it against an OTLP receiver"},
}

// readmeBlocksRunByHand are the shell blocks no test can run as written,
// each with why; a block matches by its text (spaces collapsed).
var readmeBlocksRunByHand = []struct{ file, text, why string }{
	{"README.md", "make run # build, seed the demo catalog (first time only), serve on http://127.0.0.1:8080 make test # every test: unit, contract suites in-process and over HTTP, end-to-end, split mode",
		"make test cannot run itself; what make run does, the walkthrough tests do (seed, then serve the binary)"},
	{"README.md", "make split",
		"bellhop split runs in the foreground until Ctrl-C: TestSplit_OneCommand runs it on free ports and TestREADME_WalkthroughSplit runs the walkthrough against it"},
}

// shellFence is the info string's first word of the fences a shell block
// opens with.
var shellFence = []string{"sh", "bash", "shell", "console", "zsh"}

// untestedShellBlock is a shell block of a README that no test runs.
type untestedShellBlock struct {
	file string
	line int
	info string // the fence's info string: "sh", "sh walkthru"
	why  string
}

func (u untestedShellBlock) String() string {
	return fmt.Sprintf("%s:%d: ```%s: %s", u.file, u.line, u.info, u.why)
}

// untestedShellBlocks reads one README (file, from the repository's root,
// decides which tags apply) and returns its shell blocks that no test runs
// and that are not in readmeBlocksRunByHand.
func untestedShellBlocks(file, readme string) []untestedShellBlock {
	var (
		found  []untestedShellBlock
		open   bool
		info   string
		start  int
		text   strings.Builder
		n      int
		module = file != "README.md"
	)
	sc := bufio.NewScanner(strings.NewReader(readme))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		switch {
		case !open && strings.HasPrefix(line, "```"):
			open, info, start = true, strings.TrimSpace(strings.TrimPrefix(line, "```")), n
			text.Reset()
		case open && line == "```":
			open = false
			if why := whyUntested(file, module, info, text.String()); why != "" {
				found = append(found, untestedShellBlock{file: file, line: start, info: info, why: why})
			}
		case open:
			text.WriteString(sc.Text() + "\n")
		}
	}
	if open {
		found = append(found, untestedShellBlock{file: file, line: start, info: info, why: "never closed"})
	}
	return found
}

// whyUntested says why no test runs a block, or "" when one does (or it is
// no shell block, or one run by hand for a reason).
func whyUntested(file string, module bool, info, text string) string {
	words := strings.Fields(info)
	if len(words) == 0 || !slices.Contains(shellFence, words[0]) {
		return ""
	}
	tag := strings.Join(words[1:], " ")
	for _, r := range readmeBlockRunners {
		if tag != r.tag && !(r.named && strings.HasPrefix(tag, r.tag+" ")) {
			continue
		}
		switch {
		case module && !r.inModules:
			return fmt.Sprintf("blocks marked %q run only from README.md (%s)", r.tag, r.test)
		case words[0] != "sh":
			return fmt.Sprintf("the tests run ```sh blocks, not ```%s ones: open it with ```sh %s", words[0], tag)
		case r.named && tag == r.tag:
			return fmt.Sprintf("blocks marked %q need a name: ```sh %s NAME", r.tag, r.tag)
		}
		return ""
	}
	flat := strings.Join(strings.Fields(text), " ")
	for _, h := range readmeBlocksRunByHand {
		if h.file == file && h.text == flat && tag == "" {
			return ""
		}
	}
	var tags []string
	for _, r := range readmeBlockRunners {
		if module && !r.inModules {
			continue
		}
		if r.named {
			tags = append(tags, r.tag+" NAME")
		} else {
			tags = append(tags, r.tag)
		}
	}
	what := "no test runs this shell block"
	if tag != "" {
		what = fmt.Sprintf("no test runs blocks marked %q", tag)
	}
	return fmt.Sprintf("%s. Mark it ```sh TAG with the tag of the test that will run it as written (%s: readmeBlockRunners in "+
		"cmd/bellhop/readme_guard_test.go says which test runs each) — or, only where no test can run it, add its text "+
		"and the reason to readmeBlocksRunByHand there", what, strings.Join(tags, ", "))
}

// readmeFiles are the READMEs whose shell blocks must be run by a test:
// README.md and those of modules/ and platform/, from the repository's root.
func readmeFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md"}
	for _, pattern := range []string{"modules/*/README.md", "platform/*/README.md"} {
		m, err := filepath.Glob(filepath.Join("..", "..", pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			files = append(files, repoRelative(f))
		}
	}
	sort.Strings(files[1:])
	return files
}

// TestREADME_EveryShellBlockIsRun: every shell block of README.md and of the
// module and platform READMEs is marked with what runs it (or is one of the
// few run by hand, each with its reason), so a new example cannot go
// untested and drift.
func TestREADME_EveryShellBlockIsRun(t *testing.T) {
	t.Parallel()
	for _, f := range readmeFiles(t) {
		b, err := os.ReadFile(filepath.Join("..", "..", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range untestedShellBlocks(f, string(b)) {
			t.Error(u)
		}
	}
	// Each block run by hand is still there: a stale entry would let a
	// block of the same text through unnoticed.
	for _, h := range readmeBlocksRunByHand {
		b, err := os.ReadFile(filepath.Join("..", "..", h.file))
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, part := range strings.Split(string(b), "```sh\n")[1:] {
			if body, _, ok := strings.Cut(part, "\n```"); ok && strings.Join(strings.Fields(body), " ") == h.text {
				found = true
			}
		}
		if !found {
			t.Errorf("readmeBlocksRunByHand lists a block %s no longer has: %q (remove the entry)", h.file, h.text)
		}
	}
}

// The guard fails where it should: untagged and unknown tags, tags run only
// from README.md used in a module README, a bash fence, a nameless exercise.
func TestREADME_EveryShellBlockIsRun_Fails(t *testing.T) {
	t.Parallel()
	const readme = "# Title\n\n```sh walkthrough\ncurl -fsS http://127.0.0.1:8080/healthz\n```\n\n" +
		"```sh\nmake split\n```\n\n" + // run by hand, with a reason
		"```text\nnot a shell block\n```\n\n" +
		"```sh exercise search\nbook\n```\n\n" +
		"```sh\ncurl http://127.0.0.1:8080/new-example\n```\n\n" + // line 19: untagged
		"```sh walkthru\necho typo\n```\n\n" + // line 23: unknown tag
		"```bash walkthrough\necho bash\n```\n\n" + // line 27: not sh
		"```sh exercise\necho nameless\n```\n" // line 31: a nameless exercise
	got := untestedShellBlocks("README.md", readme)
	wantLines := []int{19, 23, 27, 31}
	if len(got) != len(wantLines) {
		t.Fatalf("untested blocks: %v, want those at lines %v", got, wantLines)
	}
	for i, u := range got {
		if u.line != wantLines[i] {
			t.Errorf("untested block %d at line %d, want %d: %v", i, u.line, wantLines[i], u)
		}
	}
	if !strings.Contains(got[0].why, "walkthrough, exercise NAME") || !strings.Contains(got[0].why, "readmeBlocksRunByHand") {
		t.Errorf("the message must tell the author what to do: %s", got[0])
	}

	// In a module README only the walkthrough runs, and nothing is run by
	// hand.
	module := "```sh walkthrough\necho ok\n```\n```sh shadow\necho no\n```\n```sh\nmake split\n```\n"
	got = untestedShellBlocks("modules/payments/README.md", module)
	if len(got) != 2 || got[0].line != 4 || got[1].line != 7 || !strings.Contains(got[0].why, "only from README.md") {
		t.Errorf("module README: %v", got)
	}

	if got := untestedShellBlocks("README.md", "```sh walkthrough\necho open\n"); len(got) != 1 || got[0].why != "never closed" {
		t.Errorf("an unclosed block: %v", got)
	}
}
