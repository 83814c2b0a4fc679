// Package civil has the calendar date type Bellhop's contracts share: a
// check-in or check-out is a date on the hotel's wall calendar, not an
// instant, so it carries no time zone and compares as a date.
package civil

import (
	"fmt"
	"time"
)

// Date is a day on the calendar (no time, no zone). The zero value is invalid.
// It marshals as "YYYY-MM-DD" in JSON, in text and in query parameters.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

const layout = "2006-01-02"

// Parse reads a "YYYY-MM-DD" date and rejects impossible ones ("2026-02-30").
func Parse(s string) (Date, error) {
	t, err := time.Parse(layout, s)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date in the form YYYY-MM-DD", s)
	}
	return Of(t), nil
}

// MustParse is Parse for literals in tests and seed data; it panics on a bad date.
func MustParse(s string) Date {
	d, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return d
}

// Of is the date of t in t's own location.
func Of(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// Today is the current date in loc (the hotel's zone: "not in the past" means there).
func Today(loc *time.Location) Date { return Of(time.Now().In(loc)) }

// TodayIn is Today for a zone name; an unknown zone is an error.
func TodayIn(zone string) (Date, error) {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return Date{}, err
	}
	return Today(loc), nil
}

// IsZero reports whether d is the zero (unset) date.
func (d Date) IsZero() bool { return d == Date{} }

// String is "YYYY-MM-DD".
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// In is the instant d starts in loc (midnight there).
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

func (d Date) utc() time.Time { return d.In(time.UTC) }

// AddDays is d moved n days (negative n goes back).
func (d Date) AddDays(n int) Date { return Of(d.utc().AddDate(0, 0, n)) }

// DaysSinceEpoch numbers days from 1970-01-01, for dense per-day arrays.
func (d Date) DaysSinceEpoch() int { return int(d.utc().Unix() / 86400) }

// FromDaysSinceEpoch is the inverse of DaysSinceEpoch.
func FromDaysSinceEpoch(n int) Date { return Of(time.Unix(int64(n)*86400, 0).UTC()) }

// DaysUntil is the number of days from d to e (the nights of a stay from d to e).
func (d Date) DaysUntil(e Date) int { return e.DaysSinceEpoch() - d.DaysSinceEpoch() }

// Before, After and Compare order dates.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }
func (d Date) After(e Date) bool  { return d.Compare(e) > 0 }
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return cmpInt(d.Year, e.Year)
	case d.Month != e.Month:
		return cmpInt(int(d.Month), int(e.Month))
	default:
		return cmpInt(d.Day, e.Day)
	}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// MarshalText implements encoding.TextMarshaler; the zero date is "".
func (d Date) MarshalText() ([]byte, error) {
	if d.IsZero() {
		return []byte{}, nil
	}
	return []byte(d.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler; "" is the zero date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// Nights lists the nights of a stay from check-in up to (not including) check-out.
func Nights(checkIn, checkOut Date) []Date {
	n := checkIn.DaysUntil(checkOut)
	if n <= 0 {
		return nil
	}
	out := make([]Date, n)
	for i := range out {
		out[i] = checkIn.AddDays(i)
	}
	return out
}
