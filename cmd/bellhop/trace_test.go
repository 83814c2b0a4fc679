package main_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/platform/observability/otlptest"
)

// One booking is one trace across processes. Every module runs in a process
// of its own behind a gateway (hosting auth, so named bellhop-auth in the
// traces, and the public API of the others), all on one NATS
// server, each exporting its spans over real OTLP/HTTP to a receiver on
// loopback. The guest's client starts a trace and sends its traceparent with
// the hold and with the payment (as a traced browser or SDK would); the
// spans of everything those two requests cause — gateway, bookings, search's
// quote, the events leaving the outbox, payments, bookings' consumer
// confirming, and reporting's consumer issuing the receipt — share its trace id, each one
// the child of the span that caused it, with no span left without a parent.
func TestTracing_OneBookingIsOneTraceAcrossProcesses(t *testing.T) {
	recv := otlptest.NewReceiver(t)
	natsURL := startNATS(t)
	gwDir, _ := seedWithUsers(t) // auth's and search's databases
	srAddr, bkAddr, pmAddr, rpAddr := freeLoopbackAddr(t), freeLoopbackAddr(t), freeLoopbackAddr(t), freeLoopbackAddr(t)
	gwConfig, bookingsSecret, paymentsSecret := writeServiceClients(t)
	common := []string{
		"BELLHOP_EVENTS_NATS_URL=" + natsURL,
		"BELLHOP_TRACING_EXPORTER=otlp", "BELLHOP_TRACING_ENDPOINT=" + recv.URL,
		"OTEL_BSP_SCHEDULE_DELAY=100", // export every 100ms rather than every 5s
	}
	with := func(extra ...string) []string { return append(slices.Clone(common), extra...) }
	gw := start(t, with(), "--data-dir", gwDir, "--config", gwConfig, "--only", "auth",
		"--remote", "search=http://"+srAddr, "--remote", "bookings=http://"+bkAddr,
		"--remote", "payments=http://"+pmAddr, "--remote", "reporting=http://"+rpAddr)
	start(t, with(), "--only", "search", "--addr", srAddr, "--data-dir", gwDir, "--remote", "auth="+gw.URL)
	start(t, with("BELLHOP_AUTH_CLIENT_ID=bookings", "BELLHOP_AUTH_CLIENT_SECRET="+bookingsSecret),
		"--only", "bookings", "--addr", bkAddr, "--data-dir", t.TempDir(), "--remote", "auth="+gw.URL, "--remote", "search=http://"+srAddr)
	start(t, with("BELLHOP_AUTH_CLIENT_ID=payments", "BELLHOP_AUTH_CLIENT_SECRET="+paymentsSecret),
		"--only", "payments", "--addr", pmAddr, "--data-dir", t.TempDir(), "--remote", "auth="+gw.URL, "--remote", "bookings=http://"+bkAddr)
	start(t, with(), "--only", "reporting", "--addr", rpAddr, "--data-dir", t.TempDir(), "--remote", "auth="+gw.URL)

	guest := registerGuest(t, gw.URL, "traced-guest@guest.example")
	roomType := firstRoomType(t, gw.URL)

	// The client's own root span: a trace id and a span id of its making.
	traceID, rootID := randomHex(t, 16), randomHex(t, 8)
	traced := map[string]string{"traceparent": "00-" + traceID + "-" + rootID + "-01"}
	in, out := stay()
	var b bookings.Booking
	traced["Idempotency-Key"] = "traced-hold"
	if res := send(t, "POST", gw.URL+"/api/v1/bookings", guest,
		fmt.Sprintf(`{"room_type_id":%q,"check_in":%q,"check_out":%q,"guests":1}`, roomType, in, out), traced, &b); res.StatusCode != 201 {
		t.Fatalf("hold: %d %+v", res.StatusCode, b)
	}
	var p payments.Payment
	traced["Idempotency-Key"] = "traced-pay"
	if res := send(t, "POST", gw.URL+"/api/v1/payments", guest,
		fmt.Sprintf(`{"booking_id":%q,"payment_method":"pm_card_visa"}`, b.ID), traced, &p); res.StatusCode/100 != 2 {
		t.Fatalf("pay: %d %+v", res.StatusCode, p)
	}
	waitDocuments(t, gw.URL, guest, b.ID, 1) // confirmed, and reporting issued the receipt

	// The spans every step must have made, by process.
	want := []struct{ service, kind, name string }{
		{"bellhop-auth", "server", "POST /api/v1/bookings"},
		{"bellhop-auth", "client", "bookings.Hold"},
		{"bellhop-bookings", "server", "POST /api/v1/bookings"},
		{"bellhop-bookings", "client", "search.Quote"},
		{"bellhop-search", "server", ""}, // the quote route, whatever its path
		{"bellhop-auth", "server", "POST /api/v1/payments"},
		{"bellhop-auth", "client", "payments.Pay"},
		{"bellhop-payments", "server", "POST /api/v1/payments"},
		{"bellhop-payments", "client", "bookings.Get"},
		{"bellhop-payments", "producer", "publish " + payments.EventSucceeded},
		{"bellhop-bookings", "consumer", "consume " + payments.EventSucceeded},
		{"bellhop-bookings", "producer", "publish " + bookings.EventConfirmed},
		{"bellhop-reporting", "consumer", "consume " + bookings.EventConfirmed},
	}
	var spans []otlptest.Span
	pollUntil(t, "every step's span to arrive", 20*time.Second, func() (bool, string) {
		spans = recv.Trace(traceID)
		var missing []string
		for _, w := range want {
			if !slices.ContainsFunc(spans, func(s otlptest.Span) bool {
				return s.Service == w.service && s.Kind == w.kind && (w.name == "" || s.Name == w.name)
			}) {
				missing = append(missing, w.service+" "+w.kind+" "+w.name)
			}
		}
		return len(missing) == 0, fmt.Sprintf("missing %v among\n%s", missing, describe(spans))
	})

	// One tree: every span's parent is the client's root or another span of
	// the trace, and each step is the child of the step that caused it.
	byID := map[string]otlptest.Span{}
	for _, s := range spans {
		byID[s.SpanID] = s
	}
	for _, s := range spans {
		if _, ok := byID[s.ParentSpanID]; !ok && s.ParentSpanID != rootID {
			t.Errorf("span %s %q (%s) has a parent %q outside the trace", s.Service, s.Name, s.Kind, s.ParentSpanID)
		}
	}
	parentOf := func(s otlptest.Span) otlptest.Span { return byID[s.ParentSpanID] }
	find := func(service, kind, name string) otlptest.Span {
		for _, s := range spans {
			if s.Service == service && s.Kind == kind && (name == "" || s.Name == name) {
				return s
			}
		}
		t.Fatalf("no %s %s span %q", service, kind, name)
		return otlptest.Span{}
	}
	chain := func(steps ...otlptest.Span) {
		t.Helper()
		for i := 1; i < len(steps); i++ {
			if steps[i].ParentSpanID != steps[i-1].SpanID {
				t.Errorf("%s %q is not the child of %s %q (its parent: %s %q)", steps[i].Service, steps[i].Name,
					steps[i-1].Service, steps[i-1].Name, parentOf(steps[i]).Service, parentOf(steps[i]).Name)
			}
		}
	}
	gwHold := find("bellhop-auth", "server", "POST /api/v1/bookings")
	if gwHold.ParentSpanID != rootID || gwHold.Attributes["http.response.status_code"] != "201" {
		t.Errorf("gateway's hold span: parent %s (want the client's %s), %v", gwHold.ParentSpanID, rootID, gwHold.Attributes)
	}
	quote := find("bellhop-bookings", "client", "search.Quote")
	searchQuote := find("bellhop-search", "server", "")
	chain(gwHold, find("bellhop-auth", "client", "bookings.Hold"), find("bellhop-bookings", "server", "POST /api/v1/bookings"))
	chain(quote, searchQuote)
	gwPay := find("bellhop-auth", "server", "POST /api/v1/payments")
	pmPay := find("bellhop-payments", "server", "POST /api/v1/payments")
	chain(gwPay, find("bellhop-auth", "client", "payments.Pay"), pmPay)
	if gwPay.ParentSpanID != rootID {
		t.Errorf("gateway's payment span: parent %s, want the client's %s", gwPay.ParentSpanID, rootID)
	}
	// payment.succeeded was written inside the payment request's span tree;
	// bookings' consumer confirmed, and reporting's consumer handled the
	// booking.confirmed that bookings' handler wrote.
	confirm := find("bellhop-bookings", "consumer", "consume "+payments.EventSucceeded)
	if !descends(byID, confirm, pmPay.SpanID) {
		t.Errorf("bookings' consumer span of %s does not descend from payments' request span", payments.EventSucceeded)
	}
	// The outbox: the relay's producer span of each event is the sibling of
	// its consumers' spans (all children of the span that wrote it).
	if published := find("bellhop-payments", "producer", "publish "+payments.EventSucceeded); published.ParentSpanID != confirm.ParentSpanID {
		t.Errorf("payments' producer span of %s has parent %s, bookings' consumer span %s", payments.EventSucceeded, published.ParentSpanID, confirm.ParentSpanID)
	}
	chain(confirm, find("bellhop-bookings", "producer", "publish "+bookings.EventConfirmed))
	chain(confirm, find("bellhop-reporting", "consumer", "consume "+bookings.EventConfirmed))
	t.Logf("one trace, %d spans in %d processes:\n%s", len(spans), countServices(spans), describe(spans))
}

// descends reports whether s has ancestor among its parents in byID.
func descends(byID map[string]otlptest.Span, s otlptest.Span, ancestor string) bool {
	for seen := 0; s.ParentSpanID != "" && seen < len(byID); seen++ {
		if s.ParentSpanID == ancestor {
			return true
		}
		s = byID[s.ParentSpanID]
	}
	return false
}

func countServices(spans []otlptest.Span) int {
	set := map[string]bool{}
	for _, s := range spans {
		set[s.Service] = true
	}
	return len(set)
}

// describe lists spans by start time: service, kind, name.
func describe(spans []otlptest.Span) string {
	spans = slices.Clone(spans)
	sort.Slice(spans, func(i, j int) bool { return spans[i].Start.Before(spans[j].Start) })
	var b strings.Builder
	for _, s := range spans {
		fmt.Fprintf(&b, "  %-18s %-8s %s (%s)\n", s.Service, s.Kind, s.Name, s.End.Sub(s.Start).Round(time.Microsecond))
	}
	return b.String()
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
