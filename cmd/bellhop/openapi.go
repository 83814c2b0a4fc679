package main

import (
	_ "embed"
	"fmt"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/modules/search/searchhttp"
	"github.com/bellhop/bellhop/platform/openapi"
)

// adminOpenAPI describes the admin routes every process serves (admin.go).
//
//go:embed admin.yaml
var adminOpenAPI []byte

// mountDocs serves the OpenAPI document of the public routes this process
// mounts (GET /api/docs, GET /api/docs/openapi.yaml): the base document plus
// the fragment of every module whose routes are mounted on e, whether the
// module runs here or is called over HTTP.
//
// The fragments are embedded in the binary, so a document that does not
// merge or validate is a programming error, like two handlers on one route:
// serve refuses to start (and the end-to-end tests, which start the binary,
// catch it before it ships).
func mountDocs(e *echo.Echo, searchMounted bool) error {
	fragments := []openapi.Fragment{{Owner: "admin", Spec: adminOpenAPI}}
	if searchMounted {
		fragments = append(fragments, openapi.Fragment{Owner: search.Module, Spec: searchhttp.OpenAPI()})
	}
	doc, err := openapi.Build(fragments...)
	if err != nil {
		return fmt.Errorf("API description: %w", err)
	}
	doc.Register(e)
	return nil
}
