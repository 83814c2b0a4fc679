// Package pdftext draws text in any script into fpdf documents with fonts
// prepared once per process: Go Regular and Go Bold, and a CJK fallback
// font for the characters the Go fonts lack. Receipts and reports share it.
package pdftext

import (
	"bytes"
	"compress/zlib"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"unicode/utf8"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/text/encoding/charmap"
)

// Text is drawn in runs, each with one of three kinds of font:
//
//   - kindWinAnsi: Go Regular/Bold as simple TrueType fonts in the
//     Windows-1252 encoding. Their definition (widths, metrics) and their
//     compressed font program are made once per process and handed to every
//     document as is, so a document in Western European text costs no font
//     parsing or subsetting at all (fpdf parses and subsets a UTF-8 font anew
//     for every document, which made a receipt cost ~13 ms).
//   - kindGo: the same Go fonts as fpdf UTF-8 fonts (subset per document),
//     for Greek, Cyrillic, Central European letters and the like; added to
//     a document only when it has such text.
//   - kindFallback: the CJK fallback font (UTF-8, subset), for what the Go
//     fonts lack ("東京"); added only when needed.
type runKind int

const (
	kindWinAnsi runKind = iota
	kindGo
	kindFallback
)

// fpdf family names of the three kinds.
var families = [...]string{kindWinAnsi: "gowin", kindGo: "goutf8", kindFallback: "fallback"}

//go:embed fonts/DroidSansFallbackFull.ttf
var droidFallback []byte

// simpleFont is a font ready for fpdf.AddFontFromBytes: its definition
// (JSON) and its font program, zlib-compressed.
type simpleFont struct {
	def, program []byte
}

// fontSet is what every document shares, built once.
type fontSet struct {
	regular, bold simpleFont
	goFont        *sfnt.Font // which characters the Go fonts have
	winAnsi       map[rune]byte
}

var loadFonts = sync.OnceValues(func() (*fontSet, error) {
	fs := &fontSet{winAnsi: make(map[rune]byte, 256)}
	for c := range 256 {
		if r := charmap.Windows1252.DecodeByte(byte(c)); r != utf8.RuneError {
			fs.winAnsi[r] = byte(c)
		}
	}
	var err error
	if fs.goFont, err = sfnt.Parse(goregular.TTF); err != nil {
		return nil, fmt.Errorf("pdftext: parse Go Regular: %w", err)
	}
	if fs.regular, err = makeSimpleFont(goregular.TTF, "goregular.z", false); err != nil {
		return nil, err
	}
	if fs.bold, err = makeSimpleFont(gobold.TTF, "gobold.z", true); err != nil {
		return nil, err
	}
	return fs, nil
})

// The JSON fpdf reads in AddFontFromBytes (the shape of its makefont output).
type fontDef struct {
	Tp           string
	Name         string
	Desc         fontDesc
	Up, Ut       int
	Cw           []int
	Enc          string
	Diff         string
	File         string
	OriginalSize int
}

type fontDesc struct {
	Ascent, Descent, CapHeight, Flags int
	FontBBox                          struct{ Xmin, Ymin, Xmax, Ymax int }
	ItalicAngle, StemV, MissingWidth  int
}

