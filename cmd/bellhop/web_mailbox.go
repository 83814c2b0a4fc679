package main

import (
	"context"
	"errors"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/modules/reporting/reportingmodule"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/config"
	"github.com/bellhop/bellhop/platform/mail"
	"github.com/bellhop/bellhop/web"
)

// sinkMailbox is the dashboard's mailbox: the development mail sink that
// reporting writes to in this process, read back for admins only.
type sinkMailbox struct{ sink mail.Sink }

// mailboxOf is the mailbox where reporting runs in this process on the
// development sink; nil otherwise (SMTP, no mail, or reporting elsewhere:
// its files are on another machine).
func mailboxOf(cfg *config.Config) web.Mailbox {
	if cfg.Modules[reporting.Module].URL != "" {
		return nil
	}
	sink, ok := reportingmodule.MailSink(cfg)
	if !ok {
		return nil
	}
	return sinkMailbox{sink: sink}
}

// mailboxLimit keeps the page short on a long-running demo.
const mailboxLimit = 200

func (m sinkMailbox) Messages(ctx context.Context) ([]mail.Stored, error) {
	if _, err := requireAdminCtx(ctx); err != nil {
		return nil, err
	}
	list, err := m.sink.List(mailboxLimit)
	return list, apperr.OrInternal(err, "mailbox: list")
}

func (m sinkMailbox) Message(ctx context.Context, name string) (mail.Message, error) {
	if _, err := requireAdminCtx(ctx); err != nil {
		return mail.Message{}, err
	}
	msg, err := m.sink.Read(name)
	if errors.Is(err, mail.ErrNoSuchMessage) {
		return msg, apperr.NotFound("web.mail_not_found", "there is no such message in the mailbox")
	}
	return msg, apperr.OrInternal(err, "mailbox: read")
}

var _ web.Mailbox = sinkMailbox{}
