package main_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/mail/mailpittest"
)

// scenarioTarget is a running Bellhop, whatever its topology: the public
// API's base URL, the mailpit its reporting module mails through, and the
// demo admin (who sets up the hotel and reads the reports).
type scenarioTarget struct {
	Base          string
	Mail          *mailpittest.Server
	AdminEmail    string
	AdminPassword string
}

// scenarioResult is what a guest and the staff observe in the scenario,
// field by field ("booking.confirmed.status" → "confirmed"), with ids,
// dates and times normalised so two deployments can be compared.
type scenarioResult map[string]string

// Guest, hotel and stay of the scenario. A hotel of its own (created by the
// demo admin) makes the stay independent of the demo catalog and gives
// reporting the room type's capacity (catalog.room_type.changed), so the
// occupancy report has rooms available as well as sold.
const (
	scenarioCity      = "Vila Cenario"
	scenarioGuest     = "zoe.oberg@guest.example"
	scenarioGuestName = "Zoë Øberg"
	scenarioPassword  = "a long enough passphrase"
	scenarioRooms     = 4
	scenarioRate      = 12500 // EUR 125.00 a night
)

// runScenario is the whole story over HTTP: register a guest → search → hold
// → pay with a declined card, then with visa → the booking is confirmed →
// the receipt mail (PDF attached) arrives in mailpit → cancel → the credit
// note mail → the staff reports show the stay and the refund. Each step
// checks what must hold whatever the deployment (statuses, amounts, the
// mail's attachment is the stored document); the result is what was
// observed, for comparing deployments.
func runScenario(t *testing.T, d scenarioTarget) scenarioResult {
	t.Helper()
	today := civil.Today(time.UTC)
	checkIn, checkOut := today.AddDays(14), today.AddDays(17)
	r := scenarioResult{}
	n := newNormaliser(today)
	api := func(method, path, token, body string, header map[string]string, want int, out any) []byte {
		t.Helper()
		res, b := rawSend(t, method, d.Base+path, token, body, header)
		if res.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, b)
		}
		if out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
			}
		}
		return b
	}
	admin := signIn(t, d.Base, d.AdminEmail, d.AdminPassword).AccessToken

	// The hotel and its room type, in Portugal (IVA and tourism tax on the receipt).
	var h search.Hotel
	r.record(n, "hotel", api("POST", "/api/v1/hotels", admin, fmt.Sprintf(
		`{"name":"Casa do Cenário","city":%q,"country":"PT","address":"Rua das Três Provas 3","time_zone":"Europe/Lisbon","stars":4,"rating":4.6}`,
		scenarioCity), nil, http.StatusCreated, &h))
	var rt search.RoomType
	r.record(n, "room_type", api("POST", "/api/v1/hotels/"+h.ID+"/room-types", admin, fmt.Sprintf(
		`{"name":"Quarto Duplo","max_guests":2,"rooms_total":%d,"base_rate":{"amount":%d,"currency":"EUR"}}`, scenarioRooms, scenarioRate),
		nil, http.StatusCreated, &rt))

	// Register and sign in.
	r.record(n, "guest", api("POST", "/api/v1/users", "", fmt.Sprintf(`{"email":%q,"name":%q,"password":%q}`,
		scenarioGuest, scenarioGuestName, scenarioPassword), nil, http.StatusAccepted, nil))
	guest := signIn(t, d.Base, scenarioGuest, scenarioPassword).AccessToken

	// Search (search learns the new room type from its own catalog at once).
	var page search.SearchResult
	pollUntil(t, "search to offer the new room type", 10*time.Second, func() (bool, string) {
		page = search.SearchResult{}
		api("GET", "/api/v1/hotels?"+query("city", scenarioCity, "check_in", checkIn.String(), "check_out", checkOut.String(), "guests", "2"),
			"", "", nil, http.StatusOK, &page)
		return len(page.Hotels) == 1 && len(page.Hotels[0].RoomTypes) == 1 && page.Hotels[0].RoomTypes[0].RoomsFree == scenarioRooms,
			fmt.Sprintf("%+v", page.Hotels)
	})
	offer := page.Hotels[0].RoomTypes[0]
	if offer.ID != rt.ID || offer.TotalPrice.Amount != 3*scenarioRate || offer.TotalPrice.Currency != "EUR" {
		t.Fatalf("search offers %+v, want room type %s at 3 × %d EUR", offer, rt.ID, scenarioRate)
	}
	r.recordValue(n, "search", page)

	// Hold.
	var held bookings.Booking
	r.record(n, "booking.held", api("POST", "/api/v1/bookings", guest, fmt.Sprintf(`{"room_type_id":%q,"check_in":%q,"check_out":%q,"guests":2}`,
		rt.ID, checkIn, checkOut), map[string]string{"Idempotency-Key": "scenario-hold"}, http.StatusCreated, &held))
	if held.Status != bookings.StatusPending || held.Total != offer.TotalPrice || len(held.Nights) != 3 {
		t.Fatalf("hold: %+v, want pending at %v for 3 nights", held, offer.TotalPrice)
	}

	// Pay: a declined card first (the booking stays pending), then visa.
	pay := func(key, method string) payments.Payment {
		t.Helper()
		var p payments.Payment
		r.record(n, "payment."+key, api("POST", "/api/v1/payments", guest, fmt.Sprintf(`{"booking_id":%q,"payment_method":%q}`, held.ID, method),
			map[string]string{"Idempotency-Key": "scenario-" + key}, http.StatusCreated, &p))
		return p
	}
	if declined := pay("declined", "pm_card_chargeDeclined"); declined.Status != payments.StatusFailed || declined.FailureCode != "card_declined" {
		t.Fatalf("declined card: %+v", declined)
	}
	var stillPending bookings.Booking
	api("GET", "/api/v1/bookings/"+held.ID, guest, "", nil, http.StatusOK, &stillPending)
	if stillPending.Status != bookings.StatusPending {
		t.Fatalf("after a declined card the booking is %s, want pending", stillPending.Status)
	}
	paid := pay("visa", "pm_card_visa")
	if paid.Status != payments.StatusSucceeded || paid.Amount != held.Total || paid.Card == nil || paid.Card.Brand != "visa" || paid.Card.Last4 != "4242" {
		t.Fatalf("visa: %+v", paid)
	}

	// Confirmed by payment.succeeded.
	var confirmed bookings.Booking
	var raw []byte
	pollUntil(t, "the booking to be confirmed", 15*time.Second, func() (bool, string) {
		confirmed = bookings.Booking{}
		raw = api("GET", "/api/v1/bookings/"+held.ID, guest, "", nil, http.StatusOK, &confirmed)
		return confirmed.Status == bookings.StatusConfirmed, confirmed.Status
	})
	if confirmed.PaymentID != paid.ID {
		t.Fatalf("confirmed by payment %q, want %q", confirmed.PaymentID, paid.ID)
	}
	r.record(n, "booking.confirmed", raw)

	// The receipt: listed, downloadable, and mailed with the same PDF.
	receipt := waitDocuments(t, d.Base, guest, held.ID, 1)[0]
	if receipt.Kind != reporting.KindReceipt || receipt.Total != held.Total {
		t.Fatalf("receipt %+v, want a receipt of %v", receipt, held.Total)
	}
	r.recordDocument(n, receipt)
	r.recordMail(t, n, "mail.after_confirmation", d, guest, receipt, 2)

	// The staff's reports show the stay: 3 room-nights sold, its revenue.
	r.recordReports(t, n, "reports.after_confirmation", d.Base, admin, h.ID, rt.ID, checkIn, checkOut, today, func(occ reporting.OccupancyReport, rev reporting.RevenueReport) (bool, string) {
		sold, gross := sumOccupancy(occ), sumRevenue(rev)
		return sold.RoomsSold == 3 && sold.RoomsAvailable == 3*scenarioRooms && gross.Gross == held.Total.Amount && gross.Refunds == 0,
			fmt.Sprintf("occupancy %+v revenue %+v", sold, gross)
	})

	// Cancel, long before arrival: free, refunded in full.
	var cancelled bookings.Booking
	r.record(n, "booking.cancelled", api("POST", "/api/v1/bookings/"+held.ID+"/cancel", guest, "", nil, http.StatusOK, &cancelled))
	if cancelled.Status != bookings.StatusCancelled || cancelled.Refund != held.Total || cancelled.CancellationFee.Amount != 0 {
		t.Fatalf("cancel: %+v", cancelled)
	}
	var refunded payments.Payment
	pollUntil(t, "the refund", 15*time.Second, func() (bool, string) {
		refunded = payments.Payment{}
		raw = api("GET", "/api/v1/payments/"+paid.ID, guest, "", nil, http.StatusOK, &refunded)
		return refunded.Status == payments.StatusRefunded && refunded.Refunded == held.Total, fmt.Sprintf("%s, refunded %v", refunded.Status, refunded.Refunded)
	})
	r.record(n, "payment.refunded", raw)

	// The credit note corrects the receipt and is mailed too.
	docs := waitDocuments(t, d.Base, guest, held.ID, 2)
	credit := docs[1]
	if credit.Kind != reporting.KindCreditNote || credit.Corrects != receipt.Number || credit.Total.Amount != -held.Total.Amount {
		t.Fatalf("credit note %+v", credit)
	}
	r.recordDocument(n, credit)
	r.recordMail(t, n, "mail.after_cancellation", d, guest, credit, 3)

	// The reports: the stay no longer sold, the refund against the gross.
	r.recordReports(t, n, "reports.after_cancellation", d.Base, admin, h.ID, rt.ID, checkIn, checkOut, today, func(occ reporting.OccupancyReport, rev reporting.RevenueReport) (bool, string) {
		sold, money := sumOccupancy(occ), sumRevenue(rev)
		return sold.RoomsSold == 0 && money.Gross == held.Total.Amount && money.Refunds == held.Total.Amount && money.Net == 0,
			fmt.Sprintf("occupancy %+v revenue %+v", sold, money)
	})
	return r
}