// makeSimpleFont describes ttf as a WinAnsi-encoded TrueType font, its
// metrics in the thousandths of an em that PDF uses.
func makeSimpleFont(ttf []byte, file string, bold bool) (simpleFont, error) {
	f, err := sfnt.Parse(ttf)
	if err != nil {
		return simpleFont{}, fmt.Errorf("pdftext: parse %s: %w", file, err)
	}
	var buf sfnt.Buffer
	upem := int(f.UnitsPerEm())
	ppem := fixed.I(upem) // one unit per font unit
	milli := func(v fixed.Int26_6) int { return int(math.Round(float64(v) / 64 * 1000 / float64(upem))) }
	advance := func(r rune) (int, error) {
		gi, err := f.GlyphIndex(&buf, r)
		if err != nil {
			return 0, err
		}
		a, err := f.GlyphAdvance(&buf, gi, ppem, font.HintingNone)
		return milli(a), err
	}
	missing, err := advance(0)
	if err != nil {
		return simpleFont{}, err
	}
	def := fontDef{Tp: "TrueType", Enc: "cp1252", File: file, OriginalSize: len(ttf), Up: -100, Ut: 50, Cw: make([]int, 256)}
	if def.Name, err = f.Name(&buf, sfnt.NameIDPostScript); err != nil {
		return simpleFont{}, err
	}
	for c := range def.Cw {
		def.Cw[c] = missing
		if r := charmap.Windows1252.DecodeByte(byte(c)); r != utf8.RuneError && c >= 32 {
			if def.Cw[c], err = advance(r); err != nil {
				return simpleFont{}, err
			}
		}
	}
	m, err := f.Metrics(&buf, ppem, font.HintingNone)
	if err != nil {
		return simpleFont{}, err
	}
	bounds, err := f.Bounds(&buf, ppem, font.HintingNone)
	if err != nil {
		return simpleFont{}, err
	}
	def.Desc = fontDesc{Ascent: milli(m.Ascent), Descent: -milli(m.Descent), CapHeight: milli(m.CapHeight),
		Flags: 32, StemV: 70, MissingWidth: missing} // 32: nonsymbolic (Latin text)
	if bold {
		def.Desc.StemV = 120
	}
	// sfnt's y axis points down, PDF's up.
	def.Desc.FontBBox.Xmin, def.Desc.FontBBox.Xmax = milli(bounds.Min.X), milli(bounds.Max.X)
	def.Desc.FontBBox.Ymin, def.Desc.FontBBox.Ymax = -milli(bounds.Max.Y), -milli(bounds.Min.Y)
	js, err := json.Marshal(def)
	if err != nil {
		return simpleFont{}, err
	}
	var z bytes.Buffer
	zw, err := zlib.NewWriterLevel(&z, zlib.BestCompression)
	if err != nil {
		return simpleFont{}, err
	}
	if _, err := zw.Write(ttf); err != nil {
		return simpleFont{}, err
	}
	if err := zw.Close(); err != nil {
		return simpleFont{}, err
	}
	return simpleFont{def: js, program: z.Bytes()}, nil
}

// Writer draws text into one fpdf document, choosing a font per run of
// characters; fonts are added to the document on first use.
type Writer struct {
	pdf *fpdf.Fpdf
	// compressLazily: compression stays off until a per-document font is
	// added (see CompressOnlyWhenNeeded).
	compressLazily bool
	fonts          *fontSet
	added          map[string]bool // "family/style" added to pdf
	buf            sfnt.Buffer
	bold           bool
	size           float64
}

// New returns a Writer for pdf, which has no fonts of the families above.
func New(pdf *fpdf.Fpdf) (*Writer, error) {
	fs, err := loadFonts()
	if err != nil {
		return nil, err
	}
	w := &Writer{pdf: pdf, fonts: fs, added: map[string]bool{}, size: 10}
	w.use(kindWinAnsi)
	return w, nil
}

// CompressOnlyWhenNeeded turns off compression of the page content while
// the document uses only the Windows-1252 Go fonts, whose program is
// compressed once for all documents: for a one-page receipt, setting up a
// zlib compressor costs more than the rest of the rendering, and its page
// content is a few kilobytes. Adding a per-document font (a subset, and its
// 128 KiB glyph map) turns compression on again.
func (w *Writer) CompressOnlyWhenNeeded() {
	w.compressLazily = true
	w.pdf.SetCompression(!w.onlyWinAnsi())
}

func (w *Writer) onlyWinAnsi() bool {
	for key := range w.added {
		if !strings.HasPrefix(key, families[kindWinAnsi]+"/") {
			return false
		}
	}
	return true
}

// PDF is the document the writer draws into.
func (w *Writer) PDF() *fpdf.Fpdf { return w.pdf }

// Font sets the style of the text drawn next.
func (w *Writer) Font(bold bool, size float64) {
	w.bold, w.size = bold, size
	w.use(kindWinAnsi)
}

