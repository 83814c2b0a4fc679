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
	"github.com/bellhop/bellhop/platform/retry"
)

// apiClient is a small JSON client of the API for setup and checks. Its
// requests (do) wait out a busy target: a 429 is asked again after the
// Retry-After it names, a 503 a few times (after its Retry-After, or a
// backoff), as long as the waits of one request add up to at most maxWait.
// The load's own requests are not retried: their errors are the figures.
type apiClient struct {
	base string
	http *http.Client
	// maxWait bounds the waiting of one request for a busy target.
	maxWait time.Duration
	// log gets a line for each wait (may be nil).
	log io.Writer
}

// Waiting for a busy target (see apiClient).
const (
	defaultMaxWait   = time.Minute
	max503Retries    = 4
	retryBackoffBase = 100 * time.Millisecond
	retryBackoffMax  = 2 * time.Second
	// minRetryWait keeps a target that answers 429 without Retry-After
	// (or with 0) from being asked again at once.
	minRetryWait = 50 * time.Millisecond
)

func (c *apiClient) do(ctx context.Context, method, path, token string, body any, header map[string]string, out any) (int, error) {
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		a, err := c.send(ctx, method, path, token, body, header)
		if err != nil {
			return a.code, err
		}
		if a.code/100 == 2 {
			if out != nil && len(a.body) > 0 {
				if err := json.Unmarshal(a.body, out); err != nil {
					return a.code, fmt.Errorf("%s %s: decode: %w", method, path, err)
				}
			}
			return a.code, nil
		}
		msg := fmt.Sprintf("%s %s: %d %s", method, path, a.code, problemReason(a.body))
		wait, retryable := c.retryWait(a, attempt)
		if retryable && waited+wait <= c.maxWait {
			if c.log != nil {
				fmt.Fprintf(c.log, "load: %s, asking again in %s\n", msg, wait.Round(time.Millisecond))
			}
			if !retry.Sleep(ctx, wait) {
				return a.code, errors.Join(&statusError{code: a.code, msg: msg}, ctx.Err())
			}
			waited += wait
			continue
		}
		if retryable {
			msg += fmt.Sprintf(" (gave up: the next wait, %s, would pass the %s a request may wait)", wait.Round(time.Millisecond), c.maxWait)
		}
		if attempt > 1 {
			msg += fmt.Sprintf(" (attempt %d, after waiting %s)", attempt, waited.Round(time.Millisecond))
		}
		return a.code, &statusError{code: a.code, msg: msg}
	}
}

// retryWait tells whether an answer (the attempt-th) is worth asking again
// and after how long: a 429 always, after its Retry-After; a 503 up to
// max503Retries times, after its Retry-After or a backoff.
func (c *apiClient) retryWait(a answer, attempt int) (time.Duration, bool) {
	switch {
	case a.code == http.StatusTooManyRequests:
	case a.code == http.StatusServiceUnavailable && attempt <= max503Retries:
	default:
		return 0, false
	}
	wait := retry.ParseAfter(a.header.Get("Retry-After"))
	if wait == 0 {
		wait = retry.Backoff(retryBackoffBase, retryBackoffMax, attempt)
	}
	return max(wait, minRetryWait), true
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

// answer is an HTTP answer, whatever its status.
type answer struct {
	code   int
	header http.Header
	body   []byte
}

// raw sends a request once and returns the status and body, whatever the
// status.
func (c *apiClient) raw(ctx context.Context, method, path, token string, body any, header map[string]string) (int, []byte, error) {
	a, err := c.send(ctx, method, path, token, body, header)
	return a.code, a.body, err
}

func (c *apiClient) send(ctx context.Context, method, path, token string, body any, header map[string]string) (answer, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return answer{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return answer{}, err
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
		return answer{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return answer{code: res.StatusCode, header: res.Header, body: b}, err
}

func problemReason(body []byte) string {
	var p apperr.Problem
	if json.Unmarshal(body, &p) == nil && p.Reason != "" {
		return p.Reason
	}
	return "-"
}

// newAPIClient is a client of the target at base; log gets a line for each
// wait for a busy target (may be nil).
func newAPIClient(base string, o options, log io.Writer) *apiClient {
	return &apiClient{base: base, maxWait: defaultMaxWait, log: log, http: &http.Client{Timeout: o.timeout, Transport: &http.Transport{
		MaxIdleConns: 4 * o.payWorkers, MaxIdleConnsPerHost: 4 * o.payWorkers, IdleConnTimeout: 30 * time.Second,
	}}}
}
