package httpclient_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bellhop/bellhop/platform/httpclient"
)

// LimitResponses lets a body of exactly the limit through and fails one
// byte more, announced or not.
func TestLimitResponses(t *testing.T) {
	t.Parallel()
	const limit = 1000
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if r.URL.Query().Get("announce") == "" {
			w.(http.Flusher).Flush() // chunked: no Content-Length
		}
		_, _ = io.WriteString(w, strings.Repeat("x", n))
	}))
	t.Cleanup(srv.Close)
	hc := &http.Client{Transport: httpclient.LimitResponses(httpclient.NewTransport(), limit), CheckRedirect: httpclient.NoRedirects}
	get := func(q string) (int, error) {
		resp, err := hc.Get(srv.URL + "/?" + q)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return len(b), err
	}
	for _, q := range []string{"n=1000", "n=1000&announce=1", "n=10"} {
		if n, err := get(q); err != nil || n != map[string]int{"n=1000": 1000, "n=1000&announce=1": 1000, "n=10": 10}[q] {
			t.Errorf("%s: read %d, %v", q, n, err)
		}
	}
	for _, q := range []string{"n=1001", "n=1001&announce=1", "n=3000000"} {
		n, err := get(q)
		if !errors.Is(err, httpclient.ErrResponseTooLarge) || n > limit {
			t.Errorf("%s: read %d, err %v; want at most %d and ErrResponseTooLarge", q, n, err, limit)
		}
	}
}

// NoRedirects returns the 3xx itself; the target is never asked.
func TestNoRedirects(t *testing.T) {
	t.Parallel()
	var reached atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Store(true) }))
	t.Cleanup(target.Close)
	srv := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	t.Cleanup(srv.Close)
	hc := &http.Client{Transport: httpclient.NewTransport(), CheckRedirect: httpclient.NoRedirects}
	resp, err := hc.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || reached.Load() {
		t.Fatalf("status %d, target reached %v", resp.StatusCode, reached.Load())
	}
}
