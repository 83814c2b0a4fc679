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

type freeText struct {
	Name string  `json:"name" validate:"safetext"`
	Note *string `json:"note" validate:"omitnil,safemultiline"`
}

func TestSafeTextRejectsControlAndBidiCharacters(t *testing.T) {
	t.Parallel()
	v := validation.New()
	cases := []struct {
		name, text   string
		oneLine, any bool // accepted by safetext, by safemultiline
	}{
		{"plain", "Hotel Avenida", true, true},
		{"accents and scripts", "Pousada São Tomé – 東京 – فندق", true, true},
		{"empty", "", true, true},
		{"line feed", "a\nb", false, true},
		{"carriage return", "a\r\nb", false, true},
		{"tab", "a\tb", false, true},
		{"NUL", "a\x00b", false, false},
		{"escape", "a\x1b[31mb", false, false},
		{"DEL", "a\x7fb", false, false},
		{"C1 NEL", "a\u0085b", false, false},
		{"C1 CSI", "a\u009bb", false, false},
		{"right-to-left override", "evil\u202Egnp.exe", false, false},
		{"left-to-right embedding", "a\u202Ab", false, false},
		{"pop directional formatting", "a\u202Cb", false, false},
		{"left-to-right isolate", "a\u2066b", false, false},
		{"pop directional isolate", "a\u2069b", false, false},
		{"invalid UTF-8", "a\xffb", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := validation.SafeText(tc.text, false); got != tc.oneLine {
				t.Errorf("SafeText(%q, false) = %v, want %v", tc.text, got, tc.oneLine)
			}
			if got := validation.SafeText(tc.text, true); got != tc.any {
				t.Errorf("SafeText(%q, true) = %v, want %v", tc.text, got, tc.any)
			}
			note := tc.text
			err := v.Struct("x.invalid", freeText{Name: tc.text, Note: &note})
			got := map[string]apperr.FieldError{}
			if err != nil {
				for _, f := range apperr.As(err).Fields {
					got[f.Field] = f
				}
			}
			if _, bad := got["name"]; bad == tc.oneLine {
				t.Errorf("name %q: errors %v, want rejected=%v", tc.text, got, !tc.oneLine)
			}
			if _, bad := got["note"]; bad == tc.any {
				t.Errorf("note %q: errors %v, want rejected=%v", tc.text, got, !tc.any)
			}
			if f, bad := got["name"]; bad && (f.Reason != "safetext" ||
				f.Detail != "must be one line without control or bidirectional override characters") {
				t.Errorf("name error = %+v", f)
			}
		})
	}
	if err := v.Struct("x.invalid", freeText{Name: "ok"}); err != nil {
		t.Errorf("nil note: %v", err)
	}
}
