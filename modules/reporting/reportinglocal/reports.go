package reportinglocal

import (
	"cmp"
	"context"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/civil"
)

// periods cuts [from, to) into periods of a granularity, clipped to the range.
type periods struct {
	from, to    int // days since the epoch
	granularity string
	starts      []int // each period's first day
}

func newPeriods(from, to civil.Date, granularity string) *periods {
	p := &periods{from: from.DaysSinceEpoch(), to: to.DaysSinceEpoch(), granularity: granularity}
	for d := p.from; d < p.to; {
		p.starts = append(p.starts, d)
		d = p.naturalEnd(d)
	}
	return p
}

// naturalEnd is the first day after the period holding day d.
func (p *periods) naturalEnd(d int) int {
	switch p.granularity {
	case reporting.GranularityWeek:
		wd := (int(civil.FromDaysSinceEpoch(d).In(time.UTC).Weekday()) + 6) % 7 // Monday 0
		return d - wd + 7
	case reporting.GranularityMonth:
		c := civil.FromDaysSinceEpoch(d)
		next := civil.Date{Year: c.Year, Month: c.Month + 1, Day: 1}
		if next.Month > 12 {
			next = civil.Date{Year: c.Year + 1, Month: 1, Day: 1}
		}
		return next.DaysSinceEpoch()
	}
	return d + 1
}

// index is the period holding day d.
func (p *periods) index(d int) int {
	return sort.Search(len(p.starts), func(i int) bool { return p.starts[i] > d }) - 1
}

func (p *periods) bounds(i int) (civil.Date, civil.Date) {
	end := p.to
	if i+1 < len(p.starts) {
		end = p.starts[i+1]
	}
	return civil.FromDaysSinceEpoch(p.starts[i]), civil.FromDaysSinceEpoch(end)
}

func dayOf(s string) int { return parseDate(s).DaysSinceEpoch() }

// groupKey is one row of a report.
type groupKey struct {
	period          int
	group, currency string
}

func groupOf(by, roomType, hotel, city string) string {
	switch by {
	case reporting.GroupRoomType:
		return roomType
	case reporting.GroupCity:
		return city
	}
	return hotel
}

func (s *Service) groupName(by, id string, hotels map[string]hotelRow, roomTypes map[string]string) string {
	switch by {
	case reporting.GroupRoomType:
		if n := roomTypes[id]; n != "" {
			return n
		}
	case reporting.GroupCity:
		for _, h := range hotels {
			if h.CityID == id && h.City != "" {
				return h.City
			}
		}
	default:
		if h, ok := hotels[id]; ok && h.Name != "" {
			return h.Name
		}
	}
	return id
}

// namesFor reads the names a report grouped by `by` shows: hotels (with
// their cities) unless grouped by room type, whose names rts already has.
func (s *Service) namesFor(ctx context.Context, by string, rts []roomTypeCapacity) (map[string]hotelRow, map[string]string, error) {
	if by == reporting.GroupRoomType {
		names := make(map[string]string, len(rts))
		for _, rt := range rts {
			names[rt.ID] = rt.Name
		}
		return nil, names, nil
	}
	hotels, _, err := s.store.names(ctx)
	return hotels, nil, err
}

func defaults(req *reporting.ReportRequest, granularity string) {
	if req.GroupBy == "" {
		req.GroupBy = reporting.GroupHotel
	}
	if req.Granularity == "" {
		req.Granularity = granularity
	}
}

