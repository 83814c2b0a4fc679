package validation_test

import (
	"errors"
	"testing"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/validation"
)

type item struct {
	Date string `json:"date" validate:"required"`
}

type request struct {
	Name     string `json:"name" validate:"notblank,max=10"`
	Guests   int    `json:"guests" validate:"min=1,max=8"`
	Currency string `json:"currency" validate:"currency"`
	Zone     string `json:"time_zone" validate:"timezone"`
	Sort     string `query:"sort" validate:"omitempty,oneof=price rating"`
	Items    []item `json:"items" validate:"dive"`
}

func TestStruct(t *testing.T) {
	v := validation.New()
	ok := request{Name: "Lisbon", Guests: 2, Currency: "EUR", Zone: "Europe/Lisbon", Sort: "price"}
	if err := v.Struct("x.invalid", ok); err != nil {
		t.Fatalf("valid request: %v", err)
	}
	bad := request{Name: "  ", Guests: 9, Currency: "EURO", Zone: "Mars/Olympus", Sort: "name", Items: []item{{}}}
	err := v.Struct("x.invalid", bad)
	if !errors.Is(err, apperr.InvalidAny) {
		t.Fatalf("err = %v, want invalid", err)
	}
	got := map[string]string{}
	for _, f := range apperr.As(err).Fields {
		got[f.Field] = f.Detail
	}
	want := map[string]string{
		"name":          "is required",
		"guests":        "must be at most 8",
		"currency":      "must be an ISO 4217 currency code such as EUR or USD",
		"time_zone":     "must be an IANA time zone such as Europe/Lisbon",
		"sort":          "must be one of: price, rating",
		"items[0].date": "is required",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("field %s: %q, want %q", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("fields = %v", got)
	}
}
