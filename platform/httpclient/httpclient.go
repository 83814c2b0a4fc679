// Package httpclient is the one way a Bellhop module calls another module over
// HTTP. A Client targets one module: it forwards the caller's bearer token on
// /api routes and uses its own service token on /internal routes (and for a
// service acting as itself, which has no token of its own), propagates the
// request ID and the W3C trace context (traceparent), bounds every call with
// a timeout, retries only calls that are idempotent, guards the target with a
// circuit breaker, decodes problem+json answers back into the apperr values
// they were rendered from, and records per-edge metrics and spans.
package httpclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	json "github.com/goccy/go-json"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/trace"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/observability"
	"github.com/bellhop/bellhop/platform/retry"
)

// TokenSource supplies the service token sent on /internal routes (the auth
// module satisfies it with OAuth2 client credentials). If it also has an
// Invalidate() method, a 401 answer invalidates the token and the call is
// tried once more with a fresh one.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// BreakerConfig tunes the circuit breaker guarding the target.
type BreakerConfig struct {
	// ConsecutiveFailures opens the breaker (default 5). Transport errors,
	// timeouts and 5xx answers are failures; 2xx and 4xx are successes.
	ConsecutiveFailures uint32
	// OpenTimeout is how long the breaker stays open before it lets one probe
	// call through (default 5s).
	OpenTimeout time.Duration
}

// Options configure a Client. Zero values take the documented defaults.
type Options struct {
	Caller, Callee string // edge labels for metrics and errors, e.g. "api" → "search"
	// Timeout bounds a whole Do, retries and backoff included (default 2s).
	Timeout time.Duration
	// Retries is the number of extra attempts for idempotent calls (default 2;
	// negative: none).
	Retries int
	// RetryBackoff is the base of the exponential backoff with full jitter
	// between attempts (default 50ms; each wait is capped at 1s).
	RetryBackoff  time.Duration
	Breaker       BreakerConfig
	ServiceTokens TokenSource                // may be nil: /internal calls then carry no token
	Metrics       *observability.EdgeMetrics // may be nil
	// Tracing, if set, makes every Do a client span ("<callee>.<op>") and
	// sends its traceparent with the request. Without it, a traceparent
	// already in the caller's context is still passed on.
	Tracing trace.TracerProvider
	// HTTPClient is used as is when set. The default has its own keep-alive
	// transport (64 idle connections per host, 2s dial timeout), follows no
	// redirects and uses no proxy.
	HTTPClient *http.Client
}

// Defaults.
const (
	DefaultTimeout      = 2 * time.Second
	DefaultRetries      = 2
	DefaultRetryBackoff = 50 * time.Millisecond
	DefaultFailures     = 5
	DefaultOpenTimeout  = 5 * time.Second

	maxBackoff    = time.Second
	maxRetryAfter = 2 * time.Second // a longer Retry-After is returned, not waited for
	// MaxResponseSize bounds the response body a Client reads.
	MaxResponseSize = 16 << 20
)

// Call is one request to the target.
type Call struct {
	Op     string     // the Service method, for metrics, e.g. "SearchHotels" (default: Method)
	Method string     // HTTP method (default GET)
	Path   string     // absolute path under the base URL, segments already escaped: "/api/v1/hotels/htl_1"
	Query  url.Values // encoded into the query string
	Body   any        // sent as JSON if non-nil
	Out    any        // a 2xx body is decoded into it as JSON if non-nil
	// Idempotent allows retries. GET, HEAD, OPTIONS, PUT and DELETE are
	// idempotent anyway; mark a POST that carries an idempotency key.
	Idempotent bool
	Timeout    time.Duration // overrides Options.Timeout if > 0
	Header     http.Header   // extra headers (e.g. Idempotency-Key); they win over the defaults
}

// Client calls one target module. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	opts    Options
	hc      *http.Client
	breaker *gobreaker.CircuitBreaker[*response]
	edge    observability.Edge
	// openUntil is when the breaker's open state ends (UnixNano), for Retry-After.
	openUntil atomic.Int64
	unavail   *apperr.Error
}