// Occupancy implements reporting.Service.
func (s *Service) Occupancy(ctx context.Context, req reporting.ReportRequest) (reporting.OccupancyReport, error) {
	if err := s.checkFilters(ctx, req, req.From, req.To, req.HotelID, req.RoomTypeID, req.CityID); err != nil {
		return reporting.OccupancyReport{}, err
	}
	defaults(&req, reporting.GranularityNight)
	f := filter{HotelID: req.HotelID, RoomTypeID: req.RoomTypeID, CityID: req.CityID}
	per := newPeriods(req.From, req.To, req.Granularity)
	// A series of rows per group and currency, indexed by period: one map
	// look-up per room type or stay rather than per row, and rows come out
	// in order without sorting tens of thousands of them.
	type seriesKey struct{ group, currency string }
	type slot struct {
		row  reporting.OccupancyRow
		used bool
	}
	series := map[seriesKey][]slot{}
	seriesOf := func(group, currency string) []slot {
		k := seriesKey{group, currency}
		sl, ok := series[k]
		if !ok {
			sl = make([]slot, len(per.starts))
			series[k] = sl
		}
		return sl
	}
	row := func(period int, group, currency string) *reporting.OccupancyRow {
		sl := &seriesOf(group, currency)[period]
		if !sl.used {
			sl.used, sl.row.Group, sl.row.Currency = true, group, currency
		}
		return &sl.row
	}

	rts, err := s.store.roomTypes(ctx, f)
	if err != nil {
		return reporting.OccupancyReport{}, apperr.OrInternal(err, "occupancy")
	}
	places := make(map[string]roomTypeRow, len(rts)) // room type → its hotel and city
	avail := make([]int64, len(per.starts))
	for _, rt := range rts {
		places[rt.ID] = rt.roomTypeRow
		if len(rt.timeline) == 0 {
			continue
		}
		clear(avail)
		addCapacity(per, rt.timeline, avail)
		var sl []slot
		for i, n := range avail {
			if n > 0 {
				if sl == nil {
					sl = seriesOf(groupOf(req.GroupBy, rt.ID, rt.HotelID, rt.CityID), rt.Currency)
				}
				if !sl[i].used {
					sl[i].used, sl[i].row.Group, sl[i].row.Currency = true, groupOf(req.GroupBy, rt.ID, rt.HotelID, rt.CityID), rt.Currency
				}
				sl[i].row.RoomsAvailable += n
			}
		}
	}
	from, to := req.From.String(), req.To.String()
	sold, err := s.store.soldNights(ctx, f, from, to, req.Granularity == reporting.GranularityMonth)
	if err != nil {
		return reporting.OccupancyReport{}, apperr.OrInternal(err, "occupancy")
	}
	stays, err := s.store.movements(ctx, f, from, to)
	if err != nil {
		return reporting.OccupancyReport{}, apperr.OrInternal(err, "occupancy")
	}
	var unknown []string
	for _, a := range sold {
		if _, ok := places[a.RoomTypeID]; !ok {
			places[a.RoomTypeID] = roomTypeRow{}
			unknown = append(unknown, a.RoomTypeID)
		}
	}
	for _, st := range stays {
		if _, ok := places[st.RoomTypeID]; !ok {
			places[st.RoomTypeID] = roomTypeRow{}
			unknown = append(unknown, st.RoomTypeID)
		}
	}
	if len(unknown) > 0 {
		found, err := s.store.placesOf(ctx, unknown)
		if err != nil {
			return reporting.OccupancyReport{}, apperr.OrInternal(err, "occupancy")
		}
		maps.Copy(places, found)
	}
	group := func(roomType string) string {
		p := places[roomType]
		return groupOf(req.GroupBy, roomType, p.HotelID, p.CityID)
	}
	for _, a := range sold {
		r := row(per.index(max(dayOf(a.Date), per.from)), group(a.RoomTypeID), a.Currency)
		r.RoomsSold += a.N
		r.RoomRevenue.Amount += a.Amount
	}
	for _, st := range stays {
		if st.CheckIn >= from && st.CheckIn < to {
			row(per.index(dayOf(st.CheckIn)), group(st.RoomTypeID), st.Currency).Arrivals++
		}
		if st.CheckOut >= from && st.CheckOut < to {
			row(per.index(dayOf(st.CheckOut)), group(st.RoomTypeID), st.Currency).Departures++
		}
	}
	hotels, rtNames, err := s.namesFor(ctx, req.GroupBy, rts)
	if err != nil {
		return reporting.OccupancyReport{}, apperr.OrInternal(err, "occupancy")
	}
	keys := slices.SortedFunc(maps.Keys(series), func(a, b seriesKey) int {
		return cmp.Or(strings.Compare(a.group, b.group), strings.Compare(a.currency, b.currency))
	})
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = s.groupName(req.GroupBy, k.group, hotels, rtNames)
	}
	out := reporting.OccupancyReport{From: req.From, To: req.To, GroupBy: req.GroupBy, Granularity: req.Granularity}
	for p := range per.starts {
		start, end := per.bounds(p)
		for i, k := range keys {
			sl := &series[k][p]
			if !sl.used {
				continue
			}
			r := sl.row
			r.PeriodStart, r.PeriodEnd, r.Name = start, end, names[i]
			r.RoomRevenue.Currency = r.Currency
			r.ADR = moneyOf(divRound(r.RoomRevenue.Amount, r.RoomsSold), r.Currency)
			r.RevPAR = moneyOf(divRound(r.RoomRevenue.Amount, r.RoomsAvailable), r.Currency)
			if r.RoomsAvailable > 0 {
				r.Occupancy = percent(r.RoomsSold, r.RoomsAvailable)
			}
			out.Rows = append(out.Rows, r)
		}
	}
	if out.Rows == nil {
		out.Rows = []reporting.OccupancyRow{}
	}
	return out, nil
}

