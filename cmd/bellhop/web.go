package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/auth/authmodule"
	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/config"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/host"
	"github.com/bellhop/bellhop/web"
)

// webDeps is what the dashboard is composed from in serve.
type webDeps struct {
	cfg      *config.Config
	log      *slog.Logger
	host     *host.Host
	verifier *authn.Verifier
	system   *systemStatus
}

// mountWeb composes the dashboard where this process can serve every page:
// it has auth's, search's, bookings' and payments' Services (local or remote) and verifies tokens,
// and is not a single module's process (--only). It returns nil, nil where
// the dashboard does not run. The caller closes the returned database.
func mountWeb(ctx context.Context, e *echo.Echo, d webDeps) (*web.Web, *db.DB, error) {
	ath, ok1 := host.Service[auth.Service](d.host, auth.Module)
	srch, ok2 := host.Service[search.Service](d.host, search.Module)
	bkg, ok3 := host.Service[bookings.Service](d.host, bookings.Module)
	pay, ok4 := host.Service[payments.Service](d.host, payments.Module)
	if len(d.cfg.Only) > 0 || !ok1 || !ok2 || !ok3 || !ok4 || d.verifier == nil {
		return nil, nil, nil
	}
	sessions, err := db.Open(ctx, db.Options{Module: web.Module, DataDir: d.cfg.DataDir, Log: d.log})
	if err != nil {
		return nil, nil, err
	}
	if err := sessions.Migrate(ctx, web.Migrations); err != nil {
		_ = sessions.Close()
		return nil, nil, err
	}
	var key []byte
	if k := authmodule.Settings(d.cfg).CSRFKey; k != "" {
		key, _ = base64.StdEncoding.DecodeString(k) // validated with the config
	}
	deps := web.Deps{
		Auth: ath, Search: srch, Bookings: bkg, Payments: pay, Verifier: d.verifier,
		DB: sessions, CSRFKey: key, Log: d.log,
		System:  d.system,
		Mailbox: mailboxOf(d.cfg),
	}
	// Reporting is optional: without it the booking pages omit documents and
	// the reports page says reports are not available here.
	if rep, ok := host.Service[reporting.Service](d.host, reporting.Module); ok {
		deps.Reporting = rep
		deps.ReportFiles = newReportFiles(e, d.cfg.Modules[reporting.Module].URL)
	}
	if d.cfg.Modules[payments.Module].URL == "" {
		// The sandbox bank's fault controls are an admin route of the
		// payments module where it runs: the dashboard calls that route in
		// this process, as the admin, when it is mounted (payments on the
		// sandbox provider).
		deps.Bank = bankFaults{handler: e}
	}
	w, err := web.New(deps)
	if err != nil {
		_ = sessions.Close()
		return nil, nil, err
	}
	w.Register(e)
	return w, sessions, nil
}

// bankFaults lets the dashboard switch the sandbox bank's faults through
// the payments module's own admin route (GET/PUT
// /api/v1/admin/payments/sandbox/faults), served in this process: the
// caller's bearer token goes with the request, so the route checks the
// admin role exactly as for an API call.
type bankFaults struct {
	handler http.Handler
}

const sandboxFaultsPath = "/api/v1/admin/payments/sandbox/faults"

// sandboxFaultsWire is the route's JSON.
type sandboxFaultsWire struct {
	LatencyMS    int64   `json:"latency_ms"`
	LatencyMaxMS int64   `json:"latency_max_ms"`
	FailureRate  float64 `json:"failure_rate"`
	Down         bool    `json:"down"`
}

func (b bankFaults) call(ctx context.Context, method string, in any) (sandboxFaultsWire, error) {
	var out sandboxFaultsWire
	p, err := authn.RequireUser(ctx)
	if err != nil {
		return out, err
	}
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return out, apperr.Internal(err)
		}
		body = bytes.NewReader(raw)
	}
	req := httptest.NewRequestWithContext(ctx, method, sandboxFaultsPath, body)
	req.Header.Set(echo.HeaderAuthorization, "Bearer "+p.Token)
	req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	req.RemoteAddr = "127.0.0.1:0"
	rec := httptest.NewRecorder()
	b.handler.ServeHTTP(rec, req)
	if rec.Code == http.StatusNotFound {
		return out, apperr.Unavailable("payments.sandbox_not_here", "payments does not run on the sandbox bank in this process")
	}
	if rec.Code != http.StatusOK {
		var prob apperr.Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &prob); err == nil && prob.Code != "" {
			return out, prob.Err()
		}
		return out, apperr.Internal(fmt.Errorf("sandbox faults: %d %s", rec.Code, rec.Body.String()))
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		return out, apperr.Internal(err)
	}
	return out, nil
}

func (b bankFaults) Faults(ctx context.Context) (web.SandboxFaults, error) {
	w, err := b.call(ctx, http.MethodGet, nil)
	return web.SandboxFaults{Latency: time.Duration(w.LatencyMS) * time.Millisecond, LatencyMax: time.Duration(w.LatencyMaxMS) * time.Millisecond,
		FailureRate: w.FailureRate, Down: w.Down}, err
}

func (b bankFaults) SetFaults(ctx context.Context, f web.SandboxFaults) error {
	_, err := b.call(ctx, http.MethodPut, sandboxFaultsWire{LatencyMS: f.Latency.Milliseconds(), LatencyMaxMS: f.LatencyMax.Milliseconds(),
		FailureRate: f.FailureRate, Down: f.Down})
	return err
}

// requireAdminCtx is requireAdmin for a context (the System page's calls).
func requireAdminCtx(ctx context.Context) (authn.Principal, error) {
	p, err := authn.RequireUser(ctx)
	if err != nil {
		return p, err
	}
	if !p.HasRole(authn.RoleAdmin) {
		return p, authn.ErrForbidden.With("this needs the %q role", authn.RoleAdmin)
	}
	return p, nil
}

var _ web.SystemStatus = (*systemStatus)(nil)
var _ web.BankFaults = bankFaults{}
var _ prometheus.Gatherer = (*prometheus.Registry)(nil)
