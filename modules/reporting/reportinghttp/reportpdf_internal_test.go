package reportinghttp

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/platform/pdftext/pdftexttest"
)

// A report PDF draws at most maxPDFRows rows of its table and says how
// many more the CSV has.
func TestWritePDF_BoundsTheTable(t *testing.T) {
	t.Parallel()
	const rows = maxPDFRows + 25
	d := reportDoc{title: "Occupancy", subtitle: "every hotel", widths: []float64{60, 60},
		table: table{header: []string{"group", "rooms_sold"}, rows: func(yield func([]string) bool) {
			for i := range rows {
				if !yield([]string{fmt.Sprintf("hotel %05d", i), "1"}) {
					return
				}
			}
		}}}
	rec := httptest.NewRecorder()
	if err := writePDF(echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec), "occupancy", d); err != nil {
		t.Fatal(err)
	}
	text := pdftexttest.Text(t, rec.Body.Bytes())
	last := fmt.Sprintf("hotel %05d", maxPDFRows-1)
	if !strings.Contains(text, last) || strings.Contains(text, fmt.Sprintf("hotel %05d", maxPDFRows)) || !strings.Contains(text, "and 25 more rows") {
		t.Fatalf("want rows up to %q and a note of 25 more; the PDF's last lines:\n%s", last, text[max(0, len(text)-400):])
	}
}
