package civil_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/bellhop/bellhop/platform/civil"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in  string
		ok  bool
		out string
	}{
		{"2026-12-24", true, "2026-12-24"},
		{"2028-02-29", true, "2028-02-29"},
		{"2026-02-29", false, ""},
		{"2026-13-01", false, ""},
		{"24/12/2026", false, ""},
		{"", false, ""},
	} {
		d, err := civil.Parse(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("Parse(%q) err = %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && d.String() != tc.out {
			t.Errorf("Parse(%q) = %s, want %s", tc.in, d, tc.out)
		}
	}
}

func TestDateArithmetic(t *testing.T) {
	d := civil.MustParse("2026-12-30")
	if got := d.AddDays(3).String(); got != "2027-01-02" {
		t.Errorf("AddDays = %s", got)
	}
	if n := d.DaysUntil(civil.MustParse("2027-01-02")); n != 3 {
		t.Errorf("DaysUntil = %d", n)
	}
	if got := civil.FromDaysSinceEpoch(d.DaysSinceEpoch()); got != d {
		t.Errorf("round trip = %s", got)
	}
	nights := civil.Nights(d, d.AddDays(2))
	if len(nights) != 2 || nights[1].String() != "2026-12-31" {
		t.Errorf("Nights = %v", nights)
	}
	if !d.Before(d.AddDays(1)) || d.After(d) || d.Compare(d) != 0 {
		t.Error("ordering is wrong")
	}
}

func TestTodayUsesZone(t *testing.T) {
	// At 23:30 UTC it is already tomorrow in Tokyo and still today in New York.
	now := time.Date(2026, 11, 24, 23, 30, 0, 0, time.UTC)
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	ny, _ := time.LoadLocation("America/New_York")
	if got := civil.Of(now.In(tokyo)).String(); got != "2026-11-25" {
		t.Errorf("Tokyo = %s", got)
	}
	if got := civil.Of(now.In(ny)).String(); got != "2026-11-24" {
		t.Errorf("New York = %s", got)
	}
}

func TestJSON(t *testing.T) {
	var v struct {
		D civil.Date `json:"d"`
	}
	if err := json.Unmarshal([]byte(`{"d":"2026-12-24"}`), &v); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	if string(b) != `{"d":"2026-12-24"}` {
		t.Errorf("marshal = %s", b)
	}
	if err := json.Unmarshal([]byte(`{"d":"2026-12-32"}`), &v); err == nil {
		t.Error("want error for a bad date")
	}
}
