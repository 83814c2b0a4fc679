// Package paymentsmodule describes the payments module to the host
// (platform/host): its settings, the payment provider it charges through
// (the sandbox bank, with its ledger and admin fault controls, or Stripe),
// how to build it here (with the bookings Service amounts come from) or
// reach it elsewhere, its routes and their description.
package paymentsmodule

import (
	"context"
	"fmt"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/payments/paymentshttp"
	"github.com/bellhop/bellhop/modules/payments/paymentslocal"
	"github.com/bellhop/bellhop/modules/payments/provider"
	"github.com/bellhop/bellhop/modules/payments/provider/sandbox"
	"github.com/bellhop/bellhop/modules/payments/provider/stripeprovider"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/host"
	"github.com/bellhop/bellhop/platform/httpclient"
	"github.com/bellhop/bellhop/platform/httpserver"
	"github.com/bellhop/bellhop/platform/validation"
)

// Module is the payments module's descriptor.
func Module() host.Module {
	return host.Descriptor[payments.Service]{
		Name: payments.Module,
		Calls: []host.Call{{
			Module:          bookings.Module,
			WithoutIdentity: "every payment will fail; set auth.client_id and auth.client_secret (a service client with bookings:read)",
		}},
		Config:     Section(),
		Migrations: paymentslocal.Migrations,
		Open:       openBank,
		Local:      build,
		Remote: func(baseURL string, opts httpclient.Options) (payments.Service, error) {
			return paymentshttp.NewClient(baseURL, opts)
		},
		Instrument: Instrument,
		Shadow:     Shadow,
		Routes: func(e *echo.Echo, svc payments.Service, env host.Env) error {
			rl := settings(env.Config).RateLimit
			return paymentshttp.Register(e.Group(""), svc, paymentshttp.Options{PayRateLimit: httpserver.RateLimitConfig{
				Enabled: true, RPS: rl.RPS, Burst: rl.Burst,
			}})
		},
		OpenAPI: paymentshttp.OpenAPI(),
	}.Module()
}

// build builds payments in this process: its provider, and with the sandbox
// bank the bank's admin fault controls.
func build(_ context.Context, env host.LocalEnv) (host.Local[payments.Service], error) {
	cfg := settings(env.Config)
	bankDB, _ := env.Opened.(*db.DB)
	prov, err := paymentProvider(cfg, bankDB)
	if err != nil {
		return host.Local[payments.Service]{}, err
	}
	var admin []host.Admin
	if bank, ok := prov.(*sandbox.Bank); ok {
		a := sandboxAdmin{bank: bank, log: env.Log, validate: validation.New()}
		admin = append(admin, host.Admin{Owner: "sandbox", OpenAPI: sandboxOpenAPI, Register: a.register})
	}
	m, err := paymentslocal.New(paymentslocal.Deps{
		DB: env.DB, Log: env.Log, Bus: env.Bus, OutboxRetention: env.Config.Events.OutboxRetention,
		Bookings: host.Callee[bookings.Service](env, bookings.Module), Provider: prov,
		ReconcileInterval: cfg.ReconcileInterval, NotFoundGrace: cfg.NotFoundGrace, StaleAfter: cfg.StaleAfter,
		ProviderPolicy: provider.Policy{
			AttemptTimeout: cfg.Guard.AttemptTimeout, Attempts: cfg.Guard.Attempts,
			BreakerFailures: uint32(cfg.Guard.BreakerFailures), BreakerOpen: cfg.Guard.BreakerOpen,
		},
	})
	if err != nil {
		return host.Local[payments.Service]{}, err
	}
	return host.Local[payments.Service]{Service: m.Service(), Module: m, Runners: []host.Runner{m}, Admin: admin}, nil
}

// openBank opens the sandbox bank's ledger, <data_dir>/sandbox-bank.db,
// where payments runs on the sandbox bank. The bank stands for a third
// party, so it is no module of ours and has no events, readiness or dead
// letters here.
func openBank(ctx context.Context, env host.Env, onClose func(func() error)) (any, error) {
	if settings(env.Config).Provider != "sandbox" {
		return nil, nil
	}
	d, err := db.Open(ctx, db.Options{Module: "sandbox-bank", DataDir: env.Config.DataDir, Log: env.Log})
	if err != nil {
		return nil, err
	}
	onClose(d.Close)
	if err := d.Migrate(ctx, sandbox.Migrations); err != nil {
		return nil, err
	}
	return d, nil
}

// paymentProvider is the payment provider named in config: the embedded
// sandbox bank (its ledger in bankDB) or Stripe.
func paymentProvider(cfg *Config, bankDB *db.DB) (provider.Provider, error) {
	if cfg.Provider == "stripe" {
		p, err := stripeprovider.New(stripeprovider.Options{APIKey: cfg.Stripe.APIKey, BaseURL: cfg.Stripe.BaseURL})
		if err != nil {
			return nil, fmt.Errorf("payments.stripe: %w", err)
		}
		return p, nil
	}
	bank, err := sandbox.New(bankDB, sandbox.Options{
		Latency: cfg.Sandbox.Latency, LatencyMax: cfg.Sandbox.LatencyMax, FailureRate: cfg.Sandbox.FailureRate,
	})
	if err != nil {
		return nil, fmt.Errorf("payments.sandbox: %w", err)
	}
	return bank, nil
}
