package browsertest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// pageWeight is what the browser fetched for one page, from the Performance
// API's navigation and resource timings.
type pageWeight struct {
	Transferred int64 `json:"transferred"` // bytes on the wire, headers included
	Resources   []struct {
		Name        string  `json:"name"`
		Transferred int64   `json:"transferred"`
		Encoded     int64   `json:"encoded"`
		Decoded     int64   `json:"decoded"`
		Duration    float64 `json:"duration"`
	} `json:"resources"`
	FCP float64 `json:"fcp"` // first contentful paint, ms after navigation start
}

// weighJS reads the page's weight once it has loaded and painted.
const weighJS = `new Promise(done => {
	const read = () => {
		const nav = performance.getEntriesByType("navigation")[0];
		const res = performance.getEntriesByType("resource");
		const fcp = performance.getEntriesByName("first-contentful-paint")[0];
		if (!nav || nav.loadEventEnd === 0 || !fcp) { setTimeout(read, 50); return; }
		done({
			transferred: nav.transferSize + res.reduce((n, r) => n + r.transferSize, 0),
			resources: [{name: nav.name, transferred: nav.transferSize, encoded: nav.encodedBodySize, decoded: nav.decodedBodySize, duration: nav.duration}]
				.concat(res.map(r => ({name: r.name, transferred: r.transferSize, encoded: r.encodedBodySize, decoded: r.decodedBodySize, duration: r.duration}))),
			fcp: fcp.startTime,
		});
	};
	read();
})`

func (tb *tab) weigh() pageWeight {
	tb.t.Helper()
	raw, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]byte](weighJS, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("%s: page weight: %v (at %s)", tb.name, err, tb.where())
	}
	var w pageWeight
	if err := json.Unmarshal(raw, &w); err != nil {
		tb.t.Fatal(err)
	}
	return w
}

const maxFirstLoad = 150 << 10

var hashedAsset = regexp.MustCompile(`/static/[a-z0-9.-]+\.[0-9a-f]{10}\.(css|js)$`)

// No page is over 150 KB transferred on its first load (an empty cache);
// its assets carry a hash of their content, come compressed, and a second
// visit fetches none of them again. The search page's first contentful
// paint is recorded (testdata/out/perf.json and the test log).
func TestPageWeightAndPaint(t *testing.T) {
	checkIn, checkOut := stayDates(40)
	stay := "check_in=" + checkIn + "&check_out=" + checkOut + "&guests=2"
	visitor := newTab(t, "visitor", false)
	visitor.visit("/search?city=Lisbon&" + stay)
	visitor.waitFor("#results ol.cards li.card h3 a")
	hotel := visitor.attr("#results ol.cards li.card h3 a", "href")

	type page struct{ name, path string }
	anonymous := []page{{"home", "/"}, {"search", "/search?city=Lisbon&" + stay}, {"hotel", hotel}, {"signin", "/signin"}, {"register", "/register"}}
	staffPages := []page{{"bookings", "/bookings"}, {"account", "/account"}, {"staff", "/staff"}, {"reports", "/staff/reports"},
		{"users", "/admin/users"}, {"clients", "/admin/clients"}, {"keys", "/admin/keys"}, {"mailbox", "/admin/mail"}, {"system", "/system"}}

	figures := map[string]any{}
	check := func(tb *tab, p page) pageWeight {
		t.Helper()
		tb.visit(p.path)
		w := tb.weigh()
		if w.Transferred > maxFirstLoad {
			t.Errorf("%s (%s): %d bytes transferred on first load, over %d", p.name, p.path, w.Transferred, maxFirstLoad)
		}
		figures[p.name+"_first_load_bytes"] = w.Transferred
		return w
	}
	for _, p := range anonymous {
		tb := newTab(t, "first visit to "+p.name, false) // a fresh browser context: an empty cache
		w := check(tb, p)
		assets := 0
		for _, r := range w.Resources[1:] {
			if !strings.Contains(r.Name, "/static/") {
				continue
			}
			assets++
			if !hashedAsset.MatchString(r.Name) {
				t.Errorf("%s: asset %s has no content hash in its name", p.name, r.Name)
			}
			if r.Decoded > 2048 && r.Encoded >= r.Decoded {
				t.Errorf("%s: asset %s came uncompressed (%d bytes for %d)", p.name, r.Name, r.Encoded, r.Decoded)
			}
		}
		if assets < 2 {
			t.Errorf("%s: %d assets seen, want the stylesheet and scripts", p.name, assets)
		}
		if p.name == "search" {
			figures["search_fcp_ms"] = w.FCP
			// Visited again: the assets come from the cache (0 bytes), only the page is fetched.
			tb.visit("/signin")
			tb.visit(p.path)
			again := tb.weigh()
			for _, r := range again.Resources[1:] {
				if strings.Contains(r.Name, "/static/") && r.Transferred > 0 {
					t.Errorf("search, second visit: %s fetched again (%d bytes)", r.Name, r.Transferred)
				}
			}
			figures["search_second_visit_bytes"] = again.Transferred
		}
	}
	admin := newTab(t, "admin, first visits", false)
	signIn(admin, "admin@bellhop.demo", adminPassword)
	for _, p := range staffPages {
		check(admin, p) // the assets are cached by now: the page itself
	}

	// The assets' headers: cached for a year under their hashed name, gzip when asked.
	for _, u := range findAssets(t) {
		req, _ := http.NewRequest(http.MethodGet, baseURL+u, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
			t.Errorf("%s: Cache-Control %q", u, cc)
		}
		if res.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("%s: not gzip-compressed", u)
		}
	}

	// First contentful paint of the search page, on loopback, in a fresh
	// context each time: the median of five.
	var fcps []float64
	for i := range 5 {
		tb := newTab(t, fmt.Sprintf("paint %d", i), false)
		tb.visit("/search?city=Lisbon&" + stay)
		fcps = append(fcps, tb.weigh().FCP)
	}
	median := medianOf(fcps)
	figures["search_fcp_ms_runs"] = fcps
	figures["search_fcp_ms_median"] = median
	t.Logf("search page first contentful paint: median %.0f ms of %v", median, fcps)
	// Recorded, not asserted: the product's target is 300 ms, met on a quiet
	// run here (median 244 ms), but with the other test packages on the same
	// two cores medians of 384 ms and 1.9 s were seen: no bound would be
	// both meaningful and stable.
	figures["measured_at"] = time.Now().UTC().Format(time.RFC3339)
	out, _ := json.MarshalIndent(figures, "", "  ")
	if err := os.WriteFile(filepath.Join(outDir, "perf.json"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("page figures: %s", out)
}

// findAssets lists the hashed asset URLs the home page links.
func findAssets(t *testing.T) []string {
	t.Helper()
	res, err := http.Get(baseURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	urls := regexp.MustCompile(`/static/[a-z0-9.-]+\.[0-9a-f]{10}\.(?:css|js)`).FindAllString(string(body), -1)
	if len(urls) < 2 {
		t.Fatalf("the home page links %v, want the stylesheet and scripts", urls)
	}
	return urls
}

func medianOf(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
