package httpserver_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/httpserver"
)

// TestRespond mounts routes the way a module's Register does (a group, the
// response helpers, protection as route middleware) and checks each answer.
func TestRespond(t *testing.T) {
	t.Parallel()
	ts := start(t, httpserver.Config{}, httpserver.Deps{Authenticate: testAuth}, func(e *echo.Echo) {
		g := e.Group("")
		signedIn := authn.RequireScopes()
		type thing struct {
			ID string `json:"id"`
		}
		g.GET("/things/:id", func(c echo.Context) error {
			return httpserver.Respond(c, http.StatusOK, thing{ID: c.Param("id")}, nil)
		})
		g.POST("/things", func(c echo.Context) error {
			return httpserver.RespondCreated(c, "/things/th_1", thing{ID: "th_1"}, nil)
		}, signedIn)
		g.POST("/pending", func(c echo.Context) error {
			return httpserver.RespondAt(c, http.StatusAccepted, "/pending/p_1", thing{ID: "p_1"}, nil)
		}, signedIn)
		g.DELETE("/things/:id", func(c echo.Context) error { return httpserver.RespondEmpty(c, nil) }, signedIn)
		g.GET("/sold-out", func(c echo.Context) error {
			return httpserver.Respond(c, http.StatusOK, thing{ID: "ignored"}, errSoldOut)
		})
		g.POST("/sold-out", func(c echo.Context) error {
			return httpserver.RespondCreated(c, "/things/never", thing{}, errSoldOut)
		}, signedIn)
	})
	user := map[string]string{"X-Test-User": "usr_1"}

	ok := get(t, ts.URL+"/things/th_9", nil)
	if ok.Status != http.StatusOK || string(ok.Body) != "{\"id\":\"th_9\"}\n" || ok.Header.Get("Location") != "" {
		t.Fatalf("Respond: %d %q Location %q", ok.Status, ok.Body, ok.Header.Get("Location"))
	}
	for _, c := range []struct {
		path, location string
		status         int
	}{
		{"/things", "/things/th_1", http.StatusCreated},
		{"/pending", "/pending/p_1", http.StatusAccepted},
	} {
		r := do(t, http.MethodPost, ts.URL+c.path, nil, user)
		var got map[string]string
		if err := json.Unmarshal(r.Body, &got); err != nil || r.Status != c.status || r.Header.Get("Location") != c.location || got["id"] == "" {
			t.Fatalf("POST %s: %d %s Location %q (err %v)", c.path, r.Status, r.Body, r.Header.Get("Location"), err)
		}
	}
	if r := do(t, http.MethodDelete, ts.URL+"/things/th_1", nil, user); r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("RespondEmpty: %d %q", r.Status, r.Body)
	}

	// An error is rendered as a problem, and a failed create names no Location.
	if p := problem(t, get(t, ts.URL+"/sold-out", nil), http.StatusConflict); p.Reason != errSoldOut.Reason {
		t.Fatalf("Respond with an error: %+v", p)
	}
	r := do(t, http.MethodPost, ts.URL+"/sold-out", nil, user)
	if p := problem(t, r, http.StatusConflict); p.Reason != errSoldOut.Reason || r.Header.Get("Location") != "" {
		t.Fatalf("RespondCreated with an error: %+v, Location %q", p, r.Header.Get("Location"))
	}

	// Protection is per route: the protected route refuses a stranger, and
	// an unknown path stays a 404 rather than a 401.
	problem(t, do(t, http.MethodPost, ts.URL+"/things", nil, nil), http.StatusUnauthorized)
	problem(t, get(t, ts.URL+"/things", nil), http.StatusMethodNotAllowed)
	problem(t, get(t, ts.URL+"/nothing-here", nil), http.StatusNotFound)
}
