package bookingshttp

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/platform/httpclient"
)

// Client is bookings.Service over HTTP, for processes that do not host
// bookings (payments, the dashboard). It forwards the caller's bearer token,
// so the bookings process checks the real caller. Errors come back as the
// same apperr values (errors.Is works); a bookings process that cannot be
// reached is apperr code unavailable.
type Client struct {
	http *httpclient.Client
}

var _ bookings.Service = (*Client)(nil)

// NewClient calls the bookings module at baseURL (e.g. http://127.0.0.1:8102).
func NewClient(baseURL string, opts httpclient.Options) (*Client, error) {
	opts.Callee = bookings.Module
	hc, err := httpclient.New(baseURL, opts)
	if err != nil {
		return nil, err
	}
	return &Client{http: hc}, nil
}

// Hold implements bookings.Service. It is retried only when it carries an
// idempotency key: a retry then returns the booking the first attempt made.
func (c *Client) Hold(ctx context.Context, req bookings.HoldRequest) (bookings.Booking, error) {
	call := httpclient.Call{Op: "Hold", Method: http.MethodPost, Path: pathBookings, Body: req}
	if req.IdempotencyKey != "" {
		call.Header = http.Header{HeaderIdempotencyKey: {req.IdempotencyKey}}
		call.Idempotent = true
	}
	var out bookings.Booking
	call.Out = &out
	err := c.http.Do(ctx, call)
	return out, err
}

// Get implements bookings.Service.
func (c *Client) Get(ctx context.Context, req bookings.GetRequest) (bookings.Booking, error) {
	var out bookings.Booking
	err := c.http.Do(ctx, httpclient.Call{Op: "Get", Method: http.MethodGet, Path: bookingPath(req.ID), Out: &out, Idempotent: true})
	return out, err
}

// List implements bookings.Service.
func (c *Client) List(ctx context.Context, req bookings.ListRequest) (bookings.BookingList, error) {
	q := url.Values{}
	setString(q, "hotel_id", req.HotelID)
	setString(q, "status", req.Status)
	if !req.From.IsZero() {
		q.Set("from", req.From.String())
	}
	if !req.To.IsZero() {
		q.Set("to", req.To.String())
	}
	if req.Limit != 0 {
		q.Set("limit", strconv.Itoa(req.Limit))
	}
	setString(q, "cursor", req.Cursor)
	var out bookings.BookingList
	err := c.http.Do(ctx, httpclient.Call{Op: "List", Method: http.MethodGet, Path: pathBookings, Query: q, Out: &out})
	return out, err
}

// Cancel implements bookings.Service. It is not retried: a cancellation that
// went through answers a retry with ErrNotCancellable.
func (c *Client) Cancel(ctx context.Context, req bookings.CancelRequest) (bookings.Booking, error) {
	var out bookings.Booking
	err := c.http.Do(ctx, httpclient.Call{Op: "Cancel", Method: http.MethodPost, Path: bookingPath(req.ID) + "/cancel", Out: &out})
	return out, err
}

// bookingPath escapes the id so an id cannot reach another route; an empty
// id still names a path, which the server answers as a validation error.
func bookingPath(id string) string {
	if id == "" {
		return pathBookings + "/%20"
	}
	return pathBookings + "/" + url.PathEscape(id)
}

func setString(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}
