// Package reportingmodule describes the reporting module to the host
// (platform/host): how to build it here or reach it elsewhere, its settings,
// its routes and their description.
package reportingmodule

import (
	"context"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/modules/reporting/reportinghttp"
	"github.com/bellhop/bellhop/modules/reporting/reportinglocal"
	"github.com/bellhop/bellhop/platform/host"
	"github.com/bellhop/bellhop/platform/httpclient"
)

// Module is the reporting module's descriptor. Reporting calls no module:
// everything it knows comes from events.
func Module() host.Module {
	return host.Descriptor[reporting.Service]{
		Name:       reporting.Module,
		Config:     Section(),
		Migrations: reportinglocal.Migrations,
		Local: func(_ context.Context, env host.LocalEnv) (host.Local[reporting.Service], error) {
			cfg := settings(env.Config)
			sender, err := cfg.sender(env.Config.DataDir)
			if err != nil {
				return host.Local[reporting.Service]{}, err
			}
			m, err := reportinglocal.New(reportinglocal.Deps{
				DB: env.DB, Log: env.Log, Bus: env.Bus, Mail: sender, Config: cfg.local(), Registerer: env.Registerer,
			})
			if err != nil {
				return host.Local[reporting.Service]{}, err
			}
			return host.Local[reporting.Service]{Service: m.Service(), Module: m, Runners: []host.Runner{m}}, nil
		},
		Remote: func(baseURL string, opts httpclient.Options) (reporting.Service, error) {
			return reportinghttp.NewClient(baseURL, opts)
		},
		Instrument: Instrument,
		Shadow:     Shadow,
		Routes: func(e *echo.Echo, svc reporting.Service, _ host.Env) error {
			return reportinghttp.Register(e.Group(""), svc, reportinghttp.Options{})
		},
		OpenAPI: reportinghttp.OpenAPI(),
	}.Module()
}
