// Package contractcov checks that a contract suite exercised its whole
// contract: every method of the Service answered successfully at least once.
// A method a Client leaves unimplemented (a stub that errors, a route it
// never calls) then fails the suite even where no subtest was written for it.
package contractcov

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bellhop/bellhop/platform/observability"
)

// Coverage records the calls of one suite through a module's per-edge
// instrumentation (the decorator cmd/bellhop wraps every Service in).
type Coverage struct {
	reg    *prometheus.Registry
	edges  *observability.EdgeMetrics
	callee string
}

// New records calls to the module named callee.
func New(callee string) *Coverage {
	reg := prometheus.NewRegistry()
	return &Coverage{reg: reg, edges: observability.NewEdgeMetrics(reg), callee: callee}
}

// Edge is the edge to instrument the Service under test along.
func (c *Coverage) Edge() observability.Edge {
	return observability.Edge{Metrics: c.edges, Caller: "contract", Callee: c.callee, Location: "suite"}
}

// Succeeded are the methods called so far that answered without an error
// at least once, sorted.
func (c *Coverage) Succeeded(t testing.TB) []string {
	t.Helper()
	families, err := c.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range families {
		if f.GetName() != "bellhop_edge_calls_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["code"] == "ok" && m.GetCounter().GetValue() > 0 && !slices.Contains(out, labels["method"]) {
				out = append(out, labels["method"])
			}
		}
	}
	slices.Sort(out)
	return out
}

// Missing are the methods of the interface service (e.g.
// reflect.TypeFor[search.Service]()) that never answered successfully.
func (c *Coverage) Missing(t testing.TB, service reflect.Type) []string {
	t.Helper()
	ok := c.Succeeded(t)
	var out []string
	for i := range service.NumMethod() {
		if name := service.Method(i).Name; !slices.Contains(ok, name) {
			out = append(out, name)
		}
	}
	return out
}

// Check fails t for every method of service that never answered
// successfully during the suite.
func (c *Coverage) Check(t testing.TB, service reflect.Type) {
	t.Helper()
	for _, m := range c.Missing(t, service) {
		t.Errorf("%s.%s never answered successfully in the contract suite: unimplemented, or not exercised", c.callee, m)
	}
}

// CheckIfWhole is Check, unless -test.run selects some subtests only (a
// pattern with a "/"), where the suite is not whole and nothing is checked.
func (c *Coverage) CheckIfWhole(t testing.TB, service reflect.Type) {
	t.Helper()
	if f := flag.Lookup("test.run"); f != nil && strings.Contains(f.Value.String(), "/") {
		return
	}
	c.Check(t, service)
}

// RunFailing runs the test named name again in a child process of the test
// binary, with the environment variable env set to "1" (the test, seeing it,
// runs the suite against a broken target), and returns the child's output.
// It fails t if the child passed: for tests that show a suite catches a
// broken implementation.
func RunFailing(t *testing.T, name, env string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env+"=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("%s against a broken target: %v (want it to fail)\n%s", name, err, out)
	}
	return string(out)
}
