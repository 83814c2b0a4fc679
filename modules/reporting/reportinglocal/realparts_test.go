package reportinglocal_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/modules/reporting/reportinglocal"
	"github.com/bellhop/bellhop/modules/reporting/reportingtest"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/db/dbtest"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/mail"
	"github.com/bellhop/bellhop/platform/mail/mailpittest"
)

// pdftotext is a PDF's text as pdftotext -layout reads it.
func pdftotext(t *testing.T, pdf []byte) string { return mailpittest.PDFText(t, pdf) }

// tokyoStay is a stay whose names need more than Latin.
func tokyoStay() reportingtest.Stay {
	return reportingtest.Stay{
		BookingID: "bkg_tokyo", GuestID: "usr_zoe", GuestName: "Zoë Øberg", GuestEmail: "zoe@example.test",
		HotelID: "htl_tokyo", HotelName: "Hotel 東京 Zürich", Address: "Bahnhofstrasse 7", City: "Zürich", CityID: "zurich-ch",
		Country: "PT", TimeZone: "Europe/Lisbon", RoomTypeID: "rt_tokyo", RoomTypeName: "Suite Øresund",
		CheckIn: civil.MustParse("2026-06-10"), Prices: []int64{21000, 23000, 25000}, Currency: "EUR", Guests: 2,
		HeldAt:                time.Date(2026, 5, 2, 9, 0, 0, 0, time.UTC),
		FreeCancellationUntil: time.Date(2026, 6, 8, 22, 59, 0, 0, time.UTC), LateCancellationFee: 21000,
		PaymentID: "pay_tokyo", CardBrand: "visa", CardLast4: "4242", PaidAt: time.Date(2026, 5, 2, 9, 5, 0, 0, time.UTC),
	}
}

func mustApply(t *testing.T, m *reportinglocal.Module, evts ...events.Event) {
	t.Helper()
	for _, e := range evts {
		if err := m.Apply(context.Background(), e); err != nil {
			t.Fatalf("apply %s: %v", e.Type, err)
		}
	}
}

func documents(t *testing.T, m *reportinglocal.Module, bookingID string) []reporting.Document {
	t.Helper()
	iss := authntest.NewIssuer(t, "t", "t")
	ctx := iss.Context(t, context.Background(), reportingtest.Staff)
	list, err := m.Service().ListDocuments(ctx, reporting.ListDocumentsRequest{BookingID: bookingID})
	if err != nil {
		t.Fatal(err)
	}
	var out []reporting.Document
	for _, d := range list.Documents {
		doc, err := m.Service().GetDocument(ctx, reporting.GetDocumentRequest{ID: d.ID})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, doc)
	}
	return out
}