// addCapacity adds a room type's room-nights on sale to each period. The
// first timeline entry also covers the nights before it.
func addCapacity(per *periods, timeline []capacityRow, avail []int64) {
	for i, c := range timeline {
		start := dayOf(c.FromDate)
		if i == 0 {
			start = math.MinInt32
		}
		end := math.MaxInt32
		if i+1 < len(timeline) {
			end = dayOf(timeline[i+1].FromDate)
		}
		lo, hi := max(start, per.from), min(end, per.to)
		if c.Rooms == 0 || lo >= hi {
			continue
		}
		for p := per.index(lo); p < len(per.starts) && per.starts[p] < hi; p++ {
			ps, pe := per.starts[p], per.to
			if p+1 < len(per.starts) {
				pe = per.starts[p+1]
			}
			if n := min(pe, hi) - max(ps, lo); n > 0 {
				avail[p] += int64(n) * int64(c.Rooms)
			}
		}
	}
}

// percent is 100·a/b rounded to two decimals.
func percent(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(divRound(a*10000, b)) / 100
}

// Revenue implements reporting.Service.
func (s *Service) Revenue(ctx context.Context, req reporting.ReportRequest) (reporting.RevenueReport, error) {
	if err := s.checkFilters(ctx, req, req.From, req.To, req.HotelID, req.RoomTypeID, req.CityID); err != nil {
		return reporting.RevenueReport{}, err
	}
	defaults(&req, reporting.GranularityMonth)
	f := filter{HotelID: req.HotelID, RoomTypeID: req.RoomTypeID, CityID: req.CityID}
	per := newPeriods(req.From, req.To, req.Granularity)
	rows := map[groupKey]*reporting.RevenueRow{}
	led, err := s.store.ledger(ctx, f, req.From.String(), req.To.String())
	if err != nil {
		return reporting.RevenueReport{}, apperr.OrInternal(err, "revenue")
	}
	for _, l := range led {
		k := groupKey{per.index(dayOf(l.Date)), groupOf(req.GroupBy, l.RoomTypeID, l.HotelID, l.CityID), l.Currency}
		r := rows[k]
		if r == nil {
			r = &reporting.RevenueRow{Group: k.group, Currency: k.currency}
			rows[k] = r
		}
		r.Bookings += l.Bookings
		r.Gross.Amount += l.Gross
		r.Refunds.Amount += l.Refund
		r.FeesKept.Amount += l.Fee
		r.Tax.Amount += l.Tax
	}
	hotels, rtNames, err := s.store.names(ctx)
	if err != nil {
		return reporting.RevenueReport{}, apperr.OrInternal(err, "revenue")
	}
	out := reporting.RevenueReport{From: req.From, To: req.To, GroupBy: req.GroupBy, Granularity: req.Granularity,
		Rows: make([]reporting.RevenueRow, 0, len(rows))}
	for k, r := range rows {
		r.PeriodStart, r.PeriodEnd = per.bounds(k.period)
		r.Name = s.groupName(req.GroupBy, r.Group, hotels, rtNames)
		r.Net.Amount = r.Gross.Amount - r.Refunds.Amount
		r.Gross.Currency, r.Refunds.Currency, r.FeesKept.Currency, r.Net.Currency, r.Tax.Currency =
			r.Currency, r.Currency, r.Currency, r.Currency, r.Currency
		out.Rows = append(out.Rows, *r)
	}
	sort.Slice(out.Rows, func(i, j int) bool {
		a, b := out.Rows[i], out.Rows[j]
		if c := a.PeriodStart.Compare(b.PeriodStart); c != 0 {
			return c < 0
		}
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		return a.Currency < b.Currency
	})
	return out, nil
}

