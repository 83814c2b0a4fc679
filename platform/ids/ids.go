// Package ids makes the identifiers Bellhop's modules hand out: a short
// prefix naming the kind ("bk", "pay", "usr") and a lower-case ULID, so ids
// sort by creation time and say what they are.
package ids

import (
	"strings"

	"github.com/oklog/ulid/v2"
)

// New returns prefix + "_" + a new lower-case ULID, e.g. "bk_01j9…".
func New(prefix string) string { return prefix + "_" + strings.ToLower(ulid.Make().String()) }