// recordDocument records a document's description under its kind. Its
// SHA-256 and size are left out: the PDF's bytes carry the moment and ids it
// was made with, so they differ between any two runs (recordMail compares
// the PDF's text instead, and checks the hash against the PDF itself).
func (r scenarioResult) recordDocument(n *normaliser, doc reporting.DocumentInfo) {
	r.recordValue(n, doc.Kind, doc)
	delete(r, doc.Kind+".sha256")
	delete(r, doc.Kind+".size")
}

// recordMail waits for the guest's mail (n messages in all: the welcome mail
// and one per document so far) and records each message, and the text of
// the PDF attached to doc's mail, after checking that attachment is the
// document exactly as the API serves it.
func (r scenarioResult) recordMail(t *testing.T, n *normaliser, key string, d scenarioTarget, guest string, doc reporting.DocumentInfo, count int) {
	t.Helper()
	msgs := d.Mail.WaitMessagesTo(t, scenarioGuest, count)
	var docMail *mailpittest.Summary
	for i, m := range msgs {
		to := ""
		for _, a := range m.To {
			to += a.Name + " <" + a.Address + ">"
		}
		prefix := fmt.Sprintf("%s.%d", key, i)
		r[prefix+".subject"] = n.text(m.Subject)
		r[prefix+".to"] = to
		r[prefix+".attachments"] = strconv.Itoa(m.Attachments)
		if strings.Contains(m.Subject, doc.Number) {
			docMail = &msgs[i]
		}
	}
	if docMail == nil {
		t.Fatalf("no mail names %s %s: %+v", doc.Kind, doc.Number, msgs)
	}
	full := d.Mail.Message(t, docMail.ID)
	if len(full.Attachments) != 1 || full.Attachments[0].ContentType != "application/pdf" || full.Attachments[0].FileName != doc.Filename {
		t.Fatalf("%s mail attachments: %+v, want %s", doc.Number, full.Attachments, doc.Filename)
	}
	pdf := d.Mail.Part(t, docMail.ID, full.Attachments[0].PartID)
	res, served := rawSend(t, "GET", d.Base+"/api/v1/documents/"+doc.ID, guest, "", nil)
	sum := sha256.Sum256(pdf)
	if res.StatusCode != http.StatusOK || !bytes.Equal(pdf, served) || hex.EncodeToString(sum[:]) != doc.SHA256 {
		t.Fatalf("%s: the mailed PDF (%d bytes) is not the document the API serves (%d, %d bytes)", doc.Number, len(pdf), res.StatusCode, len(served))
	}
	prefix := key + "." + doc.Kind
	r[prefix+".text"] = n.text(full.Text)
	r[prefix+".pdf"] = n.text(mailpittest.PDFText(t, pdf))
	for _, want := range []string{doc.Number, scenarioGuestName, scenarioGuest, "Casa do Cenário", "Quarto Duplo"} {
		if !strings.Contains(r[prefix+".pdf"], n.text(want)) {
			t.Errorf("%s PDF text lacks %q:\n%s", doc.Number, want, r[prefix+".pdf"])
		}
	}
}

