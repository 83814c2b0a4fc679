package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/bellhop/bellhop/platform/apperr"
)

// apiClient is a small JSON client of the API for setup and checks.
type apiClient struct {
	base string
	http *http.Client
}

func (c *apiClient) do(ctx context.Context, method, path, token string, body any, header map[string]string, out any) (int, error) {
	code, b, err := c.raw(ctx, method, path, token, body, header)
	if err != nil {
		return code, err
	}
	if code/100 != 2 {
		return code, &statusError{code: code, msg: fmt.Sprintf("%s %s: %d %s", method, path, code, problemReason(b))}
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return code, fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return code, nil
}

// statusError is an answer other than 2xx.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return e.msg }

// transient tells a failure worth trying again (the target overloaded,
// restarting or unreachable for a moment) from an answer that will not
// change (401, 403, 404, ...).
func transient(err error) bool {
	var se *statusError
	if errors.As(err, &se) {
		return se.code >= 500 || se.code == http.StatusTooManyRequests
	}
	return true // a transport error
}

// raw sends a request and returns the status and body, whatever the status.
func (c *apiClient) raw(ctx context.Context, method, path, token string, body any, header map[string]string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

func problemReason(body []byte) string {
	var p apperr.Problem
	if json.Unmarshal(body, &p) == nil && p.Reason != "" {
		return p.Reason
	}
	return "-"
}

func newAPIClient(base string, o options) *apiClient {
	return &apiClient{base: base, http: &http.Client{Timeout: o.timeout, Transport: &http.Transport{
		MaxIdleConns: 4 * o.payWorkers, MaxIdleConnsPerHost: 4 * o.payWorkers, IdleConnTimeout: 30 * time.Second,
	}}}
}
