// Package openapicheck validates Bellhop's merged API description with
// kin-openapi, for tests: the document is static, so checking it once in
// `make test` is enough, and the server binary does without the validator.
package openapicheck

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

// Validate loads the JSON document as kin-openapi does (resolving every $ref)
// and validates it against its OpenAPI version (3.1: JSON Schema 2020-12).
func Validate(js []byte) error {
	var doc openapi3.T
	if err := json.Unmarshal(js, &doc); err != nil {
		return err
	}
	if err := openapi3.NewLoader().ResolveRefsIn(&doc, nil); err != nil {
		return err
	}
	if !doc.IsOpenAPI31OrLater() {
		return fmt.Errorf("openapi is %q; want 3.1.x", doc.OpenAPI)
	}
	return doc.Validate(context.Background())
}
