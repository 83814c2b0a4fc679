package browsertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// splitProc is one process of the split deployment this file starts.
type splitProc struct {
	cmd  *exec.Cmd
	url  string
	log  string
	done chan struct{}
}

func (p *splitProc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startProc runs `bellhop serve args...` (or another program) and waits
// until its /readyz answers 200 (or, for NATS, its port accepts).
func startProc(t *testing.T, name, bin string, env []string, addr string, args ...string) *splitProc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &splitProc{cmd: cmd, url: "http://" + addr, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); _ = logFile.Close(); close(p.done) }()
	t.Cleanup(p.stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if bin == bellhopBin {
			if res, err := http.Get(p.url + "/readyz"); err == nil {
				_ = res.Body.Close()
				if res.StatusCode == http.StatusOK {
					return p
				}
			}
		} else if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			_ = c.Close()
			return p
		}
		select {
		case <-p.done:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("%s exited before it was ready:\n%s", name, tail(string(b), 30))
		default:
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("%s not ready in 30s:\n%s", name, tail(string(b), 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// apiCall sends a JSON request and decodes the answer into out (if set).
func apiCall(t *testing.T, method, u, token string, body any, out any, headers ...string) int {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, u, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	if out != nil {
		_ = json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}

// The operator's System page in split mode: search and bookings run as their
// own processes, the gateway hosts the rest and the dashboard. The page
// lists every process as each reports itself, shows search and bookings
// remote and ready, the edges with their figures (bookings → search
// recorded by the bookings process), and, once search's process stops,
// shows it down instead of failing.
func TestSystemPage_SplitMode(t *testing.T) {
	tmp := t.TempDir()
	nats := filepath.Join(tmp, "nats-server")
	build := exec.Command("go", "build", "-o", nats, "github.com/nats-io/nats-server/v2")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build nats-server: %v\n%s", err, out)
	}
	natsAddr := freeAddr(t)
	_, natsPort, _ := net.SplitHostPort(natsAddr)
	startProc(t, "nats", nats, nil, natsAddr, "-a", "127.0.0.1", "-p", natsPort, "-js", "-sd", filepath.Join(tmp, "jetstream"), "--http_port", "0")

	data := filepath.Join(tmp, "data")
	out, err := exec.Command(bellhopBin, "seed", "--data-dir", data).CombinedOutput()
	if err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`demo admin created: admin@bellhop\.demo / (\S+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("seed printed no admin password:\n%s", out)
	}
	password := string(m[1])

	gwAddr, searchAddr, bkAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	const bookingsSecret = "bookings-service-secret-of-at-least-32-characters"
	gwConfig := filepath.Join(tmp, "gateway.yaml")
	if err := os.WriteFile(gwConfig, []byte("auth:\n  service_clients:\n    - id: bookings\n      secret: "+bookingsSecret+"\n      scopes: [search:quote]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"BELLHOP_EVENTS_NATS_URL=nats://" + natsAddr, "BELLHOP_SERVER_RATE_LIMIT_ENABLED=false"}
	gw := startProc(t, "gateway", bellhopBin, common, gwAddr, "serve", "--data-dir", data, "--addr", gwAddr, "--config", gwConfig,
		"--remote", "search=http://"+searchAddr, "--remote", "bookings=http://"+bkAddr)
	searchProc := startProc(t, "search", bellhopBin, common, searchAddr, "serve", "--only", "search", "--data-dir", data, "--addr", searchAddr,
		"--remote", "auth="+gw.url)
	bk := startProc(t, "bookings", bellhopBin, append(common, "BELLHOP_AUTH_CLIENT_ID=bookings", "BELLHOP_AUTH_CLIENT_SECRET="+bookingsSecret),
		bkAddr, "serve", "--only", "bookings", "--data-dir", filepath.Join(tmp, "bookings-data"), "--addr", bkAddr,
		"--remote", "auth="+gw.url, "--remote", "search="+searchProc.url)

	// Traffic: a search through the gateway (api → search, over HTTP) and a
	// hold by a guest (api → bookings, and bookings → search.Quote, both
	// over HTTP; the latter recorded by the bookings process).
	in, outDate := stayDates(40)
	var found struct {
		Hotels []struct {
			ID string `json:"id"`
		} `json:"hotels"`
	}
	if st := apiCall(t, "GET", gw.url+"/api/v1/hotels?city=porto&guests=2&check_in="+in+"&check_out="+outDate, "", nil, &found); st != 200 || len(found.Hotels) == 0 {
		t.Fatalf("search through the gateway: %d %+v", st, found)
	}
	var hotel struct {
		RoomTypes []struct {
			ID string `json:"id"`
		} `json:"room_types"`
	}
	apiCall(t, "GET", gw.url+"/api/v1/hotels/"+found.Hotels[0].ID+"?check_in="+in+"&check_out="+outDate, "", nil, &hotel)
	if len(hotel.RoomTypes) == 0 {
		t.Fatal("the hotel has no room types")
	}
	email := newEmail("split-guest")
	if st := apiCall(t, "POST", gw.url+"/api/v1/users", "", map[string]string{"email": email, "name": "Split Guest", "password": "correct horse battery staple"}, nil); st != http.StatusAccepted {
		t.Fatalf("register: %d", st)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	apiCall(t, "POST", gw.url+"/api/v1/sessions", "", map[string]string{"email": email, "password": "correct horse battery staple"}, &tok)
	if st := apiCall(t, "POST", gw.url+"/api/v1/bookings", tok.AccessToken,
		map[string]any{"room_type_id": hotel.RoomTypes[0].ID, "check_in": in, "check_out": outDate, "guests": 1}, nil,
		"Idempotency-Key", "split-system-hold-1"); st != 201 {
		t.Fatalf("hold through the gateway: %d", st)
	}

	admin := newTab(t, "operator (split)", false)
	admin.do(chromedp.Navigate(gw.url + "/signin"))
	admin.waitFor("#email")
	admin.fill("#email", "admin@bellhop.demo")
	admin.fill("#password", password)
	admin.click("form[action='/signin'] button[type=submit]")
	admin.waitText("nav", "Sign out", 15*time.Second)
	admin.do(chromedp.Navigate(gw.url + "/system"))
	admin.waitFor("#processes")

	if n := admin.count("#processes tbody tr"); n != 3 {
		t.Fatalf("%d processes listed, want the gateway, search and bookings", n)
	}
	for _, p := range []string{searchProc.url, bk.url} {
		row := admin.text(fmt.Sprintf("#processes tr[data-process=%q]", p))
		if !strings.Contains(row, "up, ready") {
			t.Errorf("process %s: %q, want up and ready", p, row)
		}
	}
	if row := admin.text(`#processes tr[data-process="http://` + searchAddr + `"]`); !strings.Contains(row, "search") || strings.Contains(row, "bookings") {
		t.Errorf("search's process row: %q", row)
	}
	for mod, u := range map[string]string{"search": searchProc.url, "bookings": bk.url} {
		row := admin.text(`tr[data-module="` + mod + `"]`)
		if !strings.Contains(row, "remote: "+u) || !strings.Contains(row, "ready") {
			t.Errorf("module %s: %q, want remote at %s and ready", mod, row, u)
		}
	}
	for _, mod := range []string{"auth", "payments", "reporting"} {
		if row := admin.text(`tr[data-module="` + mod + `"]`); !strings.Contains(row, "in this process") {
			t.Errorf("module %s: %q, want in this process", mod, row)
		}
	}
	// Live edge figures, each recorded where the call was made.
	if row := admin.text(`tr[data-edge="api-search"]`); !strings.Contains(row, "over HTTP") || !strings.Contains(row, gwAddr) {
		t.Errorf("api → search edge: %q", row)
	}
	if row := admin.text(`tr[data-edge="bookings-search"]`); !strings.Contains(row, "over HTTP") || !strings.Contains(row, bkAddr) {
		t.Errorf("bookings → search edge (recorded by the bookings process): %q", row)
	}
	if n := admin.count("svg.topology g.edge.remote"); n < 3 {
		t.Errorf("%d remote edges drawn, want api → search, api → bookings, bookings → search", n)
	}
	admin.audit("system-split")

	// Search's process stops: the page still renders, showing it down.
	searchProc.stop()
	row := admin.reloadUntil(`tr[data-module="search"]`, "down", 20*time.Second)
	if !strings.Contains(row, searchProc.url) {
		t.Errorf("search row once down: %q", row)
	}
	if p := admin.text(`#processes tr[data-process="` + searchProc.url + `"]`); !strings.Contains(p, "down") {
		t.Errorf("search's process once stopped: %q", p)
	}
	if h1 := admin.text("h1"); h1 != "System" {
		t.Errorf("with a process down the page shows %q", h1)
	}
	if n := admin.count(`svg.topology g.node.down`); n < 1 {
		t.Errorf("no node drawn down")
	}
	admin.audit("system-split-down")
}
