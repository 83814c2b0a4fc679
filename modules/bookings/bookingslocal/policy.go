package bookingslocal

import (
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/platform/civil"
)

// Policy is the cancellation policy, as data: the one place that says what
// cancelling costs. Its terms are worked out when a room is held and stored
// with the booking (FreeCancellationUntil, LateCancellationFee), so a later
// change of policy does not change what a guest already agreed to.
type Policy struct {
	// CheckInTime is when check-in starts on the arrival day, as time after
	// midnight in the hotel's time zone; FreeBefore counts back from it.
	CheckInTime time.Duration
	// FreeBefore is how long before check-in cancelling is free.
	FreeBefore time.Duration
	// LateFeeNights is how many nights, from the first, are kept when a paid
	// booking is cancelled later than that.
	LateFeeNights int
}

// DefaultPolicy: free until 48 hours before check-in (15:00 on the arrival
// day, in the hotel's time zone); later, the first night is kept.
var DefaultPolicy = Policy{CheckInTime: 15 * time.Hour, FreeBefore: 48 * time.Hour, LateFeeNights: 1}

// terms are the cancellation terms of a stay starting on checkIn in loc:
// the instant until which cancelling is free, and the fee after it (the
// first LateFeeNights nights' prices, at most the whole stay).
func (p Policy) terms(checkIn civil.Date, loc *time.Location, nights []bookings.NightPrice) (freeUntil time.Time, lateFee int64) {
	h, m := int(p.CheckInTime/time.Hour), int(p.CheckInTime%time.Hour/time.Minute)
	// time.Date, not midnight plus a duration: 15:00 on the wall clock even
	// on a day the clocks change.
	arrival := time.Date(checkIn.Year, checkIn.Month, checkIn.Day, h, m, 0, 0, loc)
	freeUntil = arrival.Add(-p.FreeBefore).UTC()
	for i, n := range nights {
		if i >= p.LateFeeNights {
			break
		}
		lateFee += n.Price.Amount
	}
	return freeUntil, lateFee
}

// charge is what cancelling b at now costs under the terms stored with it:
// the fee kept and the refund paid back. An unpaid (pending) booking costs
// nothing and refunds nothing; a paid one is free before its deadline and
// keeps the late fee from then on.
func charge(b bookingRow, now time.Time) (fee, refund int64) {
	if b.Status != bookings.StatusConfirmed {
		return 0, 0
	}
	if now.Before(b.FreeCancellationUntil) {
		return 0, b.Total
	}
	fee = min(b.LateCancellationFee, b.Total)
	return fee, b.Total - fee
}
