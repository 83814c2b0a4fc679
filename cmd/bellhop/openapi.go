package main

import (
	_ "embed"
	"fmt"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/auth/authhttp"
	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/bookings/bookingshttp"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/payments/paymentshttp"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/modules/search/searchhttp"
	"github.com/bellhop/bellhop/platform/openapi"
)

// adminOpenAPI describes the admin routes every process serves (admin.go).
//
//go:embed admin.yaml
var adminOpenAPI []byte

// mountedAPIs says whose public routes a process mounts: a module's routes
// are mounted when the module runs in the process or is called over HTTP.
type mountedAPIs struct {
	auth, search, bookings, payments bool
	// sandbox: payments runs here on the sandbox bank (its fault controls).
	sandbox bool
}

// fragments are the parts of the API description of the routes in m.
func (m mountedAPIs) fragments() []openapi.Fragment {
	out := []openapi.Fragment{{Owner: "admin", Spec: adminOpenAPI}}
	if m.auth {
		out = append(out, openapi.Fragment{Owner: auth.Module, Spec: authhttp.OpenAPI()})
	}
	if m.search {
		out = append(out, openapi.Fragment{Owner: search.Module, Spec: searchhttp.OpenAPI()})
	}
	if m.bookings {
		out = append(out, openapi.Fragment{Owner: bookings.Module, Spec: bookingshttp.OpenAPI()})
	}
	if m.payments {
		out = append(out, openapi.Fragment{Owner: payments.Module, Spec: paymentshttp.OpenAPI()})
	}
	if m.sandbox {
		out = append(out, openapi.Fragment{Owner: "sandbox", Spec: sandboxOpenAPI})
	}
	return out
}

// mountDocs serves the OpenAPI document of the public routes this process
// mounts (GET /api/docs, GET /api/docs/openapi.yaml): the base document plus
// the fragment of every module whose routes are mounted on e.
//
// The fragments are embedded in the binary, so a document that does not
// merge or validate is a programming error, like two handlers on one route:
// serve refuses to start (and the end-to-end tests, which start the binary,
// catch it before it ships).
func mountDocs(e *echo.Echo, mounted mountedAPIs) error {
	doc, err := openapi.Build(mounted.fragments()...)
	if err != nil {
		return fmt.Errorf("API description: %w", err)
	}
	doc.Register(e)
	return nil
}
