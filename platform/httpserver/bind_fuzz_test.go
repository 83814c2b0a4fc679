package httpserver_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/httpserver"
)

// FuzzBindJSON binds request bodies as clients send them: any bytes give
// either a 400/413 problem that renders as valid JSON, or a value that,
// sent again, binds to the same value (so nothing was half-read, and what
// the handler sees is what a strict reading of the body says).
func FuzzBindJSON(f *testing.F) {
	for _, s := range []string{
		`{"guests":2,"check_in":"2026-05-01","rooms":[{"name":"a","from":"2026-05-02"}],"labels":{"k":"v"},"note":[1,{"x":null}],"by":"me"}`,
		`{"Guests":2}`, `{"guests":1,"guests":2}`, `{"rooms":[{"name":"a","name":"b"}]}`, `{"check_in":"2026-02-30"}`,
		`{"at":"2026-05-01T10:00:00Z"}`, `{} {}`, `[]`, `null`, `{"guests":1e400}`, `{"labels":{"a":1}}`, "{\"by\":\"\xff\"}",
		`{"note":"\ud800"}`, `{"guests":-9223372036854775809}`, `{"rooms":[` + string(bytes.Repeat([]byte("[ "), 100)) + `]}`,
	} {
		f.Add([]byte(s))
	}
	e := echo.New()
	bind := func(body []byte) (strictRequest, error) {
		req := httptest.NewRequest(http.MethodPost, "/bind", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		var out strictRequest
		return out, httpserver.BindJSON(e.NewContext(req, httptest.NewRecorder()), &out)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := bind(body)
		if err != nil {
			ae := apperr.As(err)
			if s := ae.Status(); s != http.StatusBadRequest && s != http.StatusRequestEntityTooLarge {
				t.Fatalf("body %q: status %d (%v)", body, s, err)
			}
			p, jerr := json.Marshal(apperr.ToProblem(err))
			if jerr != nil || !utf8.Valid(p) || !json.Valid(p) {
				t.Fatalf("body %q: the problem does not render: %v", body, jerr)
			}
			return
		}
		again, err := json.Marshal(got)
		if err != nil {
			t.Fatalf("body %q bound to a value that does not marshal: %v", body, err)
		}
		back, err := bind(again)
		if err != nil {
			t.Fatalf("body %q bound, but its value %s does not bind again: %v", body, again, err)
		}
		if !reflect.DeepEqual(normalise(t, got), normalise(t, back)) {
			t.Fatalf("body %q: %s bound again differs:\n%+v\n%+v", body, again, got, back)
		}
	})
}

// normalise is v as generic JSON (maps and float64s), for comparing values
// whose any-typed fields decode to different Go types.
func normalise(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
