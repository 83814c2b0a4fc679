package mail_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bellhop/bellhop/platform/mail"
)

// The sink writes one .eml per Message-ID, with both parts and the attachment.
func TestSink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := mail.Sink{Dir: filepath.Join(dir, "mail")}
	m := mail.Message{From: "Bellhop <r@bellhop.test>", To: "zoe@example.test", ToName: "Zoë Øberg", Subject: "Your receipt",
		MessageID: "doc_1@bellhop.test", Text: "plain part", HTML: "<p>html part</p>",
		Attachments: []mail.Attachment{{Filename: "receipt.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4")}}}
	for range 2 { // the same message twice: one file
		if err := s.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "mail", "*.eml"))
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	b, _ := os.ReadFile(files[0])
	for _, want := range []string{"Message-ID: <doc_1@bellhop.test>", "multipart/alternative", "text/plain", "text/html",
		"application/pdf", "receipt.pdf", "zoe@example.test"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("eml lacks %q:\n%s", want, b)
		}
	}
}

// Templates render the subject and both parts; HTML escapes the data.
func TestTemplate(t *testing.T) {
	t.Parallel()
	tpl, err := mail.ParseTemplate("t", `{{define "subject"}}Hi {{.}}{{end}}{{define "text"}}Hello {{.}}{{end}}{{define "html"}}<p>Hello {{.}}</p>{{end}}`)
	if err != nil {
		t.Fatal(err)
	}
	subj, text, html, err := tpl.Render("<Zoë>")
	if err != nil || subj != "Hi <Zoë>" || text != "Hello <Zoë>" || html != "<p>Hello &lt;Zoë&gt;</p>" {
		t.Fatalf("%q %q %q %v", subj, text, html, err)
	}
	if _, err := mail.ParseTemplate("t", `{{define "subject"}}x{{end}}`); err == nil {
		t.Fatal("a template without text and html parts was accepted")
	}
}

func TestNewSMTP_Config(t *testing.T) {
	t.Parallel()
	if _, err := mail.NewSMTP(mail.SMTPConfig{}); err == nil {
		t.Fatal("no host accepted")
	}
	if _, err := mail.NewSMTP(mail.SMTPConfig{Host: "127.0.0.1", TLSPolicy: "sometimes"}); err == nil {
		t.Fatal("unknown TLS policy accepted")
	}
	for _, p := range []string{"", mail.TLSMandatory, mail.TLSOpportunistic, mail.TLSNone, mail.TLSImplicit} {
		if _, err := mail.NewSMTP(mail.SMTPConfig{Host: "127.0.0.1", Port: 2525, TLSPolicy: p, Username: "u", Password: "p"}); err != nil {
			t.Fatalf("%q: %v", p, err)
		}
	}
}
