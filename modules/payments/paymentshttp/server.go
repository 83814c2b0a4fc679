// Package paymentshttp is the payments module's HTTP transport: Register
// mounts its routes on any process that has a payments.Service, and Client
// implements payments.Service by calling those routes, so callers cannot
// tell the two apart.
package paymentshttp

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/payments"
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

// Register mounts the payments routes on e. Every route needs an
// authenticated caller; the service checks who may see what, so the rules
// hold in-process too.
func Register(e *echo.Echo, svc payments.Service, opts Options) {
	h := handlers{svc: svc}
	e.POST(pathPayments, h.pay, httpserver.RateLimit(opts.PayRateLimit, ReasonPayRateLimited))
	e.GET(pathPayments, h.list)
	e.GET(pathPayments+"/:id", h.get)
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
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, pathPayments+"/"+url.PathEscape(p.ID))
	return c.JSON(payStatus(p), p)
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
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

func (h handlers) get(c echo.Context) error {
	res, err := h.svc.Get(c.Request().Context(), payments.GetRequest{ID: c.Param("id")})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}
