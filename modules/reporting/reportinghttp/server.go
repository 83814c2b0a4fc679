// Package reportinghttp is the reporting module's HTTP transport: Register
// mounts its routes on any process that has a reporting.Service, and Client
// implements reporting.Service by calling those routes, so callers cannot
// tell the two apart.
package reportinghttp

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/httpserver"
)

// Routes, shared by the server and the client.
const (
	pathBookings  = "/api/v1/bookings"
	pathDocuments = "/api/v1/documents"
	pathOccupancy = "/api/v1/reports/occupancy"
	pathRevenue   = "/api/v1/reports/revenue"
	pathBehaviour = "/api/v1/reports/booking-behaviour"
)

// Media types the routes answer with.
const (
	mediaPDF  = "application/pdf"
	mediaCSV  = "text/csv"
	mediaJSON = "application/json"
)

// Options configure the routes (none yet: the shape every module shares).
type Options struct{}

// Register mounts the reporting routes on g (the process's root group).
// Document routes need a user (the service decides whose documents they
// see); report routes need a token with reports:read, which the service
// checks again, so the rules hold in-process too.
func Register(g *echo.Group, svc reporting.Service, _ Options) error {
	if g == nil || svc == nil {
		return fmt.Errorf("reportinghttp: a group and a service are required")
	}
	h := handlers{svc: svc}
	reports := authn.RequireScopes(reporting.ScopeReportsRead)
	g.GET(pathBookings+"/:id/documents", h.listDocuments)
	g.GET(pathDocuments+"/:id", h.getDocument)
	g.GET(pathOccupancy, h.occupancy, reports)
	g.GET(pathRevenue, h.revenue, reports)
	g.GET(pathBehaviour, h.behaviour, reports)
	return nil
}

type handlers struct{ svc reporting.Service }

func (h handlers) listDocuments(c echo.Context) error {
	res, err := h.svc.ListDocuments(c.Request().Context(), reporting.ListDocumentsRequest{BookingID: c.Param("id")})
	return httpserver.Respond(c, http.StatusOK, res, err)
}

// documentJSON is a document with its PDF in base64: what Client asks for
// (Accept: application/json) to get both in one call.
type documentJSON struct {
	reporting.DocumentInfo
	PDF []byte `json:"pdf"`
}

// getDocument serves the PDF as issued, with its SHA-256 as a strong ETag
// (If-None-Match answers 304), or the document as JSON when asked.
func (h handlers) getDocument(c echo.Context) error {
	doc, err := h.svc.GetDocument(c.Request().Context(), reporting.GetDocumentRequest{ID: c.Param("id")})
	if err != nil {
		return err
	}
	etag := `"` + doc.SHA256 + `"`
	hdr := c.Response().Header()
	hdr.Set("ETag", etag)
	hdr.Set("Cache-Control", "private, max-age=0, must-revalidate")
	if etagMatches(c.Request().Header.Get("If-None-Match"), etag) {
		return c.NoContent(http.StatusNotModified)
	}
	if wantsJSON(c.Request().Header.Get("Accept")) {
		return c.JSON(http.StatusOK, documentJSON{DocumentInfo: doc.DocumentInfo, PDF: doc.PDF})
	}
	hdr.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, doc.Filename))
	return c.Blob(http.StatusOK, mediaPDF, doc.PDF)
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || t == etag || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

func wantsJSON(accept string) bool {
	return strings.Contains(accept, mediaJSON) && !strings.Contains(accept, mediaPDF)
}

// reportQuery is a report's filters plus the answer's format.
type reportQuery struct {
	reporting.ReportRequest
	Format string `query:"format"`
}

type behaviourQuery struct {
	reporting.BehaviourRequest
	Format string `query:"format"`
}

var errBadFormat = apperr.Invalid("reporting.invalid_filter", "the report filters are not valid")

// format is json, csv or pdf: the format parameter, else the Accept header.
func format(c echo.Context, param string) (string, error) {
	switch strings.ToLower(param) {
	case "json", "csv", "pdf":
		return strings.ToLower(param), nil
	case "":
	default:
		return "", errBadFormat.WithFields(apperr.FieldError{Field: "format", Reason: "oneof", Detail: "must be one of json, csv, pdf"})
	}
	accept := c.Request().Header.Get("Accept")
	switch {
	case strings.Contains(accept, mediaCSV):
		return "csv", nil
	case strings.Contains(accept, mediaPDF):
		return "pdf", nil
	}
	return "json", nil
}

func (h handlers) occupancy(c echo.Context) error {
	var q reportQuery
	return serveReport(c, &q, &q.Format, func(ctx context.Context) (reporting.OccupancyReport, error) {
		return h.svc.Occupancy(ctx, q.ReportRequest)
	}, reportFormats[reporting.OccupancyReport]{
		name: func(r reporting.OccupancyReport) string { return fmt.Sprintf("occupancy-%s-%s", r.From, r.To) },
		csv:  occupancyCSV, pdf: occupancyPDF,
	})
}

func (h handlers) revenue(c echo.Context) error {
	var q reportQuery
	return serveReport(c, &q, &q.Format, func(ctx context.Context) (reporting.RevenueReport, error) {
		return h.svc.Revenue(ctx, q.ReportRequest)
	}, reportFormats[reporting.RevenueReport]{
		name: func(r reporting.RevenueReport) string { return fmt.Sprintf("revenue-%s-%s", r.From, r.To) },
		csv:  revenueCSV, pdf: revenuePDF,
	})
}

