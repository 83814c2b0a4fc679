package bookingslocal

import "testing"

// FuzzDecodeCursor reads "my bookings" cursors as clients send them back:
// any string is refused or names a booking id that encodes back to itself.
func FuzzDecodeCursor(f *testing.F) {
	for _, s := range []string{"", encodeCursor("bk_01J00000000000000000000000"), "YWZ0ZXI6", "YWZ0ZXI6cGF5XzE", "%%%", "YWZ0ZXI6YmtfAA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := decodeCursor(s)
		if !ok || id == "" {
			return
		}
		if len(id) > 64 {
			t.Fatalf("decodeCursor(%q) accepted a %d-byte id", s, len(id))
		}
		if back, ok := decodeCursor(encodeCursor(id)); !ok || back != id {
			t.Fatalf("cursor %q → %q does not round-trip: %q, %v", s, id, back, ok)
		}
	})
}
