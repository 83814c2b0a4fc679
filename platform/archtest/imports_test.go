// Package archtest checks the architecture on the whole repository: the
// import rules of README's module map (a module cannot quietly reach past
// another's contract) and data ownership (each table used only by its
// module, no module opening another's database, platform/ naming no module).
package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
	Deps         []string
}

// repoRoot is the directory of the repository's go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

func loadPackages(t *testing.T) (string, map[string]*pkg) {
	t.Helper()
	dir := repoRoot(t)
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	mod, err := exec.Command("go", "list", "-m").Output()
	if err != nil {
		t.Fatal(err)
	}
	pkgs := map[string]*pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[p.ImportPath] = &p
	}
	return strings.TrimSpace(string(mod)), pkgs
}

func isStd(path string) bool { return !strings.Contains(strings.SplitN(path, "/", 2)[0], ".") }

// moduleParts splits ".../modules/search/searchhttp" into ("search", "searchhttp").
func moduleParts(root, path string) (module, sub string, ok bool) {
	rest, found := strings.CutPrefix(path, root+"/modules/")
	if !found {
		return "", "", false
	}
	module, sub, _ = strings.Cut(rest, "/")
	return module, sub, true
}

func TestImportRules(t *testing.T) {
	root, pkgs := loadPackages(t)
	if len(pkgs) < 5 {
		t.Fatalf("only %d packages listed: the check would pass vacuously", len(pkgs))
	}
	for _, v := range violations(root, pkgs) {
		t.Error(v)
	}
}

// The checker itself catches each kind of violation.
func TestViolations(t *testing.T) {
	const r = "example.com/b"
	pkgs := map[string]*pkg{
		r + "/platform/apperr":                {ImportPath: r + "/platform/apperr", Deps: []string{"errors"}},
		r + "/platform/httpserver":            {ImportPath: r + "/platform/httpserver", Imports: []string{r + "/modules/search"}, Deps: []string{"github.com/labstack/echo/v4"}},
		r + "/modules/search":                 {ImportPath: r + "/modules/search", Imports: []string{r + "/platform/apperr", r + "/platform/httpserver", r + "/modules/bookings"}},
		r + "/modules/bookings":               {ImportPath: r + "/modules/bookings"},
		r + "/modules/bookings/bookingslocal": {ImportPath: r + "/modules/bookings/bookingslocal", Imports: []string{r + "/modules/search/searchlocal"}, XTestImports: []string{r + "/modules/search/searchtest", r + "/modules/search/searchhttp"}},
		r + "/cmd/bellhop":                    {ImportPath: r + "/cmd/bellhop", Imports: []string{r + "/modules/search/searchlocal"}},
		r + "/modules/bookings/bookingstest":  {ImportPath: r + "/modules/bookings/bookingstest", Imports: []string{r + "/modules/search/searchtest"}},
	}
	got := violations(r, pkgs)
	want := []string{
		"platform/httpserver: platform must not import",
		"modules/search: a contract package must not import another module",
		"modules/search: a contract package may import only the standard library",
		"modules/bookings/bookingslocal: only cmd/bellhop may import another module's " + r + "/modules/search/searchlocal",
		"modules/bookings/bookingslocal: only cmd/bellhop may import another module's " + r + "/modules/search/searchhttp",
	}
	if len(got) != len(want) {
		t.Fatalf("violations = %q", got)
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.Contains(g, w) }) {
			t.Errorf("missing violation %q in %q", w, got)
		}
	}
}

func violations(root string, pkgs map[string]*pkg) []string {
	// Platform packages a contract may use: those whose own dependencies are
	// all in the standard library.
	stdOnly := map[string]bool{}
	for path, p := range pkgs {
		if strings.HasPrefix(path, root+"/platform/") && !slices.ContainsFunc(p.Deps, func(d string) bool { return !isStd(d) }) {
			stdOnly[path] = true
		}
	}
	var violations []string
	bad := func(format string, args ...any) {
		violations = append(violations, fmt.Sprintf(format, args...))
	}
	for path, p := range pkgs {
		inPlatform := strings.HasPrefix(path, root+"/platform/")
		inCmd := strings.HasPrefix(path, root+"/cmd/")
		mod, sub, inModules := moduleParts(root, path)
		check := func(imports []string, test bool) {
			for _, imp := range imports {
				if isStd(imp) || !strings.HasPrefix(imp, root+"/") {
					continue
				}
				impMod, impSub, impIsModule := moduleParts(root, imp)
				switch {
				case inPlatform && (impIsModule || strings.HasPrefix(imp, root+"/web")):
					bad("%s: platform must not import %s", path, imp)
				case inModules && sub == "" && impIsModule && impMod != mod:
					bad("%s: a contract package must not import another module (%s)", path, imp)
				case inModules && sub == "" && !impIsModule && !stdOnly[imp]:
					bad("%s: a contract package may import only the standard library and stdlib-only platform packages, not %s", path, imp)
				// A test, or a module's test kit (a suite whose Target carries
				// a neighbour's fake), may use another module's test kit.
				case impIsModule && impSub != "" && !inCmd && impMod != mod &&
					!((test || strings.HasSuffix(sub, "test")) && strings.HasSuffix(impSub, "test")):
					bad("%s: only cmd/bellhop may import another module's %s (use its contract package)", path, imp)
				case impIsModule && impSub != "" && !inCmd && !inModules && !(test && strings.HasSuffix(impSub, "test")):
					bad("%s: only cmd/bellhop may import %s", path, imp)
				}
			}
		}
		check(p.Imports, false)
		check(p.TestImports, true)
		check(p.XTestImports, true)
	}
	slices.Sort(violations)
	return violations
}
