package paymentsmodule

import (
	_ "embed"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/payments/provider/sandbox"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/httpserver"
	"github.com/bellhop/bellhop/platform/validation"
)

// sandboxOpenAPI describes the sandbox bank's fault controls, mounted where
// the sandbox bank runs.
//
//go:embed sandbox_admin.yaml
var sandboxOpenAPI []byte

// sandboxAdmin lets admins break the embedded sandbox bank on purpose while
// Bellhop runs — slow it down, make calls fail, take it down — to watch the
// payment guard, the reconciler and the breaker at work (fault drills, load
// runs). It exists only in processes whose payments use the sandbox bank; a
// real provider has no such switch.
//
//	GET /api/v1/admin/payments/sandbox/faults
//	PUT /api/v1/admin/payments/sandbox/faults
type sandboxAdmin struct {
	bank     *sandbox.Bank
	log      *slog.Logger
	validate *validation.Validator
}

// sandboxFaults is the wire form of sandbox.Faults.
type sandboxFaults struct {
	LatencyMS    *int64   `json:"latency_ms" validate:"required,min=0,max=60000"`
	LatencyMaxMS int64    `json:"latency_max_ms" validate:"min=0,max=60000"`
	FailureRate  *float64 `json:"failure_rate" validate:"required,min=0,max=1"`
	Down         bool     `json:"down"`
}

func toWire(f sandbox.Faults) sandboxFaults {
	ms, rate := f.Latency.Milliseconds(), f.FailureRate
	return sandboxFaults{LatencyMS: &ms, LatencyMaxMS: f.LatencyMax.Milliseconds(), FailureRate: &rate, Down: f.Down}
}

func (a sandboxAdmin) register(e *echo.Echo) {
	admin := authn.RequireRoles(authn.RoleAdmin)
	e.GET("/api/v1/admin/payments/sandbox/faults", a.get, admin)
	e.PUT("/api/v1/admin/payments/sandbox/faults", a.put, admin)
}

func (a sandboxAdmin) get(c echo.Context) error {
	if _, err := authn.RequireRole(c.Request().Context(), authn.RoleAdmin); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toWire(a.bank.Faults()))
}

func (a sandboxAdmin) put(c echo.Context) error {
	if _, err := authn.RequireRole(c.Request().Context(), authn.RoleAdmin); err != nil {
		return err
	}
	var in sandboxFaults
	if err := httpserver.BindJSON(c, &in); err != nil {
		return err
	}
	if err := a.validate.Struct("payments.invalid_sandbox_faults", in); err != nil {
		return err
	}
	if in.LatencyMaxMS != 0 && in.LatencyMaxMS < *in.LatencyMS {
		return apperr.Invalid("payments.invalid_sandbox_faults", "the request has invalid values").WithFields(apperr.FieldError{
			Field: "latency_max_ms", Reason: "gtefield", Detail: "must be 0 (a fixed latency) or at least latency_ms",
		})
	}
	f := sandbox.Faults{
		Latency: time.Duration(*in.LatencyMS) * time.Millisecond, LatencyMax: time.Duration(in.LatencyMaxMS) * time.Millisecond,
		FailureRate: *in.FailureRate, Down: in.Down,
	}
	if err := a.bank.Inject(f); err != nil {
		return apperr.Invalid("payments.invalid_sandbox_faults", err.Error())
	}
	p, _ := authn.FromContext(c.Request().Context())
	a.log.Warn("sandbox bank faults changed", "by", p.Subject, "latency", f.Latency, "latency_max", f.LatencyMax,
		"failure_rate", f.FailureRate, "down", f.Down)
	return c.JSON(http.StatusOK, toWire(a.bank.Faults()))
}
