package mail_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/platform/mail"
)

// What the sink wrote reads back: the list newest first, and one message
// with both parts and its attachment byte for byte.
func TestSink_ListAndRead(t *testing.T) {
	t.Parallel()
	s := mail.Sink{Dir: filepath.Join(t.TempDir(), "mail")}
	if list, err := s.List(0); err != nil || len(list) != 0 {
		t.Fatalf("an empty sink lists %v, %v", list, err)
	}
	pdf := bytes.Repeat([]byte("%PDF-1.4 binary \x00\x01\xff "), 200)
	base := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for i, subject := range []string{"Welcome to Bellhop", "Your receipt BH-1 — Zoë"} {
		m := mail.Message{From: "Bellhop <r@bellhop.test>", To: "zoe@example.test", ToName: "Zoë Øberg", Subject: subject,
			MessageID: "msg" + string(rune('a'+i)) + "@bellhop.test", Date: base.Add(time.Duration(i) * time.Hour),
			Text: "Hello Zoë,\nyour stay is booked. " + strings.Repeat("long line ", 20), HTML: "<p>Hello Zoë</p>"}
		if i == 1 {
			m.Attachments = []mail.Attachment{{Filename: "BH-1.pdf", ContentType: "application/pdf", Data: pdf}}
		}
		if err := s.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.List(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Subject != "Your receipt BH-1 — Zoë" || list[1].Subject != "Welcome to Bellhop" {
		t.Fatalf("list = %+v, want the receipt first", list)
	}
	if !list[0].HasAttachment || list[1].HasAttachment || !list[0].Date.Equal(base.Add(time.Hour)) || !strings.Contains(list[0].To, "zoe@example.test") {
		t.Errorf("list[0] = %+v, list[1] = %+v", list[0], list[1])
	}
	if l, _ := s.List(1); len(l) != 1 {
		t.Errorf("List(1) gave %d", len(l))
	}

	got, err := s.Read(list[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "Your receipt BH-1 — Zoë" || got.MessageID != "msgb@bellhop.test" || !strings.HasPrefix(got.Text, "Hello Zoë,\nyour stay") ||
		got.HTML != "<p>Hello Zoë</p>" {
		t.Errorf("read %q %q text %q html %q", got.Subject, got.MessageID, got.Text, got.HTML)
	}
	if len(got.Attachments) != 1 || got.Attachments[0].Filename != "BH-1.pdf" || got.Attachments[0].ContentType != "application/pdf" ||
		!bytes.Equal(got.Attachments[0].Data, pdf) {
		t.Errorf("attachments %+v", got.Attachments)
	}

	for _, bad := range []string{"", "../mail", "nope", "a/b", ".."} {
		if _, err := s.Read(bad); !errors.Is(err, mail.ErrNoSuchMessage) {
			t.Errorf("Read(%q) = %v, want ErrNoSuchMessage", bad, err)
		}
	}
}
