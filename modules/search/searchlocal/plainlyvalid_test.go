package searchlocal

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/validation"
)

// TestPlainlyValid_OnlyWhatTheValidatorPasses: on random searches near every
// bound, plainlyValid never passes one the validator refuses, and passes
// the everyday ones.
func TestPlainlyValid_OnlyWhatTheValidatorPasses(t *testing.T) {
	t.Parallel()
	v := validation.New()
	rng := rand.New(rand.NewPCG(3, 4))
	cities := []string{"", " ", "   ", "Lisbon", "lisbon-pt", "São Paulo", "New York", "a\tb", "x\x7f", "\u202eevil",
		strings.Repeat("a", 100), strings.Repeat("a", 101), strings.Repeat("é", 60)}
	dates := []civil.Date{{}, civil.MustParse("2026-12-24")}
	pick := func(xs []int) int { return xs[rng.IntN(len(xs))] }
	passed := 0
	for range 20000 {
		req := search.SearchRequest{
			City:     cities[rng.IntN(len(cities))],
			CheckIn:  dates[rng.IntN(len(dates))],
			CheckOut: dates[rng.IntN(len(dates))],
			Guests:   pick([]int{-1, 0, 1, 2, 16, 17}),
			MaxPrice: int64(pick([]int{-1, 0, 1, 50000})),
			Sort:     []string{"", "price", "rating", "stars", "cheap", "Price"}[rng.IntN(6)],
			Limit:    pick([]int{-1, 0, 1, 20, 100, 101}),
			Cursor:   strings.Repeat("c", pick([]int{0, 10, 512, 513})),
		}
		if !plainlyValid(req) {
			continue
		}
		passed++
		if err := v.Struct(search.ErrInvalidRequest.Reason, req); err != nil {
			t.Fatalf("plainlyValid passed %+v, which the validator refuses: %v", req, err)
		}
	}
	if passed < 100 {
		t.Errorf("plainlyValid passed %d of 20000 searches; want the everyday ones", passed)
	}
	everyday := search.SearchRequest{City: "Lisbon", CheckIn: dates[1], CheckOut: dates[1], Guests: 2, Sort: "price", Limit: 20}
	if !plainlyValid(everyday) {
		t.Errorf("plainlyValid(%+v) = false", everyday)
	}
}

// TestPlainlyValid_TagsAsChecked fails when SearchRequest's validate tags
// change: plainlyValid restates them and must change with them.
func TestPlainlyValid_TagsAsChecked(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"City": "notblank,max=100,safetext", "CheckIn": "required", "CheckOut": "required",
		"Guests": "min=1,max=16", "MaxPrice": "gte=0", "Sort": "omitempty,oneof=price rating stars",
		"Limit": "gte=0,lte=100", "Cursor": "max=512",
	}
	rt := reflect.TypeFor[search.SearchRequest]()
	for i := range rt.NumField() {
		f := rt.Field(i)
		if got := f.Tag.Get("validate"); got != want[f.Name] {
			t.Errorf("SearchRequest.%s is tagged validate:%q, plainlyValid checks %q: make them agree", f.Name, got, want[f.Name])
		}
	}
	if rt.NumField() != len(want) {
		t.Errorf("SearchRequest has %d fields, plainlyValid knows %d", rt.NumField(), len(want))
	}
}
