package reportinglocal

import (
	"fmt"
	"strings"
	"time"

	"github.com/bellhop/bellhop/platform/money"
)

// Config is what the reporting module reads from the reporting section of
// the configuration: who issues the documents, the taxes per country, and
// where mail comes from.
type Config struct {
	Seller Seller `mapstructure:"seller"`
	// HotelTaxIDs are the hotels' own tax ids, by hotel id, shown beside the
	// hotel on its receipts.
	HotelTaxIDs map[string]string `mapstructure:"hotel_tax_ids"`
	// Taxes are the rules per country (ISO 3166 alpha-2, upper case); a
	// country without one gets DefaultTax.
	Taxes      map[string]TaxRule `mapstructure:"taxes"`
	DefaultTax TaxRule            `mapstructure:"default_tax"`
	// ReceiptPrefix and CreditNotePrefix begin the document numbers:
	// "BH" gives BH-2026-000123.
	ReceiptPrefix    string `mapstructure:"receipt_prefix"`
	CreditNotePrefix string `mapstructure:"credit_note_prefix"`
	// MailFrom is the sender of every email ("Bellhop <receipts@bellhop.example>").
	MailFrom string `mapstructure:"mail_from"`
	// MessageIDDomain is the right-hand side of the Message-IDs.
	MessageIDDomain string `mapstructure:"message_id_domain"`
	// MailRetryBase and MailRetryMax space the sending attempts while the
	// mail server is down (exponential backoff with jitter).
	MailRetryBase time.Duration `mapstructure:"mail_retry_base"`
	MailRetryMax  time.Duration `mapstructure:"mail_retry_max"`
	// MailPoll is how often the mail loop looks for due mail when nothing woke it.
	MailPoll time.Duration `mapstructure:"mail_poll"`
}

// Seller is the business that issues the documents.
type Seller struct {
	Name    string   `mapstructure:"name"`
	Address []string `mapstructure:"address"`
	TaxID   string   `mapstructure:"tax_id"`
	Email   string   `mapstructure:"email"`
}

// TaxRule is a country's VAT and tourism tax.
type TaxRule struct {
	Name string `mapstructure:"name"` // "VAT", "IVA", "MwSt"
	// RateBasisPoints is the VAT rate on accommodation in hundredths of a
	// percent (600: 6%).
	RateBasisPoints int64 `mapstructure:"rate_basis_points"`
	// PricesExcludeTax says nightly prices are net and VAT comes on top; by
	// default prices include it.
	PricesExcludeTax bool `mapstructure:"prices_exclude_tax"`
	// TourismTaxPerNight is charged per guest and night, in minor units of
	// the booking's currency, up to TourismTaxMaxNights nights (0: all). It
	// is part of the price and bears no VAT.
	TourismTaxPerNight  int64  `mapstructure:"tourism_tax_per_night"`
	TourismTaxMaxNights int    `mapstructure:"tourism_tax_max_nights"`
	TourismTaxName      string `mapstructure:"tourism_tax_name"`
}

