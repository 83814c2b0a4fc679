package reportinglocal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/db/dbtest"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/mail"
	"github.com/bellhop/bellhop/platform/money"
)

// sentMail records what a mail server received.
type sentMail struct {
	mu  sync.Mutex
	got []mail.Message
}

func (s *sentMail) Send(_ context.Context, m mail.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, m)
	return nil
}

func (s *sentMail) messages() []mail.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]mail.Message(nil), s.got...)
}

// commitOnly handles events as the consumer does and stops there, like a
// process killed right after the consumer's commit: documents are numbered,
// nothing is drawn or mailed.
func commitOnly(t *testing.T, d *db.DB, evts ...events.Event) {
	t.Helper()
	m, err := New(Deps{DB: d})
	if err != nil {
		t.Fatal(err)
	}
	for _, evt := range evts {
		if err := d.Transaction(func(tx *gorm.DB) error { return m.applier.handle(context.Background(), tx, evt) }); err != nil {
			t.Fatal(err)
		}
	}
}

// guest is the guest of confirmedStay's bookings.
var guest = authn.Principal{Subject: "usr_render_guest", Kind: authn.KindUser, Email: "zoe@example.test", Name: "Zoë Øberg",
	Roles: []string{authn.RoleGuest}}

// confirmedStay is a booking held then confirmed, as bookings publishes it.
func confirmedStay(t *testing.T, id string) []events.Event {
	t.Helper()
	held := time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)
	in := civil.MustParse("2026-05-01")
	b := bookings.Booking{ID: id, Status: bookings.StatusPending, GuestID: guest.Subject, GuestEmail: guest.Email, GuestName: guest.Name,
		HotelID: "htl_zurich", HotelName: "Hotel Zürichsee", RoomTypeID: "rt_zurich_double", RoomTypeName: "Double",
		Address: "Seestrasse 1", City: "Zürich", Country: "CH", TimeZone: "Europe/Zurich", CheckIn: in, CheckOut: in.AddDays(2),
		Guests: 2, Total: money.New(36000, "CHF"), CreatedAt: held, UpdatedAt: held,
		Nights: []bookings.NightPrice{{Date: in, Price: money.New(18000, "CHF")}, {Date: in.AddDays(1), Price: money.New(18000, "CHF")}}}
	event := func(typ string, e bookings.BookingEvent, at time.Time) events.Event {
		evt, err := events.New(context.Background(), bookings.Module, typ, e)
		if err != nil {
			t.Fatal(err)
		}
		evt.Time = at
		return evt
	}
	paid := held.Add(time.Minute)
	confirmed := b
	confirmed.Status, confirmed.PaymentID, confirmed.UpdatedAt = bookings.StatusConfirmed, "pay_"+id, paid
	return []events.Event{
		event(bookings.EventHeld, bookings.BookingEvent{Booking: b}, held),
		event(bookings.EventConfirmed, bookings.BookingEvent{Booking: confirmed, PaymentID: "pay_" + id,
			Payment: &bookings.EventPayment{ID: "pay_" + id, Amount: b.Total, Brand: "visa", Last4: "4242", PaidAt: paid}}, paid),
	}
}

// A document is numbered in the consumer's transaction and drawn after it:
// when the process dies in between, the next start draws it, stores its
// SHA-256 and sends one email with it; drawing again changes nothing.
func TestRender_AfterCrashBetweenCommitAndDrawing(t *testing.T) {
	t.Parallel()
	d := dbtest.Open(t, reporting.Module, Migrations)
	commitOnly(t, d, confirmedStay(t, "bkg_crash")...)

	var doc documentRow
	if err := d.Where("booking_id = ?", "bkg_crash").Take(&doc).Error; err != nil {
		t.Fatal(err)
	}
	var mails int64
	d.Model(&mailRow{}).Count(&mails)
	if doc.RenderedAt != nil || len(doc.PDF) != 0 || mails != 0 {
		t.Fatalf("before the restart: rendered_at %v, %d PDF bytes, %d mails; want a numbered document only", doc.RenderedAt, len(doc.PDF), mails)
	}

	// The restart: Run draws at start and the mailer sends.
	sender := &sentMail{}
	m, err := New(Deps{DB: d, Mail: sender, Config: Config{MailPoll: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(sender.messages()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	if err := d.Where("id = ?", doc.ID).Take(&doc).Error; err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(doc.PDF)
	if doc.RenderedAt == nil || !bytes.HasPrefix(doc.PDF, []byte("%PDF-")) || doc.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("after the restart: rendered_at %v, PDF %q…, sha256 %q", doc.RenderedAt, doc.PDF[:min(8, len(doc.PDF))], doc.SHA256)
	}
	sent := sender.messages()
	if len(sent) != 1 || len(sent[0].Attachments) != 1 || !bytes.Equal(sent[0].Attachments[0].Data, doc.PDF) {
		t.Fatalf("want one email with the stored PDF attached, got %d", len(sent))
	}

	n, err := m.RenderPending(context.Background())
	stored := doc.PDF
	if err != nil || n != 0 {
		t.Fatalf("a second pass drew %d documents (%v); want none", n, err)
	}
	if err := d.Where("id = ?", doc.ID).Take(&doc).Error; err != nil || !bytes.Equal(doc.PDF, stored) {
		t.Fatalf("the stored PDF changed (%v)", err)
	}
	d.Model(&mailRow{}).Count(&mails)
	if mails != 1 {
		t.Fatalf("%d mails queued; want one", mails)
	}
}

// A guest who asks for a document before the renderer drew it gets it
// drawn then; the renderer later finds nothing to do and mails it once.
func TestRender_OnDemand(t *testing.T) {
	t.Parallel()
	d := dbtest.Open(t, reporting.Module, Migrations)
	commitOnly(t, d, confirmedStay(t, "bkg_early")...)
	m, err := New(Deps{DB: d})
	if err != nil {
		t.Fatal(err)
	}
	ctx := authn.WithPrincipal(context.Background(), guest)
	list, err := m.Service().ListDocuments(ctx, reporting.ListDocumentsRequest{BookingID: "bkg_early"})
	if err != nil || len(list.Documents) != 1 || list.Documents[0].SHA256 == "" || list.Documents[0].Size == 0 {
		t.Fatalf("list: %+v, %v", list, err)
	}
	doc, err := m.Service().GetDocument(ctx, reporting.GetDocumentRequest{ID: list.Documents[0].ID})
	if sum := sha256.Sum256(doc.PDF); err != nil || hex.EncodeToString(sum[:]) != list.Documents[0].SHA256 {
		t.Fatalf("get: %v, the PDF's SHA-256 is not the listed one", err)
	}
	if n, err := m.RenderPending(context.Background()); err != nil || n != 0 {
		t.Fatalf("the renderer drew %d more (%v); want none", n, err)
	}
	var mails int64
	d.Model(&mailRow{}).Where("document_id = ?", doc.ID).Count(&mails)
	if mails != 1 {
		t.Fatalf("%d mails for the document; want one", mails)
	}
}
