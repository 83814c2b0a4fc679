package bookingshttp_test

import (
	"os"
	"testing"

	"github.com/bellhop/bellhop/modules/bookings/bookingshttp"
	"github.com/bellhop/bellhop/platform/openapi"
	"github.com/bellhop/bellhop/platform/openapi/openapicheck"
)

// The fragment merges with the base document, and the result is valid
// OpenAPI 3.1.
func TestOpenAPI(t *testing.T) {
	doc, err := openapi.Build(openapi.Fragment{Owner: "bookings", Spec: bookingshttp.OpenAPI()})
	if err != nil {
		t.Fatal(err)
	}
	if err := openapicheck.Validate(doc.JSON()); err != nil {
		t.Fatal(err)
	}
}

// It also merges with the other modules' fragments that a process serving
// everything mounts beside it: no path, component or tag is described twice.
func TestOpenAPI_MergesWithOtherModules(t *testing.T) {
	fragments := []openapi.Fragment{{Owner: "bookings", Spec: bookingshttp.OpenAPI()}}
	for owner, path := range map[string]string{
		"search": "../../search/searchhttp/openapi.yaml",
		"auth":   "../../auth/authhttp/openapi.yaml",
	} {
		spec, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		fragments = append(fragments, openapi.Fragment{Owner: owner, Spec: spec})
	}
	doc, err := openapi.Build(fragments...)
	if err != nil {
		t.Fatal(err)
	}
	if err := openapicheck.Validate(doc.JSON()); err != nil {
		t.Fatal(err)
	}
}
