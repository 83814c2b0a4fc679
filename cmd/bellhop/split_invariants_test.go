package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/payments/provider/sandbox"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/db"
)

// The booking invariants with every module that takes part in the saga in a
// process of its own, all on one NATS server:
//
//	gateway   auth + search (creates the service clients), bookings and payments remote
//	bookings  --only bookings, auth and search remote (search:quote)
//	payments  --only payments, auth and bookings remote (bookings:read)
//
// 200 concurrent holds on a room type with 3 rooms, half through the
// gateway and half straight at the bookings process: exactly 3 win, every
// other one is a 409 bookings.sold_out problem. 50 concurrent payments of
// one of them with one idempotency key, through the gateway: 50 identical
// answers, one charge at the bank; the booking is confirmed by the payment
// event and search (in the gateway) counts the rooms from the booking events.
func TestSplitMode_BookingInvariants(t *testing.T) {
	began := time.Now()
	natsURL := startNATS(t)
	gwDir, adminPassword := seedWithUsers(t)
	bkDir, pmDir := t.TempDir(), t.TempDir() // fresh: serve migrates them
	setUp := time.Now()

	// The gateway must name the bookings and payments processes at start, and
	// they must name it: give them their addresses first.
	bkAddr, pmAddr := freeLoopbackAddr(t), freeLoopbackAddr(t)
	gwConfig, bookingsSecret, paymentsSecret := writeServiceClients(t)

	// One host registers, signs in and pays for every guest: lift the
	// per-caller limits meant for real users (as bellhop load --help says).
	common := []string{
		"BELLHOP_EVENTS_NATS_URL=" + natsURL,
		"BELLHOP_AUTH_SIGN_IN_RATE_LIMIT_RPS=1000", "BELLHOP_AUTH_SIGN_IN_RATE_LIMIT_BURST=1000",
		"BELLHOP_PAYMENTS_RATE_LIMIT_RPS=1000", "BELLHOP_PAYMENTS_RATE_LIMIT_BURST=1000",
		"BELLHOP_BOOKINGS_MAX_PENDING_HOLDS=1000",
	}
	gw := start(t, common, "--data-dir", gwDir, "--config", gwConfig,
		"--remote", "bookings=http://"+bkAddr, "--remote", "payments=http://"+pmAddr)
	bk := start(t, append(common[:len(common):len(common)], "BELLHOP_AUTH_CLIENT_ID=bookings", "BELLHOP_AUTH_CLIENT_SECRET="+bookingsSecret),
		"--only", "bookings", "--addr", bkAddr, "--data-dir", bkDir,
		"--remote", "auth="+gw.URL, "--remote", "search="+gw.URL)
	pm := start(t, append(common[:len(common):len(common)], "BELLHOP_AUTH_CLIENT_ID=payments", "BELLHOP_AUTH_CLIENT_SECRET="+paymentsSecret),
		"--only", "payments", "--addr", pmAddr, "--data-dir", pmDir,
		"--remote", "auth="+gw.URL, "--remote", "bookings="+bk.URL)
	started := time.Now()

	// serve migrated the fresh data dirs, each with its own modules only.
	for _, f := range []string{filepath.Join(bkDir, "bookings.db"), filepath.Join(pmDir, "payments.db"), filepath.Join(pmDir, sandbox.DBName+".db")} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("serve did not create %s: %v", filepath.Base(f), err)
		}
	}
	for _, f := range []string{filepath.Join(bkDir, "search.db"), filepath.Join(bkDir, "auth.db"), filepath.Join(pmDir, "bookings.db"), filepath.Join(pmDir, "search.db")} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s has a database of a module it does not host: %s", filepath.Dir(f), filepath.Base(f))
		}
	}

	// The demo admin makes a hotel in a city of its own with one room type
	// of exactly 3 rooms, through the gateway.
	admin := signIn(t, gw.URL, "admin@bellhop.demo", adminPassword).AccessToken
	const city = "Fireholm"
	var h search.Hotel
	if res := call(t, "POST", gw.URL+"/api/v1/hotels", admin, strings.NewReader(
		`{"name":"Last Rooms Inn","city":"`+city+`","country":"NO","address":"Brannveien 3","time_zone":"Europe/Oslo","stars":3,"rating":4.2}`), &h); res.StatusCode != 201 || h.ID == "" {
		t.Fatalf("create hotel: %d %+v", res.StatusCode, h)
	}
	var rt search.RoomType
	if res := call(t, "POST", gw.URL+"/api/v1/hotels/"+h.ID+"/room-types", admin, strings.NewReader(
		`{"name":"Attic","max_guests":2,"rooms_total":3,"base_rate":{"amount":9900,"currency":"NOK"}}`), &rt); res.StatusCode != 201 || rt.ID == "" || rt.RoomsTotal != 3 {
		t.Fatalf("create room type: %d %+v", res.StatusCode, rt)
	}
	in, out := stay()
	pollUntil(t, "search to offer the 3 new rooms", 10*time.Second, func() (bool, string) {
		free, found := offeredRooms(t, gw.URL, city, in, out, rt.ID)
		return found && free == 3, fmt.Sprintf("found %v, free %d", found, free)
	})

	// Ten registered guests.
	const nGuests = 10
	guests := make([]string, nGuests)
	for i := range guests {
		email := fmt.Sprintf("fire-guest-%02d@guest.example", i)
		register(t, gw.URL, email, fmt.Sprintf("Guest %d", i), "a long enough passphrase")
		guests[i] = signIn(t, gw.URL, email, "a long enough passphrase").AccessToken
	}
	ready := time.Now()

	// 200 holds at once for the same stay, each with its own idempotency key:
	// the even ones through the gateway, the odd ones at the bookings process.
	const nHolds = 200
	holdBody := fmt.Sprintf(`{"room_type_id":%q,"check_in":%q,"check_out":%q,"guests":2}`, rt.ID, in, out)
	answers := sendAllAtOnce(nHolds, func(i int) burstRequest {
		base := gw.URL
		if i%2 == 1 {
			base = bk.URL
		}
		return burstRequest{Method: "POST", URL: base + "/api/v1/bookings", Token: guests[i%nGuests], Body: holdBody,
			Header: map[string]string{"Idempotency-Key": fmt.Sprintf("fire-hold-%03d", i)}}
	})
	holdsTook := time.Since(ready)

	type winner struct {
		booking bookings.Booking
		guest   string
		path    string
	}
	var (
		won          []winner
		soldOut      int
		soldOutByWay = map[string]int{}
		bad          []string
	)
	for i, a := range answers {
		way := "gateway"
		if i%2 == 1 {
			way = "bookings"
		}
		switch {
		case a.Err != nil:
			bad = append(bad, fmt.Sprintf("hold %d (%s): transport error %v", i, way, a.Err))
		case a.Status == http.StatusCreated:
			var b bookings.Booking
			if err := json.Unmarshal(a.Body, &b); err != nil || b.ID == "" || b.Status != bookings.StatusPending {
				bad = append(bad, fmt.Sprintf("hold %d (%s): 201 with %s", i, way, a.Body))
				continue
			}
			won = append(won, winner{booking: b, guest: guests[i%nGuests], path: way})
		default:
			var prob apperr.Problem
			_ = json.Unmarshal(a.Body, &prob)
			if a.Status != http.StatusConflict || !strings.HasPrefix(a.ContentType, apperr.ProblemMediaType) ||
				prob.Reason != bookings.ErrSoldOut.Reason || prob.Code != apperr.CodeConflict {
				bad = append(bad, fmt.Sprintf("hold %d (%s): %d %s %s", i, way, a.Status, a.ContentType, a.Body))
				continue
			}
			soldOut++
			soldOutByWay[way]++
		}
	}
	if len(bad) > 0 {
		t.Fatalf("%d of %d holds answered otherwise than 201 or 409 %s, e.g.:\n%s",
			len(bad), nHolds, bookings.ErrSoldOut.Reason, strings.Join(bad[:min(len(bad), 5)], "\n"))
	}
	if len(won) != 3 || soldOut != nHolds-3 {
		t.Fatalf("%d holds won, %d sold out; want 3 and %d", len(won), soldOut, nHolds-3)
	}
	winsByWay := map[string]int{}
	for _, w := range won {
		winsByWay[w.path]++
	}
	t.Logf("%d holds in %s: won %v, sold out %v", nHolds, holdsTook.Round(time.Millisecond), winsByWay, soldOutByWay)
	// The bookings process stored only the winners (staff see all bookings).
	var list bookings.BookingList
	if res := call(t, "GET", gw.URL+"/api/v1/bookings?"+query("hotel_id", h.ID, "limit", "100"), admin, nil, &list); res.StatusCode != 200 || len(list.Bookings) != 3 {
		t.Fatalf("bookings of the hotel: %d, %d bookings (want 3)", res.StatusCode, len(list.Bookings))
	}
	// Pending holds take their rooms in search (booking.held, bookings → gateway).
	pollUntil(t, "search to count the 3 pending holds", 10*time.Second, func() (bool, string) {
		free, found := offeredRooms(t, gw.URL, city, in, out, rt.ID)
		return !found && free == 0, fmt.Sprintf("found %v, free %d", found, free)
	})

	// 50 payments at once of the first winner, one idempotency key, through
	// the gateway to the payments process.
	paid := won[0]
	const nPays = 50
	payBody := fmt.Sprintf(`{"booking_id":%q,"payment_method":"pm_card_visa"}`, paid.booking.ID)
	payAnswers := sendAllAtOnce(nPays, func(int) burstRequest {
		return burstRequest{Method: "POST", URL: gw.URL + "/api/v1/payments", Token: paid.guest, Body: payBody,
			Header: map[string]string{"Idempotency-Key": "fire-pay-" + paid.booking.ID}}
	})
	// Every answer the same (a replay answers with the first request's
	// result, also one that reads the booking only after this key's payment
	// has confirmed it); count the kinds of answer to say what went wrong.
	var pay payments.Payment
	var first []byte // the first 201's body
	for _, a := range payAnswers {
		if a.Err == nil && a.Status == http.StatusCreated && first == nil {
			first = a.Body
			_ = json.Unmarshal(a.Body, &pay)
		}
	}
	kinds := map[string]int{}
	for _, a := range payAnswers {
		var prob apperr.Problem
		switch {
		case a.Err != nil:
			kinds["transport error: "+a.Err.Error()]++
		case a.Status == http.StatusCreated && bytes.Equal(a.Body, first):
			kinds[fmt.Sprintf("201 payment %s %s", pay.ID, pay.Status)]++
		case json.Unmarshal(a.Body, &prob) == nil && prob.Reason != "":
			kinds[fmt.Sprintf("%d %s: %s", a.Status, prob.Reason, prob.Detail)]++
		default:
			kinds[fmt.Sprintf("%d %s", a.Status, a.Body)]++
		}
	}
	if len(kinds) != 1 || first == nil {
		t.Errorf("%d payments with one idempotency key answered in %d ways, want %d identical 201s: %v", nPays, len(kinds), nPays, kinds)
	}
	if pay.ID == "" || pay.Status != payments.StatusSucceeded || pay.BookingID != paid.booking.ID || pay.Amount != paid.booking.Total {
		t.Fatalf("payment: %+v (booking %+v)", pay, paid.booking)
	}

	// payment.succeeded (payments → bookings) confirms the booking.
	pollUntil(t, "the booking to be confirmed", 15*time.Second, func() (bool, string) {
		var b bookings.Booking
		res := call(t, "GET", gw.URL+"/api/v1/bookings/"+paid.booking.ID, paid.guest, nil, &b)
		return res.StatusCode == 200 && b.Status == bookings.StatusConfirmed && b.PaymentID == pay.ID,
			fmt.Sprintf("%d %s (payment %q)", res.StatusCode, b.Status, b.PaymentID)
	})
	// Confirmed keeps its room; cancelling an unpaid hold gives one back
	// (booking.cancelled, bookings → gateway).
	if free, found := offeredRooms(t, gw.URL, city, in, out, rt.ID); found || free != 0 {
		t.Fatalf("after the confirmation search shows %d free (found %v), want none", free, found)
	}
	var cancelled bookings.Booking
	if res := call(t, "POST", gw.URL+"/api/v1/bookings/"+won[1].booking.ID+"/cancel", won[1].guest, nil, &cancelled); res.StatusCode != 200 ||
		cancelled.Status != bookings.StatusCancelled {
		t.Fatalf("cancel an unpaid hold: %d %+v", res.StatusCode, cancelled)
	}
	pollUntil(t, "search to free the cancelled hold's room", 10*time.Second, func() (bool, string) {
		free, found := offeredRooms(t, gw.URL, city, in, out, rt.ID)
		return found && free == 1, fmt.Sprintf("found %v, free %d", found, free)
	})

	// One charge in the payments process's bank, read once it has stopped.
	pm.stop(t)
	charges := bankCharges(t, pmDir)
	if len(charges) != 1 || charges[0].IdempotencyKey != pay.ID || charges[0].Status != payments.StatusSucceeded ||
		charges[0].Amount != paid.booking.Total.Amount || charges[0].Currency != paid.booking.Total.Currency {
		t.Fatalf("bank ledger: %+v, want one succeeded charge of %v for %s", charges, paid.booking.Total, pay.ID)
	}
	for _, p := range []*proc{gw, bk, pm} {
		if logs := p.logs.String(); strings.Contains(logs, "a long enough passphrase") || strings.Contains(logs, bookingsSecret) || strings.Contains(logs, paymentsSecret) {
			t.Errorf("a password or service secret reached the log of %s", p.URL)
		}
	}
	checked := time.Now()
	// A clean stop of the other two. (After a burst, net/http's Shutdown
	// waits up to 5 s for connections a client dialled but never used.)
	burstClient.CloseIdleConnections()
	gw.stop(t)
	bk.stop(t)
	t.Logf("wall time %s: NATS + seed %s, 3 processes up %s, catalog + guests %s, holds %s, payments + checks %s, stops %s",
		time.Since(began).Round(time.Millisecond), setUp.Sub(began).Round(time.Millisecond), started.Sub(setUp).Round(time.Millisecond),
		ready.Sub(started).Round(time.Millisecond), holdsTook.Round(time.Millisecond), checked.Sub(ready.Add(holdsTook)).Round(time.Millisecond),
		time.Since(checked).Round(time.Millisecond))
}

