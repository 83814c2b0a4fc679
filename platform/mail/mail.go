// Package mail sends email: a Sender interface, an SMTP sender built on
// github.com/wneessen/go-mail (host, port, TLS policy and credentials from
// configuration), and a development sink that writes each message as an
// .eml file under a directory. Messages carry a plain-text and an HTML part,
// rendered from a pair of templates, and attachments.
package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	texttemplate "text/template"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one email.
type Message struct {
	From    string // "Bellhop <receipts@bellhop.example>"
	To      string // an address
	ToName  string
	Subject string
	// MessageID is the Message-ID without angle brackets
	// ("doc_01H...@bellhop.example"): the same message sent again keeps it,
	// so a receiving system can tell a repeat.
	MessageID   string
	Date        time.Time
	Text, HTML  string
	Attachments []Attachment
}

// Attachment is a file sent with a message.
type Attachment struct {
	Filename    string
	ContentType string
	Data        []byte
}

// Sender delivers messages. A failure may be temporary (the server is
// down): the caller retries later.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// build turns m into a go-mail message.
func build(m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(m.From); err != nil {
		return nil, fmt.Errorf("mail: from %q: %w", m.From, err)
	}
	var err error
	if m.ToName != "" {
		err = msg.AddToFormat(m.ToName, m.To)
	} else {
		err = msg.To(m.To)
	}
	if err != nil {
		return nil, fmt.Errorf("mail: to %q: %w", m.To, err)
	}
	msg.Subject(m.Subject)
	if m.MessageID != "" {
		msg.SetMessageIDWithValue(m.MessageID)
	} else {
		msg.SetMessageID()
	}
	if m.Date.IsZero() {
		msg.SetDate()
	} else {
		msg.SetDateWithValue(m.Date)
	}
	switch {
	case m.Text != "" && m.HTML != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	case m.HTML != "":
		msg.SetBodyString(gomail.TypeTextHTML, m.HTML)
	default:
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	}
	for _, a := range m.Attachments {
		opts := []gomail.FileOption{}
		if a.ContentType != "" {
			opts = append(opts, gomail.WithFileContentType(gomail.ContentType(a.ContentType)))
		}
		if err := msg.AttachReader(a.Filename, bytes.NewReader(a.Data), opts...); err != nil {
			return nil, fmt.Errorf("mail: attach %s: %w", a.Filename, err)
		}
	}
	return msg, nil
}

// Encode renders m as an RFC 5322 message (what the sink writes).
func Encode(m Message) ([]byte, error) {
	msg, err := build(m)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("mail: encode: %w", err)
	}
	return buf.Bytes(), nil
}

// TLS policies of SMTPConfig.
const (
	TLSMandatory     = "mandatory"     // STARTTLS or fail
	TLSOpportunistic = "opportunistic" // STARTTLS when offered
	TLSNone          = "none"          // plain text (a local relay, mailpit)
	TLSImplicit      = "implicit"      // TLS from the first byte (port 465)
)

// SMTPConfig is where and how to deliver.
type SMTPConfig struct {
	Host      string        `mapstructure:"host"`
	Port      int           `mapstructure:"port"`       // 0: the policy's usual port
	TLSPolicy string        `mapstructure:"tls_policy"` // mandatory (default), opportunistic, none, implicit
	Username  string        `mapstructure:"username"`   // empty: no authentication
	Password  string        `mapstructure:"password"`
	Timeout   time.Duration `mapstructure:"timeout"` // per send (default 15s)
	HELO      string        `mapstructure:"helo"`    // default "localhost"
}

// SMTP sends over SMTP, one connection per Send.
type SMTP struct {
	opts []gomail.Option
	host string
}

