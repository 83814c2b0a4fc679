package reportinghttp

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/httpclient"
)

// Client is reporting.Service over HTTP, for processes that do not host
// reporting. Errors come back as the same apperr values (errors.Is works);
// a reporting process that cannot be reached is apperr code unavailable.
type Client struct {
	http *httpclient.Client
}

var _ reporting.Service = (*Client)(nil)

// NewClient calls the reporting module at baseURL (e.g. http://127.0.0.1:8105).
func NewClient(baseURL string, opts httpclient.Options) (*Client, error) {
	opts.Callee = reporting.Module
	hc, err := httpclient.New(baseURL, opts)
	if err != nil {
		return nil, err
	}
	return &Client{http: hc}, nil
}

// ListDocuments implements reporting.Service.
func (c *Client) ListDocuments(ctx context.Context, req reporting.ListDocumentsRequest) (reporting.DocumentList, error) {
	var out reporting.DocumentList
	err := c.http.Do(ctx, httpclient.Call{Op: "ListDocuments", Path: pathBookings + "/" + segment(req.BookingID) + "/documents", Out: &out})
	return out, err
}

// GetDocument implements reporting.Service: one call for the metadata and
// the PDF (the route's JSON form).
func (c *Client) GetDocument(ctx context.Context, req reporting.GetDocumentRequest) (reporting.Document, error) {
	var out documentJSON
	err := c.http.Do(ctx, httpclient.Call{Op: "GetDocument", Path: pathDocuments + "/" + segment(req.ID), Out: &out,
		Header: http.Header{"Accept": {mediaJSON}}})
	return reporting.Document{DocumentInfo: out.DocumentInfo, PDF: out.PDF}, err
}

// Occupancy implements reporting.Service.
func (c *Client) Occupancy(ctx context.Context, req reporting.ReportRequest) (reporting.OccupancyReport, error) {
	var out reporting.OccupancyReport
	err := c.http.Do(ctx, httpclient.Call{Op: "Occupancy", Path: pathOccupancy, Query: reportQueryOf(req), Out: &out})
	return out, err
}

// Revenue implements reporting.Service.
func (c *Client) Revenue(ctx context.Context, req reporting.ReportRequest) (reporting.RevenueReport, error) {
	var out reporting.RevenueReport
	err := c.http.Do(ctx, httpclient.Call{Op: "Revenue", Path: pathRevenue, Query: reportQueryOf(req), Out: &out})
	return out, err
}

// BookingBehaviour implements reporting.Service.
func (c *Client) BookingBehaviour(ctx context.Context, req reporting.BehaviourRequest) (reporting.BehaviourReport, error) {
	q := url.Values{}
	setDate(q, "from", req.From)
	setDate(q, "to", req.To)
	setDate(q, "as_of", req.AsOf)
	setString(q, "hotel_id", req.HotelID)
	setString(q, "city_id", req.CityID)
	if req.PaceDays != 0 {
		q.Set("pace_days", strconv.Itoa(req.PaceDays))
	}
	var out reporting.BehaviourReport
	err := c.http.Do(ctx, httpclient.Call{Op: "BookingBehaviour", Path: pathBehaviour, Query: q, Out: &out})
	return out, err
}

func reportQueryOf(req reporting.ReportRequest) url.Values {
	q := url.Values{}
	setDate(q, "from", req.From)
	setDate(q, "to", req.To)
	setString(q, "hotel_id", req.HotelID)
	setString(q, "room_type_id", req.RoomTypeID)
	setString(q, "city_id", req.CityID)
	setString(q, "group_by", req.GroupBy)
	setString(q, "granularity", req.Granularity)
	return q
}

func setDate(q url.Values, k string, d civil.Date) {
	if !d.IsZero() {
		q.Set(k, d.String())
	}
}

func setString(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

// segment escapes an id for a path; an empty or blank one still names a
// path, which the server answers as a validation error.
func segment(id string) string {
	if id == "" {
		return "%20"
	}
	return url.PathEscape(id)
}