// recordReports reads the room type's occupancy over the stay and the
// hotel's revenue around today (the days money moved) until done says they
// are up to date (reporting builds them from events), and records them.
func (r scenarioResult) recordReports(t *testing.T, n *normaliser, key, base, staff, hotelID, roomTypeID string, checkIn, checkOut, today civil.Date,
	done func(reporting.OccupancyReport, reporting.RevenueReport) (bool, string)) {
	t.Helper()
	var occ reporting.OccupancyReport
	var rev reporting.RevenueReport
	var occRaw, revRaw []byte
	// Reporting reads events in order, and a fresh deployment starts with
	// the demo seed's 7,200 room-type events to catch up on before the
	// scenario's own: on PostgreSQL, on a busy machine, that takes a while.
	pollUntil(t, key, 90*time.Second, func() (bool, string) {
		occ, rev = reporting.OccupancyReport{}, reporting.RevenueReport{}
		var res *http.Response
		res, occRaw = rawSend(t, "GET", base+"/api/v1/reports/occupancy?"+query("from", checkIn.String(), "to", checkOut.String(),
			"group_by", "room_type", "room_type_id", roomTypeID), staff, "", nil)
		if res.StatusCode != http.StatusOK || json.Unmarshal(occRaw, &occ) != nil {
			return false, fmt.Sprintf("occupancy: %d %s", res.StatusCode, occRaw)
		}
		res, revRaw = rawSend(t, "GET", base+"/api/v1/reports/revenue?"+query("from", today.AddDays(-1).String(), "to", today.AddDays(2).String(),
			"hotel_id", hotelID, "granularity", "night"), staff, "", nil)
		if res.StatusCode != http.StatusOK || json.Unmarshal(revRaw, &rev) != nil {
			return false, fmt.Sprintf("revenue: %d %s", res.StatusCode, revRaw)
		}
		return done(occ, rev)
	})
	r.record(n, key+".occupancy", occRaw)
	r.record(n, key+".revenue", revRaw)
}