// burstRequest is one request sendAllAtOnce sends.
type burstRequest struct {
	Method, URL, Token, Body string
	Header                   map[string]string
}

// burstAnswer is what came back: a status and body, or a transport error.
type burstAnswer struct {
	Status      int
	ContentType string
	Body        []byte
	Err         error
}

// burstClient has a connection for every concurrent request, and a timeout
// well above any the servers set (their answers must come first).
var burstClient = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 256, Proxy: nil, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext},
}

// sendAllAtOnce builds n requests, starts a goroutine for each, releases
// them all at once and returns the answers in order.
func sendAllAtOnce(n int, build func(i int) burstRequest) []burstAnswer {
	answers := make([]burstAnswer, n)
	reqs := make([]*http.Request, n)
	for i := range n {
		r := build(i)
		req, err := http.NewRequestWithContext(context.Background(), r.Method, r.URL, strings.NewReader(r.Body))
		if err != nil {
			answers[i].Err = err
			continue
		}
		if r.Token != "" {
			req.Header.Set("Authorization", "Bearer "+r.Token)
		}
		if r.Body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range r.Header {
			req.Header.Set(k, v)
		}
		reqs[i] = req
	}
	var wg sync.WaitGroup
	release := make(chan struct{})
	for i, req := range reqs {
		if req == nil {
			continue
		}
		wg.Go(func() {
			<-release
			res, err := burstClient.Do(req)
			if err != nil {
				answers[i].Err = err
				return
			}
			defer res.Body.Close()
			answers[i].Status, answers[i].ContentType = res.StatusCode, res.Header.Get("Content-Type")
			answers[i].Body, answers[i].Err = io.ReadAll(res.Body)
		})
	}
	close(release)
	wg.Wait()
	return answers
}

