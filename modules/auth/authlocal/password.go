package authlocal

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/platform/apperr"
)

// PasswordParams are the argon2id cost parameters new hashes are made with.
// Hashes keep the parameters they were made with; a successful sign-in
// re-hashes a password made with other ones.
type PasswordParams struct {
	Time      uint32 // iterations
	MemoryKiB uint32
	Threads   uint8
}

// DefaultPasswordParams is OWASP's second argon2id configuration (19 MiB,
// 2 iterations, 1 thread): about 25-40 ms per hash on one core here, which
// bounds sign-ins to a few dozen per second per core.
var DefaultPasswordParams = PasswordParams{Time: 2, MemoryKiB: 19 * 1024, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
)

// passwordHasher hashes and checks passwords with argon2id. Hashes run on
// all cores but one at most (one on a machine of two), so a burst of
// sign-ins queues instead of taking memory without bound (each hash holds
// MemoryKiB) and every other request keeps a core: without the bound, two
// overlapping sign-ins stalled searches on a two-core machine for ~30 ms.
type passwordHasher struct {
	params PasswordParams
	slots  chan struct{}
	// dummy is a hash of a random password with the current parameters:
	// checked against for an unknown email, so that answer takes as long as
	// a wrong password's.
	dummy string
}

func newPasswordHasher(p PasswordParams) (*passwordHasher, error) {
	if p == (PasswordParams{}) {
		p = DefaultPasswordParams
	}
	if p.Time < 1 || p.MemoryKiB < 8 || p.Threads < 1 {
		return nil, fmt.Errorf("authlocal: password params %+v: want time >= 1, memory >= 8 KiB, threads >= 1", p)
	}
	h := &passwordHasher{params: p, slots: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)-1))}
	// The dummy needs the current parameters, not a real key: random salt and
	// key cost a check as much as any hash, and computing one here would put
	// a full argon2 run (and its memory) on every start.
	salt, key := make([]byte, saltLen), make([]byte, keyLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	h.dummy = encodePHC(p, salt, key)
	return h, nil
}

func (h *passwordHasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return apperr.Unavailable("auth.busy", "the server is busy: try again").WithCause(ctx.Err())
	}
}

func (h *passwordHasher) release() { <-h.slots }

// hash returns the PHC string of password: $argon2id$v=19$m=..,t=..,p=..$salt$key.
func (h *passwordHasher) hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, h.params.Time, h.params.MemoryKiB, h.params.Threads, keyLen)
	h.release()
	return encodePHC(h.params, salt, key), nil
}

// encodePHC is the PHC string of an argon2id hash.
func encodePHC(p PasswordParams, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// verify reports whether password matches encoded (compared in constant
// time) and whether encoded was made with other parameters than the
// current ones.
func (h *passwordHasher) verify(ctx context.Context, password, encoded string) (ok, stale bool, err error) {
	p, salt, want, err := parsePHC(encoded)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	h.release()
	return subtle.ConstantTimeCompare(got, want) == 1, p != h.params, nil
}

// verifyDummy spends the time of a real check on nothing.
func (h *passwordHasher) verifyDummy(ctx context.Context, password string) error {
	_, _, err := h.verify(ctx, password, h.dummy)
	return err
}

var errBadHash = errors.New("authlocal: stored password hash is not argon2id in PHC format")

func parsePHC(s string) (PasswordParams, []byte, []byte, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return PasswordParams{}, nil, nil, errBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return PasswordParams{}, nil, nil, errBadHash
	}
	var p PasswordParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return PasswordParams{}, nil, nil, errBadHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) < 16 || p.Time < 1 || p.Threads < 1 {
		return PasswordParams{}, nil, nil, errBadHash
	}
	return p, salt, key, nil
}

//go:embed common_passwords.txt
var commonPasswordsText string

// commonPasswords are the most used (and most guessed) passwords, lower case.
var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsText))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" && !strings.HasPrefix(w, "#") {
			m[strings.ToLower(w)] = true
		}
	}
	return m
}()

// checkPassword applies the password rules: MinPasswordLength to
// MaxPasswordLength characters, not one of the common passwords (nor one
// followed by digits and symbols, "password2024!"), not a single repeated
// character, not the email. The error names the field and why, never the
// password.
func checkPassword(field, password, email string) error {
	weak := func(reason, detail string) error {
		return auth.ErrWeakPassword.WithFields(apperr.FieldError{Field: field, Reason: reason, Detail: detail})
	}
	n := utf8.RuneCountInString(password)
	switch {
	case n < auth.MinPasswordLength:
		return weak("too_short", fmt.Sprintf("must be at least %d characters long", auth.MinPasswordLength))
	case n > auth.MaxPasswordLength:
		return weak("too_long", fmt.Sprintf("must be at most %d characters long", auth.MaxPasswordLength))
	}
	lower := strings.ToLower(password)
	stem := strings.TrimRightFunc(lower, func(r rune) bool { return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || r == ' ' })
	stem = strings.TrimLeftFunc(stem, func(r rune) bool { return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) })
	if commonPasswords[lower] || commonPasswords[stem] {
		return weak("common", "is one of the most common passwords: choose another")
	}
	if first, _ := utf8.DecodeRuneInString(lower); strings.Trim(lower, string(first)) == "" {
		return weak("repeated", "must not be one character repeated")
	}
	if email != "" && (lower == strings.ToLower(strings.TrimSpace(email)) || lower == localPart(email)) {
		return weak("email", "must not be the email address")
	}
	return nil
}

func localPart(email string) string {
	l, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(email)), "@")
	return l
}
