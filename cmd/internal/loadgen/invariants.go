package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/civil"
)

// loadRun is what the invariants' report needs of a run: its id (in its
// guests' emails) and how long it lasted.
type loadRun struct {
	id      string
	elapsed time.Duration
}

// checkAndPrintInvariants checks the invariants until they hold or settle
// has passed, prints them and returns them for --json; the error tells a
// violation (the report is returned too) or a failed check (no report). run
// is nil for --check-only: the report then counts every confirmed booking and
// measures no latency.
func checkAndPrintInvariants(ctx context.Context, c *apiClient, token string, settle time.Duration, run *loadRun, out io.Writer) (*loadCheckJSON, error) {
	runID := ""
	if run != nil {
		runID = run.id
	}
	rep, err := settleInvariants(ctx, c, token, runID, settle)
	if err != nil {
		return nil, err
	}
	printInvariants(out, rep, run)
	check := rep.json(run)
	if len(rep.violations) > 0 {
		return check, fmt.Errorf("%d invariant violations", len(rep.violations))
	}
	return check, nil
}

// settleInvariants checks the invariants every half second until they hold
// or settle has passed (events may still be on their way), and returns the
// last check.
func settleInvariants(ctx context.Context, c *apiClient, token, run string, settle time.Duration) (invariantReport, error) {
	deadline := time.Now().Add(settle)
	rooms := newRoomsTotals()
	for {
		rep, err := checkInvariantsWith(ctx, c, token, run, rooms)
		switch {
		case err != nil && (!transient(err) || ctx.Err() != nil || time.Now().After(deadline)):
			return rep, fmt.Errorf("invariants check: %w", err)
		case err != nil:
			// The target is still working off the run (or restarting):
			// ask again within the settle time.
		case (len(rep.violations) == 0 && rep.unsettled == 0) || time.Now().After(deadline):
			return rep, nil
		}
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func printInvariants(out io.Writer, rep invariantReport, run *loadRun) {
	if run == nil {
		fmt.Fprintf(out, "  bookings confirmed: %d\n", rep.confirmed)
	} else {
		fmt.Fprintf(out, "  bookings confirmed by this run: %d\n", rep.confirmed)
		fmt.Fprintf(out, "  confirmed bookings per second: %.1f (%d in %s, first request to the last payment answered)\n",
			perSecond(rep.confirmed, run.elapsed), rep.confirmed, run.elapsed.Round(time.Millisecond))
		if l := rep.confirmLat; len(l) == 0 {
			fmt.Fprintln(out, "  payment succeeded → booking confirmed: no confirmed booking measured")
		} else {
			fmt.Fprintf(out, "  payment succeeded → booking confirmed: p50 %s  p90 %s  p99 %s  max %s  (%d bookings)\n",
				fmtDur(percentile(l, 0.50)), fmtDur(percentile(l, 0.90)), fmtDur(percentile(l, 0.99)), fmtDur(percentile(l, 1)), len(l))
		}
		if rep.latMissing > 0 || rep.latNegative > 0 {
			fmt.Fprintf(out, "    not measured: %d without their succeeded payment in the list, %d negative (clocks of the processes apart?)\n",
				rep.latMissing, rep.latNegative)
		}
	}
	if rep.unsettled > 0 {
		fmt.Fprintf(out, "  payments still processing or unknown (the reconciler settles them later): %d\n", rep.unsettled)
	}
	if len(rep.violations) > 0 {
		for _, v := range rep.violations {
			fmt.Fprintln(out, "  VIOLATION:", v)
		}
		return
	}
	fmt.Fprintln(out, "  all invariants hold: no room type oversold on any night; every confirmed booking has exactly one succeeded payment; every succeeded payment belongs to a confirmed booking")
}

// invariantReport is one check of the invariants.
type invariantReport struct {
	violations []string
	// confirmed counts the run's confirmed bookings (every confirmed
	// booking when no run is given).
	confirmed int
	// confirmLat is, sorted, how long after its payment succeeded each of
	// the run's confirmed bookings was confirmed; latMissing and latNegative
	// count those not measured (see confirmLatencies).
	confirmLat              []time.Duration
	latMissing, latNegative int
	// unsettled counts payments still processing or unknown (the
	// reconciler settles them); the check waits for them too.
	unsettled int
}

func (r invariantReport) json(run *loadRun) *loadCheckJSON {
	j := &loadCheckJSON{InvariantsOK: len(r.violations) == 0, Violations: append([]string{}, r.violations...), Confirmed: r.confirmed}
	if run != nil {
		ps := perSecond(r.confirmed, run.elapsed)
		l := r.confirmLat
		j.ConfirmedPerS = &ps
		j.ConfirmLatency = &loadLatencyJSON{P50ms: ms(percentile(l, 0.50)), P90ms: ms(percentile(l, 0.90)),
			P99ms: ms(percentile(l, 0.99)), MaxMs: ms(percentile(l, 1)), Measured: len(l), Skipped: r.latMissing + r.latNegative}
	}
	return j
}

// isRunGuest tells whether email is one of run's guests (setupLoad's emails).
func isRunGuest(email, run string) bool {
	return strings.HasSuffix(email, "-"+run+"@load.example")
}

// roomsTotals is each booked hotel's room types' rooms_total, read once for
// all the checks of one settle wait: a check again (events still on their
// way) then reads only hotels booked since, not every booked hotel again —
// one request each, at the target's per-caller rate limit, so a second pass
// over a thousand hotels would double the check's time.
type roomsTotals struct {
	hotelRead map[string]bool
	rooms     map[string]int // room type id → rooms_total
}

func newRoomsTotals() *roomsTotals {
	return &roomsTotals{hotelRead: map[string]bool{}, rooms: map[string]int{}}
}

// checkInvariants lists every booking and payment (staff and admin may) and
// every hotel booked, and reports each broken invariant. With a run, it
// counts that run's confirmed bookings and measures their confirmation
// latency; without (""), it counts every confirmed booking.
func checkInvariants(ctx context.Context, c *apiClient, token, run string) (invariantReport, error) {
	return checkInvariantsWith(ctx, c, token, run, newRoomsTotals())
}

// checkInvariantsWith is checkInvariants reading only the hotels rooms has
// not read yet.
func checkInvariantsWith(ctx context.Context, c *apiClient, token, run string, rooms *roomsTotals) (invariantReport, error) {
	var rep invariantReport
	var all []bookings.Booking
	for cursor := ""; ; {
		var page bookings.BookingList
		q := "/api/v1/bookings?limit=100"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		if _, err := c.do(ctx, "GET", q, token, nil, nil, &page); err != nil {
			return rep, err
		}
		all = append(all, page.Bookings...)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	var pays []payments.Payment
	for cursor := ""; ; {
		var page payments.PaymentList
		q := "/api/v1/payments?limit=100"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		if _, err := c.do(ctx, "GET", q, token, nil, nil, &page); err != nil {
			return rep, err
		}
		pays = append(pays, page.Payments...)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}

	// No room type oversold on any night.
	type night struct {
		roomType string
		date     civil.Date
	}
	taken := map[night]int{}
	hotelOf := map[string]string{}
	byID := map[string]bookings.Booking{}
	for _, b := range all {
		byID[b.ID] = b
		if b.Status == bookings.StatusConfirmed && (run == "" || isRunGuest(b.GuestEmail, run)) {
			rep.confirmed++
		}
		if b.Status != bookings.StatusConfirmed && b.Status != bookings.StatusPending {
			continue
		}
		hotelOf[b.RoomTypeID] = b.HotelID
		for _, n := range b.Nights {
			taken[night{b.RoomTypeID, n.Date}]++
		}
	}
	for _, h := range hotelOf {
		if rooms.hotelRead[h] {
			continue
		}
		var hotel search.Hotel
		if _, err := c.do(ctx, "GET", "/api/v1/hotels/"+url.PathEscape(h), "", nil, nil, &hotel); err != nil {
			return rep, err
		}
		rooms.hotelRead[h] = true
		for _, rt := range hotel.RoomTypes {
			rooms.rooms[rt.ID] = rt.RoomsTotal
		}
	}
	nights := make([]night, 0, len(taken))
	for n := range taken {
		nights = append(nights, n)
	}
	sort.Slice(nights, func(i, j int) bool {
		if nights[i].roomType != nights[j].roomType {
			return nights[i].roomType < nights[j].roomType
		}
		return nights[i].date.Before(nights[j].date)
	})
	for _, n := range nights {
		if total, ok := rooms.rooms[n.roomType]; !ok || taken[n] > total {
			rep.violations = append(rep.violations, fmt.Sprintf("room type %s oversold on %s: %d confirmed or pending bookings, %d rooms", n.roomType, n.date, taken[n], total))
		}
	}

	// Every confirmed booking has exactly one succeeded payment; every
	// succeeded payment belongs to a confirmed booking (refunded ones have
	// another status).
	succeeded := map[string]int{}
	for _, p := range pays {
		if p.Status == payments.StatusProcessing || p.Status == payments.StatusUnknown {
			rep.unsettled++
		}
	}
	for _, p := range pays {
		if p.Status != payments.StatusSucceeded {
			continue
		}
		succeeded[p.BookingID]++
		if b, ok := byID[p.BookingID]; !ok || b.Status != bookings.StatusConfirmed {
			status := "missing"
			if ok {
				status = b.Status
			}
			rep.violations = append(rep.violations, fmt.Sprintf("payment %s succeeded and is not refunded, but its booking %s is %s", p.ID, p.BookingID, status))
		}
	}
	for _, b := range all {
		if b.Status == bookings.StatusConfirmed && succeeded[b.ID] != 1 {
			rep.violations = append(rep.violations, fmt.Sprintf("confirmed booking %s has %d succeeded payments", b.ID, succeeded[b.ID]))
		}
	}
	if run != "" {
		rep.confirmLat, rep.latMissing, rep.latNegative = confirmLatencies(all, pays, run)
	}
	return rep, nil
}

// confirmLatencies measures, for run's confirmed bookings, how long after
// its payment succeeded each was confirmed: booking.UpdatedAt −
// payment.UpdatedAt, the times each record took that status. A booking
// without a payment_id, whose payment is not in pays or not succeeded, or
// without a time counts as missing; a negative difference (the processes'
// clocks apart) as negative. Neither is in lat, which is sorted.
func confirmLatencies(all []bookings.Booking, pays []payments.Payment, run string) (lat []time.Duration, missing, negative int) {
	payByID := make(map[string]payments.Payment, len(pays))
	for _, p := range pays {
		payByID[p.ID] = p
	}
	for _, b := range all {
		if b.Status != bookings.StatusConfirmed || !isRunGuest(b.GuestEmail, run) {
			continue
		}
		p, ok := payByID[b.PaymentID]
		if b.PaymentID == "" || !ok || p.Status != payments.StatusSucceeded || p.UpdatedAt.IsZero() || b.UpdatedAt.IsZero() {
			missing++
			continue
		}
		d := b.UpdatedAt.Sub(p.UpdatedAt)
		if d < 0 {
			negative++
			continue
		}
		lat = append(lat, d)
	}
	slices.Sort(lat)
	return lat, missing, negative
}
