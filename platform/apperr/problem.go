package apperr

import (
	"errors"
	"net/http"
	"strings"
	"time"
)

// ProblemMediaType is the content type of an RFC 9457 problem document.
const ProblemMediaType = "application/problem+json"

// typePrefix makes a problem's type a URI (RFC 9457 §3.1.1) that names the reason.
const typePrefix = "urn:bellhop:problem:"

// Problem is an RFC 9457 problem details document, with Bellhop's extension
// members: code, reason, errors (one per invalid field) and request_id.
type Problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail,omitempty"`
	Instance  string       `json:"instance,omitempty"`
	Code      Code         `json:"code"`
	Reason    string       `json:"reason"`
	Errors    []FieldError `json:"errors,omitempty"`
	RequestID string       `json:"request_id,omitempty"`
	// RetryAfterSeconds mirrors the Retry-After header, for clients that only read bodies.
	RetryAfterSeconds int `json:"retry_after_seconds,omitempty"`
}

// ToProblem renders err as a problem document. Internal errors carry no detail
// of their cause.
func ToProblem(err error) Problem {
	e := As(err)
	reason := e.Reason
	if reason == "" {
		reason = string(e.Code)
	}
	p := Problem{
		Type:   typePrefix + reason,
		Title:  http.StatusText(e.Status()),
		Status: e.Status(),
		Detail: e.Message,
		Code:   e.Code,
		Reason: reason,
		Errors: e.Fields,
	}
	if e.RetryAfter > 0 {
		p.RetryAfterSeconds = int((e.RetryAfter + time.Second - 1) / time.Second)
	}
	return p
}

// maxRetryAfterSeconds bounds the retry_after_seconds a decoded problem may
// ask for (a day).
const maxRetryAfterSeconds = 24 * 60 * 60

// Err turns a decoded problem back into the *Error it was rendered from, so
// errors.Is against a module's declared error values works after the hop.
func (p Problem) Err() *Error {
	code := p.Code
	if _, known := statusByCode[code]; !known {
		code = CodeForStatus(p.Status)
	}
	reason := p.Reason
	if reason == "" {
		reason = strings.TrimPrefix(p.Type, typePrefix)
	}
	if reason == string(code) {
		reason = ""
	}
	e := &Error{Code: code, Reason: reason, Message: p.Detail, Fields: p.Errors}
	if p.RetryAfterSeconds > 0 {
		// Bounded: a huge value from another process overflowed into a
		// negative wait.
		e.RetryAfter = time.Duration(min(p.RetryAfterSeconds, maxRetryAfterSeconds)) * time.Second
	}
	return e
}

// IsRetryable reports whether the error is a transient failure (unavailable or
// rate limited) that the same request might get past later.
func IsRetryable(err error) bool {
	return errors.Is(err, UnavailableAny) || errors.Is(err, RateLimitedAny)
}
