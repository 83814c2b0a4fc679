package web

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/money"
)

// The money charts of the reports page, drawn on the server like the
// occupancy chart: ADR and RevPAR over time (lines) and net revenue per
// period (bars), one chart per currency, since amounts of different
// currencies are never added up.

// lineChart is an SVG line chart laid out on the server.
type lineChart struct {
	Title, XLabel, YLabel    string
	Width, Height            int
	Left, Top, Right, Bottom int
	Ticks                    []chartTick
	XTicks                   []chartXTick
	Series                   []chartSeries
	Desc                     string
}

type chartXTick struct {
	X     float64
	Label string
}

type chartSeries struct {
	Name, Class string
	// Points is the polyline's points attribute.
	Points string
	Dots   []chartDot
	// LegendY is where its legend entry sits.
	LegendX, LegendY float64
}

type chartDot struct {
	X, Y  float64
	Title string
}

// periodMoney is one currency's figures for one period, over every group.
type periodMoney struct {
	start       civil.Date
	avail, sold int64
	revenue     int64 // minor units
}

// byCurrency groups occupancy rows per currency and period, in order.
func byCurrency(rows []reporting.OccupancyRow) (currencies []string, periods map[string][]*periodMoney) {
	periods = map[string][]*periodMoney{}
	idx := map[string]map[civil.Date]*periodMoney{}
	for _, r := range rows {
		cur := r.Currency
		if cur == "" {
			cur = r.RoomRevenue.Currency
		}
		if cur == "" {
			continue
		}
		if idx[cur] == nil {
			idx[cur] = map[civil.Date]*periodMoney{}
			currencies = append(currencies, cur)
		}
		p := idx[cur][r.PeriodStart]
		if p == nil {
			p = &periodMoney{start: r.PeriodStart}
			idx[cur][r.PeriodStart] = p
			periods[cur] = append(periods[cur], p)
		}
		p.avail += r.RoomsAvailable
		p.sold += r.RoomsSold
		p.revenue += r.RoomRevenue.Amount
	}
	slices.Sort(currencies)
	for _, ps := range periods {
		slices.SortFunc(ps, func(a, b *periodMoney) int { return a.start.Compare(b.start) })
	}
	return currencies, periods
}

// major turns minor units of currency into a plotting value.
func major(amount int64, currency string) float64 {
	return float64(amount) / math.Pow10(money.MinorUnits(currency))
}

// minorOf rounds a plotted value back to minor units (half up), for labels.
func minorOf(v float64, currency string) int64 {
	return int64(math.Round(v * math.Pow10(money.MinorUnits(currency))))
}

// niceCeil is the smallest of 1, 2, 2.5 or 5 times a power of ten at or
// above v: a round top for an axis.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow10(int(math.Floor(math.Log10(v))))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// moneyTicks are five ticks from 0 to top, labelled in currency.
func moneyTicks(top float64, bottom, plotH float64, currency string) []chartTick {
	var ticks []chartTick
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		label := formatMoney(money.New(minorOf(v, currency), currency))
		if v == math.Trunc(v) { // whole amounts without ".00": shorter axis labels
			label = strings.TrimSuffix(label, "."+strings.Repeat("0", money.MinorUnits(currency)))
		}
		ticks = append(ticks, chartTick{Y: bottom - plotH*float64(i)/4, Label: label})
	}
	return ticks
}

func shortDate(d civil.Date) string { return d.In(time.UTC).Format("2 Jan") }

