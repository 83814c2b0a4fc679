package reportinghttp_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/modules/reporting/reportinghttp"
	"github.com/bellhop/bellhop/modules/reporting/reportinglocal"
	"github.com/bellhop/bellhop/modules/reporting/reportingtest"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/db/dbtest"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/httpclient"
	"github.com/bellhop/bellhop/platform/httpserver/httpservertest"
	"github.com/bellhop/bellhop/platform/pdftext/pdftexttest"
)

// serve hosts a fresh reporting module's routes on a loopback port.
func serve(t *testing.T, iss *authntest.Issuer) (*reportinglocal.Module, string) {
	t.Helper()
	m, err := reportinglocal.New(reportinglocal.Deps{DB: dbtest.Open(t, reporting.Module, reportinglocal.Migrations)})
	if err != nil {
		t.Fatal(err)
	}
	url := httpservertest.Serve(t, iss.Verifier().Middleware(), func(e *echo.Echo) {
		if err := reportinghttp.Register(e.Group(""), m.Service(), reportinghttp.Options{}); err != nil {
			t.Fatal(err)
		}
	})
	return m, url
}

// TestClient runs the reporting contract through reportinghttp.Client over
// loopback: same assertions as in-process.
func TestClient(t *testing.T) {
	t.Parallel()
	reportingtest.RunContract(t, func(t *testing.T, iss *authntest.Issuer) reportingtest.Target {
		m, url := serve(t, iss)
		c, err := reportinghttp.NewClient(url, httpclient.Options{Caller: "test", Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return reportingtest.Target{Service: c, Apply: m.Apply}
	})
}

// A reporting process that is not there is unavailable, quickly.
func TestClient_Unavailable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := reportinghttp.NewClient("http://"+addr, httpclient.Options{Caller: "test", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetDocument(context.Background(), reporting.GetDocumentRequest{ID: "doc_1"})
	if !errors.Is(err, apperr.UnavailableAny) {
		t.Fatalf("err = %v, want unavailable", err)
	}
}

type caller struct {
	t     *testing.T
	base  string
	token string
}

func (c caller) get(path string, hdr ...string) (*http.Response, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

// The routes as a browser or curl sees them: the PDF with its headers and
// ETag, 304, 404 for another guest, 403 for a guest on a report, 422 naming
// the bad filter, CSV that encoding/csv reads, and report PDFs.
func TestRoutes(t *testing.T) {
	t.Parallel()
	iss := authntest.NewIssuer(t, reportingtest.IssuerName, reportingtest.Audience)
	m, base := serve(t, iss)
	tok := func(p authn.Principal) string { return iss.Token(t, p, time.Hour) }
	staff := caller{t, base, tok(reportingtest.Staff)}
	guest := caller{t, base, tok(reportingtest.Guest)}
	other := caller{t, base, tok(reportingtest.Other)}

	st := reportingtest.Zurich
	st.BookingID, st.PaymentID = "bkg_http", "pay_http"
	st.HotelName = "Hotel 東京 Zürich" // report PDFs print names in any script
	st.CheckIn, st.Prices = civil.MustParse("2026-05-01"), []int64{18000, 18000}
	st.HeldAt = time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)
	st.PaidAt = st.HeldAt.Add(time.Minute)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, e := range []events.Event{
		reportingtest.RoomTypeEvent(t, "created", st.RoomTypeID, st.HotelID, st.HotelName, st.CityID, st.City, st.TimeZone, 6, "CHF", at),
		reportingtest.BookingEvent(t, "bellhop.booking.held.v1", st, "pending", st.HeldAt, 0, 0),
		reportingtest.BookingEvent(t, "bellhop.booking.confirmed.v1", st, "confirmed", st.PaidAt, 0, 0),
	} {
		if err := m.Apply(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}

	res, body := guest.get("/api/v1/bookings/bkg_http/documents")
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"kind":"receipt"`) {
		t.Fatalf("list: %d %s", res.StatusCode, body)
	}
	var list reporting.DocumentList
	reportingtest.Decode(t, body, &list)
	docPath := "/api/v1/documents/" + list.Documents[0].ID

	t.Run("PDF", func(t *testing.T) {
		res, body := guest.get(docPath)
		etag := res.Header.Get("ETag")
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(body, []byte("%PDF-")) ||
			etag != `"`+list.Documents[0].SHA256+`"` ||
			res.Header.Get("Content-Disposition") != `attachment; filename="`+list.Documents[0].Filename+`"` {
			t.Fatalf("%d %v", res.StatusCode, res.Header)
		}
		res, body = guest.get(docPath, "If-None-Match", etag)
		if res.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Fatalf("If-None-Match: %d, %d bytes", res.StatusCode, len(body))
		}
	})
	t.Run("OtherGuest404", func(t *testing.T) {
		for _, p := range []string{docPath, "/api/v1/bookings/bkg_http/documents"} {
			if res, body := other.get(p); res.StatusCode != http.StatusNotFound || !strings.Contains(res.Header.Get("Content-Type"), "problem+json") {
				t.Fatalf("%s: %d %s", p, res.StatusCode, body)
			}
		}
	})
	t.Run("Guest403", func(t *testing.T) {
		for _, p := range []string{"/api/v1/reports/occupancy", "/api/v1/reports/revenue", "/api/v1/reports/booking-behaviour"} {
			if res, body := guest.get(p + "?from=2026-05-01&to=2026-05-03"); res.StatusCode != http.StatusForbidden {
				t.Fatalf("%s: %d %s", p, res.StatusCode, body)
			}
		}
	})
	t.Run("422", func(t *testing.T) {
		for q, field := range map[string]string{
			"from=2026-05-03&to=2026-05-01":                    `"field":"to"`,
			"from=2024-01-01&to=2026-05-01":                    `"field":"to"`,
			"from=2026-05-01&to=2026-05-03&hotel_id=htl_nope":  `"field":"hotel_id"`,
			"from=2026-05-01&to=2026-05-03&granularity=hourly": `"field":"granularity"`,
			"from=2026-05-01&to=2026-05-03&format=xlsx":        `"field":"format"`,
		} {
			res, body := staff.get("/api/v1/reports/occupancy?" + q)
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), field) {
				t.Fatalf("%s: %d %s", q, res.StatusCode, body)
			}
		}
	})
	t.Run("CSV", func(t *testing.T) {
		for _, get := range []func() (*http.Response, []byte){
			func() (*http.Response, []byte) {
				return staff.get("/api/v1/reports/occupancy?from=2026-05-01&to=2026-05-04", "Accept", "text/csv")
			},
			func() (*http.Response, []byte) {
				return staff.get("/api/v1/reports/occupancy?from=2026-05-01&to=2026-05-04&format=csv")
			},
		} {
			res, body := get()
			if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
				t.Fatalf("%d %v", res.StatusCode, res.Header)
			}
			recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 4 || recs[0][0] != "period_start" || recs[1][3] != st.HotelID || recs[1][4] != st.HotelName ||
				recs[1][6] != "6" || recs[1][7] != "1" || recs[1][8] != "16.67" || recs[1][9] != "180.00" || recs[3][7] != "0" {
				t.Fatalf("csv = %q", recs)
			}
		}
		for _, p := range []string{"revenue?from=2026-04-01&to=2026-05-01", "booking-behaviour?from=2026-04-01&to=2026-05-01"} {
			res, body := staff.get("/api/v1/reports/"+p, "Accept", "text/csv")
			recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
			if res.StatusCode != http.StatusOK || err != nil || len(recs) < 2 {
				t.Fatalf("%s: %d %v %q", p, res.StatusCode, err, recs)
			}
		}
	})
	t.Run("ReportPDF", func(t *testing.T) {
		for _, p := range []string{"occupancy?from=2026-05-01&to=2026-05-04", "revenue?from=2026-04-01&to=2026-05-01",
			"booking-behaviour?from=2026-04-01&to=2026-05-01&as_of=2026-04-30&pace_days=7"} {
			res, body := staff.get("/api/v1/reports/" + p + "&format=pdf")
			if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(body, []byte("%PDF-")) {
				t.Fatalf("%s: %d %v", p, res.StatusCode, res.Header)
			}
			if text := pdftexttest.Text(t, body); strings.HasPrefix(p, "occupancy") && !strings.Contains(text, st.HotelName) {
				t.Errorf("%s: %q not in the PDF's text:\n%s", p, st.HotelName, text)
			}
		}
	})
}
