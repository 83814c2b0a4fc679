// Package searchmodule describes the search module to the host
// (platform/host): how to build it here or reach it elsewhere, its routes and
// their description.
package searchmodule

import (
	"context"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/modules/search/searchhttp"
	"github.com/bellhop/bellhop/modules/search/searchlocal"
	"github.com/bellhop/bellhop/platform/host"
	"github.com/bellhop/bellhop/platform/httpclient"
)

// Module is the search module's descriptor. Search calls no module and has
// no settings of its own.
func Module() host.Module {
	return host.Descriptor[search.Service]{
		Name:       search.Module,
		Migrations: searchlocal.Migrations,
		Local: func(_ context.Context, env host.LocalEnv) (host.Local[search.Service], error) {
			m, err := searchlocal.New(searchlocal.Deps{
				DB: env.DB, Log: env.Log, Bus: env.Bus, OutboxRetention: env.Config.Events.OutboxRetention,
			})
			if err != nil {
				return host.Local[search.Service]{}, err
			}
			return host.Local[search.Service]{Service: m.Service(), Module: m, Runners: []host.Runner{m}}, nil
		},
		Remote: func(baseURL string, opts httpclient.Options) (search.Service, error) {
			return searchhttp.NewClient(baseURL, opts)
		},
		Instrument: Instrument,
		Shadow:     Shadow,
		Routes: func(e *echo.Echo, svc search.Service, _ host.Env) error {
			return searchhttp.Register(e.Group(""), svc, searchhttp.Options{})
		},
		OpenAPI: searchhttp.OpenAPI(),
	}.Module()
}
