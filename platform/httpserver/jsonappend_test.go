package httpserver_test

import (
	"bytes"
	"math"
	"net/http"
	"strconv"
	"testing"

	json "github.com/goccy/go-json"
	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/platform/httpserver"
)

// selfEncoded writes its own JSON (httpserver.JSONAppender) unless Refuse.
type selfEncoded struct {
	Name   string `json:"name"`
	Refuse bool   `json:"refuse"`
}

func (s selfEncoded) AppendJSON(b []byte) ([]byte, bool) {
	if s.Refuse {
		return append(b, "garbage"...), false
	}
	b = append(b, `{"name":`...)
	b = httpserver.AppendJSONString(b, s.Name)
	return append(b, `,"refuse":false,"by":"itself"}`...), true
}

// TestServe_JSONAppender: an answer that encodes itself is sent as it wrote
// it (with the newline and Content-Length of every JSON answer); one that
// gives up is sent by the generic encoder, with nothing of what it appended.
func TestServe_JSONAppender(t *testing.T) {
	t.Parallel()
	ts := start(t, httpserver.Config{}, httpserver.Deps{}, func(e *echo.Echo) {
		e.GET("/self", func(c echo.Context) error {
			return httpserver.Respond(c, http.StatusOK, selfEncoded{Name: "a<b"}, nil)
		})
		e.GET("/refused", func(c echo.Context) error {
			return httpserver.Respond(c, http.StatusOK, selfEncoded{Name: "a<b", Refuse: true}, nil)
		})
	})
	for path, want := range map[string]string{
		"/self":    `{"name":"a\u003cb","refuse":false,"by":"itself"}` + "\n",
		"/refused": `{"name":"a\u003cb","refuse":true}` + "\n",
	} {
		r := get(t, ts.URL+path, nil)
		if r.Status != http.StatusOK || string(r.Body) != want ||
			r.Header.Get("Content-Length") != strconv.Itoa(len(want)) || r.Header.Get("Content-Type") != echo.MIMEApplicationJSON {
			t.Errorf("GET %s: %d %q (Content-Length %s, Content-Type %s), want %q",
				path, r.Status, r.Body, r.Header.Get("Content-Length"), r.Header.Get("Content-Type"), want)
		}
	}
}

// FuzzAppendJSON checks the appenders against the generic encoder, byte for byte.
func FuzzAppendJSON(f *testing.F) {
	for _, s := range []string{"", "plain ascii", "Zürich & <Spa>", `"\`, "\x00\x08\x0c\x1f\x7f\t\n\r", "\u2028\u2029",
		"\xff\xe2\x82", "😀 long enough to take the eight-byte path twice over"} {
		f.Add(s, 3.5)
	}
	for _, x := range []float64{0, math.Copysign(0, -1), 1e-6, 9.99e-7, 1e21, 1e20, -123.456, math.MaxFloat64, 5e-324} {
		f.Add("x", x)
	}
	f.Fuzz(func(t *testing.T, s string, x float64) {
		want, _ := json.Marshal(s)
		if got := httpserver.AppendJSONString([]byte("[:"), s); !bytes.Equal(got[2:], want) || string(got[:2]) != "[:" {
			t.Errorf("AppendJSONString(%q) = %s, want %s", s, got, want)
		}
		want, err := json.Marshal(x)
		got, ok := httpserver.AppendJSONFloat(nil, x)
		if ok != (err == nil) || (ok && !bytes.Equal(got, want)) {
			t.Errorf("AppendJSONFloat(%v) = %s %v, want %s %v", x, got, ok, want, err)
		}
	})
}
