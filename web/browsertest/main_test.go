// Package browsertest drives the dashboard in a real browser (Debian's
// Chromium through chromedp) against a real, seeded bellhop process: the
// guest path with JavaScript on and off, staff and admin pages, the System
// page, an accessibility audit (axe-core) of every page, and screenshots at
// 1280 and 375 px. One browser serves the whole package.
package browsertest

import (
	"bufio"
	"context"
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

// chromiumPath is Debian's Chromium (installed by `make test` when missing).
const chromiumPath = "/usr/bin/chromium"

var (
	baseURL       string // the bellhop under test
	adminPassword string
	browserCtx    context.Context // the one browser of the package
	axeSource     string          // axe.min.js, from npm at test time
	outDir        string          // screenshots
	dataDir       string          // the bellhop's data directory (module databases, the mail sink)
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	if _, err := os.Stat(chromiumPath); err != nil {
		fmt.Fprintln(os.Stderr, "browsertest: "+chromiumPath+" is missing: apt-get install -y chromium (make test does)")
		return 1
	}
	tmp, err := os.MkdirTemp("", "bellhop-browser-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	outDir = os.Getenv("BELLHOP_SCREENSHOTS")
	if outDir == "" {
		outDir = filepath.Join("testdata", "out")
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	stop, err := startBellhop(tmp)
	if err != nil {
		fmt.Fprintln(os.Stderr, "browsertest:", err)
		return 1
	}
	defer stop()
	if axeSource, err = installAxe(); err != nil {
		fmt.Fprintln(os.Stderr, "browsertest: axe-core:", err)
		return 1
	}

	profile := filepath.Join(tmp, "chromium-profile")
	chromeTmp := filepath.Join(tmp, "chromium-tmp")
	_ = os.MkdirAll(chromeTmp, 0o700)
	// The flags of ../shared/TESTING.md, exactly: no lookups of Google hosts,
	// no background traffic, a fresh profile.
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"),
		chromedp.UserDataDir(profile),
		chromedp.Env("TMPDIR="+chromeTmp),
	)
	defer cancelAlloc()
	var cancelBrowser context.CancelFunc
	browserCtx, cancelBrowser = chromedp.NewContext(alloc)
	defer cancelBrowser()
	if err := chromedp.Do(browserCtx); err != nil { // start the browser now
		fmt.Fprintln(os.Stderr, "browsertest: start chromium:", err)
		return 1
	}
	return m.Run()
}

// startBellhop builds the binary, seeds the demo data and serves it on a
// free loopback port, as `make run` does.
func startBellhop(tmp string) (stop func(), err error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(tmp, "bellhop")
	build := exec.Command("go", "build", "-o", bin, "./cmd/bellhop")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build: %v\n%s", err, out)
	}
	data := filepath.Join(tmp, "data")
	dataDir = data
	out, err := exec.Command(bin, "seed", "--data-dir", data).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("seed: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`demo admin created: admin@bellhop\.demo / (\S+)`).FindSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("seed printed no admin password:\n%s", out)
	}
	adminPassword = string(m[1])

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	logFile, err := os.Create(filepath.Join(tmp, "serve.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--data-dir", data, "--addr", addr)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Should the test binary die without stopping it, the server goes too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop = func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		_ = logFile.Close()
	}
	baseURL = "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(baseURL + "/readyz")
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return stop, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			log, _ := os.ReadFile(logFile.Name())
			return nil, fmt.Errorf("bellhop did not get ready at %s:\n%s", addr, tail(string(log), 40))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(s string, lines int) string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		out = append(out, sc.Text())
		if len(out) > lines {
			out = out[1:]
		}
	}
	return strings.Join(out, "\n")
}

// installAxe installs axe-core from npm into a cache directory (once per
// machine) and returns axe.min.js. Only the tests need Node; the product
// does not.
func installAxe() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "bellhop-axe-core")
	file := filepath.Join(dir, "node_modules", "axe-core", "axe.min.js")
	if _, err := os.Stat(file); err != nil {
		npm := exec.Command("npm", "install", "--prefix", dir, "--no-audit", "--no-fund", "--silent", "axe-core@4")
		if out, err := npm.CombinedOutput(); err != nil {
			return "", fmt.Errorf("npm install axe-core@4: %v\n%s", err, out)
		}
	}
	b, err := os.ReadFile(file)
	return string(b), err
}
