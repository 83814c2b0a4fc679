package main_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// The dashboard's server time per page, on the demo data, through the real
// binary over loopback: a guest's search page, a hotel page and My bookings
// (with holds on it). The figures go to README's Performance section.

// dashboard is a seeded bellhop with a signed-in guest holding three rooms.
type dashboard struct {
	url    string
	client *http.Client
	cookie string // the session, for the load generator
	paths  map[string]string
}

var (
	csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	bookForm  = regexp.MustCompile(`(?s)<form method="post" action="/book">(.*?)</form>`)
	hiddenRE  = regexp.MustCompile(`name="([a-z_]+)" value="([^"]*)"`)
	hotelLink = regexp.MustCompile(`href="(/hotels/htl_[^"?]+\?[^"]+)"`)
)

func startDashboard(t testing.TB) *dashboard {
	t.Helper()
	p := start(t, nil, "--data-dir", seededDataDir(t))
	jar, _ := cookiejar.New(nil)
	d := &dashboard{url: p.URL, client: &http.Client{Jar: jar, Timeout: 10 * time.Second}, paths: map[string]string{}}
	in, out := stay()
	d.paths["search"] = "/search?city=Lisbon&check_in=" + in + "&check_out=" + out + "&guests=2"

	page := d.get(t, "/register")
	email := fmt.Sprintf("perf-%d@example.com", time.Now().UnixNano())
	d.post(t, "/register", url.Values{"csrf_token": {csrf(t, page)}, "name": {"Pat Perf"}, "email": {email}, "password": {"correct horse battery staple"}})
	search := d.get(t, d.paths["search"])
	m := hotelLink.FindStringSubmatch(search)
	if m == nil {
		t.Fatalf("no hotel on the search page")
	}
	d.paths["hotel"] = strings.ReplaceAll(m[1], "&amp;", "&")
	hotel := d.get(t, d.paths["hotel"])
	forms := bookForm.FindAllStringSubmatch(hotel, -1)
	if len(forms) == 0 {
		t.Fatalf("no room to book on %s", d.paths["hotel"])
	}
	for i := range 3 { // three holds for My bookings to list
		f := url.Values{}
		for _, kv := range hiddenRE.FindAllStringSubmatch(forms[i%len(forms)][1], -1) {
			f.Set(kv[1], kv[2])
		}
		f.Set("hold_key", f.Get("hold_key")+"-"+strconv.Itoa(i))
		d.post(t, "/book", f)
	}
	d.paths["my_bookings"] = "/bookings"
	if got := len(regexp.MustCompile(`href="/bookings/[^"/]+"`).FindAllString(d.get(t, "/bookings"), -1)); got < 3 {
		t.Fatalf("My bookings lists %d links to bookings, want the 3 holds", got)
	}
	u, _ := url.Parse(p.URL)
	var parts []string
	for _, c := range jar.Cookies(u) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	d.cookie = strings.Join(parts, "; ")
	return d
}

func csrf(t testing.TB, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF token on the page")
	}
	return m[1]
}

func (d *dashboard) get(t testing.TB, path string) string {
	t.Helper()
	res, err := d.client.Get(d.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d\n%s", path, res.StatusCode, b)
	}
	return string(b)
}

func (d *dashboard) post(t testing.TB, path string, form url.Values) string {
	t.Helper()
	if form.Get("csrf_token") == "" {
		form.Set("csrf_token", csrf(t, d.get(t, "/account")))
	}
	res, err := d.client.PostForm(d.url+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("POST %s: %d\n%s", path, res.StatusCode, b)
	}
	return string(b)
}

// percentile is the p-th percentile (0–100) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return sorted[i]
}

