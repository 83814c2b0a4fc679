package httpclient

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// ErrResponseTooLarge: a response body went past the limit set with
// [LimitResponses].
var ErrResponseTooLarge = errors.New("response body too large")

// NewTransport is the keep-alive transport every outgoing Bellhop client is
// built on: bounded dial, TLS handshake and idle times, and no proxy taken
// from the environment.
func NewTransport() *http.Transport {
	return &http.Transport{
		DialContext: (&net.Dialer{
			Timeout:   2 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// NoRedirects is a CheckRedirect that follows no redirect: the answer is the
// 3xx itself. A redirect would carry the request (and its credentials) to an
// address nobody configured.
func NoRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// LimitResponses wraps rt so that reading more than maxBytes of any
// response body fails with [ErrResponseTooLarge] instead of going on.
func LimitResponses(rt http.RoundTripper, maxBytes int64) http.RoundTripper {
	return limitedTransport{rt: rt, max: maxBytes}
}

type limitedTransport struct {
	rt  http.RoundTripper
	max int64
}

func (l limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.rt.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	if resp.ContentLength > l.max {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %d bytes announced, limit %d", ErrResponseTooLarge, resp.ContentLength, l.max)
	}
	resp.Body = &limitedBody{rc: resp.Body, left: l.max}
	return resp, nil
}

// limitedBody reads at most left bytes, then fails (http.MaxBytesReader's
// semantics, on the client side).
type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, ErrResponseTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1] // one byte more than allowed tells a full body from a long one
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n + int(b.left), ErrResponseTooLarge
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
