package main_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
)

// Search runs as its own process and the gateway calls it over HTTP: the
// answers are the same as search's own; when search stops the gateway
// answers 503 problem+json fast, and it recovers when search is back.
func TestSplitMode_Search(t *testing.T) {
	auth := newTestAuth(t)
	env := append(auth.env(), "BELLHOP_EVENTS_NATS_URL="+startNATS(t))
	dir := seededDataDir(t)
	searchProc := start(t, env, "--only", "search", "--data-dir", dir)
	gwEnv := append(env, "BELLHOP_HTTP_CLIENT_BREAKER_OPEN_TIMEOUT=1s")
	gw := start(t, gwEnv, "--remote", "search="+searchProc.URL, "--data-dir", t.TempDir())

	in, out := stay()
	var page search.SearchResult
	call(t, "GET", gw.URL+"/api/v1/hotels?"+query("city", "porto", "check_in", in, "check_out", out, "guests", "2", "limit", "5"), "", nil, &page)
	if len(page.Hotels) != 5 || page.NextCursor == "" {
		t.Fatalf("gateway search: %+v", page)
	}
	paths := []string{
		"/api/v1/cities?prefix=s",
		"/api/v1/hotels?" + query("city", "porto", "check_in", in, "check_out", out, "guests", "2", "limit", "5"),
		"/api/v1/hotels?" + query("city", "porto", "check_in", in, "check_out", out, "guests", "2", "limit", "5", "cursor", page.NextCursor),
		"/api/v1/hotels?" + query("city", "Tokyo", "check_in", in, "check_out", out, "sort", "rating", "max_price", "20000"),
		"/api/v1/hotels/" + page.Hotels[0].ID,
		"/api/v1/hotels/htl_missing",
		"/api/v1/hotels?" + query("city", "Atlantis", "check_in", in, "check_out", out),
		"/api/v1/hotels?" + query("city", "porto", "check_in", out, "check_out", in),
	}
	for _, path := range paths {
		direct, viaGateway := answer(t, searchProc.URL+path), answer(t, gw.URL+path)
		if !reflect.DeepEqual(direct, viaGateway) {
			t.Errorf("%s:\n direct  %v\n gateway %v", path, direct, viaGateway)
		}
	}

	// A staff write through the gateway reaches search with the caller's token.
	staff := auth.iss.Token(t, authn.Principal{Subject: "usr_staff", Roles: []string{"staff"}, Scopes: []string{search.ScopeCatalogWrite}}, 0)
	var h search.Hotel
	res := call(t, "PATCH", gw.URL+"/api/v1/hotels/"+page.Hotels[0].ID, staff, strings.NewReader(`{"name":"Renamed Through The Gateway"}`), &h)
	if res.StatusCode != 200 || h.Name != "Renamed Through The Gateway" {
		t.Fatalf("patch via gateway: %d %+v", res.StatusCode, h)
	}
	call(t, "GET", searchProc.URL+"/api/v1/hotels/"+h.ID, "", nil, &h)
	if h.Name != "Renamed Through The Gateway" {
		t.Fatalf("search process did not see the change: %+v", h)
	}
	guest := auth.iss.Token(t, authn.Principal{Subject: "usr_guest", Roles: []string{"guest"}}, 0)
	if res := call(t, "PATCH", gw.URL+"/api/v1/hotels/"+h.ID, guest, strings.NewReader(`{"name":"x"}`), nil); res.StatusCode != 403 {
		t.Fatalf("guest write via gateway: %d", res.StatusCode)
	}
	if !strings.Contains(fetchText(t, gw.URL+"/metrics"), `bellhop_edge_calls_total{callee="search",caller="api",code="ok",location="remote",method="SearchHotels"}`) {
		t.Error("gateway metrics lack the remote edge")
	}

	// Search goes away: the gateway answers 503 problem+json, in under a second once the breaker is open.
	searchProc.stop(t)
	hotelsPath := gw.URL + "/api/v1/hotels?" + query("city", "porto", "check_in", in, "check_out", out)
	var slowest time.Duration
	for i := range 10 {
		began := time.Now()
		var prob apperr.Problem
		res := call(t, "GET", hotelsPath, "", nil, &prob)
		took := time.Since(began)
		if res.StatusCode != 503 || prob.Code != apperr.CodeUnavailable || prob.Reason != "search.unavailable" ||
			!strings.HasPrefix(res.Header.Get("Content-Type"), apperr.ProblemMediaType) {
			t.Fatalf("call %d with search down: %d %+v", i, res.StatusCode, prob)
		}
		if i >= 5 { // the breaker has seen enough failures to be open
			slowest = max(slowest, took)
		}
	}
	if slowest > time.Second {
		t.Fatalf("503 took %s with the breaker open", slowest)
	}
	if res := call(t, "GET", gw.URL+"/readyz", "", nil, nil); res.StatusCode != 200 {
		t.Fatalf("gateway readyz = %d: a remote outage must not take the gateway out of rotation", res.StatusCode)
	}

	// Search comes back on the same address: the gateway recovers.
	start(t, env, "--only", "search", "--data-dir", dir, "--addr", searchProc.Addr)
	deadline := time.Now().Add(15 * time.Second)
	for {
		var again search.SearchResult
		res := call(t, "GET", hotelsPath, "", nil, &again)
		if res.StatusCode == 200 && len(again.Hotels) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway did not recover: %d", res.StatusCode)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// answer is the status and JSON body of a GET, without the per-request id.
func answer(t *testing.T, u string) map[string]any {
	t.Helper()
	var body map[string]any
	res := call(t, "GET", u, "", nil, &body)
	delete(body, "request_id")
	b, _ := json.Marshal(body)
	return map[string]any{"status": res.StatusCode, "body": string(b)}
}
