package main_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/civil"
)

// send is call with extra headers.
func send(t *testing.T, method, u, token, body string, header map[string]string, out any) *http.Response {
	t.Helper()
	res, b := rawSend(t, method, u, token, body, header)
	if out != nil {
		_ = json.Unmarshal(b, out)
	}
	return res
}

// freeRooms is what search says is free of a room type for the stay.
func freeRooms(t *testing.T, base, city, in, out, roomType string) int {
	t.Helper()
	q := base + "/api/v1/hotels?" + query("city", city, "check_in", in, "check_out", out, "limit", "100")
	for cursor := ""; ; {
		var page search.SearchResult
		call(t, "GET", q+cursor, "", nil, &page)
		for _, h := range page.Hotels {
			for _, o := range h.RoomTypes {
				if o.ID == roomType {
					return o.RoomsFree
				}
			}
		}
		if page.NextCursor == "" {
			return 0
		}
		cursor = "&cursor=" + page.NextCursor
	}
}

// The booking saga through the single binary, over HTTP: register, sign in,
// search, hold, pay with a sandbox test token, confirmed by the payment
// event, and search shows one room fewer. Then the sad paths.
func TestSaga_HoldPayConfirm(t *testing.T) {
	dir, _ := seedWithUsers(t)
	p := start(t, nil, "--data-dir", dir)

	guest, other := registerGuest(t, p.URL, "ana@guest.example"), registerGuest(t, p.URL, "bo@guest.example")

	in, out := stay()
	var page search.SearchResult
	call(t, "GET", p.URL+"/api/v1/hotels?"+query("city", "Porto", "check_in", in, "check_out", out, "guests", "2"), "", nil, &page)
	rt := page.Hotels[0].RoomTypes[0]
	before := rt.RoomsFree

	hold := func(token, key string) (bookings.Booking, *http.Response) {
		var b bookings.Booking
		res := send(t, "POST", p.URL+"/api/v1/bookings", token,
			fmt.Sprintf(`{"room_type_id":%q,"check_in":%q,"check_out":%q,"guests":2}`, rt.ID, in, out), map[string]string{"Idempotency-Key": key}, &b)
		return b, res
	}
	b, res := hold(guest, "hold-1")
	if res.StatusCode != 201 || b.Status != bookings.StatusPending || b.Total != rt.TotalPrice {
		t.Fatalf("hold: %d %+v (offer %+v)", res.StatusCode, b, rt)
	}
	if again, res := hold(guest, "hold-1"); res.StatusCode/100 != 2 || again.ID != b.ID {
		t.Fatalf("hold replay: %d %+v", res.StatusCode, again)
	}
	var prob apperr.Problem
	if res := call(t, "GET", p.URL+"/api/v1/bookings/"+b.ID, other, nil, &prob); res.StatusCode != 404 {
		t.Fatalf("another guest's booking: %d", res.StatusCode)
	}

	// Amount tampering is impossible: there is no amount to send.
	pay := func(token, key, body string) (payments.Payment, *http.Response) {
		var pm payments.Payment
		res := send(t, "POST", p.URL+"/api/v1/payments", token, body, map[string]string{"Idempotency-Key": key}, &pm)
		return pm, res
	}
	if _, res := pay(guest, "pay-x", fmt.Sprintf(`{"booking_id":%q,"payment_method":"pm_card_visa","amount":1}`, b.ID)); res.StatusCode != 400 {
		t.Fatalf("payment with an amount: %d", res.StatusCode)
	}
	if _, res := pay(guest, "", fmt.Sprintf(`{"booking_id":%q,"payment_method":"pm_card_visa"}`, b.ID)); res.StatusCode/100 != 4 {
		t.Fatalf("payment without an idempotency key: %d", res.StatusCode)
	}
	// A declined card fails; the booking stays pending and can be paid again.
	declined, res := pay(guest, "pay-1", fmt.Sprintf(`{"booking_id":%q,"payment_method":"pm_card_chargeDeclined"}`, b.ID))
	if res.StatusCode/100 != 2 || declined.Status != payments.StatusFailed || declined.FailureCode == "" {
		t.Fatalf("declined: %d %+v", res.StatusCode, declined)
	}
	paid, res := pay(guest, "pay-2", fmt.Sprintf(`{"booking_id":%q,"payment_method":"pm_card_visa"}`, b.ID))
	if res.StatusCode/100 != 2 || paid.Status != payments.StatusSucceeded || paid.Amount != b.Total || paid.Card == nil || paid.Card.Last4 == "" {
		t.Fatalf("pay: %d %+v", res.StatusCode, paid)
	}
	if _, res := pay(other, "pay-3", fmt.Sprintf(`{"booking_id":%q,"payment_method":"pm_card_visa"}`, b.ID)); res.StatusCode != 404 {
		t.Fatalf("paying another guest's booking: %d", res.StatusCode)
	}

	// Confirmed by the payment event; search shows one room fewer.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got bookings.Booking
		call(t, "GET", p.URL+"/api/v1/bookings/"+b.ID, guest, nil, &got)
		if got.Status == bookings.StatusConfirmed && freeRooms(t, p.URL, "Porto", in, out, rt.ID) == before-1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("booking %s is %s; rooms free %d, was %d", b.ID, got.Status, freeRooms(t, p.URL, "Porto", in, out, rt.ID), before)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Reporting issues the receipt and mails it (the development sink);
	// another guest sees neither the list nor the document.
	receipt := waitDocuments(t, p.URL, guest, b.ID, 1)[0]
	if receipt.Kind != reporting.KindReceipt || receipt.Total != b.Total {
		t.Fatalf("receipt %+v", receipt)
	}
	checkDocument(t, p.URL, guest, dir, receipt, "ana@guest.example")
	if res := call(t, "GET", p.URL+"/api/v1/documents/"+receipt.ID, other, nil, &prob); res.StatusCode != 404 {
		t.Fatalf("another guest's receipt: %d", res.StatusCode)
	}

	// Cancelled long before arrival: free, refunded in full, the room comes back.
	var cancelled bookings.Booking
	if res := call(t, "POST", p.URL+"/api/v1/bookings/"+b.ID+"/cancel", guest, nil, &cancelled); res.StatusCode != 200 ||
		cancelled.Status != bookings.StatusCancelled || cancelled.Refund != b.Total {
		t.Fatalf("cancel: %d %+v", res.StatusCode, cancelled)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		var pm payments.Payment
		call(t, "GET", p.URL+"/api/v1/payments/"+paid.ID, guest, nil, &pm)
		if pm.Status == payments.StatusRefunded && pm.Refunded == b.Total && freeRooms(t, p.URL, "Porto", in, out, rt.ID) == before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after cancelling: payment %+v, rooms free %d (was %d)", pm, freeRooms(t, p.URL, "Porto", in, out, rt.ID), before)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The refund's credit note corrects the receipt.
	docs := waitDocuments(t, p.URL, guest, b.ID, 2)
	if cn := docs[1]; cn.Kind != reporting.KindCreditNote || cn.Corrects != receipt.Number || cn.Total.Amount != -b.Total.Amount {
		t.Fatalf("credit note %+v", cn)
	}
	checkDocument(t, p.URL, guest, dir, docs[1])
}

// The saga's sad paths through the binary: a payment that succeeds after the
// hold expired is refunded (the booking is rejected), and a late
// cancellation keeps the first night.
func TestSaga_SadPaths(t *testing.T) {
	dir, _ := seedWithUsers(t)
	// Holds last 2 s and the bank takes 3 s to answer: a payment started in
	// time lands after the hold expired.
	p := start(t, []string{"BELLHOP_BOOKINGS_HOLD_TTL=2s", "BELLHOP_BOOKINGS_EXPIRY_INTERVAL=200ms",
		"BELLHOP_PAYMENTS_SANDBOX_LATENCY=3s", "BELLHOP_PAYMENTS_RECONCILE_INTERVAL=200ms"}, "--data-dir", dir)
	register(t, p.URL, "cy@guest.example", "Cy", "a long enough passphrase")
	guest := signIn(t, p.URL, "cy@guest.example", "a long enough passphrase").AccessToken

	in, out := stay()
	var page search.SearchResult
	call(t, "GET", p.URL+"/api/v1/hotels?"+query("city", "Lisbon", "check_in", in, "check_out", out, "guests", "1"), "", nil, &page)
	rt := page.Hotels[0].RoomTypes[0]
	hold := func(checkIn, checkOut string) bookings.Booking {
		t.Helper()
		var b bookings.Booking
		res := send(t, "POST", p.URL+"/api/v1/bookings", guest,
			fmt.Sprintf(`{"room_type_id":%q,"check_in":%q,"check_out":%q,"guests":1}`, rt.ID, checkIn, checkOut), nil, &b)
		if res.StatusCode != 201 {
			t.Fatalf("hold: %d", res.StatusCode)
		}
		return b
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); !ok(); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}

	late := hold(in, out)
	var pm payments.Payment
	res := send(t, "POST", p.URL+"/api/v1/payments", guest, fmt.Sprintf(`{"booking_id":%q,"payment_method":"pm_card_visa"}`, late.ID),
		map[string]string{"Idempotency-Key": "late-pay"}, &pm)
	if res.StatusCode/100 != 2 || pm.Status != payments.StatusSucceeded {
		t.Fatalf("pay: %d %+v", res.StatusCode, pm)
	}
	waitFor("the late payment to be refunded and the booking rejected", func() bool {
		var b bookings.Booking
		var got payments.Payment
		call(t, "GET", p.URL+"/api/v1/bookings/"+late.ID, guest, nil, &b)
		call(t, "GET", p.URL+"/api/v1/payments/"+pm.ID, guest, nil, &got)
		return b.Status == bookings.StatusRejected && got.Status == payments.StatusRefunded && got.Refunded == late.Total
	})

	// A stay that starts tomorrow is past the free-cancellation deadline:
	// cancelling keeps the first night and refunds the rest. (A server with
	// the usual hold and bank timing.)
	p = start(t, nil, "--data-dir", seededDataDir(t))
	register(t, p.URL, "cy@guest.example", "Cy", "a long enough passphrase")
	guest = signIn(t, p.URL, "cy@guest.example", "a long enough passphrase").AccessToken
	tomorrow := civil.Today(time.UTC).AddDays(1)
	soon := hold(tomorrow.String(), tomorrow.AddDays(3).String())
	res = send(t, "POST", p.URL+"/api/v1/payments", guest, fmt.Sprintf(`{"booking_id":%q,"payment_method":"pm_card_visa"}`, soon.ID),
		map[string]string{"Idempotency-Key": "soon-pay"}, &pm)
	if res.StatusCode/100 != 2 || pm.Status != payments.StatusSucceeded {
		t.Fatalf("pay soon: %d %+v", res.StatusCode, pm)
	}
	var confirmed bookings.Booking
	waitFor("the booking to be confirmed", func() bool {
		call(t, "GET", p.URL+"/api/v1/bookings/"+soon.ID, guest, nil, &confirmed)
		return confirmed.Status == bookings.StatusConfirmed
	})
	var cancelled bookings.Booking
	if res := call(t, "POST", p.URL+"/api/v1/bookings/"+soon.ID+"/cancel", guest, nil, &cancelled); res.StatusCode != 200 {
		t.Fatalf("cancel: %d", res.StatusCode)
	}
	firstNight := soon.Nights[0].Price
	if cancelled.CancellationFee != firstNight || cancelled.Refund.Amount != soon.Total.Amount-firstNight.Amount {
		t.Fatalf("late cancellation: fee %v refund %v (total %v, first night %v)", cancelled.CancellationFee, cancelled.Refund, soon.Total, firstNight)
	}
	waitFor("the partial refund", func() bool {
		var got payments.Payment
		call(t, "GET", p.URL+"/api/v1/payments/"+pm.ID, guest, nil, &got)
		return got.Status == payments.StatusPartiallyRefunded && got.Refunded == cancelled.Refund
	})
}