// New returns a Client for the module served at baseURL (http or https, with
// an optional path prefix).
func New(baseURL string, opts Options) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("httpclient: base URL %q: want an absolute http(s) URL", baseURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("httpclient: base URL %q: want no user info, query or fragment", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = strings.TrimSuffix(u.RawPath, "/")

	if opts.Callee == "" {
		opts.Callee = u.Host
	}
	if opts.Caller == "" {
		opts.Caller = "bellhop"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	switch {
	case opts.Retries == 0:
		opts.Retries = DefaultRetries
	case opts.Retries < 0:
		opts.Retries = 0
	}
	if opts.RetryBackoff <= 0 {
		opts.RetryBackoff = DefaultRetryBackoff
	}
	if opts.Breaker.ConsecutiveFailures == 0 {
		opts.Breaker.ConsecutiveFailures = DefaultFailures
	}
	if opts.Breaker.OpenTimeout <= 0 {
		opts.Breaker.OpenTimeout = DefaultOpenTimeout
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient()
	}

	c := &Client{
		base: u,
		opts: opts,
		hc:   hc,
		edge: observability.Edge{
			Metrics:  opts.Metrics,
			Caller:   opts.Caller,
			Callee:   opts.Callee,
			Location: observability.Remote,
			Tracer:   observability.Tracer(opts.Tracing, "bellhop/httpclient"),
		},
		unavail: apperr.Unavailable(opts.Callee+".unavailable", fmt.Sprintf("the %s module is unavailable", opts.Callee)),
	}
	failures := opts.Breaker.ConsecutiveFailures
	c.breaker = gobreaker.NewCircuitBreaker[*response](gobreaker.Settings{
		Name:    opts.Caller + "->" + opts.Callee,
		Timeout: opts.Breaker.OpenTimeout,
		ReadyToTrip: func(counts gobreaker.Counts) bool {
			return counts.ConsecutiveFailures >= failures
		},
		OnStateChange: func(_ string, _, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				c.openUntil.Store(time.Now().Add(opts.Breaker.OpenTimeout).UnixNano())
			}
		},
		IsExcluded: func(err error) bool { return errors.Is(err, errCallerGone) },
	})
	return c, nil
}

func defaultHTTPClient() *http.Client {
	// A redirect could carry the caller's token elsewhere; a module API
	// never redirects, so report it instead of following it.
	return &http.Client{Transport: NewTransport(), CheckRedirect: NoRedirects}
}

// CloseIdleConnections closes the idle keep-alive connections of the
// underlying transport (for shutdown).
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// Do performs call and returns nil or an *apperr.Error:
//   - the target's own error, decoded from its problem+json answer, so
//     errors.Is(err, search.ErrHotelNotFound) works across the hop;
//   - an error by status code (apperr.CodeForStatus) for an error answer
//     without a problem body;
//   - unavailable (reason "<callee>.unavailable") for transport failures,
//     timeouts, an unreadable answer, or an open circuit breaker (with
//     RetryAfter set to when it may close).
func (c *Client) Do(ctx context.Context, call Call) (err error) {
	start := time.Now()
	if call.Op == "" {
		call.Op = call.Method
	}
	if call.Op == "" {
		call.Op = http.MethodGet
	}
	ctx, span := c.edge.StartSpan(ctx, call.Op)
	defer func() {
		c.edge.Observe(call.Op, start, err)
		observability.EndSpan(span, err)
	}()
	return c.do(ctx, call)
}

func (c *Client) do(ctx context.Context, call Call) error {
	if call.Method == "" {
		call.Method = http.MethodGet
	}
	target, err := c.url(call)
	if err != nil {
		return apperr.Internal(err)
	}
	var body []byte
	if call.Body != nil {
		if body, err = json.Marshal(call.Body); err != nil {
			return apperr.Internal(fmt.Errorf("httpclient: encode %s %s body: %w", call.Method, call.Path, err))
		}
	}
	timeout := c.opts.Timeout
	if call.Timeout > 0 {
		timeout = call.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	if c.breaker.State() == gobreaker.StateOpen {
		return c.unavail.WithRetryAfter(c.openRemaining()) // before fetching a service token
	}
	internal := c.asService(ctx, call.Path)
	token, err := c.token(ctx, internal)
	if err != nil {
		return err
	}

	attempts := 1
	if call.Idempotent || idempotentMethod(call.Method) {
		attempts += c.opts.Retries
	}
	reauthed := false
	var lastErr error
	for attempt := 0; attempt < attempts; attempt++ {
		if attempt > 0 {
			wait := retry.Backoff(c.opts.RetryBackoff, maxBackoff, attempt)
			if ra := retryAfterOf(lastErr); ra > wait {
				wait = ra
			}
			if !retry.Sleep(ctx, wait) {
				return lastErr
			}
		}
		res, transient, err := c.attempt(ctx, call, target, body, token)
		if err != nil {
			if !transient {
				return err // breaker open, deadline reached, caller gone
			}
			lastErr = err
			continue
		}
		if res.status == http.StatusUnauthorized && internal && !reauthed {
			if inv, ok := c.opts.ServiceTokens.(interface{ Invalidate() }); ok {
				// A 401 means the request was not processed: trying again
				// with a fresh token is safe whatever the method.
				inv.Invalidate()
				reauthed = true
				if token, err = c.token(ctx, internal); err != nil {
					return err
				}
				attempt--
				continue
			}
		}
		if res.status >= 200 && res.status < 300 {
			return c.decode(call, res)
		}
		e := c.statusError(res)
		lastErr = e
		if !retryableStatus(res.status) || e.RetryAfter > maxRetryAfter {
			return e
		}
	}
	return lastErr
}

// url joins the base URL and call.Path/Query, refusing anything that could
// point elsewhere (a token must only ever go to the configured target).
func (c *Client) url(call Call) (string, error) {
	if !strings.HasPrefix(call.Path, "/") || strings.HasPrefix(call.Path, "//") {
		return "", fmt.Errorf("httpclient: path %q must be absolute (start with one /)", call.Path)
	}
	ref, err := url.Parse(call.Path)
	if err != nil || ref.Scheme != "" || ref.Host != "" || ref.Fragment != "" {
		return "", fmt.Errorf("httpclient: path %q is not a plain path", call.Path)
	}
	u := *c.base
	u.Path = c.base.Path + ref.Path
	u.RawPath = ""
	if ref.RawPath != "" || c.base.RawPath != "" {
		u.RawPath = c.base.EscapedPath() + ref.EscapedPath()
	}
	q := ref.Query()
	for k, vs := range call.Query {
		q[k] = append(q[k], vs...)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// asService tells whether a call goes out with this process's service
// token: every call to an /internal route, and a call to an /api route made
// by a service acting as itself (a service principal without a token of its
// own, such as payments reading a booking). Any other call forwards its
// caller's own token.
func (c *Client) asService(ctx context.Context, path string) bool {
	if strings.HasPrefix(path, "/internal/") {
		return true
	}
	p, ok := authn.FromContext(ctx)
	return ok && p.Kind == authn.KindService && p.Token == ""
}

// token is the bearer token for the call: the service token when service
// is set (see asService), the caller's own token otherwise. "" sends none.
func (c *Client) token(ctx context.Context, service bool) (string, error) {
	if !service {
		p, _ := authn.FromContext(ctx)
		return p.Token, nil
	}
	if c.opts.ServiceTokens == nil {
		return "", nil
	}
	tok, err := c.opts.ServiceTokens.Token(ctx)
	if err != nil {
		var ae *apperr.Error
		if errors.As(err, &ae) {
			return "", err
		}
		return "", c.unavail.With("could not obtain a service token to call the %s module", c.opts.Callee).WithCause(err)
	}
	return tok, nil
}

// response is a read answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

var (
	errServerFailure = errors.New("httpclient: server error")
	errCallerGone    = errors.New("httpclient: caller cancelled")
	errTooLarge      = errors.New("httpclient: answer too large")
)

// attempt sends one request through the breaker. It returns an error only
// when there is no answer to look at; transient reports whether another
// attempt might get one (a transport failure with time left), as opposed to
// an open breaker, a reached deadline or a caller that went away.
func (c *Client) attempt(ctx context.Context, call Call, target string, body []byte, token string) (res *response, transient bool, err error) {
	res, err = c.breaker.Execute(func() (*response, error) {
		res, err := c.roundTrip(ctx, call, target, body, token)
		switch {
		case err != nil && errors.Is(ctx.Err(), context.Canceled):
			return nil, fmt.Errorf("%w: %w", errCallerGone, err) // not the target's fault
		case err != nil:
			return nil, err
		case res.status >= 500:
			return res, errServerFailure
		}
		return res, nil
	})
	switch {
	case err == nil, errors.Is(err, errServerFailure):
		return res, false, nil
	case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
		return nil, false, c.unavail.WithRetryAfter(c.openRemaining()).WithCause(err)
	case ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded):
		return nil, false, c.unavail.With("the %s module did not answer in time", c.opts.Callee).WithCause(err)
	case ctx.Err() != nil:
		return nil, false, c.unavail.WithCause(err)
	case errors.Is(err, errTooLarge):
		return nil, false, c.unavail.With("the %s module sent an answer that is too large", c.opts.Callee).WithCause(err)
	}
	return nil, true, c.unavail.WithCause(err)
}

func (c *Client) openRemaining() time.Duration {
	d := time.Until(time.Unix(0, c.openUntil.Load()))
	if d <= 0 {
		// Half-open with its probe in flight: try again shortly.
		return time.Second
	}
	return d
}

func (c *Client) roundTrip(ctx context.Context, call Call, target string, body []byte, token string) (*response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, call.Method, target, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json, "+apperr.ProblemMediaType)
	req.Header.Set("User-Agent", "bellhop/"+c.opts.Caller)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if id := observability.RequestID(ctx); id != "" {
		req.Header.Set(observability.RequestIDHeader, id)
	}
	observability.InjectTrace(ctx, req.Header)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, vs := range call.Header {
		req.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}

	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s answer: %w", call.Method, err)
	}
	if len(data) > MaxResponseSize {
		return nil, fmt.Errorf("%w: more than %d bytes", errTooLarge, MaxResponseSize)
	}
	// Drained to EOF by ReadAll: the connection goes back to the pool.
	return &response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

func (c *Client) decode(call Call, res *response) error {
	if call.Out == nil || len(bytes.TrimSpace(res.body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(res.body, call.Out); err != nil {
		return c.unavail.With("the %s module sent an answer that cannot be read", c.opts.Callee).
			WithCause(fmt.Errorf("decode %s %s answer: %w", call.Method, call.Path, err))
	}
	return nil
}

// statusError turns an error answer into an *apperr.Error: the problem it
// carries, or one by status code.
func (c *Client) statusError(res *response) *apperr.Error {
	var e *apperr.Error
	if isProblem(res.header.Get("Content-Type")) {
		var p apperr.Problem
		if err := json.Unmarshal(res.body, &p); err == nil && (p.Code != "" || p.Status != 0) {
			// The status line is authoritative (RFC 9457 §3.1.2): a body
			// claiming another status (or none, or 700) does not change
			// what the answer is, or whether it may be retried.
			p.Status = res.status
			e = p.Err()
		}
	}
	if e == nil {
		code := apperr.CodeForStatus(res.status)
		if code == apperr.CodeUnavailable {
			e = c.unavail.With("the %s module answered %d %s", c.opts.Callee, res.status, http.StatusText(res.status))
		} else {
			e = apperr.New(code, "", fmt.Sprintf("the %s module answered %d %s", c.opts.Callee, res.status, http.StatusText(res.status)))
		}
	}
	if e.RetryAfter == 0 {
		if ra := retry.ParseAfter(res.header.Get("Retry-After")); ra > 0 {
			e = e.WithRetryAfter(ra)
		}
	}
	return e
}

func isProblem(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == apperr.ProblemMediaType
}

// retryableStatus: the target (or a proxy in front of it) is overloaded or
// briefly away. A Retry-After longer than maxRetryAfter is not waited for.
func retryableStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

func retryAfterOf(err error) time.Duration {
	var e *apperr.Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

func idempotentMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}
