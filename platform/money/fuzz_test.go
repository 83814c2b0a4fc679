package money

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"
)

// FuzzMoney decodes amounts as they arrive in JSON (rates, event payloads,
// provider answers) and checks the arithmetic against math/big: Add never
// wraps silently, Decimal prints the exact amount with the currency's places.
func FuzzMoney(f *testing.F) {
	f.Add(`{"amount":12345,"currency":"EUR"}`, int64(1))
	f.Add(`{"amount":-5,"currency":"JPY"}`, int64(-9223372036854775808))
	f.Add(`{"amount":9223372036854775807,"currency":"BHD"}`, int64(9223372036854775807))
	f.Add(`{"amount":-9223372036854775808,"currency":"USD"}`, int64(0))
	f.Add(`{"amount":1e3,"currency":"EUR"}`, int64(7))
	f.Add(`{"amount":"12","currency":"XXX"}`, int64(7))
	f.Fuzz(func(t *testing.T, doc string, other int64) {
		var m Money
		if err := json.Unmarshal([]byte(doc), &m); err != nil {
			return
		}
		checkDecimal(t, m)
		o := New(other, m.Currency)
		checkDecimal(t, o)
		sum, err := m.Add(o)
		exact := new(big.Int).Add(big.NewInt(m.Amount), big.NewInt(other))
		if exact.IsInt64() {
			if err != nil || sum.Amount != exact.Int64() || sum.Currency != m.Currency {
				t.Fatalf("%v + %v = %v, %v; want %v", m, o, sum, err, exact)
			}
		} else if err == nil {
			t.Fatalf("%v + %v overflowed silently to %v", m, o, sum)
		}
		if m.Currency != "EUR" {
			if _, err := m.Add(New(1, "EUR")); err == nil {
				t.Fatalf("%v + EUR 0.01 was allowed", m)
			}
		}
	})
}

// checkDecimal: Decimal, read back with math/big, is m's amount.
func checkDecimal(t *testing.T, m Money) {
	t.Helper()
	s := m.Decimal()
	places := MinorUnits(m.Currency)
	digits := strings.Replace(s, ".", "", 1)
	if places > 0 && (strings.Count(s, ".") != 1 || len(s)-strings.IndexByte(s, '.')-1 != places) {
		t.Fatalf("%d %s printed %q: not %d decimal places", m.Amount, m.Currency, s, places)
	}
	n, ok := new(big.Int).SetString(digits, 10)
	if !ok || n.Cmp(big.NewInt(m.Amount)) != 0 || strings.HasPrefix(digits, "--") {
		t.Fatalf("%d %s printed %q", m.Amount, m.Currency, s)
	}
}
