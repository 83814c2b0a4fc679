package main_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/platform/db"
)

// reportingDoc is what the crash test reads of an issued document.
type reportingDoc struct {
	ID, Kind, Series, Number, BookingID string
	Seq                                 int64
	PDFSize                             int64
	Rendered                            bool
}

// reportingState reads reporting's database beside the process that owns it.
type reportingState struct{ d *db.DB }

func openReporting(t *testing.T, dir string) reportingState {
	t.Helper()
	d, err := db.Open(context.Background(), db.Options{Module: "reporting", DataDir: dir, MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return reportingState{d}
}

func (r reportingState) documents(t *testing.T) []reportingDoc {
	t.Helper()
	var docs []reportingDoc
	if err := r.d.Raw(`SELECT id, kind, series, number, booking_id, seq, length(pdf) AS pdf_size, rendered_at IS NOT NULL AS rendered
		FROM reporting_documents ORDER BY series, seq`).Scan(&docs).Error; err != nil {
		t.Fatal(err)
	}
	return docs
}

// problems lists what breaks reporting's promises in dir, given the
// bookings that bookings has confirmed (nothing once reporting caught up):
//   - every booking reporting saw confirmed, and every booking confirmed in
//     bookings' database, has exactly one receipt;
//   - every series is numbered 1..N with no gap or duplicate, and its
//     counter says N;
//   - every document is drawn (a PDF stored) and has exactly one mail, sent,
//     and one file in the mail sink; the sink has no other document mail.
func (r reportingState) problems(t *testing.T, dir string, confirmedInBookings []string) []string {
	t.Helper()
	var out []string
	docs := r.documents(t)
	receipts := map[string]int{}
	bySeries := map[string][]int64{}
	for _, d := range docs {
		if d.Kind == "receipt" {
			receipts[d.BookingID]++
		}
		bySeries[d.Series] = append(bySeries[d.Series], d.Seq)
		if !d.Rendered || d.PDFSize == 0 {
			out = append(out, fmt.Sprintf("document %s not drawn", d.Number))
		}
	}
	var seenConfirmed []string
	if err := r.d.Raw("SELECT id FROM reporting_bookings WHERE confirmed_date <> ''").Scan(&seenConfirmed).Error; err != nil {
		t.Fatal(err)
	}
	for _, id := range append(seenConfirmed, confirmedInBookings...) {
		if n := receipts[id]; n != 1 {
			out = append(out, fmt.Sprintf("booking %s has %d receipts", id, n))
		}
	}
	for series, seqs := range bySeries {
		sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
		for i, s := range seqs {
			if s != int64(i+1) {
				out = append(out, fmt.Sprintf("series %s: number %d at place %d (a gap or a duplicate)", series, s, i+1))
				break
			}
		}
		var last int64
		if err := r.d.Raw("SELECT last FROM reporting_series WHERE series = ?", series).Scan(&last).Error; err != nil {
			t.Fatal(err)
		}
		if last != int64(len(seqs)) {
			out = append(out, fmt.Sprintf("series %s: counter at %d, %d documents", series, last, len(seqs)))
		}
	}
	var mails []struct {
		DocumentID, MessageID string
		Sent                  bool
	}
	if err := r.d.Raw("SELECT document_id, message_id, sent_at IS NOT NULL AS sent FROM reporting_mail WHERE document_id <> ''").
		Scan(&mails).Error; err != nil {
		t.Fatal(err)
	}
	mailsOf := map[string]int{}
	for _, m := range mails {
		mailsOf[m.DocumentID]++
		if !m.Sent {
			out = append(out, fmt.Sprintf("mail %s not sent", m.MessageID))
		} else if _, err := os.Stat(filepath.Join(dir, "mail", m.MessageID+".eml")); err != nil {
			out = append(out, fmt.Sprintf("mail %s sent but not in the sink: %v", m.MessageID, err))
		}
	}
	for _, d := range docs {
		if n := mailsOf[d.ID]; n != 1 {
			out = append(out, fmt.Sprintf("document %s has %d mails", d.Number, n))
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "mail", "doc_*.eml"))
	if len(files) != len(docs) {
		out = append(out, fmt.Sprintf("%d document mails in the sink for %d documents", len(files), len(docs)))
	}
	return out
}

// SIGKILL while receipts are in flight: the monolith dies 2 s into a load
// run of bookings and payments, while bookings are being confirmed and
// their receipts numbered, drawn and mailed. After a restart on the same
// data every confirmed booking has exactly one receipt, every series has
// no gap and no duplicate, and every document was drawn and mailed once
// (one mail row, sent, one file in the sink).
func TestReporting_SIGKILLMidStream(t *testing.T) {
	dir, adminPassword := seedWithUsers(t)
	// Payments left processing by the kill are settled within seconds, as in
	// TestInvariants_CrashMidLoad.
	env, p, run := killMidLoad(t, dir, "50ms")
	_ = run.wait(t, time.Minute) // requests after the kill fail: expected
	for _, l := range strings.Split(p.logs.String(), "\n") {
		if strings.Contains(l, "render") || strings.Contains(l, `"module":"reporting"`) && strings.Contains(l, `"level":"WARN"`) {
			t.Log(l)
		}
	}

	rep := openReporting(t, dir)
	atKill := rep.documents(t)
	undrawn := 0
	for _, d := range atKill {
		if !d.Rendered {
			undrawn++
		}
	}
	var unsent int64
	rep.d.Raw("SELECT COUNT(*) FROM reporting_mail WHERE sent_at IS NULL").Scan(&unsent)
	t.Logf("at the kill: %d documents, %d numbered but not drawn, %d mails not sent", len(atKill), undrawn, unsent)
	if len(atKill) == 0 {
		t.Fatal("no document issued before the kill: the test proves less than it says")
	}

	p = start(t, env, "--data-dir", dir)
	checkOnly(t, p.URL, adminPassword, 30*time.Second)
	s := openStores(t, dir)
	s.waitSettled(t, 30*time.Second)
	var confirmed []string
	if err := s.bookings.Raw("SELECT id FROM bookings WHERE status = 'confirmed'").Scan(&confirmed).Error; err != nil {
		t.Fatal(err)
	}
	if len(confirmed) == 0 {
		t.Fatal("no booking confirmed")
	}
	var left []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		if left = rep.problems(t, dir, confirmed); len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			if len(left) > 20 {
				left = append(left[:20], fmt.Sprintf("... and %d more", len(left)-20))
			}
			t.Fatalf("after the restart:\n  %s", strings.Join(left, "\n  "))
		}
	}
	t.Logf("after the restart: %d documents for %d confirmed bookings, all drawn and mailed once", len(rep.documents(t)), len(confirmed))
}
