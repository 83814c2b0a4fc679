// Package bookingsmodule describes the bookings module to the host
// (platform/host): its settings, how to build it here (with the search
// Service it quotes stays with) or reach it elsewhere, its routes and their
// description.
package bookingsmodule

import (
	"context"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/bookings/bookingshttp"
	"github.com/bellhop/bellhop/modules/bookings/bookingslocal"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/host"
	"github.com/bellhop/bellhop/platform/httpclient"
)

// Module is the bookings module's descriptor.
func Module() host.Module {
	return host.Descriptor[bookings.Service]{
		Name: bookings.Module,
		Calls: []host.Call{{
			Module:          search.Module,
			WithoutIdentity: "every hold will fail; set auth.client_id and auth.client_secret (a service client with search:quote)",
		}},
		Config:     Section(),
		Migrations: bookingslocal.Migrations,
		Local: func(_ context.Context, env host.LocalEnv) (host.Local[bookings.Service], error) {
			cfg := settings(env.Config)
			m, err := bookingslocal.New(bookingslocal.Deps{
				DB: env.DB, Log: env.Log, Bus: env.Bus, OutboxRetention: env.Config.Events.OutboxRetention,
				Search:  host.Callee[search.Service](env, search.Module),
				HoldTTL: cfg.HoldTTL, ExpiryInterval: cfg.ExpiryInterval,
				MaxPendingHolds: cfg.MaxPendingHolds, HorizonMonths: cfg.HorizonMonths,
			})
			if err != nil {
				return host.Local[bookings.Service]{}, err
			}
			return host.Local[bookings.Service]{Service: m.Service(), Module: m, Runners: []host.Runner{m}}, nil
		},
		Remote: func(baseURL string, opts httpclient.Options) (bookings.Service, error) {
			return bookingshttp.NewClient(baseURL, opts)
		},
		Instrument: Instrument,
		Shadow:     Shadow,
		Routes: func(e *echo.Echo, svc bookings.Service, _ host.Env) error {
			return bookingshttp.Register(e.Group(""), svc, bookingshttp.Options{})
		},
		OpenAPI: bookingshttp.OpenAPI(),
	}.Module()
}
