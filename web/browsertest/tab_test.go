package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// tab is one browser tab in a browser context of its own (its own cookies:
// one person), with or without JavaScript.
type tab struct {
	t     *testing.T
	ctx   context.Context
	jsOff bool
	name  string
}

func newTab(t *testing.T, name string, jsOff bool) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first run opens the tab, which lives as long as the context of
	// that run: never a timeout context.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	tb := &tab{t: t, ctx: ctx, jsOff: jsOff, name: name}
	tb.do(chromedp.EmulateViewport(1280, 900))
	if jsOff {
		tb.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			return err
		}))
	}
	return tb
}

// do runs actions, failing the test (with the page's URL and heading) on
// the first error or after 20 seconds.
func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v (at %s)", tb.name, err, tb.where())
	}
}

// where is the page's URL and its h1, for failure messages.
func (tb *tab) where() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 3*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	h1, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1"), chromedp.AtLeast(0)))
	return loc + " «" + strings.TrimSpace(h1) + "»"
}

func (tb *tab) visit(path string) { tb.t.Helper(); tb.do(chromedp.Navigate(baseURL + path)) }

// waitFor waits until sel is visible.
func (tb *tab) waitFor(sel string) { tb.t.Helper(); tb.do(chromedp.WaitVisible(chromedp.CSS(sel))) }

// text is the visible text of the first match of sel.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("%s: text of %s: %v (at %s)", tb.name, sel, err, tb.where())
	}
	return strings.TrimSpace(s)
}

// waitText waits until the first match of sel contains want (a page that
// reloads itself, a swap by htmx).
func (tb *tab) waitText(sel, want string, within time.Duration) string {
	tb.t.Helper()
	deadline := time.Now().Add(within)
	var got string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.AtLeast(0)))
		cancel()
		if err == nil && strings.Contains(s, want) {
			return strings.TrimSpace(s)
		}
		got = s
		time.Sleep(200 * time.Millisecond)
	}
	tb.t.Fatalf("%s: %s never said %q (last %q, at %s)", tb.name, sel, want, got, tb.where())
	return ""
}

func (tb *tab) fill(sel, value string) {
	tb.t.Helper()
	tb.do(chromedp.SetValue(chromedp.CSS(sel), value))
}

func (tb *tab) click(sel string) { tb.t.Helper(); tb.do(chromedp.Click(chromedp.CSS(sel))) }

// count is how many elements match sel now.
func (tb *tab) count(sel string) int {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll(sel), chromedp.AtLeast(0)))
	if err != nil {
		tb.t.Fatalf("%s: nodes %s: %v", tb.name, sel, err)
	}
	return len(nodes)
}

// violation is an axe-core finding.
type violation struct {
	ID, Impact, Help string
	Nodes            []string
}

// audit checks the page with axe-core (no serious or critical violation)
// and saves screenshots at 1280 and 375 px wide as <page>-<width>.png.
func (tb *tab) audit(page string) {
	tb.t.Helper()
	if !tb.jsOff {
		ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
		defer cancel()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
			tb.t.Fatalf("%s: inject axe on %s: %v", tb.name, page, err)
		}
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](`axe.run(document, {resultTypes: ["violations"]}).then(r =>
			r.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v =>
				({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.html)})))`,
			chromedp.EvalAwaitPromise))
		if err != nil {
			tb.t.Fatalf("%s: axe.run on %s: %v", tb.name, page, err)
		}
		var vs []violation
		if err := json.Unmarshal(raw, &vs); err != nil {
			tb.t.Fatalf("%s: axe result: %v", tb.name, err)
		}
		for _, v := range vs {
			tb.t.Errorf("%s: accessibility (%s) on %s: %s: %s\n  %s", tb.name, v.Impact, page, v.ID, v.Help, strings.Join(v.Nodes, "\n  "))
		}
		if tb.overflowsAt375() {
			tb.t.Errorf("%s: %s scrolls sideways at 375 px (too wide: %s)", tb.name, page, tb.tooWideAt375())
		}
	}
	for _, w := range []int64{1280, 375} {
		tb.do(chromedp.EmulateViewport(w, 900), chromedp.Sleep(50*time.Millisecond))
		png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			tb.t.Fatalf("screenshot %s at %d: %v", page, w, err)
		}
		name := fmt.Sprintf("%s-%d.png", page, w)
		if tb.jsOff {
			name = fmt.Sprintf("%s-nojs-%d.png", page, w)
		}
		if err := os.WriteFile(filepath.Join(outDir, name), png, 0o644); err != nil {
			tb.t.Fatal(err)
		}
	}
	tb.do(chromedp.EmulateViewport(1280, 900))
}