// adrRevparCharts draws ADR and RevPAR per period, one chart per currency.
func adrRevparCharts(r reporting.OccupancyReport) []*lineChart {
	currencies, periods := byCurrency(r.Rows)
	var out []*lineChart
	for _, cur := range currencies {
		ps := periods[cur]
		adr, revpar := make([]float64, len(ps)), make([]float64, len(ps))
		top := 0.0
		for i, p := range ps {
			if p.sold > 0 {
				adr[i] = major(p.revenue, cur) / float64(p.sold)
			}
			if p.avail > 0 {
				revpar[i] = major(p.revenue, cur) / float64(p.avail)
			}
			top = max(top, adr[i], revpar[i])
		}
		top = niceCeil(top)
		ch := &lineChart{Title: "ADR and RevPAR by " + periodWord(r.Granularity) + " (" + cur + ")", XLabel: "Period starting",
			YLabel: "Per room-night (" + cur + ")", Width: 720, Height: 300, Left: 76, Top: 36, Right: 704, Bottom: 250}
		plotW, plotH := float64(ch.Right-ch.Left), float64(ch.Bottom-ch.Top)
		ch.Ticks = moneyTicks(top, float64(ch.Bottom), plotH, cur)
		// Points sit mid-slot, as the bars of the other charts do, so the
		// first and last dates' labels fit.
		slot := plotW / float64(len(ps))
		x := func(i int) float64 { return float64(ch.Left) + slot*(float64(i)+0.5) }
		y := func(v float64) float64 { return float64(ch.Bottom) - plotH*v/top }
		every := int(math.Ceil(float64(len(ps)) / 8))
		for i, p := range ps {
			if i%every == 0 {
				ch.XTicks = append(ch.XTicks, chartXTick{X: x(i), Label: shortDate(p.start)})
			}
		}
		var desc []string
		for si, s := range []struct {
			name, class string
			vals        []float64
		}{{"ADR", "chart-line-adr", adr}, {"RevPAR", "chart-line-revpar", revpar}} {
			cs := chartSeries{Name: s.name, Class: s.class, LegendX: float64(ch.Right - 190 + si*100), LegendY: 20}
			var pts []string
			var vals []string
			for i, v := range s.vals {
				px, py := x(i), y(v)
				pts = append(pts, coord(px)+","+coord(py))
				label := formatMoney(money.New(minorOf(v, cur), cur))
				cs.Dots = append(cs.Dots, chartDot{X: px, Y: py, Title: s.name + " " + shortDate(ps[i].start) + ": " + label})
				vals = append(vals, shortDate(ps[i].start)+" "+label)
			}
			cs.Points = strings.Join(pts, " ")
			ch.Series = append(ch.Series, cs)
			desc = append(desc, s.name+": "+strings.Join(vals, ", "))
		}
		ch.Desc = strings.Join(desc, ". ")
		out = append(out, ch)
	}
	return out
}

// revenueCharts draws net revenue per period, one chart per currency,
// every hotel of the report together.
func revenueCharts(r reporting.RevenueReport) []*barChart {
	type agg struct {
		start civil.Date
		net   int64
	}
	idx := map[string]map[civil.Date]*agg{}
	var currencies []string
	periods := map[string][]*agg{}
	for _, row := range r.Rows {
		if idx[row.Currency] == nil {
			idx[row.Currency] = map[civil.Date]*agg{}
			currencies = append(currencies, row.Currency)
		}
		a := idx[row.Currency][row.PeriodStart]
		if a == nil {
			a = &agg{start: row.PeriodStart}
			idx[row.Currency][row.PeriodStart] = a
			periods[row.Currency] = append(periods[row.Currency], a)
		}
		a.net += row.Net.Amount
	}
	slices.Sort(currencies)
	var out []*barChart
	for _, cur := range currencies {
		ps := periods[cur]
		slices.SortFunc(ps, func(a, b *agg) int { return a.start.Compare(b.start) })
		top := 0.0
		for _, p := range ps {
			top = max(top, major(p.net, cur))
		}
		top = niceCeil(top)
		ch := &barChart{Title: "Net revenue by " + periodWord(r.Granularity) + " (" + cur + ")", XLabel: "Period starting",
			YLabel: "Net revenue (" + cur + ")", Width: 720, Height: 300, Left: 76, Top: 36, Right: 704, Bottom: 250}
		plotW, plotH := float64(ch.Right-ch.Left), float64(ch.Bottom-ch.Top)
		ch.Ticks = moneyTicks(top, float64(ch.Bottom), plotH, cur)
		slot := plotW / float64(len(ps))
		every := int(math.Ceil(float64(len(ps)) / 8))
		var desc []string
		for i, p := range ps {
			v := max(major(p.net, cur), 0) // a period of refunds only draws no bar; the table has its figure
			h := plotH * v / top
			x := float64(ch.Left) + slot*float64(i) + slot*0.15
			label := shortDate(p.start)
			value := formatMoney(money.New(p.net, cur))
			ch.Bars = append(ch.Bars, chartBar{X: x, Y: float64(ch.Bottom) - h, W: slot * 0.7, H: h, Label: label, Value: value,
				ShowLabel: i%every == 0, LabelX: x + slot*0.35})
			desc = append(desc, label+": "+value)
		}
		ch.Desc = strings.Join(desc, "; ")
		out = append(out, ch)
	}
	return out
}