func (h handlers) behaviour(c echo.Context) error {
	var q behaviourQuery
	return serveReport(c, &q, &q.Format, func(ctx context.Context) (reporting.BehaviourReport, error) {
		return h.svc.BookingBehaviour(ctx, q.BehaviourRequest)
	}, reportFormats[reporting.BehaviourReport]{
		name: func(r reporting.BehaviourReport) string { return fmt.Sprintf("booking-behaviour-%s-%s", r.From, r.To) },
		csv:  behaviourCSV, pdf: behaviourPDF,
	})
}

// reportFormats draws one kind of report as a file: its name, and its CSV
// and PDF forms (JSON is the report itself).
type reportFormats[R any] struct {
	name func(R) string
	csv  func(R) table
	pdf  func(R) reportDoc
}

// serveReport is every report route: bind the query into q (whose format
// parameter is *formatParam), fetch the report, answer it as JSON, CSV or PDF.
func serveReport[R any](c echo.Context, q any, formatParam *string, fetch func(context.Context) (R, error), f reportFormats[R]) error {
	if err := httpserver.BindQuery(c, q); err != nil {
		return err
	}
	kind, err := format(c, *formatParam)
	if err != nil {
		return err
	}
	res, err := fetch(c.Request().Context())
	if err != nil {
		return err
	}
	switch kind {
	case "csv":
		return writeCSV(c, f.name(res), f.csv(res))
	case "pdf":
		return writePDF(c, f.name(res), f.pdf(res))
	}
	return c.JSON(http.StatusOK, res)
}

// table is a report as rows of text: a header, then one record per row.
type table struct {
	header []string
	rows   func(yield func([]string) bool)
}

// writeCSV streams t as RFC 4180 CSV (CRLF line ends, quoted as needed),
// flushing as it goes.
func writeCSV(c echo.Context, name string, t table) error {
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8; header=present")
	res.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.csv"`, name))
	res.WriteHeader(http.StatusOK)
	w := csv.NewWriter(res)
	w.UseCRLF = true
	if err := w.Write(t.header); err != nil {
		return nil // the client went away; the status is sent
	}
	n := 0
	for rec := range t.rows {
		if err := w.Write(rec); err != nil {
			return nil
		}
		if n++; n%256 == 0 {
			w.Flush()
			res.Flush()
		}
	}
	w.Flush()
	return nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

func occupancyCSV(r reporting.OccupancyReport) table {
	return table{
		header: []string{"period_start", "period_end", "group_by", "group", "name", "currency", "rooms_available", "rooms_sold",
			"occupancy_pct", "room_revenue", "adr", "revpar", "arrivals", "departures"},
		rows: func(yield func([]string) bool) {
			for _, x := range r.Rows {
				if !yield([]string{x.PeriodStart.String(), x.PeriodEnd.String(), r.GroupBy, x.Group, x.Name, x.Currency,
					itoa(x.RoomsAvailable), itoa(x.RoomsSold), ftoa(x.Occupancy), x.RoomRevenue.Decimal(), x.ADR.Decimal(),
					x.RevPAR.Decimal(), itoa(x.Arrivals), itoa(x.Departures)}) {
					return
				}
			}
		},
	}
}

func revenueCSV(r reporting.RevenueReport) table {
	return table{
		header: []string{"period_start", "period_end", "group_by", "group", "name", "currency", "bookings", "gross", "refunds",
			"fees_kept", "net", "tax"},
		rows: func(yield func([]string) bool) {
			for _, x := range r.Rows {
				if !yield([]string{x.PeriodStart.String(), x.PeriodEnd.String(), r.GroupBy, x.Group, x.Name, x.Currency,
					itoa(x.Bookings), x.Gross.Decimal(), x.Refunds.Decimal(), x.FeesKept.Decimal(), x.Net.Decimal(), x.Tax.Decimal()}) {
					return
				}
			}
		},
	}
}

// behaviourCSV has one section per measure: figure, value (and for the
// pace, a row per night).
func behaviourCSV(r reporting.BehaviourReport) table {
	return table{
		header: []string{"measure", "key", "value", "last_year_key", "last_year_value"},
		rows: func(yield func([]string) bool) {
			rows := [][]string{
				{"bookings", "", itoa(r.Bookings), "", ""},
				{"confirmed", "", itoa(r.Confirmed), "", ""},
				{"cancelled", "", itoa(r.Cancelled), "", ""},
				{"expired", "", itoa(r.Expired), "", ""},
				{"rejected", "", itoa(r.Rejected), "", ""},
				{"avg_lead_time_days", "", ftoa(r.AvgLeadTimeDays), "", ""},
				{"avg_length_of_stay", "", ftoa(r.AvgLengthOfStay), "", ""},
				{"cancellation_rate_pct", "", ftoa(r.CancellationRate), "", ""},
				{"rooms_on_books", r.PaceAsOf.String(), itoa(r.RoomsOnBooks), r.PaceLastYearAsOf.String(), itoa(r.RoomsOnBooksLastY)},
			}
			for _, b := range r.LeadTimeBuckets {
				rows = append(rows, []string{"lead_time", b.Label, itoa(b.Count), "", ""})
			}
			for _, b := range r.LengthOfStay {
				rows = append(rows, []string{"length_of_stay", b.Label, itoa(b.Count), "", ""})
			}
			for _, p := range r.Pace {
				rows = append(rows, []string{"pace", p.Night.String(), itoa(p.RoomsOnBooks), p.LastYearNight.String(), itoa(p.LastYearRooms)})
			}
			for _, row := range rows {
				if !yield(row) {
					return
				}
			}
		},
	}
}
