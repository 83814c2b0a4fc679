// Package paymentshttp is the payments module's HTTP transport: Register
// mounts its routes, and Client implements payments.Service by calling them.
package paymentshttp

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/httpserver"
)

// Routes, shared by the server and the client.
const (
	pathPayments = "/api/v1/payments"
	// HeaderIdempotencyKey carries PayRequest.IdempotencyKey.
	HeaderIdempotencyKey = "Idempotency-Key"
)

// ReasonPayRateLimited is the reason of a 429 from the payment route's own limit.
const ReasonPayRateLimited = "payments.rate_limited"

// Options configure the routes.
type Options struct {
	// PayRateLimit is a per-caller limit on POST /api/v1/payments, on top of
	// the server-wide one (disabled: none).
	PayRateLimit httpserver.RateLimitConfig
}

// Register mounts the payments routes on g. Every route needs a bearer
// token; the service checks who may see and pay what, so the rules hold
// in-process too.
func Register(g *echo.Group, svc payments.Service, opts Options) error {
	h := handlers{svc: svc}
	signedIn := authn.RequireScopes()
	g.POST(pathPayments, h.pay, signedIn, httpserver.RateLimit(opts.PayRateLimit, ReasonPayRateLimited))
	g.GET(pathPayments, h.list, signedIn)
	g.GET(pathPayments+"/:id", h.get, signedIn)
	return nil
}

type handlers struct{ svc payments.Service }

// pay answers 201 with a settled payment (succeeded or failed: a declined
// card is not an error) and 202 with one whose outcome is not known yet; a
// replay of the key answers the same way.
func (h handlers) pay(c echo.Context) error {
	var req payments.PayRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	req.IdempotencyKey = c.Request().Header.Get(HeaderIdempotencyKey)
	p, err := h.svc.Pay(c.Request().Context(), req)
	return httpserver.RespondAt(c, payStatus(p), pathPayments+"/"+url.PathEscape(p.ID), p, err)
}

func payStatus(p payments.Payment) int {
	switch p.Status {
	case payments.StatusProcessing, payments.StatusUnknown:
		return http.StatusAccepted
	}
	return http.StatusCreated
}

func (h handlers) list(c echo.Context) error {
	var req payments.ListRequest
	if err := httpserver.BindQuery(c, &req); err != nil {
		return err
	}
	res, err := h.svc.List(c.Request().Context(), req)
	return httpserver.Respond(c, http.StatusOK, res, err)
}

func (h handlers) get(c echo.Context) error {
	res, err := h.svc.Get(c.Request().Context(), payments.GetRequest{ID: c.Param("id")})
	return httpserver.Respond(c, http.StatusOK, res, err)
}
