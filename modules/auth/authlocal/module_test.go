package authlocal_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/auth/authlocal"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/db/dbtest"
	"github.com/bellhop/bellhop/platform/events"
)

const password = "correct horse battery staple"

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func kidOf(t *testing.T, token string) string {
	t.Helper()
	var hdr struct {
		Kid string `json:"kid"`
	}
	seg, _, _ := strings.Cut(token, ".")
	b, err := decodeSegment(seg)
	if err != nil || json.Unmarshal(b, &hdr) != nil {
		t.Fatalf("token header: %v", err)
	}
	return hdr.Kid
}

// A rotated-out key keeps verifying the tokens it signed for their
// lifetime, and then disappears from the JWKS and the KeySet.
func TestRotateKeys(t *testing.T) {
	clk := &clock{t: time.Now()}
	m := newModule(t, authlocal.Deps{Now: clk.Now})
	ctx := context.Background()
	if _, err := m.CreateUser(ctx, "rot@bellhop.test", "Rot", password); err != nil {
		t.Fatal(err)
	}
	signIn := func() string {
		tok, err := m.Service().SignIn(ctx, auth.SignInRequest{Email: "rot@bellhop.test", Password: password})
		if err != nil {
			t.Fatal(err)
		}
		return tok.AccessToken
	}
	old := signIn()
	oldKid := kidOf(t, old)
	newKid, err := m.RotateKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if newKid == oldKid || kidOf(t, signIn()) != newKid {
		t.Fatalf("after rotation tokens are signed by %s, want %s (old %s)", kidOf(t, signIn()), newKid, oldKid)
	}
	v, err := authn.NewVerifier(m.KeySet(), issuer, audience, authn.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, old); err != nil {
		t.Fatalf("a token of the rotated-out key no longer verifies: %v", err)
	}
	set, err := m.Service().JWKS(ctx)
	if err != nil || len(set.Keys) != 2 || set.Keys[0].Kid != newKid {
		t.Fatalf("JWKS = %+v, %v", set, err)
	}

	clk.Add(authlocal.DefaultAccessTokenTTL + authn.DefaultLeeway + 6*time.Minute)
	if _, err := m.KeySet().PublicKey(ctx, oldKid); !errors.Is(err, authn.ErrUnknownKey) {
		t.Fatalf("old key past its window: err = %v, want unknown key", err)
	}
	set, err = m.Service().JWKS(ctx)
	if err != nil || len(set.Keys) != 1 || set.Keys[0].Kid != newKid {
		t.Fatalf("JWKS = %+v, %v", set, err)
	}
	if _, err := m.KeySet().PublicKey(ctx, newKid); err != nil {
		t.Fatal(err)
	}
}

// Keys live in the database: a second module on it (another process, the
// `keys rotate` command) signs and verifies with the same keys.
func TestKeysShared(t *testing.T) {
	d := dbtest.Open(t, auth.Module, authlocal.Migrations)
	a := newModule(t, authlocal.Deps{DB: d})
	b := newModule(t, authlocal.Deps{DB: d})
	ctx := context.Background()
	setA, err := a.Service().JWKS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.KeySet().PublicKey(ctx, setA.Keys[0].Kid); err != nil {
		t.Fatal(err)
	}
	kid, err := b.RotateKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// a has not reloaded yet, but an unknown kid makes it look again.
	if _, err := a.KeySet().PublicKey(ctx, kid); err != nil {
		t.Fatal(err)
	}
}

