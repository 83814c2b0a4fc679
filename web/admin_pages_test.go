package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/mail"
	"github.com/bellhop/bellhop/web"
)

// An admin registers OAuth clients (a confidential one's secret is shown on
// that answer only), sees a bad redirect URI named next to its field, and
// deletes a client; guests are refused and every form needs its CSRF token.
func TestOAuthClientsPage(t *testing.T) {
	t.Parallel()
	a := newApp(t, "Casa")
	a.auth.add("admin@example.com", "Ann Admin", "admin password 1", authn.RoleAdmin)
	admin := a.browser(t)
	admin.post("/signin", "/signin", url.Values{"email": {"admin@example.com"}, "password": {"admin password 1"}})

	st, _, body := admin.get("/admin/clients")
	must(t, "no clients", st, body, 200, "No OAuth clients yet", `href="/admin/clients"`, `action="/admin/clients"`)

	st, _, body = admin.post("/admin/clients", "/admin/clients", url.Values{"name": {"Partner app"},
		"redirect_uris": {"https://partner.example/cb\nhttp://evil.example/cb"}, "grant_types": {"authorization_code", "refresh_token"}})
	must(t, "bad redirect URI", st, body, 422, "There is a problem", `href="#redirect_uris"`, `id="redirect_uris-error"`,
		"Redirect URIs (entry 2) must be an https URL", "http://evil.example/cb") // the form keeps what was typed
	st, _, body = admin.post("/admin/clients", "/admin/clients", url.Values{"name": {" "}})
	must(t, "no name", st, body, 422, `id="name-error"`, "Enter name")

	st, _, body = admin.post("/admin/clients", "/admin/clients", url.Values{"name": {"Nightly export"}, "confidential": {"on"},
		"grant_types": {"client_credentials"}, "scopes": {"reports:read, bookings:read"}})
	must(t, "created", st, body, http.StatusCreated, "The client Nightly export is registered", "Copy the secret of Nightly export now",
		`id="new-client-secret">secret-cli_`, "reports:read bookings:read")
	id := regexp.MustCompile(`id="new-client-id">(cli_[^<]+)<`).FindStringSubmatch(body)
	if id == nil {
		t.Fatalf("no client id on the page")
	}
	st, _, body = admin.get("/admin/clients")
	must(t, "listed", st, body, 200, "Nightly export", id[1], "confidential", "client_credentials")
	if strings.Contains(body, "secret-cli_") {
		t.Error("the secret is shown again after the answer that created the client")
	}

	st, at, body := admin.post("/admin/clients", "/admin/clients/"+id[1]+"/delete", url.Values{})
	must(t, "deleted", st, body, 200, "The client Nightly export is deleted: every token it was given stops working", "No OAuth clients yet")
	if !strings.HasPrefix(at, "/admin/clients?deleted=") {
		t.Errorf("after deleting at %s", at)
	}

	// Without the CSRF token: refused.
	res, err := admin.c.PostForm(a.srv.URL+"/admin/clients", url.Values{"name": {"Sneaky"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("a form without its CSRF token: %d, want 403", res.StatusCode)
	}

	guest := a.browser(t)
	signUp(t, guest, "g@example.com")
	for _, p := range []string{"/admin/clients", "/admin/keys", "/admin/mail"} {
		if st, _, _ := guest.get(p); st != http.StatusForbidden {
			t.Errorf("a guest on %s: %d, want 403", p, st)
		}
	}
}

// An admin sees the signing keys and rotates: the new key is active, the
// previous one retired with the time it leaves the JWKS.
func TestSigningKeysPage(t *testing.T) {
	t.Parallel()
	a := newApp(t, "Casa")
	a.auth.add("admin@example.com", "Ann Admin", "admin password 1", authn.RoleAdmin)
	admin := a.browser(t)
	admin.post("/signin", "/signin", url.Values{"email": {"admin@example.com"}, "password": {"admin password 1"}})

	st, _, body := admin.get("/admin/keys")
	must(t, "keys", st, body, 200, "kid-first", "active: signs new tokens", `action="/admin/keys/rotate"`, "while active")
	st, at, body := admin.post("/admin/keys", "/admin/keys/rotate", url.Values{})
	must(t, "rotated", st, body, 200, "A new key signs from now on: kid-2", "retired")
	if at != "/admin/keys?rotated=kid-2" {
		t.Errorf("after rotating at %s", at)
	}
	if i, j := strings.Index(body, "kid-2"), strings.Index(body, "kid-first"); i < 0 || j < i {
		t.Errorf("the new key is not listed first")
	}
}

// The mailbox lists what the mail sink holds, opens a message with its text
// and serves its attachment as sent.
func TestMailboxPage(t *testing.T) {
	t.Parallel()
	a := newApp(t, "Casa")
	a.auth.add("admin@example.com", "Ann Admin", "admin password 1", authn.RoleAdmin)
	admin := a.browser(t)
	admin.post("/signin", "/signin", url.Values{"email": {"admin@example.com"}, "password": {"admin password 1"}})

	st, _, body := admin.get("/admin/mail")
	must(t, "empty mailbox", st, body, 200, "No mail yet", `href="/admin/mail"`)

	pdf := []byte("%PDF-1.4 receipt \x00\xff\n%%EOF\n")
	if err := a.mailbox.sink.Send(context.Background(), mail.Message{From: "Bellhop <r@bellhop.test>", To: "zoe@example.test",
		Subject: "Your receipt <BH-1>", MessageID: "doc_1@bellhop.test", Date: time.Now(), Text: "Hello Zoë,\nthanks for booking.",
		HTML: "<p>Hello</p>", Attachments: []mail.Attachment{{Filename: "BH-1.pdf", ContentType: "application/pdf", Data: pdf}}}); err != nil {
		t.Fatal(err)
	}
	st, _, body = admin.get("/admin/mail")
	must(t, "mailbox", st, body, 200, "Your receipt &lt;BH-1&gt;", "zoe@example.test", "(with attachment)", `href="/admin/mail/doc_1@bellhop.test"`)
	st, _, body = admin.get("/admin/mail/doc_1@bellhop.test")
	must(t, "message", st, body, 200, "Hello Zoë,\nthanks for booking.", "BH-1.pdf", `href="/admin/mail/doc_1@bellhop.test/attachments/0"`)
	res, got := admin.rawGet("/admin/mail/doc_1@bellhop.test/attachments/0")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/pdf" || string(got) != string(pdf) ||
		res.Header.Get("Content-Disposition") != `attachment; filename="BH-1.pdf"` {
		t.Errorf("attachment: %d %s %s %q", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"), got)
	}
	for _, p := range []string{"/admin/mail/nope", "/admin/mail/doc_1@bellhop.test/attachments/1", "/admin/mail/..%2Fsessions"} {
		if st, _, _ := admin.get(p); st != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, st)
		}
	}
}

// Where the mail sink is not in use (SMTP, or reporting elsewhere) there is
// no mailbox: not in the menu, and its pages are not found; without report
// files the reports page offers CSV only.
func TestMailboxAbsent(t *testing.T) {
	t.Parallel()
	a := newAppWith(t, "Casa", func(d *web.Deps) { d.Mailbox, d.ReportFiles = nil, nil })
	a.auth.add("admin@example.com", "Ann Admin", "admin password 1", authn.RoleAdmin)
	admin := a.browser(t)
	admin.post("/signin", "/signin", url.Values{"email": {"admin@example.com"}, "password": {"admin password 1"}})
	st, _, body := admin.get("/admin/users")
	must(t, "users", st, body, 200, `href="/admin/clients"`, `href="/admin/keys"`)
	if strings.Contains(body, `href="/admin/mail"`) {
		t.Error("the menu links a mailbox that is not there")
	}
	for _, p := range []string{"/admin/mail", "/admin/mail/x", "/admin/mail/x/attachments/0"} {
		if st, _, _ := admin.get(p); st != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, st)
		}
	}
	_, _, body = admin.get("/staff/reports?from=2026-05-01&to=2026-05-03")
	if !strings.Contains(body, "occupancy.csv") || strings.Contains(body, "occupancy.pdf") {
		t.Error("without report files the page should offer CSV and no PDF")
	}
	if st, _, _ := admin.get("/staff/reports/occupancy.pdf?from=2026-05-01&to=2026-05-03"); st != http.StatusNotFound {
		t.Errorf("the PDF export without report files: %d, want 404", st)
	}
}

