package searchhttp

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/civil"
)

// TestSearchPage_SameBytes checks the hand-written encoder of search answers
// against the generic one (goccy/go-json, which the server used before) on
// random pages: every field of every struct filled by reflection (so a field
// added to the contract and not to the encoder fails here), strings with
// characters that need escaping, nil and empty lists, floats of every size.
func TestSearchPage_SameBytes(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	fellBack := 0
	for i := range 3000 {
		var res search.SearchResult
		fill(rng, reflect.ValueOf(&res).Elem())
		var want bytes.Buffer
		wantErr := json.NewEncoder(&want).Encode(res)
		got, ok := searchPage(res).AppendJSON(nil)
		if !ok {
			fellBack++
			if wantErr == nil {
				// Falling back is allowed only for what the generic encoder refuses.
				t.Fatalf("page %d: AppendJSON gave up on a page the generic encoder writes:\n%s", i, want.Bytes())
			}
			continue
		}
		if wantErr != nil {
			t.Fatalf("page %d: the generic encoder failed (%v), AppendJSON did not:\n%s", i, wantErr, got)
		}
		if got = append(got, '\n'); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("page %d differs:\n got %s\nwant %s", i, got, want.Bytes())
		}
	}
	if fellBack == 0 || fellBack > 300 {
		t.Errorf("%d of 3000 pages fell back (a NaN or infinite rating); want a few", fellBack)
	}
}

var (
	pieces = []string{"a", "Zürich", "São Paulo", "Hotel & Spa", "<b>", `"q"`, `back\slash`, "tab\t", "nl\n", "cr\r",
		"\x00", "\x08", "\x0c", "\x1f", "\x7f", "\u2028", "\u2029", "\xff", "\xe2\x82", "€", "😀", " ", "-", "/", ""}
	floats = []float64{0, math.Copysign(0, -1), 3.5, 4, 4.95, -2.25, 1e-6, 9e-7, 1e20, 1e21, 123456789.125, 1e-320,
		math.MaxFloat64, math.NaN(), math.Inf(1)}
	dates = []civil.Date{{}, {Year: 2026, Month: 12, Day: 3}, {Year: 999, Month: 1, Day: 9}, {Year: 10000, Month: 2, Day: 28},
		{Year: -1, Month: 1, Day: 1}, {Year: 2026, Month: 13, Day: 40}}
)

func fill(rng *rand.Rand, v reflect.Value) {
	switch v.Interface().(type) {
	case civil.Date:
		v.Set(reflect.ValueOf(dates[rng.IntN(len(dates))]))
		return
	case time.Time:
		panic("search answers carry no time.Time yet: teach fill one")
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			fill(rng, v.Field(i))
		}
	case reflect.Slice:
		switch n := rng.IntN(5); n {
		case 0: // nil
		default:
			s := reflect.MakeSlice(v.Type(), n-1, n-1)
			for i := range s.Len() {
				fill(rng, s.Index(i))
			}
			v.Set(s)
		}
	case reflect.String:
		var s string
		for range rng.IntN(4) {
			s += pieces[rng.IntN(len(pieces))]
		}
		v.SetString(s)
	case reflect.Int, reflect.Int64:
		v.SetInt(rng.Int64N(1<<40) - 1<<20)
	case reflect.Float64:
		if rng.IntN(20) == 0 {
			v.SetFloat(floats[rng.IntN(len(floats))])
		} else {
			v.SetFloat(math.Round(rng.Float64()*50) / 10)
		}
	default:
		panic("fill: teach it " + v.Type().String())
	}
}

// BenchmarkSearchPage_Encode encodes a real page of 20 hotels (a demo
// catalog answer) with the hand-written encoder and with the generic one.
func BenchmarkSearchPage_Encode(b *testing.B) {
	raw, err := os.ReadFile("testdata/page.json")
	if err != nil {
		b.Fatal(err)
	}
	var res search.SearchResult
	if err := json.Unmarshal(raw, &res); err != nil || len(res.Hotels) != search.DefaultLimit {
		b.Fatalf("testdata/page.json: %d hotels, %v", len(res.Hotels), err)
	}
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 32<<10)
		for b.Loop() {
			buf, _ = searchPage(res).AppendJSON(buf[:0])
		}
		b.SetBytes(int64(len(buf)))
	})
	b.Run("goccy", func(b *testing.B) {
		b.ReportAllocs()
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			_ = json.NewEncoder(&buf).Encode(res)
		}
		b.SetBytes(int64(buf.Len()))
	})
}
