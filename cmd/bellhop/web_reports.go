package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/web"
)

// reportFiles gives the dashboard the reporting module's report exports
// (PDF with charts) by calling the module's own route as the signed-in
// user: the route and the service check reports:read as for any API
// client. Where reporting runs in this process the request goes to the
// handler directly; where it is remote, over HTTP to its URL.
type reportFiles struct {
	handler http.Handler
	remote  string // base URL of a remote reporting process ("" here)
	client  *http.Client
}

// maxReportFile bounds a PDF read from a remote process.
const maxReportFile = 32 << 20

func newReportFiles(handler http.Handler, remote string) reportFiles {
	return reportFiles{handler: handler, remote: strings.TrimSuffix(remote, "/"), client: &http.Client{Timeout: 30 * time.Second}}
}

func (r reportFiles) ReportFile(ctx context.Context, req web.ReportFileRequest) (web.ReportFile, error) {
	p, err := authn.RequireUser(ctx)
	if err != nil {
		return web.ReportFile{}, err
	}
	if req.Report != "occupancy" && req.Report != "revenue" {
		return web.ReportFile{}, apperr.NotFound("web.not_found", "there is no such report")
	}
	path := "/api/v1/reports/" + req.Report + "?" + req.Query().Encode()
	var (
		status int
		header http.Header
		body   []byte
	)
	if r.remote == "" {
		hreq := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
		hreq.Header.Set(echo.HeaderAuthorization, "Bearer "+p.Token)
		hreq.RemoteAddr = "127.0.0.1:0"
		rec := httptest.NewRecorder()
		r.handler.ServeHTTP(rec, hreq)
		status, header, body = rec.Code, rec.Header(), rec.Body.Bytes()
	} else {
		hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, r.remote+path, nil)
		if err != nil {
			return web.ReportFile{}, apperr.Internal(err)
		}
		hreq.Header.Set(echo.HeaderAuthorization, "Bearer "+p.Token)
		res, err := r.client.Do(hreq)
		if err != nil {
			return web.ReportFile{}, apperr.Unavailable("reporting.unavailable", "reporting did not answer")
		}
		defer res.Body.Close()
		body, err = io.ReadAll(io.LimitReader(res.Body, maxReportFile))
		if err != nil {
			return web.ReportFile{}, apperr.Unavailable("reporting.unavailable", "reporting did not answer")
		}
		status, header = res.StatusCode, res.Header
	}
	if status != http.StatusOK {
		var prob apperr.Problem
		if err := json.Unmarshal(body, &prob); err == nil && prob.Code != "" {
			return web.ReportFile{}, prob.Err()
		}
		if status == http.StatusNotFound {
			return web.ReportFile{}, apperr.NotFound("web.not_found", "report exports are not served here")
		}
		return web.ReportFile{}, apperr.Internal(fmt.Errorf("report %s: %d", req.Report, status))
	}
	f := web.ReportFile{ContentType: header.Get(echo.HeaderContentType), Data: body}
	if _, params, err := mime.ParseMediaType(header.Get(echo.HeaderContentDisposition)); err == nil {
		f.Filename = params["filename"]
	}
	return f, nil
}

var _ web.ReportFiles = reportFiles{}
