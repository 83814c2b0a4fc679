package reportingmodule

import (
	_ "embed"
	"path/filepath"
	"strings"
	"time"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/modules/reporting/reportinglocal"
	"github.com/bellhop/bellhop/platform/config"
	"github.com/bellhop/bellhop/platform/mail"
)

//go:embed config.yaml
var defaults []byte

// Config is the reporting section of the configuration (config.yaml says
// what each key means).
type Config struct {
	Mail struct {
		Sender          string          `mapstructure:"sender"`
		From            string          `mapstructure:"from"`
		MessageIDDomain string          `mapstructure:"message_id_domain"`
		RetryBase       time.Duration   `mapstructure:"retry_base"`
		RetryMax        time.Duration   `mapstructure:"retry_max"`
		Poll            time.Duration   `mapstructure:"poll"`
		SMTP            mail.SMTPConfig `mapstructure:"smtp"`
	} `mapstructure:"mail"`
	Seller           reportinglocal.Seller             `mapstructure:"seller"`
	HotelTaxIDs      map[string]string                 `mapstructure:"hotel_tax_ids"`
	ReceiptPrefix    string                            `mapstructure:"receipt_prefix"`
	CreditNotePrefix string                            `mapstructure:"credit_note_prefix"`
	Taxes            map[string]reportinglocal.TaxRule `mapstructure:"taxes"`
	DefaultTax       reportinglocal.TaxRule            `mapstructure:"default_tax"`
}

// Validate implements config.Section.
func (c *Config) Validate(p *config.Problems) {
	switch c.Mail.Sender {
	case "sink", "none":
	case "smtp":
		if c.Mail.SMTP.Host == "" {
			p.Add("reporting.mail.smtp.host", "is required with reporting.mail.sender smtp")
		}
		if _, err := mail.NewSMTP(c.Mail.SMTP); err != nil && c.Mail.SMTP.Host != "" {
			p.Add("reporting.mail.smtp", "%v", err)
		}
	default:
		p.Add("reporting.mail.sender", "%q is not one of sink, smtp, none", c.Mail.Sender)
	}
	p.PositiveDuration("reporting.mail.retry_base", c.Mail.RetryBase)
	p.PositiveDuration("reporting.mail.poll", c.Mail.Poll)
	if c.Mail.RetryMax < c.Mail.RetryBase {
		p.Add("reporting.mail.retry_max", "must be at least reporting.mail.retry_base")
	}
	if err := c.local().Validate(); err != nil {
		p.Add("reporting", "%v", err)
	}
}

// local is the module's own configuration; viper lower-cases map keys, so
// the country codes are upper-cased back.
func (c *Config) local() reportinglocal.Config {
	taxes := make(map[string]reportinglocal.TaxRule, len(c.Taxes))
	for k, v := range c.Taxes {
		taxes[strings.ToUpper(k)] = v
	}
	return reportinglocal.Config{
		Seller: c.Seller, HotelTaxIDs: c.HotelTaxIDs, Taxes: taxes, DefaultTax: c.DefaultTax,
		ReceiptPrefix: c.ReceiptPrefix, CreditNotePrefix: c.CreditNotePrefix,
		MailFrom: c.Mail.From, MessageIDDomain: c.Mail.MessageIDDomain,
		MailRetryBase: c.Mail.RetryBase, MailRetryMax: c.Mail.RetryMax, MailPoll: c.Mail.Poll,
	}
}

// sender is the mail sender the configuration asks for (nil: none).
func (c *Config) sender(dataDir string) (mail.Sender, error) {
	switch c.Mail.Sender {
	case "smtp":
		return mail.NewSMTP(c.Mail.SMTP)
	case "none":
		return nil, nil
	}
	return mail.Sink{Dir: filepath.Join(dataDir, "mail")}, nil
}

// Section declares the section to config.Load.
func Section() config.SectionSpec {
	return config.SectionSpec{Key: reporting.Module, Defaults: defaults, New: func() config.Section { return &Config{} }}
}

func settings(cfg *config.Config) *Config {
	c, ok := config.SectionOf[*Config](cfg, reporting.Module)
	if !ok {
		return &Config{}
	}
	return c
}

// MailSink is the development sink reporting writes its mail to, when the
// configuration uses it (reporting.mail.sender: sink), for the dashboard's
// mailbox page; false when mail goes to SMTP or nowhere.
func MailSink(cfg *config.Config) (mail.Sink, bool) {
	c := settings(cfg)
	if c.Mail.Sender != "sink" {
		return mail.Sink{}, false
	}
	return mail.Sink{Dir: filepath.Join(cfg.DataDir, "mail")}, true
}