// NewSMTP checks c and returns a sender.
func NewSMTP(c SMTPConfig) (*SMTP, error) {
	if c.Host == "" {
		return nil, errors.New("mail: smtp host is required")
	}
	if c.Timeout <= 0 {
		c.Timeout = 15 * time.Second
	}
	if c.HELO == "" {
		c.HELO = "localhost"
	}
	opts := []gomail.Option{gomail.WithTimeout(c.Timeout), gomail.WithHELO(c.HELO)}
	switch strings.ToLower(c.TLSPolicy) {
	case "", TLSMandatory:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSOpportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	default:
		return nil, fmt.Errorf("mail: tls_policy %q: want mandatory, opportunistic, none or implicit", c.TLSPolicy)
	}
	// After the TLS policy, which sets a default port of its own.
	if c.Port > 0 {
		opts = append(opts, gomail.WithPort(c.Port))
	}
	if c.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername(c.Username), gomail.WithPassword(c.Password))
	}
	return &SMTP{opts: opts, host: c.Host}, nil
}

// Send delivers m. It succeeds once the server has accepted the message
// (its reply to the end of DATA): the commands after that (a NOOP and RSET
// go-mail sends, then QUIT) may fail without undoing the delivery, and
// reporting them as a failure would have the caller send the message again.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := build(m)
	if err != nil {
		return err
	}
	c, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("mail: smtp client: %w", err)
	}
	err = c.DialAndSendWithContext(ctx, msg)
	if err != nil && !msg.IsDelivered() {
		return fmt.Errorf("mail: send to %s via %s: %w", m.To, s.host, err)
	}
	return nil
}

// Sink writes each message to Dir as <time>-<message id>.eml: the default in
// development, so a new user finds their mail on disk.
type Sink struct {
	Dir string
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._@-]+`)

// Send writes m. The same message (same Message-ID) overwrites its file.
func (s Sink) Send(_ context.Context, m Message) error {
	b, err := Encode(m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.Dir, 0o750); err != nil {
		return fmt.Errorf("mail: sink: %w", err)
	}
	id := m.MessageID
	if id == "" {
		id = fmt.Sprintf("%d", time.Now().UnixNano())
	}
	name := filepath.Join(s.Dir, unsafeName.ReplaceAllString(id, "_")+".eml")
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, b, 0o640); err != nil {
		return fmt.Errorf("mail: sink: %w", err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("mail: sink: %w", err)
	}
	return nil
}

// Template renders a message's subject and both parts from one set of
// templates: {{define "subject"}}, {{define "text"}} (text/template) and
// {{define "html"}} (html/template, so data is escaped).
type Template struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// ParseTemplate parses src as both a text and an HTML template set; it must
// define "subject", "text" and "html".
func ParseTemplate(name, src string) (*Template, error) {
	tt, err := texttemplate.New(name).Parse(src)
	if err != nil {
		return nil, fmt.Errorf("mail: template %s: %w", name, err)
	}
	ht, err := htmltemplate.New(name).Parse(src)
	if err != nil {
		return nil, fmt.Errorf("mail: template %s: %w", name, err)
	}
	for _, part := range []string{"subject", "text", "html"} {
		if tt.Lookup(part) == nil {
			return nil, fmt.Errorf("mail: template %s defines no %q", name, part)
		}
	}
	return &Template{text: tt, html: ht}, nil
}

// Render returns the subject, plain text and HTML for data.
func (t *Template) Render(data any) (subject, text, html string, err error) {
	var s, x, h bytes.Buffer
	if err = t.text.ExecuteTemplate(&s, "subject", data); err != nil {
		return "", "", "", fmt.Errorf("mail: subject: %w", err)
	}
	if err = t.text.ExecuteTemplate(&x, "text", data); err != nil {
		return "", "", "", fmt.Errorf("mail: text: %w", err)
	}
	if err = t.html.ExecuteTemplate(&h, "html", data); err != nil {
		return "", "", "", fmt.Errorf("mail: html: %w", err)
	}
	return strings.TrimSpace(s.String()), x.String(), h.String(), nil
}
