package reportinghttp

import _ "embed"

//go:embed openapi.yaml
var openAPI []byte

// OpenAPI is the OpenAPI 3.1 fragment (YAML) describing the routes Register
// mounts and their schemas, for platform/openapi to merge into the
// process's document.
func OpenAPI() []byte { return openAPI }
