package money_test

import (
	"errors"
	"math"
	"testing"

	"github.com/bellhop/bellhop/platform/money"
)

func TestDecimal(t *testing.T) {
	for _, tc := range []struct {
		m    money.Money
		want string
	}{
		{money.New(12345, "EUR"), "EUR 123.45"},
		{money.New(5, "USD"), "USD 0.05"},
		{money.New(-250, "GBP"), "GBP -2.50"},
		{money.New(15000, "JPY"), "JPY 15000"},
		{money.New(1234, "KWD"), "KWD 1.234"},
	} {
		if got := tc.m.String(); got != tc.want {
			t.Errorf("%v.String() = %q, want %q", tc.m, got, tc.want)
		}
	}
}

func TestAdd(t *testing.T) {
	sum, err := money.New(100, "EUR").Add(money.New(250, "EUR"))
	if err != nil || sum != money.New(350, "EUR") {
		t.Fatalf("Add = %v, %v", sum, err)
	}
	if _, err := money.New(1, "EUR").Add(money.New(1, "USD")); !errors.Is(err, money.ErrCurrencyMismatch) {
		t.Fatalf("Add across currencies: err = %v", err)
	}
	for _, tc := range [][2]int64{{math.MaxInt64, 1}, {math.MinInt64, -1}, {9e18, 9e18}} {
		if _, err := money.New(tc[0], "EUR").Add(money.New(tc[1], "EUR")); !errors.Is(err, money.ErrOverflow) {
			t.Fatalf("Add(%d, %d): err = %v, want ErrOverflow", tc[0], tc[1], err)
		}
	}
	if sum, err := money.New(math.MaxInt64, "EUR").Add(money.New(math.MinInt64, "EUR")); err != nil || sum.Amount != -1 {
		t.Fatalf("Add(max, min) = %v, %v", sum, err)
	}
	if got := money.New(12000, "EUR").Mul(3); got.Amount != 36000 {
		t.Fatalf("Mul = %v", got)
	}
	if !money.IsCurrency("EUR") || money.IsCurrency("EURO") {
		t.Fatal("IsCurrency is wrong")
	}
}
