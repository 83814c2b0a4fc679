package httpserver

import (
	"net/http/httptest"
	"testing"
)

func TestMayScrape(t *testing.T) {
	t.Parallel()
	const token = "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name, remote, auth, xff, token string
		want                           bool
	}{
		{"LoopbackV4", "127.0.0.1:5000", "", "", "", true},
		{"LoopbackV6", "[::1]:5000", "", "", "", true},
		{"RemotePeer", "10.0.0.5:5000", "", "", "", false},
		{"RemotePeerClaimingLoopback", "10.0.0.5:5000", "", "127.0.0.1", "", false},
		{"TokenFromAnywhere", "10.0.0.5:5000", "Bearer " + token, "", token, true},
		{"WrongToken", "10.0.0.5:5000", "Bearer nope", "", token, false},
		{"LoopbackWithoutTheConfiguredToken", "127.0.0.1:5000", "", "", token, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", "/metrics", nil)
			r.RemoteAddr = tc.remote
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := mayScrape(r, tc.token); got != tc.want {
				t.Fatalf("mayScrape = %v, want %v", got, tc.want)
			}
		})
	}
}
