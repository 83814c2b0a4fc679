package pdftext_test

import (
	"bytes"
	"math"
	"strings"
	"sync"
	"testing"

	"codeberg.org/go-pdf/fpdf"

	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/bellhop/bellhop/platform/pdftext"
	"github.com/bellhop/bellhop/platform/pdftext/pdftexttest"
)

// render draws each line with Text and one more with Cell, and returns the
// PDF and the widths Width gave.
func render(t *testing.T, lazy bool, lines ...string) ([]byte, []float64) {
	t.Helper()
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddPage()
	w, err := pdftext.New(pdf)
	if err != nil {
		t.Fatal(err)
	}
	if lazy {
		w.CompressOnlyWhenNeeded()
	}
	var widths []float64
	y := 20.0
	for i, l := range lines {
		w.Font(i%2 == 1, 11)
		widths = append(widths, w.Width(l))
		w.Text(20, y, 170, 6, l, "L")
		y += 8
	}
	pdf.SetXY(20, y)
	w.Cell(170, 6, "cell: "+strings.Join(lines, " | "), "B", 1, "R")
	var out bytes.Buffer
	if err := pdf.Output(&out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), widths
}

func TestWriter_ReadsBackInEveryScript(t *testing.T) {
	t.Parallel()
	cases := map[string][]string{
		// Windows-1252 only: the shared fonts alone.
		"WesternEuropean": {"Zoë Øberg · Zürich", "Total € 1.234,50 — “paid” ····"},
		// Go fonts as UTF-8 fonts, and the CJK fallback, beside Windows-1252 text.
		"AnyScript": {"Łódź Żółć, Ελλάδα, Москва", "Hotel 東京 Zürich"},
	}
	for name, lines := range cases {
		for _, lazy := range []bool{false, true} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				pdf, _ := render(t, lazy, lines...)
				text := pdftexttest.Text(t, pdf)
				for _, l := range lines {
					if !strings.Contains(text, l) {
						t.Errorf("%q not read back from the PDF:\n%s", l, text)
					}
				}
				if !strings.Contains(text, "cell: "+lines[0]) {
					t.Errorf("the cell's text not read back:\n%s", text)
				}
			})
		}
	}
}

// The Windows-1252 fonts measure text as fpdf's UTF-8 fonts made from the
// same Go fonts do, so the metrics made once per process are the fonts'.
func TestWriter_WidthsAreTheGoFonts(t *testing.T) {
	t.Parallel()
	const s = "Zoë Øberg, Zürich — € 1.234,50 “ok” ····"
	for _, bold := range []bool{false, true} {
		ref := fpdf.New("P", "mm", "A4", "")
		style, ttf := "", goregular.TTF
		if bold {
			style, ttf = "B", gobold.TTF
		}
		ref.AddUTF8FontFromBytes("ref", style, ttf)
		ref.SetFont("ref", style, 11)
		want := ref.GetStringWidth(s)

		w, err := pdftext.New(fpdf.New("P", "mm", "A4", ""))
		if err != nil {
			t.Fatal(err)
		}
		w.Font(bold, 11)
		if got := w.Width(s); want < 50 || math.Abs(got-want) > 0.05 {
			t.Errorf("bold %v: width %.3f mm, fpdf's UTF-8 Go font says %.3f mm", bold, got, want)
		}
	}
}

// A document in Windows-1252 text embeds no per-document font: its size is
// the shared fonts' and does not grow with another copy of the fonts.
func TestWriter_CompressOnlyWhenNeeded(t *testing.T) {
	t.Parallel()
	latin, _ := render(t, true, "Zoë Øberg")
	if !bytes.Contains(latin, []byte("/WinAnsiEncoding")) || bytes.Contains(latin, []byte("/Identity-H")) {
		t.Error("a Windows-1252 document should use only the WinAnsi fonts")
	}
	cjk, _ := render(t, true, "Zoë Øberg", "東京")
	if !bytes.Contains(cjk, []byte("/Identity-H")) {
		t.Error("a CJK document should embed a UTF-8 font")
	}
	// The UTF-8 font's 128 KiB glyph map, compressed, keeps the document small.
	if len(cjk) > len(latin)+100_000 {
		t.Errorf("CJK document %d bytes, Latin one %d: the per-document font was not compressed", len(cjk), len(latin))
	}
}

// Documents drawn at the same time share the prepared fonts and never the
// bytes fpdf writes into (run with -race).
func TestWriter_ConcurrentDocuments(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	sizes := make([]int, 4)
	for i := range sizes {
		wg.Go(func() {
			pdf, _ := render(t, i%2 == 0, "Zoë Øberg", "Łódź, Москва", "東京")
			sizes[i] = len(pdf)
		})
	}
	wg.Wait()
	for i, n := range sizes {
		if n < 1000 {
			t.Errorf("document %d: %d bytes", i, n)
		}
	}
}
