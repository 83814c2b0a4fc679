// Package configs embeds Bellhop's default configuration, so the binary runs
// with no file beside it and every default is documented in one place.
package configs

import _ "embed"

// Default is configs/bellhop.yaml: every key with its default and a comment.
//
//go:embed bellhop.yaml
var Default []byte