// use selects the font of kind in the current style, adding it first.
func (w *Writer) use(k runKind) {
	style := ""
	if w.bold && k != kindFallback { // the fallback font has no bold
		style = "B"
	}
	fam := families[k]
	if key := fam + "/" + style; !w.added[key] {
		w.added[key] = true
		switch k {
		case kindWinAnsi:
			f := w.fonts.regular
			if style == "B" {
				f = w.fonts.bold
			}
			w.pdf.AddFontFromBytes(fam, style, f.def, f.program)
		// Copies: fpdf writes into the UTF-8 font bytes it is given while
		// subsetting, which would race with every other document drawn at
		// the same time from the shared arrays. (The Windows-1252 fonts'
		// definition and program are only read.)
		case kindGo:
			if w.compressLazily {
				w.pdf.SetCompression(true)
			}
			ttf := goregular.TTF
			if style == "B" {
				ttf = gobold.TTF
			}
			w.pdf.AddUTF8FontFromBytes(fam, style, bytes.Clone(ttf))
		case kindFallback:
			if w.compressLazily {
				w.pdf.SetCompression(true)
			}
			w.pdf.AddUTF8FontFromBytes(fam, style, bytes.Clone(droidFallback))
		}
	}
	w.pdf.SetFont(fam, style, w.size)
}

type run struct {
	kind runKind
	text string // in the font's encoding: Windows-1252 bytes for kindWinAnsi
}

func (w *Writer) kindOf(r rune) runKind {
	if _, ok := w.fonts.winAnsi[r]; ok {
		return kindWinAnsi
	}
	if gi, err := w.fonts.goFont.GlyphIndex(&w.buf, r); err == nil && gi != 0 {
		return kindGo
	}
	return kindFallback
}

// runs splits s into pieces each drawn with one kind of font.
func (w *Writer) runs(s string) []run {
	var out []run
	var cur strings.Builder
	kind := kindWinAnsi
	for _, r := range s {
		k := w.kindOf(r)
		if cur.Len() > 0 && k != kind {
			out = append(out, run{kind: kind, text: cur.String()})
			cur.Reset()
		}
		kind = k
		if k == kindWinAnsi {
			cur.WriteByte(w.fonts.winAnsi[r])
		} else {
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, run{kind: kind, text: cur.String()})
	}
	return out
}

// Width is the width of s in the current style, in the document's unit.
func (w *Writer) Width(s string) float64 {
	return w.width(w.runs(s))
}

func (w *Writer) width(runs []run) float64 {
	total := 0.0
	for _, r := range runs {
		w.use(r.kind)
		total += w.pdf.GetStringWidth(r.text)
	}
	w.use(kindWinAnsi)
	return total
}

// Text draws s in a box of width cw and height h at (x, y), aligned "L",
// "R" or "C". It leaves the position where it was not.
func (w *Writer) Text(x, y, cw, h float64, s, align string) {
	runs := w.runs(s)
	switch align {
	case "R":
		x += cw - w.width(runs)
	case "C":
		x += (cw - w.width(runs)) / 2
	}
	for _, r := range runs {
		w.use(r.kind)
		rw := w.pdf.GetStringWidth(r.text)
		w.pdf.SetXY(x, y)
		w.pdf.CellFormat(rw, h, r.text, "", 0, "L", false, 0, "")
		x += rw
	}
	w.use(kindWinAnsi)
}

// Cell is fpdf's CellFormat for text in any script: a cell of width cw
// (with border, as CellFormat draws it) at the current position, after
// which the position moves right (ln 0) or to the next line (ln 1). Like
// CellFormat it starts a new page when the cell does not fit, and a width
// of 0 reaches the right margin.
func (w *Writer) Cell(cw, h float64, s, border string, ln int, align string) {
	if cw == 0 {
		pageW, _ := w.pdf.GetPageSize()
		_, _, right, _ := w.pdf.GetMargins()
		cw = pageW - right - w.pdf.GetX()
	}
	w.pdf.CellFormat(cw, h, "", border, 0, "", false, 0, "")
	x, y := w.pdf.GetX()-cw, w.pdf.GetY() // on the new page if one was started
	// Text pads its runs by the cell margin on the left, as CellFormat
	// does; narrowing the box by both margins aligns right and centre the
	// same way too.
	w.Text(x, y, cw-2*w.pdf.GetCellMargin(), h, s, align)
	if ln == 0 {
		w.pdf.SetXY(x+cw, y)
		return
	}
	left, _, _, _ := w.pdf.GetMargins()
	w.pdf.SetXY(left, y+h)
}
