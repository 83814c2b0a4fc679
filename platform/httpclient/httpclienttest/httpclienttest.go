// Package httpclienttest checks, for any module's Client, what every caller
// relies on when the remote module cannot be reached.
package httpclienttest

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/httpclient"
)

// ClosedURL is the base URL of a loopback port nothing listens on: a
// connection to it is refused at once.
func ClosedURL(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		tb.Fatal(err)
	}
	return "http://" + addr
}

// CheckUnreachable builds a client with newClient (a module's NewClient)
// for a port nothing listens on, with a one-second timeout, and checks that
// each of calls (by name) fails with apperr code unavailable, and quickly:
// all of them within a second each plus one.
func CheckUnreachable[C any](t *testing.T, newClient func(baseURL string, opts httpclient.Options) (C, error), calls map[string]func(ctx context.Context, c C) error) {
	t.Helper()
	if len(calls) == 0 {
		t.Fatal("CheckUnreachable: no calls to check")
	}
	c, err := newClient(ClosedURL(t), httpclient.Options{Caller: "test", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(calls))
	for name := range calls {
		names = append(names, name)
	}
	slices.Sort(names)
	limit := time.Second * time.Duration(1+len(calls))
	start := time.Now()
	for _, name := range names {
		if err := calls[name](context.Background(), c); !errors.Is(err, apperr.UnavailableAny) {
			t.Errorf("%s: err = %v, want unavailable", name, err)
		}
	}
	if d := time.Since(start); d > limit {
		t.Fatalf("the calls took %s, want under %s", d, limit)
	}
}
