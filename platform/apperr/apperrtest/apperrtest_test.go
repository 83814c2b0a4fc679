package apperrtest_test

import (
	"fmt"
	"testing"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/apperr/apperrtest"
)

var errX = apperr.Invalid("x.invalid", "bad")

type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Fatalf(string, ...any) { r.failed = true }

func TestWant(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", errX.WithFields(apperr.FieldError{Field: "b"}, apperr.FieldError{Field: "a"}))
	for _, tc := range []struct {
		target *apperr.Error
		fields []string
		fail   bool
	}{
		{errX, nil, false},
		{errX, []string{"a", "b"}, false},
		{errX, []string{"a"}, true},
		{apperr.NotFound("x.missing", ""), nil, true},
	} {
		r := &recorder{TB: t}
		apperrtest.Want(r, err, tc.target, tc.fields...)
		if r.failed != tc.fail {
			t.Errorf("Want(%s, %v): failed = %v, want %v", tc.target.Reason, tc.fields, r.failed, tc.fail)
		}
	}
}
