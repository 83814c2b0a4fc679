package httpclient

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/platform/apperr"
)

// FuzzStatusError decodes error answers as another module (or a proxy in
// front of it) sends them: whatever the body and headers say, the caller
// gets an *apperr.Error that is an error (4xx or 5xx), a bounded Retry-After,
// and no retry advice for a 4xx that was not a rate limit.
func FuzzStatusError(f *testing.F) {
	f.Add(404, "application/problem+json", `{"type":"urn:bellhop:problem:bookings.not_found","status":404,"code":"not_found","reason":"bookings.not_found","detail":"no such booking"}`, "")
	f.Add(422, "application/problem+json; charset=utf-8", `{"status":422,"code":"invalid","errors":[{"field":"guests","reason":"min","detail":"must be at least 1"}]}`, "")
	f.Add(429, "application/problem+json", `{"status":429,"code":"rate_limited","retry_after_seconds":3}`, "3")
	f.Add(500, "application/problem+json", `{"status":200,"code":"ok"}`, "")
	f.Add(404, "application/problem+json", `{"status":-1,"code":"","reason":""}`, "")
	f.Add(502, "text/html", `<html>bad gateway</html>`, "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add(400, "application/problem+json", `{"status":400,"retry_after_seconds":-5}`, "-1")
	f.Add(503, "application/problem+json", `{"status":503,"retry_after_seconds":9223372036854775807}`, "99999999999")
	c, err := New("http://127.0.0.1:1", Options{Callee: "bookings"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, status int, contentType, body, retryAfter string) {
		if status < 400 || status > 599 {
			return // statusError only sees error answers
		}
		h := http.Header{}
		h.Set("Content-Type", contentType)
		h.Set("Retry-After", retryAfter)
		e := c.statusError(&response{status: status, header: h, body: []byte(body)})
		if e == nil {
			t.Fatal("no error for an error answer")
		}
		if s := e.Status(); s < 400 || s > 599 {
			t.Fatalf("a %d answer (%s) became an error with status %d", status, body, s)
		}
		if e.RetryAfter < 0 {
			t.Fatalf("negative Retry-After %v from %q / %s", e.RetryAfter, retryAfter, body)
		}
		if e.RetryAfter > 24*time.Hour {
			t.Fatalf("Retry-After of %v from %q / %s: a remote may not park callers that long", e.RetryAfter, retryAfter, body)
		}
		if status < 500 && status != http.StatusTooManyRequests && apperr.IsRetryable(e) && !strings.Contains(body, "unavailable") && !strings.Contains(body, "rate_limited") {
			t.Fatalf("a %d answer became retryable: %v", status, e)
		}
		if !errors.Is(e, e) || e.Error() == "" {
			t.Fatal("the error does not describe itself")
		}
	})
}
