package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/web"
)

// The dashboard's report PDFs come from the reporting route as the signed-in
// user, in this process or from a remote reporting over HTTP: the caller's
// token goes along, the file name is kept, and the route's problem comes
// back as the same error.
func TestReportFiles(t *testing.T) {
	t.Parallel()
	route := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/reports/revenue" || r.URL.Query().Get("format") != "pdf" || r.URL.Query().Get("from") != "2026-05-01" ||
			r.URL.Query().Get("hotel_id") != "htl_1" || r.URL.Query().Get("granularity") != "month" {
			http.Error(w, "unexpected "+r.URL.String(), http.StatusBadRequest)
			return
		}
		if r.Header.Get("Authorization") != "Bearer staff-token" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(apperr.ToProblem(authn.ErrForbidden))
			return
		}
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", `attachment; filename="revenue-2026-05-01-2026-06-01.pdf"`)
		_, _ = w.Write([]byte("%PDF-1.4 revenue"))
	})
	remote := httptest.NewServer(route)
	t.Cleanup(remote.Close)
	req := web.ReportFileRequest{Report: "revenue", Format: "pdf", Filter: reporting.ReportRequest{From: civil.MustParse("2026-05-01"),
		To: civil.MustParse("2026-06-01"), HotelID: "htl_1", Granularity: "month"}}
	as := func(token string) context.Context {
		return authn.WithPrincipal(context.Background(), authn.Principal{Subject: "usr_s", Kind: authn.KindUser, Token: token})
	}
	for name, files := range map[string]reportFiles{"in-process": newReportFiles(route, ""), "remote": newReportFiles(nil, remote.URL+"/")} {
		t.Run(name, func(t *testing.T) {
			f, err := files.ReportFile(as("staff-token"), req)
			if err != nil || string(f.Data) != "%PDF-1.4 revenue" || f.Filename != "revenue-2026-05-01-2026-06-01.pdf" || f.ContentType != "application/pdf" {
				t.Fatalf("file %+v, %v", f, err)
			}
			if _, err := files.ReportFile(as("guest-token"), req); apperr.CodeOf(err) != apperr.CodeForbidden {
				t.Errorf("as a guest: %v, want forbidden", err)
			}
			if _, err := files.ReportFile(context.Background(), req); apperr.CodeOf(err) != apperr.CodeUnauthenticated {
				t.Errorf("without a caller: %v, want unauthenticated", err)
			}
		})
	}
	if _, err := newReportFiles(nil, "http://127.0.0.1:1").ReportFile(as("staff-token"), req); apperr.CodeOf(err) != apperr.CodeUnavailable {
		t.Errorf("reporting not answering: %v, want unavailable", err)
	}
}
