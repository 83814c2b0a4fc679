// Package apperrtest checks errors in tests: that an error is a declared
// apperr value (errors.Is, so it holds after an HTTP hop too) and names
// exactly the expected invalid fields.
package apperrtest

import (
	"errors"
	"slices"
	"testing"

	"github.com/bellhop/bellhop/platform/apperr"
)

// Want fails tb unless err is target (errors.Is) and, when fields are given,
// its field errors name exactly those fields (in any order).
func Want(tb testing.TB, err error, target *apperr.Error, fields ...string) {
	tb.Helper()
	if !errors.Is(err, target) {
		tb.Fatalf("err = %v, want %s (%s)", err, target.Reason, target.Code)
	}
	if len(fields) == 0 {
		return
	}
	var got []string
	for _, f := range apperr.As(err).Fields {
		got = append(got, f.Field)
	}
	slices.Sort(got)
	want := slices.Clone(fields)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		tb.Fatalf("invalid fields = %v, want %v (err %v)", got, want, err)
	}
}
