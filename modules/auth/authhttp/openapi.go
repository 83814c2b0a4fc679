package authhttp

import _ "embed"

//go:embed openapi.yaml
var openAPI []byte

// OpenAPI is the OpenAPI 3.1 fragment (YAML) describing the public routes
// Register mounts and their schemas, for platform/openapi to merge into the
// process's document. The service-only internal routes are left out.
func OpenAPI() []byte { return openAPI }
