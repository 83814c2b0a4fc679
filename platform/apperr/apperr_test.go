package apperr_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/platform/apperr"
)

var errSoldOut = apperr.Conflict("bookings.sold_out", "no room of this type is free for those nights")

func TestIs(t *testing.T) {
	err := fmt.Errorf("hold: %w", errSoldOut.With("room %s is gone", "rt_1"))
	if !errors.Is(err, errSoldOut) {
		t.Fatal("a re-worded copy must still match its declared value")
	}
	if !errors.Is(err, apperr.ConflictAny) || errors.Is(err, apperr.NotFoundAny) {
		t.Fatal("code matchers are wrong")
	}
	if errors.Is(err, apperr.Conflict("bookings.other", "")) {
		t.Fatal("a different reason must not match")
	}
	if errSoldOut.Message != "no room of this type is free for those nights" {
		t.Fatal("With changed the declared value")
	}
}

func TestStatus(t *testing.T) {
	for code, status := range map[apperr.Code]int{
		apperr.CodeUnreadable: 400, apperr.CodeUnauthenticated: 401, apperr.CodeForbidden: 403,
		apperr.CodeNotFound: 404, apperr.CodeConflict: 409, apperr.CodeTooLarge: 413, apperr.CodeInvalid: 422,
		apperr.CodeRateLimited: 429, apperr.CodeInternal: 500, apperr.CodeUnavailable: 503, "mystery": 500,
	} {
		if got := code.Status(); got != status {
			t.Errorf("%s: %d, want %d", code, got, status)
		}
	}
	if apperr.CodeForStatus(http.StatusBadGateway) != apperr.CodeUnavailable || apperr.CodeForStatus(418) != apperr.CodeUnreadable {
		t.Error("CodeForStatus fallbacks are wrong")
	}
}

// A problem document survives JSON and turns back into an error that matches.
func TestProblemRoundTrip(t *testing.T) {
	in := apperr.Invalid("search.invalid_stay", "the dates are not valid").WithFields(
		apperr.FieldError{Field: "check_out", Reason: "not_after_check_in", Detail: "must be after check_in"},
	).WithRetryAfter(1500 * time.Millisecond)
	b, err := json.Marshal(apperr.ToProblem(in))
	if err != nil {
		t.Fatal(err)
	}
	var p apperr.Problem
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != 422 || p.Type != "urn:bellhop:problem:search.invalid_stay" || p.Title != "Unprocessable Entity" || p.RetryAfterSeconds != 2 {
		t.Fatalf("problem = %+v", p)
	}
	out := p.Err()
	if !errors.Is(out, in) || len(out.Fields) != 1 || out.Fields[0].Field != "check_out" || out.Message != in.Message {
		t.Fatalf("round trip = %+v", out)
	}
}

// Internal errors never show their cause to the client.
func TestInternalHidesCause(t *testing.T) {
	err := apperr.Internal(errors.New("dial tcp 10.0.0.7:5432: password authentication failed"))
	p := apperr.ToProblem(err)
	b, _ := json.Marshal(p)
	if strings.Contains(string(b), "password") || p.Status != 500 || p.Reason != "internal" {
		t.Fatalf("problem leaks or is wrong: %s", b)
	}
	if !strings.Contains(err.Error(), "password") {
		t.Fatal("the cause must stay in Error() for logs")
	}
	if !errors.Is(apperr.ToProblem(errors.New("foreign")).Err(), apperr.InternalAny) {
		t.Fatal("a foreign error is internal after the hop")
	}
}
