package searchlocal_test

import (
	"testing"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/modules/search/searchlocal"
	"github.com/bellhop/bellhop/modules/search/searchtest"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/db/dbtest"
)

// TestService runs the search contract in-process, on a real SQLite file.
func TestService(t *testing.T) {
	searchtest.RunContract(t, func(t *testing.T, _ *authntest.Issuer) search.Service {
		d := dbtest.Open(t, search.Module, searchlocal.Migrations)
		return newModule(t, searchlocal.Deps{DB: d}).Service()
	})
}