// overflowsAt375 reports whether the page scrolls sideways at 375 px (a
// layout that does not fit a phone).
func (tb *tab) overflowsAt375() bool {
	tb.t.Helper()
	if tb.jsOff {
		return false
	}
	tb.do(chromedp.EmulateViewport(375, 800))
	defer tb.do(chromedp.EmulateViewport(1280, 900))
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	over, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if err != nil {
		tb.t.Fatalf("overflow check: %v", err)
	}
	return over
}

// tooWideAt375 names the innermost elements wider than a 375 px window.
func (tb *tab) tooWideAt375() string {
	tb.do(chromedp.EmulateViewport(375, 800))
	defer tb.do(chromedp.EmulateViewport(1280, 900))
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("body *")]
		.filter(e => (e.getBoundingClientRect().right > window.innerWidth + 1 || e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === "visible") &&
			![...e.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 1))
		.slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? "." + e.className : "") + " (" + Math.round(e.getBoundingClientRect().right) + " px)").join(", ")`))
	return s
}

// userID finds the id of the user whose row mentions email on the users page.
func (tb *tab) userID(email string) string {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	id, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(() => {
		for (const tr of document.querySelectorAll("table.list tbody tr")) {
			if (tr.textContent.includes(%q)) return tr.querySelector("form").action.split("/").slice(-2)[0];
		}
		return "";
	})()`, email)))
	if err != nil || id == "" {
		tb.t.Fatalf("%s: no row for %s (%v)", tb.name, email, err)
	}
	return id
}

func (tb *tab) checked(sel string) bool {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	on, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%q).checked`, sel)))
	if err != nil {
		tb.t.Fatalf("%s: checked %s: %v", tb.name, sel, err)
	}
	return on
}

// reloadUntil reloads the page until the first match of sel contains want
// (something made in the background, such as a receipt issued from events).
func (tb *tab) reloadUntil(sel, want string, within time.Duration) string {
	tb.t.Helper()
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.AtLeast(0)))
		cancel()
		if err == nil && strings.Contains(s, want) {
			return strings.TrimSpace(s)
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("%s: %s never said %q after reloading (at %s)", tb.name, sel, want, tb.where())
		}
		time.Sleep(500 * time.Millisecond)
		tb.do(chromedp.Reload())
	}
}

// attr is an attribute of the first match of sel.
func (tb *tab) attr(sel, name string) string {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if err != nil {
		tb.t.Fatalf("%s: attribute %s of %s: %v (at %s)", tb.name, name, sel, err, tb.where())
	}
	return v.Value
}

// download fetches path as this tab's person: with the browser's cookies
// (the HttpOnly session cookie too, read over the DevTools protocol), so
// the server sees the same session the page does.
func (tb *tab) download(path string) (*http.Response, []byte) {
	tb.t.Helper()
	var cookies []*network.Cookie
	tb.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{baseURL}})
		cookies = res.Cookies
		return err
	}))
	req, err := http.NewRequestWithContext(tb.ctx, http.MethodGet, baseURL+path, nil)
	if err != nil {
		tb.t.Fatal(err)
	}
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.t.Fatalf("%s: download %s: %v", tb.name, path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		tb.t.Fatalf("%s: download %s: %v", tb.name, path, err)
	}
	return res, body
}
