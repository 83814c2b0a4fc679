package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/platform/apperr"
)

// ReportFiles fetches a report as the reporting module exports it (its PDF
// has the charts and the table, laid out for print), as the caller in ctx:
// the module checks reports:read exactly as for an API client. cmd/bellhop
// implements it over the module's HTTP routes, in this process or remote.
type ReportFiles interface {
	ReportFile(ctx context.Context, req ReportFileRequest) (ReportFile, error)
}

// ReportFileRequest names a report, its format and its filters.
type ReportFileRequest struct {
	Report string // "occupancy" or "revenue"
	Format string // "pdf"
	Filter reporting.ReportRequest
}

// ReportFile is an exported report.
type ReportFile struct {
	Filename, ContentType string
	Data                  []byte
}

// Query is the report route's query string for r.
func (r ReportFileRequest) Query() url.Values {
	q := url.Values{"format": {r.Format}, "from": {r.Filter.From.String()}, "to": {r.Filter.To.String()}}
	if r.Filter.HotelID != "" {
		q.Set("hotel_id", r.Filter.HotelID)
	}
	if r.Filter.Granularity != "" {
		q.Set("granularity", r.Filter.Granularity)
	}
	return q
}

// reportPDF downloads the reporting module's PDF of the page's filters.
func (w *Web) reportPDF(which string) echo.HandlerFunc {
	return func(c echo.Context) error {
		if w.d.ReportFiles == nil {
			return w.fail(c, apperr.NotFound("web.not_found", "report PDFs are not available here"))
		}
		q := c.QueryParams()
		d := reportsData{From: q.Get("from"), To: q.Get("to"), HotelID: strings.TrimSpace(q.Get("hotel_id")), Granularity: q.Get("granularity")}
		if d.Granularity == "" {
			d.Granularity = reporting.GranularityNight
		}
		req, err := reportRequestOf(d)
		if err != nil {
			return w.fail(c, err)
		}
		if which == "revenue" && req.Granularity == reporting.GranularityNight {
			req.Granularity = reporting.GranularityMonth // as the page shows it
		}
		f, err := w.d.ReportFiles.ReportFile(c.Request().Context(), ReportFileRequest{Report: which, Format: "pdf", Filter: req})
		if err != nil {
			return w.fail(c, err)
		}
		name := f.Filename
		if name == "" {
			name = which + "-" + req.From.String() + "-" + req.To.String() + ".pdf"
		}
		h := c.Response().Header()
		h.Set(echo.HeaderCacheControl, "private, no-store")
		h.Set(echo.HeaderContentDisposition, attachmentDisposition(name))
		return c.Blob(http.StatusOK, "application/pdf", f.Data)
	}
}