// Each page alone, one request after another: the time the server takes
// (plus a loopback round trip, ~0.1 ms), p50 and p99 of 300 requests.
// Then all three pages at 200 pages/s (open loop, arrivals not waiting for
// answers) for BELLHOP_WEB_LOAD_SECONDS (default 3): p99 of every page.
// Asserted: every page answers, at the rate asked; the latency bound is
// loose (make test runs other packages meanwhile on two cores). make bench
// runs it for 20 s and prints the figures for the README.
func TestDashboard_ServerTimePerPage(t *testing.T) {
	d := startDashboard(t)
	pages := []string{"search", "hotel", "my_bookings"}
	for _, name := range pages {
		path := d.paths[name]
		for range 20 { // warm: templates, connections, SQLite page cache
			d.get(t, path)
		}
		var lat []time.Duration
		for range 300 {
			began := time.Now()
			d.get(t, path)
			lat = append(lat, time.Since(began))
		}
		slices.Sort(lat)
		t.Logf("page %-12s sequential: p50 %6.2f ms  p99 %6.2f ms  (300 requests)", name, ms(percentile(lat, 50)), ms(percentile(lat, 99)))
		if p99 := percentile(lat, 99); p99 > 2*time.Second {
			t.Errorf("%s: p99 %s one request at a time", name, p99)
		}
	}

	seconds := 3
	if s, err := strconv.Atoi(os.Getenv("BELLHOP_WEB_LOAD_SECONDS")); err == nil && s > 0 {
		seconds = s
	}
	hdr := http.Header{"Cookie": {d.cookie}}
	var targets []vegeta.Target
	for _, name := range pages {
		targets = append(targets, vegeta.Target{Method: "GET", URL: d.url + d.paths[name], Header: hdr})
	}
	attacker := vegeta.NewAttacker(vegeta.Timeout(10*time.Second), vegeta.KeepAlive(true), vegeta.Workers(32), vegeta.MaxWorkers(1000))
	byPage := map[string][]time.Duration{}
	var all []time.Duration
	errs := 0
	for res := range attacker.Attack(vegeta.NewStaticTargeter(targets...), vegeta.Rate{Freq: 200, Per: time.Second}, time.Duration(seconds)*time.Second, "dashboard") {
		if res.Code != 200 || res.Error != "" {
			errs++
			continue
		}
		for _, name := range pages {
			if strings.HasSuffix(res.URL, d.paths[name]) {
				byPage[name] = append(byPage[name], res.Latency)
			}
		}
		all = append(all, res.Latency)
	}
	slices.Sort(all)
	for _, name := range pages {
		lat := byPage[name]
		slices.Sort(lat)
		t.Logf("page %-12s at 200 pages/s: p50 %6.2f ms  p99 %6.2f ms  (%d requests)", name, ms(percentile(lat, 50)), ms(percentile(lat, 99)), len(lat))
	}
	t.Logf("all pages    at 200 pages/s for %ds: p50 %.2f ms  p99 %.2f ms  max %.2f ms, %d requests, %d errors",
		seconds, ms(percentile(all, 50)), ms(percentile(all, 99)), ms(percentile(all, 100)), len(all), errs)
	if errs > 0 {
		t.Errorf("%d of %d pages failed at 200 pages/s", errs, len(all)+errs)
	}
	if want := 200 * seconds * 9 / 10; len(all) < want {
		t.Errorf("%d pages answered, want about %d", len(all), 200*seconds)
	}
	// No bound on the p99 here: on a shared two-core machine it measures the
	// other processes as much as the dashboard (README has figures from
	// quiet runs, with the load average of the run).
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkDashboardPage is the server time of one page, one request at a
// time over loopback (ns/op; the p99 is reported too).
func BenchmarkDashboardPage(b *testing.B) {
	d := startDashboard(b)
	for _, name := range []string{"search", "hotel", "my_bookings"} {
		b.Run(name, func(b *testing.B) {
			path := d.paths[name]
			for range 20 {
				d.get(b, path)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for b.Loop() {
				began := time.Now()
				d.get(b, path)
				lat = append(lat, time.Since(began))
			}
			slices.Sort(lat)
			b.ReportMetric(ms(percentile(lat, 99)), "p99-ms")
			b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
		})
	}
}
