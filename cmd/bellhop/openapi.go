package main

import (
	_ "embed"
	"fmt"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/platform/openapi"
)

// adminOpenAPI describes the admin routes every process serves (admin.go).
//
//go:embed admin.yaml
var adminOpenAPI []byte

// mountDocs serves the OpenAPI document of the routes this process mounts
// (GET /api/docs, GET /api/docs/openapi.yaml): the base document, the admin
// routes of admin.go, and the fragments of the modules whose routes are
// mounted on e (host.Host.OpenAPI).
//
// The fragments are embedded in the binary, so a document that does not
// merge or validate is a programming error, like two handlers on one route:
// serve refuses to start (and the end-to-end tests, which start the binary,
// catch it before it ships).
func mountDocs(e *echo.Echo, modules []openapi.Fragment) error {
	doc, err := openapi.Build(append([]openapi.Fragment{{Owner: "admin", Spec: adminOpenAPI}}, modules...)...)
	if err != nil {
		return fmt.Errorf("API description: %w", err)
	}
	doc.Register(e)
	return nil
}
