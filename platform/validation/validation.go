// Package validation checks request structs with go-playground/validator tags
// and turns failures into one apperr 422 naming every bad field by its JSON
// name and saying why, in words a client can act on.
package validation

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/money"
)

// Validator validates structs. It is safe for concurrent use; build one per
// module and reuse it (it caches struct metadata).
type Validator struct {
	v *validator.Validate
}

// New builds a Validator with Bellhop's extra tags:
//   - currency: an ISO 4217 code money knows
//   - timezone: an IANA time zone name
//   - notblank: a string with something other than spaces
//   - safetext: one line of text with no control characters (C0, DEL, C1)
//     and no bidirectional override or isolate (U+202A–U+202E,
//     U+2066–U+2069), which could make a name display as something else
//   - safemultiline: like safetext, but tabs and line breaks are allowed
func New() *Validator {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		for _, tag := range []string{"json", "query", "param"} {
			name, _, _ := strings.Cut(f.Tag.Get(tag), ",")
			if name == "-" {
				return ""
			}
			if name != "" {
				return name
			}
		}
		return f.Name
	})
	must(v.RegisterValidation("currency", func(fl validator.FieldLevel) bool {
		return money.IsCurrency(fl.Field().String())
	}))
	must(v.RegisterValidation("timezone", func(fl validator.FieldLevel) bool {
		name := fl.Field().String()
		if name == "" || name == "Local" {
			return false
		}
		_, err := time.LoadLocation(name)
		return err == nil
	}))
	must(v.RegisterValidation("notblank", func(fl validator.FieldLevel) bool {
		return strings.TrimSpace(fl.Field().String()) != ""
	}))
	must(v.RegisterValidation("safetext", func(fl validator.FieldLevel) bool {
		return SafeText(fl.Field().String(), false)
	}))
	must(v.RegisterValidation("safemultiline", func(fl validator.FieldLevel) bool {
		return SafeText(fl.Field().String(), true)
	}))
	return &Validator{v: v}
}

// SafeText tells whether s is valid UTF-8 free of control characters and of
// bidirectional overrides and isolates. With multiline, tab, line feed and
// carriage return are allowed.
func SafeText(s string, multiline bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case multiline && (r == '\t' || r == '\n' || r == '\r'):
		case r < 0x20, r >= 0x7f && r <= 0x9f:
			return false
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return false
		}
	}
	return true
}

func must(err error) {
	if err != nil {
		panic(err) // only on a programming error in New
	}
}

// Struct validates s. On failure it returns an apperr with code invalid, the
// given reason (e.g. "search.invalid_request") and one FieldError per field.
func (v *Validator) Struct(reason string, s any) error {
	err := v.v.Struct(s)
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return apperr.Internal(fmt.Errorf("validate %T: %w", s, err))
	}
	fields := make([]apperr.FieldError, 0, len(verrs))
	for _, fe := range verrs {
		fields = append(fields, apperr.FieldError{
			Field:  fieldPath(fe.Namespace()),
			Reason: fe.Tag(),
			Detail: describe(fe),
		})
	}
	return apperr.Invalid(reason, "the request has invalid values").WithFields(fields...)
}

// fieldPath drops the struct type name: "SearchRequest.rates[0].date" → "rates[0].date".
func fieldPath(ns string) string {
	if _, rest, ok := strings.Cut(ns, "."); ok {
		return rest
	}
	return ns
}

func describe(fe validator.FieldError) string {
	p := fe.Param()
	switch fe.Tag() {
	case "required", "required_without", "required_with", "notblank":
		return "is required"
	case "min":
		if fe.Kind() == reflect.String {
			return fmt.Sprintf("must be at least %s characters long", p)
		}
		if fe.Kind() == reflect.Slice {
			return fmt.Sprintf("must have at least %s items", p)
		}
		return "must be at least " + p
	case "max":
		if fe.Kind() == reflect.String {
			return fmt.Sprintf("must be at most %s characters long", p)
		}
		if fe.Kind() == reflect.Slice {
			return fmt.Sprintf("must have at most %s items", p)
		}
		return "must be at most " + p
	case "gte":
		return "must be at least " + p
	case "lte":
		return "must be at most " + p
	case "gt":
		return "must be greater than " + p
	case "lt":
		return "must be less than " + p
	case "len":
		return fmt.Sprintf("must be exactly %s characters long", p)
	case "oneof":
		return "must be one of: " + strings.ReplaceAll(p, " ", ", ")
	case "email":
		return "must be an email address"
	case "url", "http_url":
		return "must be a URL"
	case "currency":
		return "must be an ISO 4217 currency code such as EUR or USD"
	case "timezone":
		return "must be an IANA time zone such as Europe/Lisbon"
	case "iso3166_1_alpha2":
		return "must be an ISO 3166-1 alpha-2 country code such as PT"
	case "alpha", "alphanum", "uppercase", "lowercase":
		return "must be " + fe.Tag()
	case "safetext":
		return "must be one line without control or bidirectional override characters"
	case "safemultiline":
		return "must not contain control or bidirectional override characters"
	case "dive", "unique":
		return "must not repeat values"
	}
	return fmt.Sprintf("is not valid (%s)", fe.Tag())
}
