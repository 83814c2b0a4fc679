package searchhttp

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/httpclient"
)

// Client is search.Service over HTTP, for processes that do not host search.
// Errors come back as the same apperr values (errors.Is works); a search
// process that cannot be reached is apperr code unavailable.
type Client struct {
	http *httpclient.Client
}

var _ search.Service = (*Client)(nil)

// NewClient calls the search module at baseURL (e.g. http://127.0.0.1:8101).
func NewClient(baseURL string, opts httpclient.Options) (*Client, error) {
	opts.Callee = search.Module
	hc, err := httpclient.New(baseURL, opts)
	if err != nil {
		return nil, err
	}
	return &Client{http: hc}, nil
}

// ListCities implements search.Service.
func (c *Client) ListCities(ctx context.Context, req search.ListCitiesRequest) (search.CityList, error) {
	q := url.Values{}
	setString(q, "prefix", req.Prefix)
	setInt(q, "limit", int64(req.Limit))
	var out search.CityList
	err := c.http.Do(ctx, httpclient.Call{Op: "ListCities", Method: http.MethodGet, Path: pathCities, Query: q, Out: &out})
	return out, err
}

// SearchHotels implements search.Service.
func (c *Client) SearchHotels(ctx context.Context, req search.SearchRequest) (search.SearchResult, error) {
	q := url.Values{}
	setString(q, "city", req.City)
	if !req.CheckIn.IsZero() {
		q.Set("check_in", req.CheckIn.String())
	}
	if !req.CheckOut.IsZero() {
		q.Set("check_out", req.CheckOut.String())
	}
	// Always sent: the server defaults a missing guests to 1, the service does not.
	q.Set("guests", strconv.Itoa(req.Guests))
	setInt(q, "max_price", req.MaxPrice)
	setString(q, "sort", req.Sort)
	setInt(q, "limit", int64(req.Limit))
	setString(q, "cursor", req.Cursor)
	var out search.SearchResult
	err := c.http.Do(ctx, httpclient.Call{Op: "SearchHotels", Method: http.MethodGet, Path: pathHotels, Query: q, Out: &out})
	return out, err
}

// GetHotel implements search.Service.
func (c *Client) GetHotel(ctx context.Context, req search.GetHotelRequest) (search.Hotel, error) {
	var out search.Hotel
	err := c.http.Do(ctx, httpclient.Call{Op: "GetHotel", Method: http.MethodGet, Path: hotelPath(req.ID), Out: &out})
	return out, err
}

// CreateHotel implements search.Service.
func (c *Client) CreateHotel(ctx context.Context, req search.CreateHotelRequest) (search.Hotel, error) {
	var out search.Hotel
	err := c.http.Do(ctx, httpclient.Call{Op: "CreateHotel", Method: http.MethodPost, Path: pathHotels, Body: req, Out: &out})
	return out, err
}

// UpdateHotel implements search.Service.
func (c *Client) UpdateHotel(ctx context.Context, req search.UpdateHotelRequest) (search.Hotel, error) {
	var out search.Hotel
	err := c.http.Do(ctx, httpclient.Call{Op: "UpdateHotel", Method: http.MethodPatch, Path: hotelPath(req.ID), Body: req, Out: &out})
	return out, err
}

// DeleteHotel implements search.Service.
func (c *Client) DeleteHotel(ctx context.Context, req search.DeleteHotelRequest) error {
	return c.http.Do(ctx, httpclient.Call{Op: "DeleteHotel", Method: http.MethodDelete, Path: hotelPath(req.ID)})
}

// CreateRoomType implements search.Service.
func (c *Client) CreateRoomType(ctx context.Context, req search.CreateRoomTypeRequest) (search.RoomType, error) {
	var out search.RoomType
	err := c.http.Do(ctx, httpclient.Call{Op: "CreateRoomType", Method: http.MethodPost,
		Path: hotelPath(req.HotelID) + "/room-types", Body: req, Out: &out})
	return out, err
}

// UpdateRoomType implements search.Service.
func (c *Client) UpdateRoomType(ctx context.Context, req search.UpdateRoomTypeRequest) (search.RoomType, error) {
	var out search.RoomType
	err := c.http.Do(ctx, httpclient.Call{Op: "UpdateRoomType", Method: http.MethodPatch, Path: roomTypePath(req.ID), Body: req, Out: &out})
	return out, err
}

// DeleteRoomType implements search.Service.
func (c *Client) DeleteRoomType(ctx context.Context, req search.DeleteRoomTypeRequest) error {
	return c.http.Do(ctx, httpclient.Call{Op: "DeleteRoomType", Method: http.MethodDelete, Path: roomTypePath(req.ID)})
}

// SetRates implements search.Service.
func (c *Client) SetRates(ctx context.Context, req search.SetRatesRequest) (search.RoomType, error) {
	var out search.RoomType
	err := c.http.Do(ctx, httpclient.Call{Op: "SetRates", Method: http.MethodPut, Path: roomTypePath(req.RoomTypeID) + "/rates", Body: req, Out: &out})
	return out, err
}

// DeleteRate implements search.Service.
func (c *Client) DeleteRate(ctx context.Context, req search.DeleteRateRequest) error {
	if req.Date.IsZero() {
		// The date is part of the path: without one there is no route to call.
		return search.ErrInvalidRequest.WithFields(fieldErr("date", "is required"))
	}
	return c.http.Do(ctx, httpclient.Call{Op: "DeleteRate", Method: http.MethodDelete,
		Path: roomTypePath(req.RoomTypeID) + "/rates/" + req.Date.String()})
}

// Quote implements search.Service. Quoting changes nothing, so it is retried
// like a GET although it is a POST.
func (c *Client) Quote(ctx context.Context, req search.QuoteRequest) (search.Quote, error) {
	var out search.Quote
	err := c.http.Do(ctx, httpclient.Call{Op: "Quote", Method: http.MethodPost, Path: pathQuote, Body: req, Out: &out, Idempotent: true})
	return out, err
}

// hotelPath escapes the id so an id cannot reach another route; an empty id
// still names a path, which the server answers as a validation error.
func hotelPath(id string) string { return pathHotels + "/" + segment(id) }

func roomTypePath(id string) string { return pathRoomTypes + "/" + segment(id) }

func segment(id string) string {
	if id == "" {
		return "%20"
	}
	return url.PathEscape(id)
}

func setString(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

func setInt(q url.Values, k string, v int64) {
	if v != 0 {
		q.Set(k, strconv.FormatInt(v, 10))
	}
}

func fieldErr(field, detail string) apperr.FieldError {
	return apperr.FieldError{Field: field, Reason: "invalid", Detail: detail}
}
