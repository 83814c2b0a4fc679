package httpserver

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// How a module's handler answers: it calls its Service and hands the result
// and the error to one of these, which render err (through the error
// handler) when there is one and the JSON answer otherwise.
//
//	res, err := h.svc.GetHotel(ctx, req)
//	return httpserver.Respond(c, http.StatusOK, res, err)
//
// Route protection is mounted the same way in every module: Register names
// the authn middleware for each kind of caller once (signedIn :=
// authn.RequireScopes(), admin := authn.RequireRoles(authn.RoleAdmin), a
// scope for service routes) and passes it as the route's middleware, e.g.
// g.POST(path, h.create, catalogWrite). A group-level Use would also claim
// every unknown path under its prefix (Echo mounts a not-found route there),
// turning a 404 into a 401.

// Respond answers status with body as JSON, or returns err.
func Respond(c echo.Context, status int, body any, err error) error {
	if err != nil {
		return err
	}
	return c.JSON(status, body)
}

// RespondCreated answers 201 Created with body as JSON and a Location header
// naming the new resource, or returns err.
func RespondCreated(c echo.Context, location string, body any, err error) error {
	return RespondAt(c, http.StatusCreated, location, body, err)
}

// RespondAt answers status with body as JSON and a Location header naming the
// resource (201 for one created, 202 for one whose outcome is not settled
// yet), or returns err.
func RespondAt(c echo.Context, status int, location string, body any, err error) error {
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, location)
	return c.JSON(status, body)
}

// RespondEmpty answers 204 No Content, or returns err.
func RespondEmpty(c echo.Context, err error) error {
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
