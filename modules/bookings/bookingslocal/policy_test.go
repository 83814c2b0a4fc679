package bookingslocal

import (
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/money"
)

// The deadline is 48 real hours before 15:00 on the hotel's wall clock on
// the arrival day, also across a change of the clocks; the late fee is the
// first LateFeeNights nights, at most the stay.
func TestPolicy_Terms(t *testing.T) {
	lisbon, err := time.LoadLocation("Europe/Lisbon")
	if err != nil {
		t.Fatal(err)
	}
	nights := func(amounts ...int64) []bookings.NightPrice {
		out := make([]bookings.NightPrice, len(amounts))
		for i, a := range amounts {
			out[i] = bookings.NightPrice{Price: money.New(a, "EUR")}
		}
		return out
	}
	// 2026-03-29: Lisbon moves from UTC+0 to UTC+1 at 01:00.
	freeUntil, fee := DefaultPolicy.terms(civil.MustParse("2026-03-30"), lisbon, nights(9000, 12000))
	if want := time.Date(2026, 3, 28, 14, 0, 0, 0, time.UTC); !freeUntil.Equal(want) || fee != 9000 {
		t.Fatalf("terms = %s, %d; want %s, 9000", freeUntil, fee, want)
	}
	p := Policy{CheckInTime: 14*time.Hour + 30*time.Minute, FreeBefore: 24 * time.Hour, LateFeeNights: 3}
	freeUntil, fee = p.terms(civil.MustParse("2026-07-10"), time.UTC, nights(100, 200))
	if want := time.Date(2026, 7, 9, 14, 30, 0, 0, time.UTC); !freeUntil.Equal(want) || fee != 300 {
		t.Fatalf("terms = %s, %d; want %s, 300", freeUntil, fee, want)
	}
}

// What cancelling costs depends on the status and the deadline only.
func TestCharge(t *testing.T) {
	deadline := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	b := bookingRow{Status: bookings.StatusConfirmed, Total: 30000, LateCancellationFee: 10000, FreeCancellationUntil: deadline}
	for _, tc := range []struct {
		status    string
		at        time.Time
		fee, back int64
	}{
		{bookings.StatusConfirmed, deadline.Add(-time.Nanosecond), 0, 30000},
		{bookings.StatusConfirmed, deadline, 10000, 20000},
		{bookings.StatusPending, deadline.Add(time.Hour), 0, 0},
	} {
		b.Status = tc.status
		if fee, back := charge(b, tc.at); fee != tc.fee || back != tc.back {
			t.Errorf("%s at %s: fee %d, refund %d; want %d, %d", tc.status, tc.at, fee, back, tc.fee, tc.back)
		}
	}
}
