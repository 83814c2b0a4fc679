// Package bookingshttp is the bookings module's HTTP transport: Register
// mounts its routes on any process that has a bookings.Service, and Client
// implements bookings.Service by calling those routes, so callers cannot
// tell the two apart.
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

// Register mounts the bookings routes on e. Every route needs a bearer token
// (a guest's, staff's, or a service's with bookings:read); the service
// decides what the caller may see and do, so the rules hold in-process too.
func Register(e *echo.Echo, svc bookings.Service) {
	h := handlers{svc: svc}
	signedIn := authn.RequireScopes()
	e.POST(pathBookings, h.hold, signedIn)
	e.GET(pathBookings, h.list, signedIn)
	e.GET(pathBookings+"/:id", h.get, signedIn)
	e.POST(pathBookings+"/:id/cancel", h.cancel, signedIn)
}

type handlers struct{ svc bookings.Service }

func (h handlers) hold(c echo.Context) error {
	var req bookings.HoldRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	req.IdempotencyKey = c.Request().Header.Get(HeaderIdempotencyKey)
	res, err := h.svc.Hold(c.Request().Context(), req)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, pathBookings+"/"+res.ID)
	return c.JSON(http.StatusCreated, res)
}

func (h handlers) list(c echo.Context) error {
	var req bookings.ListRequest
	if err := httpserver.BindQuery(c, &req); err != nil {
		return err
	}
	res, err := h.svc.List(c.Request().Context(), req)
	return reply(c, res, err)
}

func (h handlers) get(c echo.Context) error {
	res, err := h.svc.Get(c.Request().Context(), bookings.GetRequest{ID: c.Param("id")})
	return reply(c, res, err)
}

func (h handlers) cancel(c echo.Context) error {
	res, err := h.svc.Cancel(c.Request().Context(), bookings.CancelRequest{ID: c.Param("id")})
	return reply(c, res, err)
}

func reply(c echo.Context, body any, err error) error {
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, body)
}
