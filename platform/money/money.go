// Package money is Bellhop's amount type: int64 minor units (cents) with an
// ISO 4217 currency, so prices add up exactly and never meet a float.
package money

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Money is an amount in the currency's minor units ("EUR", 12345 = EUR 123.45).
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// minorUnits holds the ISO 4217 currencies Bellhop accepts and their number of
// decimal places. Currencies not listed are rejected rather than guessed.
var minorUnits = map[string]int{
	"AED": 2, "ARS": 2, "AUD": 2, "BGN": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2,
	"CLP": 0, "CNY": 2, "COP": 2, "CZK": 2, "DKK": 2, "EGP": 2, "EUR": 2, "GBP": 2,
	"HKD": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "ISK": 0, "JOD": 3, "JPY": 0,
	"KES": 2, "KRW": 0, "KWD": 3, "MAD": 2, "MXN": 2, "MYR": 2, "NOK": 2, "NZD": 2,
	"OMR": 3, "PEN": 2, "PHP": 2, "PLN": 2, "QAR": 2, "RON": 2, "SAR": 2, "SEK": 2,
	"SGD": 2, "THB": 2, "TND": 3, "TRY": 2, "TWD": 2, "UAH": 2, "USD": 2, "VND": 0,
	"ZAR": 2,
}

// ErrCurrencyMismatch is returned when amounts in different currencies meet.
var ErrCurrencyMismatch = errors.New("money: currencies differ")

// ErrOverflow is returned by Add when the sum does not fit in an int64.
var ErrOverflow = errors.New("money: amount overflows")

// IsCurrency reports whether code is an ISO 4217 currency Bellhop knows.
func IsCurrency(code string) bool { _, ok := minorUnits[code]; return ok }

// MinorUnits is the number of decimal places of currency (2 if unknown).
func MinorUnits(currency string) int {
	if n, ok := minorUnits[currency]; ok {
		return n
	}
	return 2
}

// New is shorthand for Money{amount, currency}.
func New(amount int64, currency string) Money { return Money{Amount: amount, Currency: currency} }

// Add returns m+o; both must be in the same currency (else
// ErrCurrencyMismatch) and the sum must fit in an int64 (else ErrOverflow).
func (m Money) Add(o Money) (Money, error) {
	if m.Currency != o.Currency {
		return Money{}, fmt.Errorf("%w: %s and %s", ErrCurrencyMismatch, m.Currency, o.Currency)
	}
	sum := m.Amount + o.Amount
	// Signed overflow wraps: it happened iff both operands have the same
	// sign and the sum's sign differs from theirs.
	if (m.Amount >= 0) == (o.Amount >= 0) && (sum >= 0) != (m.Amount >= 0) {
		return Money{}, fmt.Errorf("%w: %d + %d", ErrOverflow, m.Amount, o.Amount)
	}
	return Money{Amount: sum, Currency: m.Currency}, nil
}

// Mul returns m times n.
func (m Money) Mul(n int64) Money { return Money{Amount: m.Amount * n, Currency: m.Currency} }

// IsZero reports whether m is the zero value.
func (m Money) IsZero() bool { return m == Money{} }

// Decimal renders the amount with the currency's decimal places: "123.45".
func (m Money) Decimal() string {
	places := MinorUnits(m.Currency)
	neg := m.Amount < 0
	// The magnitude as a uint64: -math.MinInt64 does not fit in an int64
	// (negating it gave it back, printed "--92233720368547758.08").
	a := uint64(m.Amount)
	if neg {
		a = -a
	}
	s := strconv.FormatUint(a, 10)
	if places > 0 {
		if len(s) <= places {
			s = strings.Repeat("0", places-len(s)+1) + s
		}
		s = s[:len(s)-places] + "." + s[len(s)-places:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// String renders "EUR 123.45".
func (m Money) String() string { return m.Currency + " " + m.Decimal() }
