package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/web"
)

// Search is shadowed: the gateway serves it in-process and replays a
// sample (here all) of its reads against a copy in its own process. The
// gateway's operator endpoint shows the match rate; a copy that answers
// differently is a logged mismatch (ids and field names only); a copy that
// is gone does not touch the gateway's answers. The copy's own operator
// endpoint reports that process.
func TestShadow_SearchAgainstACopy(t *testing.T) {
	natsURL := startNATS(t)
	gwDir, adminPassword := seedWithUsers(t)
	copyDir := t.TempDir()
	// The copy starts from the same catalog (same ids), as a copy on the
	// same PostgreSQL database would.
	b, err := os.ReadFile(filepath.Join(gwDir, "search.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(copyDir, "search.db"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	copyAddr := freeLoopbackAddr(t)
	gw := start(t, []string{"BELLHOP_EVENTS_NATS_URL=" + natsURL, "BELLHOP_MODULES_SEARCH_SHADOW=http://" + copyAddr, "BELLHOP_MODULES_SEARCH_SHADOW_RATIO=1"},
		"--data-dir", gwDir)
	// The copy has a NATS server of its own, as README's shadow block
	// gives it: on the gateway's, it would take turns with the gateway's
	// search at their one durable subscription, each missing events.
	cp := start(t, []string{"BELLHOP_EVENTS_NATS_URL=" + startNATS(t)}, "--only", "search", "--data-dir", copyDir, "--addr", copyAddr, "--remote", "auth="+gw.URL)
	admin := signIn(t, gw.URL, "admin@bellhop.demo", adminPassword).AccessToken

	status := func(base string) web.ProcessStatus {
		t.Helper()
		var p web.ProcessStatus
		if res := call(t, "GET", base+"/api/v1/admin/system/process", admin, nil, &p); res.StatusCode != 200 {
			t.Fatalf("%s status: %d", base, res.StatusCode)
		}
		return p
	}
	shadowOf := func(p web.ProcessStatus) web.ShadowStatus {
		t.Helper()
		if len(p.Shadows) != 1 || p.Shadows[0].Module != search.Module || p.Shadows[0].Remote != "http://"+copyAddr {
			t.Fatalf("shadows: %+v", p.Shadows)
		}
		return p.Shadows[0]
	}
	waitCompared := func(n uint64) web.ShadowStatus {
		t.Helper()
		var sh web.ShadowStatus
		pollUntil(t, fmt.Sprintf("%d compared replays", n), 10*time.Second, func() (bool, string) {
			sh = shadowOf(status(gw.URL))
			return sh.Compared >= n, fmt.Sprintf("%+v", sh)
		})
		return sh
	}

	// Guests' reads: each is answered in-process and replayed to the copy.
	in, out := stay()
	var page search.SearchResult
	call(t, "GET", gw.URL+"/api/v1/hotels?"+query("city", "porto", "check_in", in, "check_out", out, "guests", "2", "limit", "5"), "", nil, &page)
	if len(page.Hotels) != 5 {
		t.Fatalf("search: %+v", page)
	}
	for _, h := range page.Hotels {
		if res := call(t, "GET", gw.URL+"/api/v1/hotels/"+h.ID, "", nil, nil); res.StatusCode != 200 {
			t.Fatalf("hotel %s: %d", h.ID, res.StatusCode)
		}
	}
	call(t, "GET", gw.URL+"/api/v1/cities?prefix=li", "", nil, nil)
	sh := waitCompared(7)
	if sh.Mismatches != 0 || sh.Matches != sh.Compared || sh.MatchRate != 1 || sh.Ratio != 1 {
		t.Fatalf("an identical copy must match every replay: %+v", sh)
	}

	// The copy drifts (a rename only it has): the next read of that hotel
	// is a mismatch, logged by ids and field names, never the values.
	target := page.Hotels[0]
	const secretName = "Copy Only Renamed Hotel"
	if res := call(t, "PATCH", cp.URL+"/api/v1/hotels/"+target.ID, admin, strings.NewReader(`{"name":"`+secretName+`"}`), nil); res.StatusCode != 200 {
		t.Fatalf("rename on the copy: %d", res.StatusCode)
	}
	var h search.Hotel
	call(t, "GET", gw.URL+"/api/v1/hotels/"+target.ID, "", nil, &h)
	if h.Name != target.Name {
		t.Fatalf("the gateway must answer from its own module: %q", h.Name)
	}
	sh = waitCompared(sh.Compared + 1)
	if sh.Mismatches != 1 || sh.MatchRate >= 1 {
		t.Fatalf("mismatch not counted: %+v", sh)
	}
	pollUntil(t, "the mismatch in the gateway's log", 5*time.Second, func() (bool, string) {
		return strings.Contains(gw.logs.String(), "shadow mismatch"), ""
	})
	var line string
	for _, l := range strings.Split(gw.logs.String(), "\n") {
		if strings.Contains(l, "shadow mismatch") {
			line = l
		}
	}
	for _, want := range []string{`"module":"search"`, `"method":"GetHotel"`, `"differs":"name`, `"request_id":"`} {
		if !strings.Contains(line, want) {
			t.Errorf("mismatch log lacks %s: %s", want, line)
		}
	}
	if strings.Contains(line, secretName) || strings.Contains(line, target.Name) {
		t.Errorf("mismatch log carries a value: %s", line)
	}

	// The copy's own operator endpoint: it hosts search alone.
	if p := status(cp.URL); !slices.Equal(p.Hosted, []string{search.Module}) || !p.Ready || p.Calls["auth"] != gw.URL {
		t.Fatalf("copy status: hosted %v ready %v calls %v", p.Hosted, p.Ready, p.Calls)
	}
	// Operators only.
	if res := call(t, "GET", gw.URL+"/api/v1/admin/system/process", "", nil, nil); res.StatusCode != 401 {
		t.Fatalf("anonymous status: %d", res.StatusCode)
	}

	// The copy goes away: guests notice nothing.
	cp.stop(t)
	var slowest time.Duration
	for range 20 {
		began := time.Now()
		if res := call(t, "GET", gw.URL+"/api/v1/hotels/"+target.ID, "", nil, nil); res.StatusCode != 200 {
			t.Fatalf("with the copy down: %d", res.StatusCode)
		}
		slowest = max(slowest, time.Since(began))
	}
	if slowest > 500*time.Millisecond {
		t.Fatalf("a read took %s with the copy down", slowest)
	}
	pollUntil(t, "replays to the stopped copy counted as failed", 10*time.Second, func() (bool, string) {
		sh := shadowOf(status(gw.URL))
		return sh.Failed > 0, fmt.Sprintf("%+v", sh)
	})
}
