package searchhttp_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/bellhop/bellhop/modules/search/internal/searchfixture"
	"github.com/bellhop/bellhop/modules/search/searchlocal"
	"github.com/bellhop/bellhop/modules/search/searchtest"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn/authntest"
)

// A hotel whose name hides a right-to-left override or whose address holds
// a control character is refused over HTTP with 422 naming each field;
// a description may keep its line breaks.
func TestCreateHotel_RejectsControlAndBidiCharacters(t *testing.T) {
	t.Parallel()
	iss := authntest.NewIssuer(t, searchtest.IssuerName, searchtest.Audience)
	url := serve(t, searchfixture.NewModule(t, searchlocal.Deps{}).Service(), iss) + "/api/v1/hotels"
	token := iss.Token(t, searchtest.Staff, 0)

	post := func(t *testing.T, body map[string]any) (int, apperr.Problem, http.Header) {
		t.Helper()
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		var p apperr.Problem
		if resp.StatusCode >= 400 {
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatalf("problem %s: %v", raw, err)
			}
		}
		return resp.StatusCode, p, resp.Header
	}
	hotel := func(name, address, description string) map[string]any {
		return map[string]any{
			"name": name, "city": "Lisbon", "country": "PT", "address": address,
			"time_zone": "Europe/Lisbon", "stars": 4, "rating": 4.5,
			"description": description, "amenities": []string{"wifi"},
		}
	}

	status, p, _ := post(t, hotel("Hotel \u202Ecod.exe", "Rua\x1b[2J Augusta 1", "Fine."))
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("status = %d (%+v), want 422", status, p)
	}
	got := map[string]string{}
	for _, f := range p.Errors {
		got[f.Field] = f.Reason
	}
	if len(got) != 2 || got["name"] != "safetext" || got["address"] != "safetext" {
		t.Errorf("errors = %+v, want name and address refused as safetext", p.Errors)
	}

	status, p, hdr := post(t, hotel("Hotel Avenida", "Rua Augusta 1", "Two floors.\nSea view."))
	if status != http.StatusCreated && status != http.StatusOK {
		t.Fatalf("clean hotel: status %d (%+v)", status, p)
	}
	if cc := hdr.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
}
