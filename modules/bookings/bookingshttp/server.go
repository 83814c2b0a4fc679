// Package bookingshttp is the bookings module's HTTP transport: Register
// mounts its routes, and Client implements bookings.Service by calling them.
package bookingshttp

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/httpserver"
)

// Routes, shared by the server and the client.
const (
	pathBookings = "/api/v1/bookings"
	// HeaderIdempotencyKey carries HoldRequest.IdempotencyKey.
	HeaderIdempotencyKey = "Idempotency-Key"
)

// Options configure the routes; bookings has no settings of its own yet.
type Options struct{}

// Register mounts the bookings routes on g. Every route needs a bearer token
// (a guest's, staff's, or a service's with bookings:read); the service
// decides what the caller may see and do, so the rules hold in-process too.
func Register(g *echo.Group, svc bookings.Service, _ Options) error {
	h := handlers{svc: svc}
	signedIn := authn.RequireScopes()
	g.POST(pathBookings, h.hold, signedIn)
	g.GET(pathBookings, h.list, signedIn)
	g.GET(pathBookings+"/:id", h.get, signedIn)
	g.POST(pathBookings+"/:id/cancel", h.cancel, signedIn)
	return nil
}

type handlers struct{ svc bookings.Service }

func (h handlers) hold(c echo.Context) error {
	var req bookings.HoldRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	req.IdempotencyKey = c.Request().Header.Get(HeaderIdempotencyKey)
	res, err := h.svc.Hold(c.Request().Context(), req)
	return httpserver.RespondCreated(c, pathBookings+"/"+res.ID, res, err)
}

func (h handlers) list(c echo.Context) error {
	var req bookings.ListRequest
	if err := httpserver.BindQuery(c, &req); err != nil {
		return err
	}
	res, err := h.svc.List(c.Request().Context(), req)
	return httpserver.Respond(c, http.StatusOK, res, err)
}

func (h handlers) get(c echo.Context) error {
	res, err := h.svc.Get(c.Request().Context(), bookings.GetRequest{ID: c.Param("id")})
	return httpserver.Respond(c, http.StatusOK, res, err)
}

func (h handlers) cancel(c echo.Context) error {
	res, err := h.svc.Cancel(c.Request().Context(), bookings.CancelRequest{ID: c.Param("id")})
	return httpserver.Respond(c, http.StatusOK, res, err)
}