// reportTotals adds up a report's rows (one currency: the scenario's).
type reportTotals struct {
	RoomsAvailable, RoomsSold   int64
	Gross, Refunds, Net, Tax    int64
	FeesKept, Bookings, Periods int64
}

func sumOccupancy(rep reporting.OccupancyReport) reportTotals {
	var s reportTotals
	for _, row := range rep.Rows {
		s.RoomsAvailable += row.RoomsAvailable
		s.RoomsSold += row.RoomsSold
		s.Periods++
	}
	return s
}

func sumRevenue(rep reporting.RevenueReport) reportTotals {
	var s reportTotals
	for _, row := range rep.Rows {
		s.Gross += row.Gross.Amount
		s.Refunds += row.Refunds.Amount
		s.Net += row.Net.Amount
		s.Tax += row.Tax.Amount
		s.FeesKept += row.FeesKept.Amount
		s.Bookings += row.Bookings
		s.Periods++
	}
	return s
}

// record flattens a JSON answer into fields under key ("booking.held.total.amount").
func (r scenarioResult) record(n *normaliser, key string, body []byte) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		r[key] = "undecodable: " + n.text(string(body))
		return
	}
	r.flatten(n, key, v)
}

// recordValue records a value as its JSON form.
func (r scenarioResult) recordValue(n *normaliser, key string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		r[key] = "unencodable: " + err.Error()
		return
	}
	r.record(n, key, b)
}

