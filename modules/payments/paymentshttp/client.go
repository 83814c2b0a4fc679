package paymentshttp

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/platform/httpclient"
)

// Client is payments.Service over HTTP, for processes that do not host
// payments. It forwards the caller's bearer token (the guest who pays).
// Errors come back as the same apperr values (errors.Is works); a payments
// process that cannot be reached is apperr code unavailable.
type Client struct {
	http       *httpclient.Client
	payTimeout time.Duration
}

// MinPayTimeout is the least time Pay waits for an answer: a payment
// includes the provider's own retries.
const MinPayTimeout = 30 * time.Second

var _ payments.Service = (*Client)(nil)

// NewClient calls the payments module at baseURL (e.g. http://127.0.0.1:8104).
func NewClient(baseURL string, opts httpclient.Options) (*Client, error) {
	opts.Callee = payments.Module
	hc, err := httpclient.New(baseURL, opts)
	if err != nil {
		return nil, err
	}
	return &Client{http: hc, payTimeout: max(opts.Timeout, MinPayTimeout)}, nil
}

// Pay implements payments.Service. It carries an idempotency key, so a
// transport failure is retried: the server answers a repeat with the first
// result.
func (c *Client) Pay(ctx context.Context, req payments.PayRequest) (payments.Payment, error) {
	h := http.Header{}
	if req.IdempotencyKey != "" {
		h.Set(HeaderIdempotencyKey, req.IdempotencyKey)
	}
	var out payments.Payment
	err := c.http.Do(ctx, httpclient.Call{
		Op: "Pay", Method: http.MethodPost, Path: pathPayments, Body: req, Out: &out, Header: h,
		Idempotent: req.IdempotencyKey != "", Timeout: c.payTimeout,
	})
	return out, err
}

// Get implements payments.Service.
func (c *Client) Get(ctx context.Context, req payments.GetRequest) (payments.Payment, error) {
	id := req.ID
	if id == "" {
		id = " " // a path that exists: the server answers it as a validation error
	}
	var out payments.Payment
	err := c.http.Do(ctx, httpclient.Call{Op: "Get", Method: http.MethodGet, Path: pathPayments + "/" + url.PathEscape(id), Out: &out})
	return out, err
}

// List implements payments.Service.
func (c *Client) List(ctx context.Context, req payments.ListRequest) (payments.PaymentList, error) {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("booking_id", req.BookingID)
	set("status", req.Status)
	if req.Limit != 0 {
		q.Set("limit", strconv.Itoa(req.Limit))
	}
	set("cursor", req.Cursor)
	var out payments.PaymentList
	err := c.http.Do(ctx, httpclient.Call{Op: "List", Method: http.MethodGet, Path: pathPayments, Query: q, Out: &out})
	return out, err
}
