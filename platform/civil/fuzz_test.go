package civil

import (
	"encoding/json"
	"testing"
)

// FuzzParse reads dates as clients send them (query parameters, JSON):
// whatever Parse accepts must be exactly the canonical form it prints, and
// survive JSON and day arithmetic unchanged. Seeds run in every `go test`;
// `make fuzz` explores further.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"2026-02-28", "2024-02-29", "2026-02-30", "0000-01-01", "9999-12-31", "2026-1-2",
		"+2026-01-01", "2026-01-01T00:00:00Z", " 2026-01-01", "２０２６-01-01", "", "2026-13-01", "-001-01-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err != nil {
			var u Date
			if u.UnmarshalText([]byte(s)) == nil && s != "" {
				t.Fatalf("UnmarshalText accepted %q, which Parse refused", s)
			}
			return
		}
		if d.String() != s {
			t.Fatalf("Parse(%q) = %v, printed %q: more than one spelling of a date is accepted", s, d, d.String())
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var back Date
		if err := json.Unmarshal(b, &back); err != nil || back != d {
			t.Fatalf("JSON round trip of %v: %v, %v", d, back, err)
		}
		if got := FromDaysSinceEpoch(d.DaysSinceEpoch()); got != d {
			t.Fatalf("days since epoch round trip of %v: %v", d, got)
		}
		if next := d.AddDays(1); d.DaysUntil(next) != 1 || !d.Before(next) || len(Nights(d, next)) != 1 {
			t.Fatalf("the day after %v is %v", d, next)
		}
	})
}
