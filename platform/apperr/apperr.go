// Package apperr is Bellhop's one error type: a code that maps to an HTTP
// status, a namespaced reason ("search.hotel_not_found"), a client-facing
// message and field errors. It survives an HTTP hop as RFC 9457 problem+json,
// so errors.Is on a module's error values works in-process and remotely.
//
// It imports only the standard library, so contract packages may use it.
package apperr

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Code is the class of an error. Each code maps to exactly one HTTP status.
type Code string

// The codes, and the HTTP status each one maps to.
const (
	CodeUnreadable       Code = "unreadable"         // 400: the request cannot be read
	CodeUnauthenticated  Code = "unauthenticated"    // 401
	CodeForbidden        Code = "forbidden"          // 403
	CodeNotFound         Code = "not_found"          // 404 (also: exists, but is not yours)
	CodeConflict         Code = "conflict"           // 409
	CodeTooLarge         Code = "too_large"          // 413
	CodeInvalid          Code = "invalid"            // 422: readable, but its values are invalid
	CodeRateLimited      Code = "rate_limited"       // 429 (with Retry-After)
	CodeInternal         Code = "internal"           // 500
	CodeUnavailable      Code = "unavailable"        // 503: a dependency or transport failed
	CodeMethodNotAllowed Code = "method_not_allowed" // 405
	// CodeUnsupportedMediaType: 415, a body in a format the route does not
	// take (a JSON route sent text/plain, or no Content-Type).
	CodeUnsupportedMediaType Code = "unsupported_media_type"
)

var statusByCode = map[Code]int{
	CodeUnreadable:           http.StatusBadRequest,
	CodeUnauthenticated:      http.StatusUnauthorized,
	CodeForbidden:            http.StatusForbidden,
	CodeNotFound:             http.StatusNotFound,
	CodeMethodNotAllowed:     http.StatusMethodNotAllowed,
	CodeUnsupportedMediaType: http.StatusUnsupportedMediaType,
	CodeConflict:             http.StatusConflict,
	CodeTooLarge:             http.StatusRequestEntityTooLarge,
	CodeInvalid:              http.StatusUnprocessableEntity,
	CodeRateLimited:          http.StatusTooManyRequests,
	CodeInternal:             http.StatusInternalServerError,
	CodeUnavailable:          http.StatusServiceUnavailable,
}

// Status is the HTTP status of a code; unknown codes are 500.
func (c Code) Status() int {
	if s, ok := statusByCode[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// CodeForStatus is the inverse of Status, used when a response carries no
// problem body of ours (a proxy's 502, say).
func CodeForStatus(status int) Code {
	for c, s := range statusByCode {
		if s == status {
			return c
		}
	}
	switch {
	case status >= 500:
		return CodeUnavailable
	case status >= 400:
		return CodeUnreadable
	}
	return CodeInternal
}

// FieldError names one invalid field (by its JSON name) and why.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

// Error is the error type every module returns for anything a caller can act on.
type Error struct {
	Code       Code
	Reason     string // namespaced: "<module>.<what>", e.g. "search.hotel_not_found"
	Message    string // safe to show to the client
	Fields     []FieldError
	RetryAfter time.Duration // for rate_limited and unavailable
	cause      error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Reason)
	if e.Reason == "" {
		b.WriteString(string(e.Code))
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Field + ": " + f.Detail)
		if i == len(e.Fields)-1 {
			b.WriteString(")")
		}
	}
	if e.cause != nil {
		b.WriteString(": ")
		b.WriteString(e.cause.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether e matches target: same code, and same reason unless the
// target has none (so errors.Is(err, apperr.NotFoundAny) matches any 404).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	if t.Code != e.Code {
		return false
	}
	return t.Reason == "" || t.Reason == e.Reason
}

// Status is the HTTP status for this error.
func (e *Error) Status() int { return e.Code.Status() }

// New builds an error value. Modules declare theirs once, as package variables.
func New(code Code, reason, message string) *Error {
	return &Error{Code: code, Reason: reason, Message: message}
}

// Constructors for the common codes.
func NotFound(reason, message string) *Error   { return New(CodeNotFound, reason, message) }
func Conflict(reason, message string) *Error   { return New(CodeConflict, reason, message) }
func Invalid(reason, message string) *Error    { return New(CodeInvalid, reason, message) }
func Unreadable(reason, message string) *Error { return New(CodeUnreadable, reason, message) }
func Forbidden(reason, message string) *Error  { return New(CodeForbidden, reason, message) }
func Unauthenticated(reason, message string) *Error {
	return New(CodeUnauthenticated, reason, message)
}
func Unavailable(reason, message string) *Error { return New(CodeUnavailable, reason, message) }

// Matchers for "any error of this code", for errors.Is.
var (
	NotFoundAny        = &Error{Code: CodeNotFound}
	ConflictAny        = &Error{Code: CodeConflict}
	InvalidAny         = &Error{Code: CodeInvalid}
	UnreadableAny      = &Error{Code: CodeUnreadable}
	UnauthenticatedAny = &Error{Code: CodeUnauthenticated}
	ForbiddenAny       = &Error{Code: CodeForbidden}
	RateLimitedAny     = &Error{Code: CodeRateLimited}
	UnavailableAny     = &Error{Code: CodeUnavailable}
	InternalAny        = &Error{Code: CodeInternal}
)

// With returns a copy of e with a new message (the declared value is not changed).
func (e *Error) With(format string, args ...any) *Error {
	c := *e
	c.Message = fmt.Sprintf(format, args...)
	return &c
}

// WithFields returns a copy of e carrying field errors.
func (e *Error) WithFields(fields ...FieldError) *Error {
	c := *e
	c.Fields = append(append([]FieldError(nil), e.Fields...), fields...)
	return &c
}

// WithCause returns a copy of e wrapping cause (kept for logs; never sent to clients).
func (e *Error) WithCause(cause error) *Error {
	c := *e
	c.cause = cause
	return &c
}

// WithRetryAfter returns a copy of e that tells clients when to try again.
func (e *Error) WithRetryAfter(d time.Duration) *Error {
	c := *e
	c.RetryAfter = d
	return &c
}

// Field is shorthand for a single-field validation error.
func Field(reason, field, detail string) *Error {
	return &Error{
		Code:    CodeInvalid,
		Reason:  reason,
		Message: "the request has invalid values",
		Fields:  []FieldError{{Field: field, Reason: "invalid", Detail: detail}},
	}
}

// Internal wraps an unexpected error: the client sees a generic message, the
// log sees the cause.
func Internal(cause error) *Error {
	return &Error{Code: CodeInternal, Reason: "internal", Message: "an internal error occurred", cause: cause}
}

// As returns err as an *Error; errors that are not ours become internal errors.
func As(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}

// CodeOf is the code of err (internal for foreign errors, "" for nil).
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	return As(err).Code
}

// OrInternal passes errors of ours through and wraps anything else, with op
// naming what failed, as an internal error (nil stays nil). Services use it
// on every error that leaves a store or a library.
func OrInternal(err error, op string) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(fmt.Errorf("%s: %w", op, err))
}
