package paymentshttp_test

import (
	"testing"

	"github.com/bellhop/bellhop/modules/payments/paymentshttp"
	"github.com/bellhop/bellhop/platform/openapi"
	"github.com/bellhop/bellhop/platform/openapi/openapicheck"
)

// The fragment merges with the base document, and the result is valid
// OpenAPI 3.1.
func TestOpenAPI(t *testing.T) {
	doc, err := openapi.Build(openapi.Fragment{Owner: "payments", Spec: paymentshttp.OpenAPI()})
	if err != nil {
		t.Fatal(err)
	}
	if err := openapicheck.Validate(doc.JSON()); err != nil {
		t.Fatal(err)
	}
}
