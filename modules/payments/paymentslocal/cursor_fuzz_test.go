package paymentslocal

import (
	"strings"
	"testing"
)

// FuzzDecodeCursor reads payment-list cursors as clients send them back:
// any string is refused or names a payment id that encodes back to itself.
func FuzzDecodeCursor(f *testing.F) {
	for _, s := range []string{"", encodeCursor("pay_01J00000000000000000000000"), "cDE6", "cDE6YmtfMQ", "%%%", "cDE6cGF5Xw", encodeCursor("pay_" + strings.Repeat("x", 100))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := decodeCursor(s)
		if err != nil || id == "" {
			return
		}
		if len(id) > 64 {
			t.Fatalf("decodeCursor(%q) accepted a %d-byte id", s, len(id))
		}
		if back, err := decodeCursor(encodeCursor(id)); err != nil || back != id {
			t.Fatalf("cursor %q → %q does not round-trip: %q, %v", s, id, back, err)
		}
	})
}
