package provider

import (
	"strings"
)

// CodeDeclined is the failure code of a decline whose reason is not one
// Bellhop knows.
const CodeDeclined = "declined"

// CodeIncorrectCVC: the card's security code was wrong.
const CodeIncorrectCVC = "incorrect_cvc"

// failureMessages are the guest-facing messages of the failure codes
// Bellhop knows. The provider's own text is never shown: it is whatever the
// provider (or whoever answers in its place) chose to send.
var failureMessages = map[string]string{
	CodeCardDeclined:         "Your card was declined.",
	CodeDeclined:             "Your card was declined.",
	CodeInsufficientFunds:    "Your card has insufficient funds.",
	CodeExpiredCard:          "Your card has expired.",
	CodeIncorrectCVC:         "Your card's security code is incorrect.",
	"incorrect_number":       "Your card number is incorrect.",
	"lost_card":              "Your card was declined.",
	"stolen_card":            "Your card was declined.",
	"do_not_honor":           "Your card was declined.",
	"card_not_supported":     "Your card does not support this kind of purchase.",
	"currency_not_supported": "Your card does not support this currency.",
	CodeProcessingError:      "An error occurred while processing your card. Try again in a little bit.",
	CodeInvalidPaymentMethod: "The payment method is not valid.",
	CodeAuthenticationNeeded: "The card needs authentication, which is not supported; use another card.",
	CodeProviderRejected:     "The payment could not be processed; no money was taken.",
	CodeNotCharged:           "The payment could not be completed; no money was taken. Try again.",
	CodeProviderMismatch:     "The payment could not be confirmed. Contact the hotel before trying again.",
}

// cardBrands are the brands Bellhop shows; any other is "unknown".
var cardBrands = map[string]string{
	"visa": "visa", "mastercard": "mastercard", "amex": "amex", "american_express": "amex",
	"discover": "discover", "jcb": "jcb", "unionpay": "unionpay", "diners": "diners", "diners_club": "diners",
}

// Normalize makes a provider's answer safe to store and show: a failure
// code from the known set (anything else is [CodeDeclined]) with Bellhop's
// message for it, a card brand from the known set ("unknown" otherwise),
// last4 exactly four digits (empty otherwise), an expiry in range (zero
// otherwise), and a provider reference of at most 128 plain characters
// (empty otherwise). [Guarded] applies it to every answer.
func Normalize(r ChargeResult) ChargeResult {
	if !plainToken(r.ProviderRef, 128) {
		r.ProviderRef = ""
	}
	if r.Status == StatusSucceeded {
		r.FailureCode, r.FailureMessage = "", ""
	} else {
		if _, known := failureMessages[r.FailureCode]; !known {
			r.FailureCode = CodeDeclined
		}
		r.FailureMessage = failureMessages[r.FailureCode]
	}
	if r.Card != nil {
		c := *r.Card
		c.Brand = normalBrand(c.Brand)
		if !fourDigits(c.Last4) {
			c.Last4 = ""
		}
		if c.ExpMonth < 1 || c.ExpMonth > 12 {
			c.ExpMonth = 0
		}
		if c.ExpYear < 2000 || c.ExpYear > 2199 {
			c.ExpYear = 0
		}
		r.Card = &c
	}
	return r
}

// NormalizeRefund makes a refund answer safe to store: a refund id of at
// most 128 plain characters (empty otherwise), a status from the known set
// (RefundUnknown otherwise), a charge reference like a ChargeResult's, and
// the currency in upper case. [Guarded] applies it to every refund answer.
func NormalizeRefund(r RefundResult) RefundResult {
	if !plainToken(r.ProviderRef, 128) {
		r.ProviderRef = ""
	}
	if !plainToken(r.Charge, 128) {
		r.Charge = ""
	}
	switch s := strings.ToLower(strings.TrimSpace(r.Status)); s {
	case RefundSucceeded, RefundPending:
		r.Status = s
	case RefundFailed, "canceled", "cancelled":
		r.Status = RefundFailed
	default:
		r.Status = RefundUnknown
	}
	r.Amount.Currency = strings.ToUpper(r.Amount.Currency)
	return r
}

func normalBrand(b string) string {
	b = strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToLower(strings.TrimSpace(b)))
	if known, ok := cardBrands[b]; ok {
		return known
	}
	return "unknown"
}

func fourDigits(s string) bool {
	if len(s) != 4 {
		return false
	}
	for i := range 4 {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// plainToken: s is empty, or at most n letters, digits, '_', '-' and '.'.
func plainToken(s string, n int) bool {
	if len(s) > n {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}
