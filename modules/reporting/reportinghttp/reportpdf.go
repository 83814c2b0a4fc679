package reportinghttp

import (
	"bytes"
	"fmt"
	"net/http"
	"sort"

	"codeberg.org/go-pdf/fpdf"
	"github.com/go-analyze/charts"
	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/pdftext"
)

// reportDoc is a report ready to print: a title, charts, and its table.
type reportDoc struct {
	title, subtitle string
	charts          []chartSpec
	table           table
	widths          []float64 // column widths in mm (landscape A4: 261 mm in all)
}

// chartSpec is one line or bar chart: a series per label over the x labels.
type chartSpec struct {
	title  string
	bar    bool
	xs     []string
	labels []string
	series [][]float64
}

// maxPDFRows bounds a report PDF's table (about 50 pages): a report over
// every demo hotel by night has ~150,000 rows, which no one reads on paper
// and which took longer to draw than a client waits. The CSV has them all.
const maxPDFRows = 2000

// writePDF renders the report as a landscape A4 PDF with its charts first.
func writePDF(c echo.Context, name string, d reportDoc) error {
	pdf := fpdf.New("L", "mm", "A4", "")
	pdf.SetMargins(18, 14, 18)
	pdf.SetAutoPageBreak(true, 14)
	pdf.SetTitle(d.title, true)
	pdf.SetCreator("Bellhop", true)
	pdf.AddPage()
	// The same fonts as receipts: hotel names in any script print.
	w, err := pdftext.New(pdf)
	if err != nil {
		return apperr.Internal(fmt.Errorf("report pdf: %w", err))
	}
	w.Font(true, 16)
	w.Cell(0, 9, d.title, "", 1, "L")
	w.Font(false, 10)
	w.Cell(0, 6, d.subtitle, "", 1, "L")
	for i, ch := range d.charts {
		png, err := renderChart(ch)
		if err != nil {
			return apperr.Internal(fmt.Errorf("report chart: %w", err))
		}
		img := fmt.Sprintf("chart%d", i)
		pdf.RegisterImageOptionsReader(img, fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(png))
		if pdf.GetY()+85 > 196 {
			pdf.AddPage()
		}
		pdf.ImageOptions(img, 18, pdf.GetY()+2, 200, 0, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
		pdf.SetY(pdf.GetY() + 2 + 200*400/1000.0 + 4)
	}
	pdf.AddPage()
	header := func() {
		w.Font(true, 7)
		for i, h := range d.table.header {
			w.Cell(d.widths[i], 5, h, "B", 0, "L")
		}
		pdf.Ln(-1)
		w.Font(false, 7)
	}
	header()
	drawn, more := 0, 0
	for rec := range d.table.rows {
		if drawn == maxPDFRows {
			more++ // counted, not drawn
			continue
		}
		drawn++
		if pdf.GetY() > 190 {
			pdf.AddPage()
			header()
		}
		for i, v := range rec {
			align := "R"
			if i < 5 {
				align = "L"
			}
			w.Cell(d.widths[i], 4.2, v, "", 0, align)
		}
		pdf.Ln(-1)
	}
	if more > 0 {
		w.Font(true, 8)
		w.Cell(0, 6, fmt.Sprintf("… and %d more rows: the CSV (format=csv) has every row.", more), "", 1, "L")
	}
	var out bytes.Buffer
	if err := pdf.Output(&out); err != nil {
		return apperr.Internal(fmt.Errorf("report pdf: %w", err))
	}
	c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.pdf"`, name))
	return c.Blob(http.StatusOK, mediaPDF, out.Bytes())
}

func renderChart(ch chartSpec) ([]byte, error) {
	opts := []charts.OptionFunc{charts.PNGOutputOptionFunc(), charts.DimensionsOptionFunc(1000, 400),
		charts.TitleTextOptionFunc(ch.title), charts.XAxisLabelsOptionFunc(ch.xs), charts.LegendLabelsOptionFunc(ch.labels)}
	series := ch.series
	if len(series) == 0 || len(ch.xs) == 0 {
		series, opts = [][]float64{{0}}, append(opts, charts.XAxisLabelsOptionFunc([]string{"no data"}))
	}
	var p *charts.Painter
	var err error
	if ch.bar {
		p, err = charts.BarRender(series, opts...)
	} else {
		p, err = charts.LineRender(series, opts...)
	}
	if err != nil {
		return nil, err
	}
	return p.Bytes()
}

// topGroups are the (at most n) groups with the largest sum of v, so a
// chart stays readable.
func topGroups[T any](rows []T, key func(T) string, v func(T) float64, n int) []string {
	sum := map[string]float64{}
	for _, r := range rows {
		sum[key(r)] += v(r)
	}
	keys := make([]string, 0, len(sum))
	for k := range sum {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if sum[keys[i]] != sum[keys[j]] {
			return sum[keys[i]] > sum[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys[:min(n, len(keys))]
}

// seriesOf lays rows out as one series per group over the periods.
func seriesOf[T any](rows []T, period func(T) string, group func(T) string, v func(T) float64, groups []string) ([]string, [][]float64) {
	var xs []string
	idx := map[string]int{}
	for _, r := range rows {
		if _, ok := idx[period(r)]; !ok {
			idx[period(r)] = len(xs)
			xs = append(xs, period(r))
		}
	}
	gi := map[string]int{}
	for i, g := range groups {
		gi[g] = i
	}
	series := make([][]float64, len(groups))
	for i := range series {
		series[i] = make([]float64, len(xs))
	}
	for _, r := range rows {
		if i, ok := gi[group(r)]; ok {
			series[i][idx[period(r)]] += v(r)
		}
	}
	return xs, series
}

func occupancyPDF(r reporting.OccupancyReport) reportDoc {
	key := func(x reporting.OccupancyRow) string { return x.Group + " " + x.Currency }
	groups := topGroups(r.Rows, key, func(x reporting.OccupancyRow) float64 { return float64(x.RoomsSold) }, 5)
	xs, occ := seriesOf(r.Rows, func(x reporting.OccupancyRow) string { return x.PeriodStart.String() }, key,
		func(x reporting.OccupancyRow) float64 { return x.Occupancy }, groups)
	_, revpar := seriesOf(r.Rows, func(x reporting.OccupancyRow) string { return x.PeriodStart.String() }, key,
		func(x reporting.OccupancyRow) float64 { return float64(x.RevPAR.Amount) / 100 }, groups)
	return reportDoc{
		title:    "Occupancy",
		subtitle: fmt.Sprintf("%s to %s (exclusive), per %s and %s", r.From, r.To, r.GroupBy, r.Granularity),
		charts: []chartSpec{{title: "Occupancy % (top groups by rooms sold)", xs: xs, labels: groups, series: occ},
			{title: "RevPAR", bar: true, xs: xs, labels: groups, series: revpar}},
		table:  occupancyCSV(r),
		widths: []float64{17, 17, 13, 24, 34, 11, 17, 15, 17, 21, 17, 17, 14, 14},
	}
}

func revenuePDF(r reporting.RevenueReport) reportDoc {
	key := func(x reporting.RevenueRow) string { return x.Group + " " + x.Currency }
	groups := topGroups(r.Rows, key, func(x reporting.RevenueRow) float64 { return float64(x.Net.Amount) }, 5)
	xs, net := seriesOf(r.Rows, func(x reporting.RevenueRow) string { return x.PeriodStart.String() }, key,
		func(x reporting.RevenueRow) float64 { return float64(x.Net.Amount) / 100 }, groups)
	return reportDoc{
		title:    "Revenue",
		subtitle: fmt.Sprintf("%s to %s (exclusive), per %s and %s; currencies are never summed", r.From, r.To, r.GroupBy, r.Granularity),
		charts:   []chartSpec{{title: "Net revenue (top groups)", bar: true, xs: xs, labels: groups, series: net}},
		table:    revenueCSV(r),
		widths:   []float64{18, 18, 14, 26, 40, 14, 16, 23, 23, 23, 23, 23},
	}
}

func behaviourPDF(r reporting.BehaviourReport) reportDoc {
	xs := make([]string, len(r.Pace))
	now, before := make([]float64, len(r.Pace)), make([]float64, len(r.Pace))
	for i, p := range r.Pace {
		xs[i], now[i], before[i] = p.Night.String(), float64(p.RoomsOnBooks), float64(p.LastYearRooms)
	}
	lead := make([]string, len(r.LeadTimeBuckets))
	leadN := make([]float64, len(r.LeadTimeBuckets))
	for i, b := range r.LeadTimeBuckets {
		lead[i], leadN[i] = b.Label, float64(b.Count)
	}
	return reportDoc{
		title: "Booking behaviour",
		subtitle: fmt.Sprintf("bookings made %s to %s: %d held, %d confirmed, cancellation rate %.2f%%, lead time %.2f days, stay %.2f nights",
			r.From, r.To, r.Bookings, r.Confirmed, r.CancellationRate, r.AvgLeadTimeDays, r.AvgLengthOfStay),
		charts: []chartSpec{
			{title: "Booking pace: rooms on the books as of " + r.PaceAsOf.String() + " vs a year before", xs: xs,
				labels: []string{"as of " + r.PaceAsOf.String(), "as of " + r.PaceLastYearAsOf.String()}, series: [][]float64{now, before}},
			{title: "Lead time", bar: true, xs: lead, labels: []string{"confirmed bookings"}, series: [][]float64{leadN}},
		},
		table:  behaviourCSV(r),
		widths: []float64{45, 40, 30, 40, 30},
	}
}
