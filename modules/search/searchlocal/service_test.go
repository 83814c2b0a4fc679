package searchlocal_test

import (
	"testing"

	"github.com/bellhop/bellhop/modules/search/internal/searchfixture"
	"github.com/bellhop/bellhop/modules/search/searchlocal"
	"github.com/bellhop/bellhop/modules/search/searchtest"
	"github.com/bellhop/bellhop/platform/authn/authntest"
)

// TestService runs the search contract in-process, on a real SQLite file.
func TestService(t *testing.T) {
	searchtest.RunContract(t, func(t *testing.T, _ *authntest.Issuer) searchtest.Target {
		return searchtest.Target{Service: searchfixture.NewModule(t, searchlocal.Deps{}).Service()}
	})
}
