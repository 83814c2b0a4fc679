package httpserver

import (
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf8"

	json "github.com/goccy/go-json"
)

// Helpers for JSONAppender implementations: each appends a value exactly as
// the serializer's generic encoder (goccy/go-json, HTML-safe like
// encoding/json) writes it. The common case is done here; anything unusual
// (a control character, invalid UTF-8, U+2028, a float written with an
// exponent) is handed to the generic encoder, so the bytes never differ.

// jsonPlain marks the ASCII bytes a JSON string carries as they are:
// printable, and neither a quote, a backslash nor one of <, >, & (which the
// HTML-safe encoders write as \u003c, \u003e, \u0026).
var jsonPlain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = true
	}
	for _, c := range `"\<>&` {
		t[c] = false
	}
	return t
}()

// AppendJSONString appends s as a JSON string.
func AppendJSONString(dst []byte, s string) []byte {
	mark := len(dst)
	dst = append(dst, '"')
	if n := len(s); n >= 8 {
		// Most strings are plain all through: eight bytes at a time, the
		// last eight overlapping the chunk before, then one copy.
		i := 0
		for i+8 < n && plain8(binary.LittleEndian.Uint64([]byte(s[i:i+8]))) {
			i += 8
		}
		if i+8 >= n && plain8(binary.LittleEndian.Uint64([]byte(s[n-8:]))) {
			dst = append(dst, s...)
			return append(dst, '"')
		}
	}
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time while they are all plain (most strings are).
		for i+8 <= len(s) && plain8(binary.LittleEndian.Uint64([]byte(s[i:i+8]))) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf && jsonPlain[c] {
			i++
			continue
		}
		var esc string
		switch c {
		case '"':
			esc = `\"`
		case '\\':
			esc = `\\`
		case '<':
			esc = `\u003c`
		case '>':
			esc = `\u003e`
		case '&':
			esc = `\u0026`
		case '\n':
			esc = `\n`
		case '\r':
			esc = `\r`
		case '\t':
			esc = `\t`
		default:
			if c >= utf8.RuneSelf {
				r, size := utf8.DecodeRuneInString(s[i:])
				if (r != utf8.RuneError || size > 1) && r != '\u2028' && r != '\u2029' {
					i += size // valid UTF-8 goes as it is
					continue
				}
			}
			return appendGeneric(dst[:mark], s)
		}
		dst = append(dst, s[start:i]...)
		dst = append(dst, esc...)
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plain8 reports whether the eight bytes of x are all plain (jsonPlain):
// none below 0x20 or from 0x80 up, none a quote, backslash, <, > or &. A
// byte is zero after XOR with the byte it matches; (v - ones) &^ v & highs
// is non-zero exactly when v has a zero byte.
func plain8(x uint64) bool {
	const (
		quote  = ones * '"'
		bslash = ones * '\\'
		lt     = ones * '<'
		gt     = ones * '>'
		amp    = ones * '&'
	)
	q, b, l, g, a := x^quote, x^bslash, x^lt, x^gt, x^amp
	bad := x | (x-ones*0x20)&^x |
		(q-ones)&^q | (b-ones)&^b | (l-ones)&^l | (g-ones)&^g | (a-ones)&^a
	return bad&highs == 0
}

// AppendJSONFloat appends f as a JSON number. ok is false for NaN and the
// infinities, which JSON cannot carry (the generic encoder fails on them).
func AppendJSONFloat(dst []byte, f float64) (_ []byte, ok bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, false
	}
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return appendGeneric(dst, f), true // written with an exponent
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64), true
}

// appendGeneric appends v as the generic encoder writes it (v is a string or
// a finite float, which it always can).
func appendGeneric(dst []byte, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("httpserver: the JSON encoder refused a " + err.Error()) // unreachable for strings and finite floats
	}
	return append(dst, b...)
}