// pdftotext reads back every field of a receipt and a credit note.
func TestDocuments_PDFText(t *testing.T) {
	t.Parallel()
	m := newModule(t, reportinglocal.Deps{})
	st := tokyoStay()
	mustApply(t, m,
		reportingtest.BookingEvent(t, "bellhop.booking.held.v1", st, "pending", st.HeldAt, 0, 0),
		reportingtest.BookingEvent(t, "bellhop.booking.confirmed.v1", st, "confirmed", st.PaidAt, 0, 0),
		reportingtest.BookingEvent(t, "bellhop.booking.cancelled.v1", st, "cancelled", time.Date(2026, 6, 9, 10, 0, 0, 0, time.UTC), 48000, 21000))
	docs := documents(t, m, st.BookingID)
	if len(docs) != 2 {
		t.Fatalf("%d documents, want receipt and credit note", len(docs))
	}
	receipt, credit := docs[0], docs[1]
	cfg := reportinglocal.DefaultConfig()
	// PT: IVA 6%, tourism tax 2.00 per guest-night: 2 guests × 3 nights = 12.00.
	total := st.Total()
	tourism := int64(200 * 2 * 3)
	vat := divRound((total-tourism)*600, 10600)
	common := []string{cfg.Seller.Name, cfg.Seller.TaxID, cfg.Seller.Address[0], "Zoë Øberg", "zoe@example.test", "Hotel 東京 Zürich",
		"Bahnhofstrasse 7", "Zürich, PT", "bkg_tokyo", "Suite Øresund", "check-in 2026-06-10", "check-out 2026-06-13", "2 guest(s)"}
	rtext := pdftotext(t, receipt.PDF)
	for _, want := range append(common, "Receipt (invoice)", receipt.Number, "Issue date: 2026-05-02",
		"Date of supply: 2026-06-10 to 2026-06-13",
		"night of 2026-06-10", "EUR 210.00", "night of 2026-06-11", "EUR 230.00", "night of 2026-06-12", "EUR 250.00",
		"IVA base at 6.00%", "EUR "+dec(total-tourism-vat), "IVA 6.00%", "EUR "+dec(vat), "Taxa turística", "EUR "+dec(tourism),
		"Total EUR", "EUR "+dec(total), "visa ···· 4242", "pay_tokyo", "2026-05-02 10:05",
		"free cancellation until 2026-06-08 23:59", "fee of EUR 210.00") {
		if !strings.Contains(rtext, want) {
			t.Errorf("receipt text lacks %q:\n%s", want, rtext)
		}
	}
	refund := int64(48000)
	cnTourism := divRound(tourism*refund, total)
	cnVAT := divRound((refund-cnTourism)*600, 10600)
	ctext := pdftotext(t, credit.PDF)
	for _, want := range append(common, "Credit note", credit.Number, "Corrects receipt: "+receipt.Number, "Reason: cancellation",
		"Issue date: 2026-06-09", "Refund on cancellation of booking bkg_tokyo", "EUR -480.00",
		"EUR -"+dec(refund-cnTourism-cnVAT), "EUR -"+dec(cnVAT), "EUR -"+dec(cnTourism), "Cancellation fee kept: EUR 210.00", "Refunded to") {
		if !strings.Contains(ctext, want) {
			t.Errorf("credit note text lacks %q:\n%s", want, ctext)
		}
	}
}

func dec(minor int64) string { return fmt.Sprintf("%d.%02d", minor/100, minor%100) }

func divRound(a, b int64) int64 { return (a + b/2) / b }

