package httpclienttest_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/bellhop/bellhop/platform/httpclient"
	"github.com/bellhop/bellhop/platform/httpclient/httpclienttest"
)

// A client of the closed port made with the platform's httpclient passes.
func TestCheckUnreachable(t *testing.T) {
	t.Parallel()
	httpclienttest.CheckUnreachable(t, httpclient.New, map[string]func(context.Context, *httpclient.Client) error{
		"GET": func(ctx context.Context, c *httpclient.Client) error {
			return c.Do(ctx, httpclient.Call{Method: http.MethodGet, Path: "/api/v1/things/1"})
		},
	})
}