// offeredRooms is what search says is free of the room type for the stay,
// and whether it offers the room type at all (a sold-out one is not listed).
func offeredRooms(t *testing.T, base, city, in, out, roomType string) (free int, found bool) {
	t.Helper()
	var page search.SearchResult
	if res := call(t, "GET", base+"/api/v1/hotels?"+query("city", city, "check_in", in, "check_out", out, "guests", "2", "limit", "100"), "", nil, &page); res.StatusCode != 200 {
		t.Fatalf("search %s: %d", city, res.StatusCode)
	}
	for _, h := range page.Hotels {
		for _, o := range h.RoomTypes {
			if o.ID == roomType {
				return o.RoomsFree, true
			}
		}
	}
	return 0, false
}

// pollUntil polls ok until it holds or within has passed.
func pollUntil(t *testing.T, what string, within time.Duration, ok func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		done, state := ok()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %s", within, what, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// bankCharges reads the sandbox bank's ledger in a payments data dir
// (with the process that owns it stopped).
func bankCharges(t *testing.T, dataDir string) []sandbox.Charge {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := db.Open(ctx, db.Options{Module: sandbox.DBName, DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	bank, err := sandbox.New(d, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	charges, err := bank.Charges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return charges
}

// writeServiceClients writes a gateway configuration that lists the service
// identities of bookings (search:quote) and payments (bookings:read), and
// returns its path and their secrets.
func writeServiceClients(t *testing.T) (path, bookingsSecret, paymentsSecret string) {
	t.Helper()
	bookingsSecret = "bookings-service-secret-of-at-least-32-characters"
	paymentsSecret = "payments-service-secret-of-at-least-32-characters"
	path = filepath.Join(t.TempDir(), "gateway.yaml")
	writeTestFile(t, path, fmt.Sprintf(`auth:
  service_clients:
    - id: bookings
      secret: %s
      scopes: [%s]
    - id: payments
      secret: %s
      scopes: [%s]
`, bookingsSecret, search.ScopeQuote, paymentsSecret, bookings.ScopeRead))
	return path, bookingsSecret, paymentsSecret
}

// handedOut are the addresses freeLoopbackAddr has given in this test
// binary: the kernel may offer a port again once its listener is closed, and
// two processes told the same port fail to start.
var handedOut = struct {
	sync.Mutex
	addrs map[string]bool
}{addrs: map[string]bool{}}

// freeLoopbackAddr is a loopback address free right now, for a process another
// one must name before it starts, and never one it gave before.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if !handedOut.addrs[addr] {
			handedOut.addrs[addr] = true
			return addr
		}
	}
	t.Fatal("no loopback port that was not handed out before")
	return ""
}

func writeTestFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
