package mail

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ErrNoSuchMessage is returned by Sink.Read for a name that is not a
// message in the sink.
var ErrNoSuchMessage = errors.New("mail: no such message in the sink")

// Stored is a message the sink holds, as a mailbox lists it.
type Stored struct {
	// Name identifies the message in the sink (its file name without .eml).
	Name          string
	From, To      string
	Subject       string
	Date          time.Time
	Size          int64
	HasAttachment bool
}

// maxStoredMessage bounds what Read parses (receipts are tens of KB).
const maxStoredMessage = 20 << 20

// List returns the sink's messages, newest first (limit ≤ 0: all).
func (s Sink) List(limit int) ([]Stored, error) {
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mail: sink: %w", err)
	}
	var out []Stored
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".eml")
		if !ok || e.IsDir() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		st := Stored{Name: name, Size: info.Size(), Date: info.ModTime()}
		if f, err := os.Open(filepath.Join(s.Dir, e.Name())); err == nil {
			if msg, err := netmail.ReadMessage(io.LimitReader(f, 64<<10)); err == nil {
				st.From, st.To, st.Subject = decodeHeader(msg.Header.Get("From")), decodeHeader(msg.Header.Get("To")), decodeHeader(msg.Header.Get("Subject"))
				if d, err := msg.Header.Date(); err == nil {
					st.Date = d
				}
				mt, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
				st.HasAttachment = mt == "multipart/mixed" && params["boundary"] != ""
			}
			_ = f.Close()
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b Stored) int {
		if c := b.Date.Compare(a.Date); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Read parses the message called name (as List names it): its headers,
// its plain-text and HTML parts and its attachments.
func (s Sink) Read(name string) (Message, error) {
	if name == "" || unsafeName.MatchString(name) || strings.Contains(name, "..") {
		return Message{}, ErrNoSuchMessage
	}
	root, err := os.OpenRoot(s.Dir)
	if err != nil {
		return Message{}, ErrNoSuchMessage
	}
	defer root.Close()
	f, err := root.Open(name + ".eml")
	if err != nil {
		return Message{}, ErrNoSuchMessage
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxStoredMessage))
	if err != nil {
		return Message{}, fmt.Errorf("mail: sink: read %s: %w", name, err)
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, fmt.Errorf("mail: sink: parse %s: %w", name, err)
	}
	out := Message{From: decodeHeader(msg.Header.Get("From")), To: decodeHeader(msg.Header.Get("To")),
		Subject: decodeHeader(msg.Header.Get("Subject")), MessageID: strings.Trim(msg.Header.Get("Message-ID"), "<> ")}
	if d, err := msg.Header.Date(); err == nil {
		out.Date = d
	}
	if err := readPart(&out, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), "", msg.Body); err != nil {
		return Message{}, fmt.Errorf("mail: sink: parse %s: %w", name, err)
	}
	return out, nil
}

// readPart adds one MIME part to m: text and HTML bodies, attachments, and
// the parts of a multipart, recursively.
func readPart(m *Message, contentType, encoding, disposition string, body io.Reader) error {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			err = readPart(m, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p.Header.Get("Content-Disposition"), p)
			if err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, newlineStripper{body})
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	disp, dparams, _ := mime.ParseMediaType(disposition)
	filename := dparams["filename"]
	if filename == "" {
		filename = params["name"]
	}
	switch {
	case disp == "attachment" || filename != "":
		m.Attachments = append(m.Attachments, Attachment{Filename: decodeHeader(filename), ContentType: mt, Data: data})
	case mt == "text/html" && m.HTML == "":
		m.HTML = strings.ReplaceAll(string(data), "\r\n", "\n")
	case mt == "text/plain" && m.Text == "":
		m.Text = strings.ReplaceAll(string(data), "\r\n", "\n")
	}
	return nil
}

// newlineStripper drops the line breaks of a base64 body.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, b := range p[:k] {
			if b != '\r' && b != '\n' {
				p[j] = b
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

func decodeHeader(s string) string {
	d, err := new(mime.WordDecoder).DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}
