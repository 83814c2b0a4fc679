package reportinglocal

import (
	"time"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/platform/events"
)

// attemptMailWindow is how often, at most, an account's owner is told that
// someone tried to register their address: one mail per window however many
// attempts, so registering a stranger's address again and again cannot
// flood their inbox.
const attemptMailWindow = time.Hour

// registrationAttempt queues the mail telling an account's owner that
// someone tried to create an account with their address (auth publishes
// the attempt instead of answering the caller, who must not learn that the
// address has an account). Its Message-ID names the account and the window
// of the attempt, so attempts within one window share one mail.
func (c *mailComposer) registrationAttempt(tx *gorm.DB, evt events.Event, e registrationAttempted) error {
	name := e.Name
	if name == "" {
		name = e.Email
	}
	subject, text, html, err := c.attemptT.Render(map[string]string{"Name": name, "Email": e.Email})
	if err != nil {
		return err
	}
	account := e.UserID
	if account == "" {
		account = evt.ID // no account to group by: one mail per attempt
	}
	window := evt.Time.UTC().Truncate(attemptMailWindow).Format("20060102T15")
	return c.queue(tx, mailRow{
		MessageID: "registration-attempt." + window + "." + account + "@" + c.cfg.MessageIDDomain,
		Kind:      mailRegistrationAttempt, ToAddress: e.Email, ToName: e.Name,
		Subject: subject, Text: text, HTML: html,
	})
}
