// Package mailpittest runs mailpit (a real SMTP server with an HTTP API) for
// one test and reads back what it received, attachments and their PDF text
// included. It is the one place tests start mailpit, as
// /work/shared/TESTING.md says: loopback only, no version check.
package mailpittest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/platform/pdftext/pdftexttest"
)

// Version is the mailpit release installed (with go install) when it is missing.
const Version = "v1.27.11"

// Server is a running mailpit.
type Server struct {
	API      string // http://127.0.0.1:PORT, the HTTP API
	SMTPAddr string // 127.0.0.1:PORT
	SMTPPort int
}

var httpc = &http.Client{Timeout: 10 * time.Second}

// Start starts mailpit with its SMTP port at smtpPort (0: a free one) and
// waits until both its API and its SMTP port answer. It stops when the test
// ends. Without mailpit (and without root to install it) the test is skipped.
func Start(t testing.TB, smtpPort int) *Server {
	t.Helper()
	bin := Tool(t, "mailpit", "go", "install", "github.com/axllent/mailpit@"+Version)
	if smtpPort == 0 {
		smtpPort = FreePort(t)
	}
	httpPort := FreePort(t)
	dir := t.TempDir()
	s := &Server{API: fmt.Sprintf("http://127.0.0.1:%d", httpPort), SMTPAddr: fmt.Sprintf("127.0.0.1:%d", smtpPort), SMTPPort: smtpPort}
	cmd := exec.Command(bin, "--listen", fmt.Sprintf("127.0.0.1:%d", httpPort), "--smtp", s.SMTPAddr,
		"--disable-version-check", "--database", filepath.Join(dir, "mailpit.db"))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := httpc.Get(s.API + "/api/v1/messages")
		if err == nil {
			res.Body.Close()
			if c, err := net.Dial("tcp", s.SMTPAddr); err == nil {
				c.Close()
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Summary is a message as mailpit lists it.
type Summary struct {
	ID        string `json:"ID"`
	MessageID string `json:"MessageID"`
	Subject   string `json:"Subject"`
	To        []struct {
		Name    string `json:"Name"`
		Address string `json:"Address"`
	} `json:"To"`
	Attachments int `json:"Attachments"`
}

// Message is one message in full.
type Message struct {
	ID, Subject string
	Text, HTML  string
	Attachments []Attachment
}

// Attachment describes an attached part.
type Attachment struct {
	PartID, FileName, ContentType string
	Size                          int
}

// Messages lists what mailpit holds, newest first (mailpit's order).
func (s *Server) Messages(t testing.TB) []Summary {
	t.Helper()
	var out struct {
		Messages []Summary `json:"messages"`
	}
	s.getJSON(t, "/api/v1/messages", &out)
	return out.Messages
}

// WaitMessages waits up to 15 s until mailpit holds n messages, then checks
// no more arrive for a moment, and returns them sorted by subject.
func (s *Server) WaitMessages(t testing.TB, n int) []Summary {
	t.Helper()
	return s.wait(t, "", n)
}

// WaitMessagesTo is WaitMessages counting only the messages to address.
func (s *Server) WaitMessagesTo(t testing.TB, address string, n int) []Summary {
	t.Helper()
	return s.wait(t, address, n)
}

func (s *Server) wait(t testing.TB, to string, n int) []Summary {
	t.Helper()
	list := func() []Summary {
		msgs := s.Messages(t)
		if to == "" {
			return msgs
		}
		var mine []Summary
		for _, m := range msgs {
			for _, a := range m.To {
				if strings.EqualFold(a.Address, to) {
					mine = append(mine, m)
					break
				}
			}
		}
		return mine
	}
	what := "messages"
	if to != "" {
		what = "messages to " + to
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		msgs := list()
		if len(msgs) >= n {
			time.Sleep(300 * time.Millisecond)
			again := list()
			if len(again) != n {
				t.Fatalf("mailpit holds %d %s, want %d:\n%s", len(again), what, n, describe(again))
			}
			sort.Slice(again, func(i, j int) bool { return again[i].Subject < again[j].Subject })
			return again
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit holds %d %s after 15s, want %d:\n%s", len(msgs), what, n, describe(msgs))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// describe lists messages one a line (Message-ID and subject), so a
// failure says which one is missing or came twice.
func describe(msgs []Summary) string {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "\t<%s> %q\n", m.MessageID, m.Subject)
	}
	return b.String()
}

// Message reads one message in full.
func (s *Server) Message(t testing.TB, id string) Message {
	t.Helper()
	var m Message
	s.getJSON(t, "/api/v1/message/"+id, &m)
	return m
}

// Part reads one part of a message (an attachment) byte for byte.
func (s *Server) Part(t testing.TB, id, partID string) []byte {
	t.Helper()
	res, err := httpc.Get(s.API + "/api/v1/message/" + id + "/part/" + partID)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("mailpit part %s of %s: %d %v", partID, id, res.StatusCode, err)
	}
	return b
}

func (s *Server) getJSON(t testing.TB, path string, v any) {
	t.Helper()
	res, err := httpc.Get(s.API + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("mailpit GET %s: %d", path, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("mailpit GET %s: %v", path, err)
	}
}

// PDFText is a PDF's text as pdftotext -layout reads it (pdftexttest.Text).
func PDFText(t testing.TB, pdf []byte) string { return pdftexttest.Text(t, pdf) }

// Tool finds a program on PATH or in ~/go/bin, installing it with the
// install command when it is missing and the test runs as root (as CI and
// make test do); otherwise the test is skipped, saying why.
func Tool(t testing.TB, name string, install ...string) string {
	t.Helper()
	find := func() string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		if home, err := os.UserHomeDir(); err == nil {
			if p := filepath.Join(home, "go", "bin", name); fileExists(p) {
				return p
			}
		}
		return ""
	}
	if p := find(); p != "" {
		return p
	}
	if os.Geteuid() != 0 {
		t.Skipf("%s is not installed and the test is not root: install it (make test does) to run this test", name)
	}
	if out, err := exec.Command(install[0], install[1:]...).CombinedOutput(); err != nil {
		t.Skipf("%s is missing and installing it failed: %v\n%s", name, err, out)
	}
	if p := find(); p != "" {
		return p
	}
	t.Skipf("%s still not found after installing it", name)
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// FreePort is a loopback TCP port free right now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