// The admin hub lists every admin page with what it is for; each admin page
// has the same menu, its own entry marked current; the main menu has one
// Admin link. Staff are refused the hub.
func TestAdminHub(t *testing.T) {
	t.Parallel()
	a := newApp(t, "Casa")
	a.auth.add("admin@example.com", "Ann Admin", "admin password 1", authn.RoleAdmin)
	a.auth.add("staff@example.com", "Sam Staff", "staff password 1", authn.RoleStaff)
	admin := a.browser(t)
	admin.post("/signin", "/signin", url.Values{"email": {"admin@example.com"}, "password": {"admin password 1"}})

	st, _, body := admin.get("/admin")
	must(t, "hub", st, body, 200, "<h1>Admin</h1>", `<a href="/admin" aria-current="page">Admin</a>`,
		`<h2><a href="/admin/users">Users</a></h2>`, `<h2><a href="/admin/clients">OAuth clients</a></h2>`,
		`<h2><a href="/admin/keys">Signing keys</a></h2>`, `<h2><a href="/admin/bank">Bank</a></h2>`,
		`<h2><a href="/admin/mail">Mailbox</a></h2>`, `<h2><a href="/system">System</a></h2>`)
	if strings.Contains(body, `aria-label="Admin"`) {
		t.Error("the hub repeats its own list as a menu")
	}
	st, _, body = admin.get("/admin/keys")
	must(t, "keys", st, body, 200, `<a href="/admin" aria-current="true">Admin</a>`, `<nav aria-label="Admin" class="subnav">`,
		`<a href="/admin/keys" aria-current="page">Signing keys</a>`, `<a href="/admin/users">Users</a>`)

	staff := a.browser(t)
	staff.post("/signin", "/signin", url.Values{"email": {"staff@example.com"}, "password": {"staff password 1"}})
	if st, _, body := staff.get("/admin"); st != http.StatusForbidden {
		t.Errorf("staff on the admin hub: %d, want 403\n%s", st, body)
	}
	if _, _, body := staff.get("/staff"); strings.Contains(body, `href="/admin"`) {
		t.Error("staff see the Admin link")
	}
}
