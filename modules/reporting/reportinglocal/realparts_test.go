package reportinglocal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
)

// needTool finds a program, installing it (as root only, as CI runs) when
// it is missing; without it the test is skipped, saying why.
func needTool(t *testing.T, name string, install func() *exec.Cmd) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if home, err := os.UserHomeDir(); err == nil {
		if p := filepath.Join(home, "go", "bin", name); fileExists(p) {
			return p
		}
	}
	if os.Geteuid() != 0 {
		t.Skipf("%s is not installed and the test is not root: install it (make test does) to run this test", name)
	}
	cmd := install()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("%s is missing and installing it failed: %v\n%s", name, err, out)
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	home, _ := os.UserHomeDir()
	if p := filepath.Join(home, "go", "bin", name); fileExists(p) {
		return p
	}
	t.Skipf("%s still not found after installing it", name)
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func pdftotext(t *testing.T, pdf []byte) string {
	t.Helper()
	bin := needTool(t, "pdftotext", func() *exec.Cmd {
		return exec.Command("sh", "-c", "apt-get install -y poppler-utils || (apt-get update && apt-get install -y poppler-utils)")
	})
	f := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-layout", f, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

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

// mailpit is a real SMTP server with an HTTP API, started for one test.
type mailpit struct {
	api, smtpAddr string
	smtpPort      int
	cmd           *exec.Cmd
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func mailpitBin(t *testing.T) string {
	return needTool(t, "mailpit", func() *exec.Cmd {
		return exec.Command("go", "install", "github.com/axllent/mailpit@v1.27.11")
	})
}

// startMailpit starts mailpit with its SMTP port at smtpPort (0: a free one).
func startMailpit(t *testing.T, bin string, smtpPort int) *mailpit {
	t.Helper()
	if smtpPort == 0 {
		smtpPort = freePort(t)
	}
	httpPort := freePort(t)
	dir := t.TempDir()
	mp := &mailpit{api: fmt.Sprintf("http://127.0.0.1:%d", httpPort), smtpAddr: fmt.Sprintf("127.0.0.1:%d", smtpPort), smtpPort: smtpPort}
	mp.cmd = exec.Command(bin, "--listen", fmt.Sprintf("127.0.0.1:%d", httpPort), "--smtp", mp.smtpAddr,
		"--disable-version-check", "--database", filepath.Join(dir, "mailpit.db"))
	mp.cmd.Stdout, mp.cmd.Stderr = io.Discard, io.Discard
	if err := mp.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mp.cmd.Process.Kill(); _ = mp.cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(mp.api + "/api/v1/messages")
		if err == nil {
			res.Body.Close()
			if c, err := net.Dial("tcp", mp.smtpAddr); err == nil {
				c.Close()
				return mp
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type mpSummary struct {
	ID        string `json:"ID"`
	MessageID string `json:"MessageID"`
	Subject   string `json:"Subject"`
	To        []struct {
		Address string `json:"Address"`
	} `json:"To"`
	Attachments int `json:"Attachments"`
}

func (mp *mailpit) messages(t *testing.T) []mpSummary {
	t.Helper()
	var out struct {
		Messages []mpSummary `json:"messages"`
	}
	getJSON(t, mp.api+"/api/v1/messages", &out)
	return out.Messages
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// waitMessages waits until mailpit holds n messages (and checks no more come).
func (mp *mailpit) waitMessages(t *testing.T, n int) []mpSummary {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		msgs := mp.messages(t)
		if len(msgs) >= n {
			time.Sleep(300 * time.Millisecond)
			if again := mp.messages(t); len(again) != n {
				t.Fatalf("%d messages, want %d", len(again), n)
			}
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages after 15s, want %d", len(msgs), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

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
	mp := startMailpit(t, mailpitBin(t), 0)
	cfg := reportinglocal.DefaultConfig()
	cfg.MailPoll = 100 * time.Millisecond
	m := newModule(t, reportinglocal.Deps{Mail: smtpTo(t, mp.smtpPort), Config: cfg})
	run(t, m)
	st := tokyoStay()
	welcome := reportingtest.UserRegisteredEvent(t, st.GuestID, st.GuestEmail, st.GuestName, st.HeldAt.Add(-time.Hour))
	confirmed := reportingtest.BookingEvent(t, "bellhop.booking.confirmed.v1", st, "confirmed", st.PaidAt, 0, 0)
	mustApply(t, m, welcome, reportingtest.BookingEvent(t, "bellhop.booking.held.v1", st, "pending", st.HeldAt, 0, 0), confirmed)
	mustApply(t, m, confirmed, welcome) // delivered twice: nothing new
	msgs := mp.waitMessages(t, 2)
	docs := documents(t, m, st.BookingID)
	if len(docs) != 1 {
		t.Fatalf("%d documents, want 1", len(docs))
	}
	var receipt *mpSummary
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
	var full struct {
		Text, HTML  string
		Attachments []struct {
			PartID, FileName, ContentType string
		}
	}
	getJSON(t, mp.api+"/api/v1/message/"+receipt.ID, &full)
	if len(full.Attachments) != 1 || full.Attachments[0].ContentType != "application/pdf" ||
		!strings.Contains(full.Text, docs[0].Number) || !strings.Contains(full.HTML, "Zoë Øberg") {
		t.Fatalf("receipt mail: %+v", full)
	}
	res, err := http.Get(mp.api + "/api/v1/message/" + receipt.ID + "/part/" + full.Attachments[0].PartID)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
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
	bin := mailpitBin(t)
	port := freePort(t) // nothing listens there yet
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
	mp := startMailpit(t, bin, port)
	msgs := mp.waitMessages(t, 1)
	if !strings.Contains(msgs[0].Subject, "receipt") {
		t.Fatalf("subject %q", msgs[0].Subject)
	}
}