// Register records user.registered in the outbox, in the same transaction;
// registering that email again records registration_attempted naming the
// account (its own spelling and name, not the attempt's) and changes nothing.
// Neither event carries a password or a hash.
func TestRegister_Event(t *testing.T) {
	d := dbtest.Open(t, auth.Module, authlocal.Migrations)
	m := newModule(t, authlocal.Deps{DB: d})
	ctx := context.Background()
	first, err := m.Service().Register(ctx, auth.RegisterRequest{Email: "Ev@Bellhop.test", Name: "Ev", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	var before struct{ ID, PasswordHash string }
	if err := d.Raw("SELECT id, password_hash FROM users").Scan(&before).Error; err != nil || before.ID == "" {
		t.Fatalf("user %+v: %v", before, err)
	}
	const other = "an attempt with another password"
	again, err := m.Service().Register(ctx, auth.RegisterRequest{Email: " ev@bellhop.TEST ", Name: "Mallory", Password: other})
	if err != nil {
		t.Fatal(err)
	}
	if first != (auth.Registration{Status: auth.RegistrationAccepted, Email: "Ev@Bellhop.test"}) ||
		again != (auth.Registration{Status: auth.RegistrationAccepted, Email: "ev@bellhop.TEST"}) {
		t.Fatalf("registrations %+v, %+v", first, again)
	}
	var after []struct{ ID, Email, Name, PasswordHash string }
	if err := d.Raw("SELECT id, email, name, password_hash FROM users").Scan(&after).Error; err != nil {
		t.Fatal(err)
	}
	if len(after) != 1 || after[0].ID != before.ID || after[0].Email != "Ev@Bellhop.test" || after[0].Name != "Ev" || after[0].PasswordHash != before.PasswordHash {
		t.Fatalf("users after the second registration = %+v", after)
	}

	var rows []struct {
		Subject string
		Payload []byte
	}
	if err := d.Raw("SELECT subject, payload FROM events_outbox ORDER BY seq").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Subject != events.Subject(auth.Module, auth.EventUserRegistered) ||
		rows[1].Subject != events.Subject(auth.Module, auth.EventRegistrationAttempted) {
		t.Fatalf("outbox = %+v", rows)
	}
	decode := func(payload []byte, v any) events.Event {
		t.Helper()
		var evt events.Event
		if err := json.Unmarshal(payload, &evt); err != nil {
			t.Fatal(err)
		}
		if err := evt.Decode(v); err != nil {
			t.Fatal(err)
		}
		return evt
	}
	var registered auth.UserRegistered
	if evt := decode(rows[0].Payload, &registered); evt.Source != auth.Module || evt.Type != auth.EventUserRegistered ||
		registered.UserID != before.ID || registered.Email != "Ev@Bellhop.test" || registered.Name != "Ev" {
		t.Fatalf("event %+v with %+v", evt, registered)
	}
	var attempted auth.RegistrationAttempted
	if evt := decode(rows[1].Payload, &attempted); evt.Source != auth.Module || evt.Type != auth.EventRegistrationAttempted ||
		attempted != (auth.RegistrationAttempted{UserID: before.ID, Email: "Ev@Bellhop.test", Name: "Ev",
			Kind: auth.RegistrationAttemptExistingAccount, AttemptedAt: attempted.AttemptedAt}) || attempted.AttemptedAt.IsZero() {
		t.Fatalf("event %+v with %+v", evt, attempted)
	}
	for _, r := range rows {
		for _, secret := range []string{password, other, before.PasswordHash, "Mallory"} {
			if strings.Contains(string(r.Payload), secret) {
				t.Fatalf("the %s event carries %q", r.Subject, secret)
			}
		}
	}
}

// Registrations of one new address at once: one account, every answer the
// same, and one user.registered with an attempt event for each of the rest.
func TestRegister_ConcurrentSameEmail(t *testing.T) {
	t.Parallel()
	d := dbtest.Open(t, auth.Module, authlocal.Migrations)
	m := newModule(t, authlocal.Deps{DB: d})
	const n = 6
	answers := make([]auth.Registration, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			answers[i], errs[i] = m.Service().Register(context.Background(),
				auth.RegisterRequest{Email: "race@bellhop.test", Name: fmt.Sprintf("Racer %d", i), Password: password})
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || answers[i] != (auth.Registration{Status: auth.RegistrationAccepted, Email: "race@bellhop.test"}) {
			t.Fatalf("registration %d: %+v %v", i, answers[i], errs[i])
		}
	}
	var users, registered, attempted int64
	d.Raw("SELECT count(*) FROM users").Scan(&users)
	d.Raw("SELECT count(*) FROM events_outbox WHERE subject = ?", events.Subject(auth.Module, auth.EventUserRegistered)).Scan(&registered)
	d.Raw("SELECT count(*) FROM events_outbox WHERE subject = ?", events.Subject(auth.Module, auth.EventRegistrationAttempted)).Scan(&attempted)
	if users != 1 || registered != 1 || attempted != n-1 {
		t.Fatalf("%d users, %d registered, %d attempted events; want 1, 1, %d", users, registered, attempted, n-1)
	}
}

// Passwords are stored as argon2id hashes; a sign-in upgrades a hash made
// with other cost parameters.
func TestPasswordHash(t *testing.T) {
	d := dbtest.Open(t, auth.Module, authlocal.Migrations)
	ctx := context.Background()
	a := newModule(t, authlocal.Deps{DB: d})
	if _, err := a.CreateUser(ctx, "hash@bellhop.test", "Hash", password); err != nil {
		t.Fatal(err)
	}
	stored := func() string {
		var h string
		if err := d.Raw("SELECT password_hash FROM users WHERE email_key = ?", "hash@bellhop.test").Scan(&h).Error; err != nil {
			t.Fatal(err)
		}
		return h
	}
	if h := stored(); !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Contains(h, password) {
		t.Fatalf("stored hash %q", h)
	}
	b := newModule(t, authlocal.Deps{DB: d, Password: authlocal.PasswordParams{Time: 2, MemoryKiB: 128, Threads: 1}})
	if _, err := b.Service().SignIn(ctx, auth.SignInRequest{Email: "hash@bellhop.test", Password: password}); err != nil {
		t.Fatal(err)
	}
	if h := stored(); !strings.HasPrefix(h, "$argon2id$v=19$m=128,t=2,p=1$") {
		t.Fatalf("hash not upgraded: %q", h)
	}
	if _, err := a.Service().SignIn(ctx, auth.SignInRequest{Email: "hash@bellhop.test", Password: password}); err != nil {
		t.Fatalf("the upgraded hash does not verify: %v", err)
	}
}

// Configured service clients follow the configuration: a new secret
// replaces the old one, and short secrets are refused.
func TestEnsureServiceClients(t *testing.T) {
	m := newModule(t, authlocal.Deps{})
	ctx := context.Background()
	one, two := strings.Repeat("1", 32), strings.Repeat("2", 32)
	token := func(secret string) error {
		_, err := m.Service().Token(ctx, auth.TokenRequest{GrantType: auth.GrantClientCredentials, ClientID: "bookings", ClientSecret: secret})
		return err
	}
	if err := m.EnsureServiceClients(ctx, []authlocal.ServiceClient{{ID: "bookings", Secret: one, Scopes: []string{"search:quote"}}}); err != nil {
		t.Fatal(err)
	}
	if err := token(one); err != nil {
		t.Fatal(err)
	}
	if err := m.EnsureServiceClients(ctx, []authlocal.ServiceClient{{ID: "bookings", Secret: two, Scopes: []string{"search:quote"}}}); err != nil {
		t.Fatal(err)
	}
	if err := token(one); !errors.Is(err, auth.ErrInvalidClient) {
		t.Fatalf("old secret: err = %v", err)
	}
	if err := token(two); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []authlocal.ServiceClient{{ID: "x", Secret: "short"}, {ID: "Bad ID", Secret: two}, {ID: auth.SessionClientID, Secret: two}} {
		if err := m.EnsureServiceClients(ctx, []authlocal.ServiceClient{bad}); err == nil {
			t.Fatalf("%+v accepted", bad)
		}
	}

	// The API neither changes nor deletes a configured service identity
	// (the modules calling with it would fail until the next start); an
	// admin's own clients it does.
	if _, err := m.CreateAdmin(ctx, "root@bellhop.test", "Root", "a long enough passphrase"); err != nil {
		t.Fatal(err)
	}
	tok, err := m.Service().SignIn(ctx, auth.SignInRequest{Email: "root@bellhop.test", Password: "a long enough passphrase"})
	if err != nil {
		t.Fatal(err)
	}
	admin := authn.WithPrincipal(ctx, revokingVerifierPrincipal(t, m, tok.AccessToken))
	name := "Renamed"
	if _, err := m.Service().UpdateClient(admin, auth.UpdateClientRequest{ID: "bookings", Name: &name}); !errors.Is(err, auth.ErrClientConfigured) {
		t.Errorf("update a configured client: err = %v, want %v", err, auth.ErrClientConfigured)
	}
	if err := m.Service().DeleteClient(admin, auth.DeleteClientRequest{ID: "bookings"}); !errors.Is(err, auth.ErrClientConfigured) {
		t.Errorf("delete a configured client: err = %v, want %v", err, auth.ErrClientConfigured)
	}
	if err := token(two); err != nil {
		t.Fatalf("the configured client after the refusals: %v", err)
	}
	own, err := m.Service().CreateClient(admin, auth.CreateClientRequest{Name: "Own", Confidential: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Service().DeleteClient(admin, auth.DeleteClientRequest{ID: own.ID}); err != nil {
		t.Errorf("delete an admin's client: %v", err)
	}
}
