// Package authmodule describes the auth module to the host (platform/host):
// its settings, how to build it here or reach it elsewhere, its routes and
// their description; and what every process needs from auth wherever it
// runs: token verification and the process's own service identity
// (identity.go).
package authmodule

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/auth/authhttp"
	"github.com/bellhop/bellhop/modules/auth/authlocal"
	"github.com/bellhop/bellhop/platform/host"
	"github.com/bellhop/bellhop/platform/httpclient"
	"github.com/bellhop/bellhop/platform/httpserver"
)

// Module is the auth module's descriptor.
func Module() host.Module {
	return host.Descriptor[auth.Service]{
		Name:       auth.Module,
		Config:     Section(),
		Migrations: authlocal.Migrations,
		Local:      build,
		Remote: func(baseURL string, opts httpclient.Options) (auth.Service, error) {
			return authhttp.NewClient(baseURL, opts)
		},
		Instrument: Instrument,
		Routes: func(e *echo.Echo, svc auth.Service, env host.Env) error {
			cfg := Settings(env.Config)
			var csrfKey []byte
			if cfg.CSRFKey != "" {
				csrfKey, _ = base64.StdEncoding.DecodeString(cfg.CSRFKey) // validated with the config
			}
			return authhttp.Register(e, svc, authhttp.Options{
				Issuer: cfg.Issuer, PublicURL: cfg.PublicURL, CSRFKey: csrfKey, Log: env.Log,
				SignInRateLimit: httpserver.RateLimitConfig{Enabled: true, RPS: cfg.SignInRateLimit.RPS, Burst: cfg.SignInRateLimit.Burst},
				TokenRateLimit:  httpserver.RateLimitConfig{Enabled: true, RPS: cfg.TokenRateLimit.RPS, Burst: cfg.TokenRateLimit.Burst},
			})
		},
		OpenAPI: authhttp.OpenAPI(),
	}.Module()
}

// build builds auth in this process and, when it serves (with a bus), makes
// sure the service clients named in configuration exist.
func build(ctx context.Context, env host.LocalEnv) (host.Local[auth.Service], error) {
	cfg := Settings(env.Config)
	m, err := authlocal.New(authlocal.Deps{
		DB: env.DB, Log: env.Log, Bus: env.Bus, OutboxRetention: env.Config.Events.OutboxRetention,
		Issuer: cfg.Issuer, Audience: cfg.Audience,
		AccessTokenTTL: cfg.AccessTokenTTL, RefreshTokenTTL: cfg.RefreshTokenTTL,
	})
	if err != nil {
		return host.Local[auth.Service]{}, err
	}
	if env.Bus != nil && len(cfg.ServiceClients) > 0 {
		clients := make([]authlocal.ServiceClient, len(cfg.ServiceClients))
		for i, c := range cfg.ServiceClients {
			clients[i] = authlocal.ServiceClient{ID: c.ID, Secret: c.Secret, Scopes: c.Scopes}
		}
		if err := m.EnsureServiceClients(ctx, clients); err != nil {
			return host.Local[auth.Service]{}, fmt.Errorf("auth.service_clients: %w", err)
		}
	}
	return host.Local[auth.Service]{Service: m.Service(), Module: m, Runners: []host.Runner{m}}, nil
}
