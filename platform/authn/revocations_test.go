package authn_test

import (
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/authn/authntest"
)

// tokenAt signs guest's token issued at iat.
func tokenAt(t *testing.T, iss *authntest.Issuer, iat time.Time) string {
	t.Helper()
	c := iss.Claims(guest, time.Hour)
	c.IssuedAt = jwt.NewNumericDate(iat)
	return iss.Sign(t, c)
}

func TestVerifyRefusesTokensIssuedBeforeNotBefore(t *testing.T) {
	t.Parallel()
	iss := authntest.NewIssuer(t, testIssuer, testAudience)
	revoked := authn.NewRevocations(time.Hour, nil)
	v, err := authn.NewVerifier(iss.KeySet(), testIssuer, testAudience, authn.WithRevocations(revoked))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	before, after := tokenAt(t, iss, now.Add(-10*time.Second)), tokenAt(t, iss, now.Add(2*time.Second))
	other := iss.Token(t, authn.Principal{Subject: "usr_other", Kind: authn.KindUser}, time.Hour)

	revoked.Revoke(guest.Subject, now)

	if _, err := v.Verify(t.Context(), before); !errors.Is(err, authn.ErrInvalidToken) {
		t.Fatalf("token issued before not-before: err = %v, want ErrInvalidToken", err)
	}
	if _, err := v.Verify(t.Context(), after); err != nil {
		t.Fatalf("token issued after not-before: %v", err)
	}
	if _, err := v.Verify(t.Context(), other); err != nil {
		t.Fatalf("another subject's token: %v", err)
	}
}

func TestVerifyRefusesRememberedTokenAfterRevocation(t *testing.T) {
	t.Parallel()
	iss := authntest.NewIssuer(t, testIssuer, testAudience)
	revoked := authn.NewRevocations(time.Hour, nil)
	v, err := authn.NewVerifier(iss.KeySet(), testIssuer, testAudience, authn.WithRevocations(revoked))
	if err != nil {
		t.Fatal(err)
	}
	tok := tokenAt(t, iss, time.Now().Add(-time.Second))
	for range 2 { // the second time from the remembered tokens
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatalf("before revocation: %v", err)
		}
	}
	revoked.Revoke(guest.Subject, time.Now())
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, authn.ErrInvalidToken) {
		t.Fatalf("remembered token after revocation: err = %v, want ErrInvalidToken", err)
	}
}

func TestRevocationsKeepLatestAndIssueAfter(t *testing.T) {
	t.Parallel()
	r := authn.NewRevocations(time.Hour, nil)
	now := time.Now()
	r.Revoke("usr_1", now)
	r.Revoke("usr_1", now.Add(-time.Minute)) // a late, older event changes nothing
	if got := r.NotBefore("usr_1"); !got.Equal(now) {
		t.Fatalf("NotBefore = %v, want %v", got, now)
	}
	r.Revoke("usr_2", now.Add(-2*time.Hour)) // older than any live token: not kept
	if got := r.NotBefore("usr_2"); !got.IsZero() {
		t.Fatalf("NotBefore of an outlived revocation = %v, want zero", got)
	}
	// Not-before times the issuer picks are whole seconds, later than any
	// token issued so far, and a token issued after one is not refused by it
	// even in the same second; a second revocation in that second still
	// refuses that token.
	first := r.Next("usr_4", now)
	if first.Nanosecond() != 0 || !first.After(now) || first.Sub(now) > time.Second {
		t.Fatalf("Next = %v at %v", first, now)
	}
	r.Revoke("usr_4", first)
	if !r.Revoked("usr_4", now.Truncate(time.Second)) { // issued in the revocation's second, before it
		t.Fatal("a token issued before the revocation survived it")
	}
	iat := r.IssueTime("usr_4", now)
	if r.Revoked("usr_4", iat) {
		t.Fatalf("a token issued right after the revocation (iat %v) is refused by it", iat)
	}
	second := r.Next("usr_4", now)
	r.Revoke("usr_4", second)
	if !r.Revoked("usr_4", iat) {
		t.Fatalf("a second revocation in the same second (%v) did not refuse the token issued at %v", second, iat)
	}
	if got := r.IssueTime("usr_3", now); !got.Equal(now) {
		t.Fatalf("IssueTime without revocation = %v, want %v", got, now)
	}
	var none *authn.Revocations
	if none.Revoked("usr_1", time.Time{}) {
		t.Fatal("a nil Revocations revoked a token")
	}
}
