package main

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/httpserver"
)

var errBadDeadLetterID = apperr.Invalid("events.invalid_dead_letter_id", "a dead letter id looks like search-12")

// eventsAdmin serves admins the event backbone as this process sees it: the
// dead letters of the consumers hosted here (each module keeps its own in its
// database) and the most recent events on the backbone from any process.
//
//	GET  /api/v1/admin/events/dead-letters
//	POST /api/v1/admin/events/dead-letters/{id}/replay
//	GET  /api/v1/admin/events/recent?limit=50
type eventsAdmin struct {
	bus     *events.Bus
	monitor *events.Monitor
	dbs     map[string]*gorm.DB // hosted module → its database
}

// deadLetterView is a dead letter as admins see it; its id names the module
// whose database holds it.
type deadLetterView struct {
	ID         string     `json:"id"`
	Module     string     `json:"module"`
	Consumer   string     `json:"consumer"`
	EventID    string     `json:"event_id"`
	Type       string     `json:"type"`
	Subject    string     `json:"subject"`
	Error      string     `json:"error"`
	Attempts   int        `json:"attempts"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	ReplayedAt *time.Time `json:"replayed_at,omitempty"`
}

func (a eventsAdmin) register(e *echo.Echo) {
	admin := authn.RequireRoles(authn.RoleAdmin)
	e.GET("/api/v1/admin/events/dead-letters", a.list, admin)
	e.POST("/api/v1/admin/events/dead-letters/:id/replay", a.replay, admin)
	e.GET("/api/v1/admin/events/recent", a.recent, admin)
}

func (a eventsAdmin) recent(c echo.Context) error {
	if err := requireAdmin(c); err != nil {
		return err
	}
	var q struct {
		Limit int `query:"limit"`
	}
	if err := httpserver.BindQuery(c, &q); err != nil {
		return err
	}
	if q.Limit == 0 {
		q.Limit = 50
	}
	if q.Limit < 1 || q.Limit > 500 {
		return apperr.Invalid("events.invalid_request", "the request has invalid values").WithFields(
			apperr.FieldError{Field: "limit", Reason: "range", Detail: "must be between 1 and 500"})
	}
	return c.JSON(http.StatusOK, map[string]any{"events": a.monitor.Recent(q.Limit)})
}

// requireAdmin re-checks the role where the work is done, not only in the route.
func requireAdmin(c echo.Context) error {
	_, err := authn.RequireRole(c.Request().Context(), authn.RoleAdmin)
	return err
}

func (a eventsAdmin) list(c echo.Context) error {
	if err := requireAdmin(c); err != nil {
		return err
	}
	modules := make([]string, 0, len(a.dbs))
	for m := range a.dbs {
		modules = append(modules, m)
	}
	slices.Sort(modules)
	out := []deadLetterView{}
	for _, m := range modules {
		dls, err := events.ListDeadLetters(c.Request().Context(), a.dbs[m])
		if err != nil {
			return apperr.Internal(err)
		}
		for _, dl := range dls {
			out = append(out, deadLetterView{
				ID: m + "-" + strconv.FormatInt(dl.ID, 10), Module: m, Consumer: dl.Consumer, EventID: dl.EventID,
				Type: dl.Type, Subject: dl.Subject, Error: dl.Error, Attempts: dl.Attempts,
				CreatedAt: dl.CreatedAt, UpdatedAt: dl.UpdatedAt, ReplayedAt: dl.ReplayedAt,
			})
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"dead_letters": out})
}

func (a eventsAdmin) replay(c echo.Context) error {
	if err := requireAdmin(c); err != nil {
		return err
	}
	id := c.Param("id")
	i := strings.LastIndexByte(id, '-')
	if i <= 0 {
		return errBadDeadLetterID.WithFields(apperr.FieldError{Field: "id", Reason: "format", Detail: "must be <module>-<number>"})
	}
	n, err := strconv.ParseInt(id[i+1:], 10, 64)
	if err != nil || n < 1 {
		return errBadDeadLetterID.WithFields(apperr.FieldError{Field: "id", Reason: "format", Detail: "must end in a positive number"})
	}
	db, ok := a.dbs[id[:i]]
	if !ok {
		return events.ErrDeadLetterNotFound
	}
	if err := a.bus.Replay(c.Request().Context(), db, n); err != nil {
		if apperr.CodeOf(err) == apperr.CodeInternal {
			// The handler failed again: the dead letter keeps the new error.
			return apperr.Conflict("events.replay_failed", "the event's handler failed again; see the dead letter's error").WithCause(err)
		}
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"id": id, "replayed": true})
}
