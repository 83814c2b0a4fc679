package bookingshttp_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/bookings/bookingstest"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/modules/search/searchtest"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/money"
)

type exchange struct {
	status int
	header http.Header
	body   map[string]any
}

func call(t *testing.T, method, url, token, body string, header ...string) exchange {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out := exchange{status: res.StatusCode, header: res.Header}
	raw, _ := io.ReadAll(res.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			t.Fatalf("%s %s: %d %s", method, url, res.StatusCode, raw)
		}
	}
	return out
}

// The routes speak HTTP as the API description says: 201 with Location for
// a hold, the Idempotency-Key header, problem+json with the reason for
// errors (409 bookings.sold_out, 404 for another guest's booking, 401
// without a token, 400 for an unreadable body).
func TestRoutes(t *testing.T) {
	iss := authntest.NewIssuer(t, bookingstest.IssuerName, bookingstest.Audience)
	m, catalog, _ := newLocal(t)
	base := serve(t, m.Service(), iss)

	staff := authn.WithPrincipal(t.Context(), searchtest.Staff)
	h, err := catalog.CreateHotel(staff, search.CreateHotelRequest{Name: "Porto Inn", City: "Porto", Country: "PT", Address: "Ribeira 2", TimeZone: "Europe/Lisbon", Stars: 3, Rating: 4})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := catalog.CreateRoomType(staff, search.CreateRoomTypeRequest{HotelID: h.ID, Name: "Double", MaxGuests: 2, RoomsTotal: 1, BaseRate: money.New(8000, "EUR")})
	if err != nil {
		t.Fatal(err)
	}
	in := civil.Today(time.UTC).AddDays(15)
	body := fmt.Sprintf(`{"room_type_id":%q,"check_in":%q,"check_out":%q,"guests":2}`, rt.ID, in, in.AddDays(2))
	guest := iss.Token(t, bookingstest.Guest, 0)
	other := iss.Token(t, bookingstest.OtherGuest, 0)

	held := call(t, http.MethodPost, base+"/api/v1/bookings", guest, body, "Idempotency-Key", "abc")
	id, _ := held.body["id"].(string)
	if held.status != http.StatusCreated || held.header.Get("Location") != "/api/v1/bookings/"+id || held.body["status"] != bookings.StatusPending {
		t.Fatalf("hold: %d %v %v", held.status, held.header, held.body)
	}
	again := call(t, http.MethodPost, base+"/api/v1/bookings", guest, body, "Idempotency-Key", "abc")
	if again.status != http.StatusCreated || again.body["id"] != id {
		t.Fatalf("retried hold: %d %v", again.status, again.body)
	}

	for _, tc := range []struct {
		name, method, path, token, body string
		status                          int
		reason                          string
	}{
		{"SoldOut", http.MethodPost, "/api/v1/bookings", other, body, http.StatusConflict, "bookings.sold_out"},
		{"KeyReused", http.MethodPost, "/api/v1/bookings", guest, strings.Replace(body, `"guests":2`, `"guests":1`, 1), http.StatusUnprocessableEntity, "bookings.idempotency_key_reused"},
		{"Unreadable", http.MethodPost, "/api/v1/bookings", guest, `{"room":1}`, http.StatusBadRequest, "http.unreadable_body"},
		{"NoToken", http.MethodGet, "/api/v1/bookings/" + id, "", "", http.StatusUnauthorized, "authn.unauthenticated"},
		{"AnotherGuests", http.MethodGet, "/api/v1/bookings/" + id, other, "", http.StatusNotFound, "bookings.not_found"},
		{"CancelAnotherGuests", http.MethodPost, "/api/v1/bookings/" + id + "/cancel", other, "", http.StatusNotFound, "bookings.not_found"},
		{"BadQuery", http.MethodGet, "/api/v1/bookings?sort=name", guest, "", http.StatusBadRequest, "http.unreadable_query"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var x exchange
			if tc.name == "KeyReused" {
				x = call(t, tc.method, base+tc.path, tc.token, tc.body, "Idempotency-Key", "abc")
			} else {
				x = call(t, tc.method, base+tc.path, tc.token, tc.body)
			}
			if x.status != tc.status || x.body["reason"] != tc.reason || !strings.HasPrefix(x.header.Get("Content-Type"), "application/problem+json") {
				t.Fatalf("%d %v %v, want %d %s", x.status, x.header.Get("Content-Type"), x.body, tc.status, tc.reason)
			}
		})
	}

	list := call(t, http.MethodGet, base+"/api/v1/bookings?status=pending&limit=5", guest, "")
	if got, _ := list.body["bookings"].([]any); list.status != http.StatusOK || len(got) != 1 {
		t.Fatalf("list: %d %v", list.status, list.body)
	}
	cancelled := call(t, http.MethodPost, base+"/api/v1/bookings/"+id+"/cancel", guest, "")
	if cancelled.status != http.StatusOK || cancelled.body["status"] != bookings.StatusCancelled {
		t.Fatalf("cancel: %d %v", cancelled.status, cancelled.body)
	}
}
