package reportinglocal_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/reporting/reportinglocal"
	"github.com/bellhop/bellhop/modules/reporting/reportingtest"
	"github.com/bellhop/bellhop/platform/mail"
)

// A new account gets the welcome mail; someone registering an address that
// has an account makes reporting tell its owner, at most once an hour
// however many attempts (so nobody can flood a stranger's inbox through
// Bellhop), and a redelivered event sends nothing more.
func TestMail_RegistrationAttempt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := reportinglocal.DefaultConfig()
	cfg.MailPoll = 50 * time.Millisecond
	m := newModule(t, reportinglocal.Deps{Mail: mail.Sink{Dir: dir}, Config: cfg})
	run(t, m)

	at := time.Date(2026, 12, 3, 10, 5, 0, 0, time.UTC)
	welcome := reportingtest.UserRegisteredEvent(t, "usr_ada", "ada@guest.example", "Ada", at)
	first := reportingtest.RegistrationAttemptedEvent(t, "usr_ada", "ada@guest.example", "Ada", at.Add(10*time.Minute))
	mustApply(t, m, welcome, first, first,
		reportingtest.RegistrationAttemptedEvent(t, "usr_ada", "ada@guest.example", "Ada", at.Add(20*time.Minute)),
		reportingtest.RegistrationAttemptedEvent(t, "usr_ada", "ada@guest.example", "Ada", at.Add(50*time.Minute)),
		reportingtest.RegistrationAttemptedEvent(t, "usr_ada", "ada@guest.example", "Ada", at.Add(70*time.Minute)))

	want := []string{
		"registration-attempt.20261203T10.usr_ada@" + cfg.MessageIDDomain + ".eml",
		"registration-attempt.20261203T11.usr_ada@" + cfg.MessageIDDomain + ".eml",
		"welcome.usr_ada@" + cfg.MessageIDDomain + ".eml",
	}
	var names []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		entries, err := os.ReadDir(dir)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		names = names[:0]
		for _, e := range entries {
			names = append(names, e.Name())
		}
		slices.Sort(names)
		if len(names) >= len(want) || time.Now().After(deadline) {
			break
		}
	}
	if !slices.Equal(names, want) {
		t.Fatalf("mail sent: %q, want %q", names, want)
	}
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		msg := string(b)
		subject := "Subject: Welcome to Bellhop, Ada"
		if strings.HasPrefix(name, "registration-attempt.") {
			subject = "Subject: Someone tried to create a Bellhop account with your address"
		}
		if !strings.Contains(msg, "To: \"Ada\" <ada@guest.example>") || !strings.Contains(msg, subject) {
			t.Fatalf("%s:\n%s", name, msg)
		}
	}
}