func smtpTo(t *testing.T, port int) mail.Sender {
	t.Helper()
	s, err := mail.NewSMTP(mail.SMTPConfig{Host: "127.0.0.1", Port: port, TLSPolicy: mail.TLSNone, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func run(t *testing.T, m *reportinglocal.Module) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
}

// Mailpit receives the welcome mail and the receipt with the PDF attached,
// byte for byte the stored document; a duplicated event sends nothing more.
func TestMail_Mailpit(t *testing.T) {
	t.Parallel()
	mp := mailpittest.Start(t, 0)
	cfg := reportinglocal.DefaultConfig()
	cfg.MailPoll = 100 * time.Millisecond
	m := newModule(t, reportinglocal.Deps{Mail: smtpTo(t, mp.SMTPPort), Config: cfg})
	run(t, m)
	st := tokyoStay()
	welcome := reportingtest.UserRegisteredEvent(t, st.GuestID, st.GuestEmail, st.GuestName, st.HeldAt.Add(-time.Hour))
	confirmed := reportingtest.BookingEvent(t, "bellhop.booking.confirmed.v1", st, "confirmed", st.PaidAt, 0, 0)
	mustApply(t, m, welcome, reportingtest.BookingEvent(t, "bellhop.booking.held.v1", st, "pending", st.HeldAt, 0, 0), confirmed)
	mustApply(t, m, confirmed, welcome) // delivered twice: nothing new
	msgs := mp.WaitMessages(t, 2)
	docs := documents(t, m, st.BookingID)
	if len(docs) != 1 {
		t.Fatalf("%d documents, want 1", len(docs))
	}
	var receipt *mailpittest.Summary
	for i, msg := range msgs {
		if len(msg.To) != 1 || msg.To[0].Address != st.GuestEmail {
			t.Fatalf("message to %+v", msg.To)
		}
		switch {
		case strings.HasPrefix(msg.Subject, "Welcome to Bellhop"):
			if msg.MessageID != "welcome."+st.GuestID+"@"+cfg.MessageIDDomain {
				t.Fatalf("welcome Message-ID %q", msg.MessageID)
			}
		case strings.Contains(msg.Subject, docs[0].Number):
			receipt = &msgs[i]
		default:
			t.Fatalf("unexpected message %+v", msg)
		}
	}
	if receipt == nil || receipt.Attachments != 1 || receipt.MessageID != docs[0].ID+"@"+cfg.MessageIDDomain {
		t.Fatalf("receipt mail = %+v", receipt)
	}
	full := mp.Message(t, receipt.ID)
	if len(full.Attachments) != 1 || full.Attachments[0].ContentType != "application/pdf" ||
		!strings.Contains(full.Text, docs[0].Number) || !strings.Contains(full.HTML, "Zoë Øberg") {
		t.Fatalf("receipt mail: %+v", full)
	}
	body := mp.Part(t, receipt.ID, full.Attachments[0].PartID)
	if string(body) != string(docs[0].PDF) {
		t.Fatalf("attachment (%d bytes) differs from the stored document (%d bytes)", len(body), len(docs[0].PDF))
	}
	if text := pdftotext(t, body); !strings.Contains(text, docs[0].Number) || !strings.Contains(text, "Zoë Øberg") {
		t.Fatalf("attachment text:\n%s", text)
	}
}

// SMTP down, then up: the mail waits in the outbox and arrives, once; a
// module restarted on the same database (a crash before sending) sends
// what the first one left.
func TestMail_ServerDownThenUp(t *testing.T) {
	t.Parallel()
	port := mailpittest.FreePort(t) // nothing listens there yet
	cfg := reportinglocal.DefaultConfig()
	cfg.MailPoll, cfg.MailRetryBase, cfg.MailRetryMax = 50*time.Millisecond, 50*time.Millisecond, 300*time.Millisecond
	d := dbtest.Open(t, reporting.Module, reportinglocal.Migrations)
	first := newModule(t, reportinglocal.Deps{DB: d, Config: cfg}) // no sender: stored, not sent (the crash)
	st := tokyoStay()
	mustApply(t, first, reportingtest.BookingEvent(t, "bellhop.booking.confirmed.v1", st, "confirmed", st.PaidAt, 0, 0))

	m := newModule(t, reportinglocal.Deps{DB: d, Mail: smtpTo(t, port), Config: cfg})
	if err := m.SendMail(context.Background()); err != nil {
		t.Fatal(err)
	}
	run(t, m)
	time.Sleep(400 * time.Millisecond) // a few failed attempts
	mp := mailpittest.Start(t, port)
	msgs := mp.WaitMessages(t, 1)
	if !strings.Contains(msgs[0].Subject, "receipt") {
		t.Fatalf("subject %q", msgs[0].Subject)
	}
}

// shutdownSender delivers every message and, on the first, ends the
// context the mailer runs under: a delivery that coincides with shutdown.
type shutdownSender struct {
	mu     sync.Mutex
	sent   []string
	cancel context.CancelFunc
}

func (s *shutdownSender) Send(_ context.Context, m mail.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, m.MessageID)
	s.cancel()
	return nil
}

// A mail delivered just as the module shuts down is recorded as sent: the
// module started again does not mail it a second time.
func TestMail_DeliveredAtShutdown_IsNotSentAgain(t *testing.T) {
	t.Parallel()
	d := dbtest.Open(t, reporting.Module, reportinglocal.Migrations)
	ctx, cancel := context.WithCancel(context.Background())
	snd := &shutdownSender{cancel: cancel}
	m := newModule(t, reportinglocal.Deps{DB: d, Mail: snd, Config: reportinglocal.DefaultConfig()})
	st := tokyoStay()
	mustApply(t, m, reportingtest.BookingEvent(t, "bellhop.booking.confirmed.v1", st, "confirmed", st.PaidAt, 0, 0))
	_ = m.SendMail(ctx) // ends with its context
	if len(snd.sent) != 1 {
		t.Fatalf("sent %v before shutdown, want the receipt once", snd.sent)
	}

	again := newModule(t, reportinglocal.Deps{DB: d, Mail: snd, Config: reportinglocal.DefaultConfig()})
	snd.cancel = func() {}
	if err := again.SendMail(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(snd.sent) != 1 {
		t.Fatalf("after a restart the mailer sent %v: the receipt went out twice", snd.sent)
	}
}