// Lead-time and length-of-stay buckets of the behaviour report.
var (
	leadBuckets = []reporting.Bucket{{Label: "0-1 days", Min: 0, Max: 1}, {Label: "2-7 days", Min: 2, Max: 7},
		{Label: "8-30 days", Min: 8, Max: 30}, {Label: "31-90 days", Min: 31, Max: 90}, {Label: "91+ days", Min: 91}}
	losBuckets = []reporting.Bucket{{Label: "1 night", Min: 1, Max: 1}, {Label: "2-3 nights", Min: 2, Max: 3},
		{Label: "4-7 nights", Min: 4, Max: 7}, {Label: "8+ nights", Min: 8}}
)

func bucket(bs []reporting.Bucket, n int) {
	for i := range bs {
		if n >= bs[i].Min && (bs[i].Max == 0 || n <= bs[i].Max) {
			bs[i].Count++
			return
		}
	}
}

// BookingBehaviour implements reporting.Service.
func (s *Service) BookingBehaviour(ctx context.Context, req reporting.BehaviourRequest) (reporting.BehaviourReport, error) {
	if err := s.checkFilters(ctx, req, req.From, req.To, req.HotelID, "", req.CityID); err != nil {
		return reporting.BehaviourReport{}, err
	}
	f := filter{HotelID: req.HotelID, CityID: req.CityID}
	bs, err := s.store.heldBookings(ctx, f, req.From.String(), req.To.String())
	if err != nil {
		return reporting.BehaviourReport{}, apperr.OrInternal(err, "booking behaviour")
	}
	out := reporting.BehaviourReport{From: req.From, To: req.To,
		LeadTimeBuckets: append([]reporting.Bucket(nil), leadBuckets...),
		LengthOfStay:    append([]reporting.Bucket(nil), losBuckets...)}
	var lead, nights int64
	for _, b := range bs {
		out.Bookings++
		switch b.EndedStatus {
		case "expired":
			out.Expired++
		case "rejected":
			out.Rejected++
		}
		if b.ConfirmedDate == "" {
			continue
		}
		out.Confirmed++
		if b.CancelledDate != "" {
			out.Cancelled++
		}
		l := max(dayOf(b.CheckIn)-dayOf(b.HeldDate), 0)
		lead += int64(l)
		nights += int64(b.Nights)
		bucket(out.LeadTimeBuckets, l)
		bucket(out.LengthOfStay, b.Nights)
	}
	if out.Confirmed > 0 {
		out.AvgLeadTimeDays = float64(divRound(lead*100, out.Confirmed)) / 100
		out.AvgLengthOfStay = float64(divRound(nights*100, out.Confirmed)) / 100
		out.CancellationRate = percent(out.Cancelled, out.Confirmed)
	}

	asOf := req.AsOf
	if asOf.IsZero() {
		asOf = req.To.AddDays(-1)
	}
	days := req.PaceDays
	if days == 0 {
		days = 90
	}
	lastYear := civil.Of(asOf.In(time.UTC).AddDate(-1, 0, 0))
	out.PaceAsOf, out.PaceLastYearAsOf = asOf, lastYear
	now, err := s.store.onBooks(ctx, f, asOf.String(), asOf.String(), asOf.AddDays(days).String())
	if err != nil {
		return reporting.BehaviourReport{}, apperr.OrInternal(err, "booking pace")
	}
	before, err := s.store.onBooks(ctx, f, lastYear.String(), lastYear.String(), lastYear.AddDays(days).String())
	if err != nil {
		return reporting.BehaviourReport{}, apperr.OrInternal(err, "booking pace")
	}
	byDay := func(rows []aggRow) map[string]int64 {
		m := make(map[string]int64, len(rows))
		for _, r := range rows {
			m[r.Date] = r.N
		}
		return m
	}
	nowBy, beforeBy := byDay(now), byDay(before)
	for i := range days {
		n, ly := asOf.AddDays(i), lastYear.AddDays(i)
		p := reporting.PacePoint{Night: n, RoomsOnBooks: nowBy[n.String()], LastYearNight: ly, LastYearRooms: beforeBy[ly.String()]}
		out.RoomsOnBooks += p.RoomsOnBooks
		out.RoomsOnBooksLastY += p.LastYearRooms
		out.Pace = append(out.Pace, p)
	}
	return out, nil
}
