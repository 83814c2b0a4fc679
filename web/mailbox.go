package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/mail"
)

// Mailbox is the development mail sink (platform/mail's Sink) as the
// dashboard's mailbox page reads it: there only when the sink is in use, so
// a developer sees the welcome mail and receipts Bellhop sent without a mail
// server. cmd/bellhop implements it; implementations check that the caller
// in ctx is an admin (mail holds guests' names and receipts).
type Mailbox interface {
	// Messages lists the newest messages first.
	Messages(ctx context.Context) ([]mail.Stored, error)
	// Message reads one message (named as Messages names it) with its
	// attachments. Errors: a not-found apperr for an unknown name.
	Message(ctx context.Context, name string) (mail.Message, error)
}

type mailboxData struct {
	Messages []mail.Stored
	Dir      string
}

type mailData struct {
	Name string
	Msg  mail.Message
}

func (w *Web) mailboxPage(c echo.Context) error {
	if w.d.Mailbox == nil {
		return w.fail(c, apperr.NotFound("web.not_found", "the mail sink is not in use here"))
	}
	list, err := w.d.Mailbox.Messages(c.Request().Context())
	if err != nil {
		return w.fail(c, err)
	}
	return w.render(c, http.StatusOK, "mailbox", view{Title: "Mailbox (development) · Admin · Bellhop", Data: &mailboxData{Messages: list}})
}

func (w *Web) mailPage(c echo.Context) error {
	if w.d.Mailbox == nil {
		return w.fail(c, apperr.NotFound("web.not_found", "the mail sink is not in use here"))
	}
	m, err := w.d.Mailbox.Message(c.Request().Context(), c.Param("name"))
	if err != nil {
		return w.fail(c, err)
	}
	title := m.Subject
	if title == "" {
		title = "(no subject)"
	}
	return w.render(c, http.StatusOK, "mail", view{Title: title + " · Mailbox · Bellhop", Data: &mailData{Name: c.Param("name"), Msg: m}})
}

// mailAttachment downloads a message's attachment (a receipt's PDF) as sent.
func (w *Web) mailAttachment(c echo.Context) error {
	if w.d.Mailbox == nil {
		return w.fail(c, apperr.NotFound("web.not_found", "the mail sink is not in use here"))
	}
	m, err := w.d.Mailbox.Message(c.Request().Context(), c.Param("name"))
	if err != nil {
		return w.fail(c, err)
	}
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil || n < 0 || n >= len(m.Attachments) {
		return w.fail(c, apperr.NotFound("web.not_found", "the message has no such attachment"))
	}
	a := m.Attachments[n]
	ct := a.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := c.Response().Header()
	h.Set(echo.HeaderCacheControl, "private, no-store")
	h.Set(echo.HeaderContentDisposition, attachmentDisposition(a.Filename))
	return c.Blob(http.StatusOK, ct, a.Data)
}
