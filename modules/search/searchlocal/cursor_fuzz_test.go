package searchlocal

import (
	"strconv"
	"testing"
)

// FuzzDecodeCursor reads search cursors as clients send them back: any
// string either is refused with the module's invalid-cursor error or names
// a position that encodes to a cursor decoding to the same position.
func FuzzDecodeCursor(f *testing.F) {
	for _, s := range []string{"", "cHJpY2V8MTIzfGh0bF8x", "bm90IGEgY3Vyc29y", "%%%", "cHJpY2V8fA", "cHJpY2V8OTIyMzM3MjAzNjg1NDc3NTgwOHxo"} {
		f.Add(s, "price")
	}
	f.Add(encodeCursor("rating", candidate{key: -1, h: &hotelEntry{id: "htl_2"}}), "rating")
	f.Fuzz(func(t *testing.T, s, sort string) {
		c, err := decodeCursor(s, sort)
		if err != nil || c == nil {
			if err == nil && s != "" {
				t.Fatalf("decodeCursor(%q) gave no position and no error", s)
			}
			return
		}
		again, err := decodeCursor(encodeCursor(sort, candidate{key: c.key, h: &hotelEntry{id: c.id}}), sort)
		if err != nil || again == nil || *again != *c {
			t.Fatalf("cursor %q → %+v does not round-trip: %+v, %v (key %s)", s, c, again, err, strconv.FormatInt(c.key, 10))
		}
	})
}