func (r scenarioResult) flatten(n *normaliser, key string, v any) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			r[key] = "{}"
		}
		for _, k := range slices.Sorted(maps.Keys(v)) { // sorted: ids are numbered in a fixed order
			r.flatten(n, key+"."+k, v[k])
		}
	case []any:
		r[key+".len"] = strconv.Itoa(len(v))
		for i, e := range v {
			r.flatten(n, fmt.Sprintf("%s.%d", key, i), e)
		}
	case nil:
		r[key] = "null"
	default:
		r[key] = n.text(fmt.Sprint(v))
	}
}

// normaliser makes the parts of a result that differ between any two runs
// comparable: each id becomes its prefix and the order it first appeared in
// ("{bk#1}"), a date its distance from today ("{today+14}"), a time of day
// "{time}", a run of spaces one space. Amounts, names, statuses, document
// numbers stay as they are.
type normaliser struct {
	today civil.Date
	ids   map[string]string
	count map[string]int
}

func newNormaliser(today civil.Date) *normaliser {
	return &normaliser{today: today, ids: map[string]string{}, count: map[string]int{}}
}

var (
	idPattern        = regexp.MustCompile(`\b([a-z]{2,4})_[0-9a-z]{26}\b`)
	timestampPattern = regexp.MustCompile(`\b(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})`)
	datePattern      = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b`)
	clockPattern     = regexp.MustCompile(`\b\d{2}:\d{2}(:\d{2})?\b`)
	trailingSpace    = regexp.MustCompile(`(?m)[ \t]+$`)
	// pdftotext -layout pads columns with spaces from the glyphs' positions,
	// so a wider time of day elsewhere on the page moves a column by one:
	// words and their order are the document, the padding is not.
	spaceRun = regexp.MustCompile(`[ \t]+`)
)

func (n *normaliser) text(s string) string {
	s = idPattern.ReplaceAllStringFunc(s, func(id string) string {
		if name, ok := n.ids[id]; ok {
			return name
		}
		prefix := id[:strings.IndexByte(id, '_')]
		n.count[prefix]++
		name := fmt.Sprintf("{%s#%d}", prefix, n.count[prefix])
		n.ids[id] = name
		return name
	})
	s = timestampPattern.ReplaceAllString(s, "$1 {time}")
	s = datePattern.ReplaceAllStringFunc(s, func(d string) string {
		date, err := civil.Parse(d)
		if err != nil {
			return d
		}
		return fmt.Sprintf("{today%+d}", n.today.DaysUntil(date))
	})
	s = clockPattern.ReplaceAllString(s, "{time}")
	return spaceRun.ReplaceAllString(trailingSpace.ReplaceAllString(s, ""), " ")
}

// compareResults fails the test naming every field on which a
// deployment's result differs from the first one's.
func compareResults(t *testing.T, names []string, results []scenarioResult) {
	t.Helper()
	for i := 1; i < len(results); i++ {
		diffs, compared := diffResults(names[0], results[0], names[i], results[i])
		for _, d := range diffs {
			t.Error(d)
		}
		t.Logf("%s vs %s: %d fields compared, %d differ", names[0], names[i], compared, len(diffs))
	}
}

// diffResults names each field a and b disagree on (one has it, the other
// not, or their values differ) and counts the fields compared.
func diffResults(nameA string, a scenarioResult, nameB string, b scenarioResult) (diffs []string, compared int) {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		va, aok := a[k]
		vb, bok := b[k]
		switch {
		case !aok:
			diffs = append(diffs, fmt.Sprintf("field %s: only %s has it (%q)", k, nameB, vb))
		case !bok:
			diffs = append(diffs, fmt.Sprintf("field %s: %s lacks it (%s has %q)", k, nameB, nameA, va))
		case va != vb:
			diffs = append(diffs, fmt.Sprintf("field %s differs: %s", k, firstDifference(nameA, va, nameB, vb)))
		}
	}
	return diffs, len(keys)
}

// firstDifference shows two values, or for multi-line ones (document text)
// the first line where they part.
func firstDifference(nameA, a, nameB, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(la) == 1 && len(lb) == 1 {
		return fmt.Sprintf("%s %q, %s %q", nameA, a, nameB, b)
	}
	for i := range max(len(la), len(lb)) {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			return fmt.Sprintf("line %d: %s %q, %s %q", i+1, nameA, x, nameB, y)
		}
	}
	return "(same lines)"
}

// The comparison names the field that differs, and the normaliser makes
// ids, dates and times of two runs equal while amounts and names stay.
func TestScenarioResult_DiffNamesTheField(t *testing.T) {
	t.Parallel()
	today := civil.MustParse("2026-12-03")
	record := func(body, pdf string) scenarioResult {
		r, n := scenarioResult{}, newNormaliser(today)
		r.record(n, "booking", []byte(body))
		r["receipt.pdf"] = n.text(pdf)
		return r
	}
	a := record(`{"id":"bk_01m8y21wnrrb5hf9746qqbsts4","status":"confirmed","total":{"amount":37500,"currency":"EUR"},"created_at":"2026-12-03T13:39:34.96Z","nights":[{"date":"2026-12-17"}]}`,
		"Receipt BH-2026-000001\nBooking bk_01m8y21wnrrb5hf9746qqbsts4 paid on 2026-12-03 13:39\nTotal EUR 375.00\n")
	same := record(`{"id":"bk_01m8y3zzzzzzzzzzzzzzzzzzzz","status":"confirmed","total":{"amount":37500,"currency":"EUR"},"created_at":"2026-12-03T09:01:02Z","nights":[{"date":"2026-12-17"}]}`,
		"Receipt   BH-2026-000001\nBooking bk_01m8y3zzzzzzzzzzzzzzzzzzzz paid on 2026-12-03 09:01\nTotal EUR  375.00   \n")
	if diffs, n := diffResults("a", a, "same", same); len(diffs) != 0 || n != 8 {
		t.Fatalf("two runs differing only in ids and times: %d fields compared, differences %q", n, diffs)
	}
	if a["booking.nights.0.date"] != "{today+14}" || a["booking.id"] != "{bk#1}" || !strings.Contains(a["receipt.pdf"], "Booking {bk#1} paid on {today+0} {time}") {
		t.Fatalf("normalised: %q", a)
	}
	other := record(`{"id":"bk_01m8y3zzzzzzzzzzzzzzzzzzzz","status":"confirmed","total":{"amount":37400,"currency":"EUR"},"created_at":"2026-12-03T09:01:02Z","nights":[{"date":"2026-12-17"}],"refund":null}`,
		"Receipt BH-2026-000001\nBooking bk_01m8y3zzzzzzzzzzzzzzzzzzzz paid on 2026-12-03 09:01\nTotal EUR 374.00\n")
	diffs, _ := diffResults("a", a, "other", other)
	want := []string{
		`field booking.refund: only other has it ("null")`,
		`field booking.total.amount differs: a "37500", other "37400"`,
		`field receipt.pdf differs: line 3: a "Total EUR 375.00", other "Total EUR 374.00"`,
	}
	if !slices.Equal(diffs, want) {
		t.Fatalf("differences:\n%s\nwant:\n%s", strings.Join(diffs, "\n"), strings.Join(want, "\n"))
	}
}
