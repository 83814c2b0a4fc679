package httpserver_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/httpserver"
	"github.com/bellhop/bellhop/platform/httpserver/httpservertest"
)

type strictAudit struct {
	By string `json:"by"`
}

type strictRoom struct {
	Name string     `json:"name"`
	From civil.Date `json:"from"`
}

type strictRequest struct {
	strictAudit
	Guests  int               `json:"guests"`
	CheckIn civil.Date        `json:"check_in"`
	At      *time.Time        `json:"at"`
	Rooms   []strictRoom      `json:"rooms"`
	Labels  map[string]string `json:"labels"`
	Note    any               `json:"note"`
}

func TestBindJSONIsStrict(t *testing.T) {
	t.Parallel()
	url := httpservertest.Serve(t, nil, func(e *echo.Echo) {
		e.POST("/bind", func(c echo.Context) error {
			var req strictRequest
			if err := httpserver.BindJSON(c, &req); err != nil {
				return err
			}
			return c.JSON(200, req)
		})
	}) + "/bind"
	ct := map[string]string{"Content-Type": "application/json"}
	cases := []struct {
		name, body, detail string
		field              apperr.FieldError
	}{
		{name: "key in another case", body: `{"Guests": 2}`,
			detail: `unknown field "Guests"`,
			field:  apperr.FieldError{Field: "Guests", Reason: "unknown", Detail: "no such field"}},
		{name: "nested key in another case", body: `{"rooms": [{"name": "a"}, {"NAME": "b"}]}`,
			detail: `unknown field "rooms.NAME"`,
			field:  apperr.FieldError{Field: "rooms.NAME", Reason: "unknown", Detail: "no such field"}},
		{name: "embedded key in another case", body: `{"By": "x"}`,
			detail: `unknown field "By"`,
			field:  apperr.FieldError{Field: "By", Reason: "unknown", Detail: "no such field"}},
		{name: "duplicate key", body: `{"guests": 1, "guests": 9}`,
			detail: `field "guests" is given more than once`,
			field:  apperr.FieldError{Field: "guests", Reason: "duplicate", Detail: "given more than once"}},
		{name: "duplicate key in another case", body: `{"guests": 1, "guests": 1, "Guests": 9}`,
			detail: `field "guests" is given more than once`,
			field:  apperr.FieldError{Field: "guests", Reason: "duplicate", Detail: "given more than once"}},
		{name: "duplicate nested key", body: `{"rooms": [{"name": "a", "name": "b"}]}`,
			detail: `field "rooms.name" is given more than once`,
			field:  apperr.FieldError{Field: "rooms.name", Reason: "duplicate", Detail: "given more than once"}},
		{name: "duplicate map key", body: `{"labels": {"k": "a", "k": "b"}}`,
			detail: `field "labels.k" is given more than once`,
			field:  apperr.FieldError{Field: "labels.k", Reason: "duplicate", Detail: "given more than once"}},
		{name: "duplicate key in free value", body: `{"note": {"a": 1, "a": 2}}`,
			detail: `field "note.a" is given more than once`,
			field:  apperr.FieldError{Field: "note.a", Reason: "duplicate", Detail: "given more than once"}},
		{name: "date in the wrong format", body: `{"check_in": "03/12/2026"}`,
			detail: `field "check_in" cannot be read: ` + civilErr(t, "03/12/2026"),
			field:  apperr.FieldError{Field: "check_in", Reason: "invalid", Detail: civilErr(t, "03/12/2026")}},
		{name: "nested date in the wrong format", body: `{"rooms": [{"from": "2026-01-02"}, {"from": "tomorrow"}]}`,
			detail: `field "rooms.from" cannot be read: ` + civilErr(t, "tomorrow"),
			field:  apperr.FieldError{Field: "rooms.from", Reason: "invalid", Detail: civilErr(t, "tomorrow")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := problem(t, do(t, http.MethodPost, url, strings.NewReader(tc.body), ct), http.StatusBadRequest)
			if p.Reason != "http.unreadable_body" || p.Detail != tc.detail {
				t.Errorf("reason, detail = %s, %q; want http.unreadable_body, %q", p.Reason, p.Detail, tc.detail)
			}
			if len(p.Errors) != 1 || p.Errors[0] != tc.field {
				t.Errorf("errors = %+v, want [%+v]", p.Errors, tc.field)
			}
		})
	}

	t.Run("time in the wrong format names the field", func(t *testing.T) {
		t.Parallel()
		p := problem(t, do(t, http.MethodPost, url, strings.NewReader(`{"at": "noon"}`), ct), http.StatusBadRequest)
		if len(p.Errors) != 1 || p.Errors[0].Field != "at" || p.Errors[0].Reason != "invalid" {
			t.Errorf("errors = %+v, want one invalid field at", p.Errors)
		}
	})

	t.Run("exact keys bind", func(t *testing.T) {
		t.Parallel()
		body := `{"by":"desk","guests":2,"check_in":"2026-12-03","at":"2026-12-03T10:00:00Z",` +
			`"rooms":[{"name":"a","from":"2026-12-03"},{"name":"b"}],"labels":{"K":"v","k":"w"},"note":{"A":1,"a":2}}`
		r := do(t, http.MethodPost, url, strings.NewReader(body), ct)
		if r.Status != 200 {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		want := `{"by":"desk","guests":2,"check_in":"2026-12-03","at":"2026-12-03T10:00:00Z",` +
			`"rooms":[{"name":"a","from":"2026-12-03"},{"name":"b","from":""}],"labels":{"K":"v","k":"w"},"note":{"A":1,"a":2}}` + "\n"
		if string(r.Body) != want {
			t.Errorf("body\n got %s\nwant %s", r.Body, want)
		}
	})
}

// civilErr is what civil.Date says of s, so the test follows its wording.
func civilErr(t *testing.T, s string) string {
	t.Helper()
	var d civil.Date
	err := d.UnmarshalText([]byte(s))
	if err == nil {
		t.Fatalf("civil.Date accepted %q", s)
	}
	return err.Error()
}