// DefaultConfig is the configuration when nothing is set: Bellhop as the
// seller, VAT-inclusive prices, a few European rates and Lisbon's and
// Porto's tourism tax.
func DefaultConfig() Config {
	return Config{
		Seller: Seller{
			Name:    "Bellhop Travel Ltd.",
			Address: []string{"1 Example Street", "1000-001 Lisboa", "Portugal"},
			TaxID:   "PT999999990",
			Email:   "receipts@bellhop.example",
		},
		Taxes: map[string]TaxRule{
			"PT": {Name: "IVA", RateBasisPoints: 600, TourismTaxPerNight: 200, TourismTaxMaxNights: 7, TourismTaxName: "Taxa turística"},
			"ES": {Name: "IVA", RateBasisPoints: 1000},
			"FR": {Name: "TVA", RateBasisPoints: 1000},
			"DE": {Name: "MwSt", RateBasisPoints: 700},
			"IT": {Name: "IVA", RateBasisPoints: 1000},
			"CH": {Name: "MWST", RateBasisPoints: 380},
			"GB": {Name: "VAT", RateBasisPoints: 2000},
			"JP": {Name: "消費税", RateBasisPoints: 1000},
		},
		DefaultTax:       TaxRule{Name: "VAT", RateBasisPoints: 0},
		ReceiptPrefix:    "BH",
		CreditNotePrefix: "CN",
		MailFrom:         "Bellhop <receipts@bellhop.example>",
		MessageIDDomain:  "bellhop.example",
		MailRetryBase:    time.Second,
		MailRetryMax:     5 * time.Minute,
		MailPoll:         5 * time.Second,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Seller.Name == "" {
		c.Seller = d.Seller
	}
	if c.Taxes == nil {
		c.Taxes = d.Taxes
	}
	if c.ReceiptPrefix == "" {
		c.ReceiptPrefix = d.ReceiptPrefix
	}
	if c.CreditNotePrefix == "" {
		c.CreditNotePrefix = d.CreditNotePrefix
	}
	if c.MailFrom == "" {
		c.MailFrom = d.MailFrom
	}
	if c.MessageIDDomain == "" {
		c.MessageIDDomain = d.MessageIDDomain
	}
	if c.MailRetryBase <= 0 {
		c.MailRetryBase = d.MailRetryBase
	}
	if c.MailRetryMax < c.MailRetryBase {
		c.MailRetryMax = max(d.MailRetryMax, c.MailRetryBase)
	}
	if c.MailPoll <= 0 {
		c.MailPoll = d.MailPoll
	}
	return c
}

// Validate checks the configuration with messages that say what to fix.
func (c Config) Validate() error {
	for country, r := range c.Taxes {
		if len(country) != 2 || strings.ToUpper(country) != country {
			return fmt.Errorf("reporting.taxes: %q is not an upper-case ISO 3166 country code", country)
		}
		if err := r.validate(); err != nil {
			return fmt.Errorf("reporting.taxes.%s: %w", country, err)
		}
	}
	if c.ReceiptPrefix != "" && c.ReceiptPrefix == c.CreditNotePrefix {
		return fmt.Errorf("reporting: receipt_prefix and credit_note_prefix must differ (two series)")
	}
	return c.DefaultTax.validate()
}

func (r TaxRule) validate() error {
	switch {
	case r.RateBasisPoints < 0 || r.RateBasisPoints > 10000:
		return fmt.Errorf("rate_basis_points %d: want 0 to 10000", r.RateBasisPoints)
	case r.TourismTaxPerNight < 0 || r.TourismTaxMaxNights < 0:
		return fmt.Errorf("tourism tax: want amounts and nights of 0 or more")
	}
	return nil
}

// taxFor returns the rule of a country (upper-cased; the default for one
// without a rule).
func (c Config) taxFor(country string) TaxRule {
	if r, ok := c.Taxes[strings.ToUpper(country)]; ok {
		return r
	}
	return c.DefaultTax
}

// taxSplit is how a total breaks down: VAT base, VAT and tourism tax.
type taxSplit struct {
	Base, VAT, Tourism int64
}

// split breaks down the amount a guest pays for a stay of nights nights for
// guests guests. With tax-inclusive prices, amount is the total; with
// exclusive ones, amount is net and VAT is added to it.
func (r TaxRule) split(amount int64, nights, guests int) taxSplit {
	n := nights
	if r.TourismTaxMaxNights > 0 && n > r.TourismTaxMaxNights {
		n = r.TourismTaxMaxNights
	}
	tourism := min(r.TourismTaxPerNight*int64(n)*int64(max(guests, 1)), max(amount, 0))
	rest := amount - tourism
	if r.PricesExcludeTax {
		vat := divRound(rest*r.RateBasisPoints, 10000)
		return taxSplit{Base: rest, VAT: vat, Tourism: tourism}
	}
	vat := divRound(rest*r.RateBasisPoints, 10000+r.RateBasisPoints)
	return taxSplit{Base: rest - vat, VAT: vat, Tourism: tourism}
}

// divRound divides rounding half away from zero.
func divRound(a, b int64) int64 {
	if b == 0 {
		return 0
	}
	neg := (a < 0) != (b < 0)
	if a < 0 {
		a = -a
	}
	if b < 0 {
		b = -b
	}
	q := (a + b/2) / b
	if neg {
		return -q
	}
	return q
}

// fmtMoney renders minor units of currency as "EUR 1,234.50" style text.
func fmtMoney(amount int64, currency string) string {
	return money.New(amount, currency).String()
}
