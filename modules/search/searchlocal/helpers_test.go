package searchlocal_test

import (
	"testing"

	"github.com/bellhop/bellhop/modules/search/searchlocal"
)

func newModule(tb testing.TB, d searchlocal.Deps) *searchlocal.Module {
	tb.Helper()
	m, err := searchlocal.New(d)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}
