package authlocal_test

import (
	"encoding/base64"
	"testing"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/auth/authlocal"
	"github.com/bellhop/bellhop/platform/db/dbtest"
)

const (
	issuer   = "https://auth.bellhop.test"
	audience = "bellhop"
)

// cheap are argon2id parameters that keep tests fast; production uses
// authlocal.DefaultPasswordParams.
var cheap = authlocal.PasswordParams{Time: 1, MemoryKiB: 64, Threads: 1}

// newModule builds the module on a fresh SQLite file; zero fields of d get
// test defaults.
func newModule(tb testing.TB, d authlocal.Deps) *authlocal.Module {
	tb.Helper()
	if d.DB == nil {
		d.DB = dbtest.Open(tb, auth.Module, authlocal.Migrations)
	}
	if d.Issuer == "" {
		d.Issuer, d.Audience = issuer, audience
	}
	if d.Password == (authlocal.PasswordParams{}) {
		d.Password = cheap
	}
	m, err := authlocal.New(d)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func decodeSegment(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
