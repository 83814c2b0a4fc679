package main_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/reporting"
)

// waitDocuments waits until the booking has n documents for token's caller.
func waitDocuments(t *testing.T, base, token, bookingID string, n int) []reporting.DocumentInfo {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var list reporting.DocumentList
		res := call(t, "GET", base+"/api/v1/bookings/"+bookingID+"/documents", token, nil, &list)
		if res.StatusCode == http.StatusOK && len(list.Documents) >= n {
			if len(list.Documents) != n {
				t.Fatalf("%d documents, want %d: %+v", len(list.Documents), n, list.Documents)
			}
			return list.Documents
		}
		if time.Now().After(deadline) {
			t.Fatalf("booking %s: %d (%d documents) after 10s, want %d documents", bookingID, res.StatusCode, len(list.Documents), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkDocument downloads a document as its guest and finds its mail (with
// the PDF attached) in the development sink under dataDir/mail.
func checkDocument(t *testing.T, base, token, dataDir string, d reporting.DocumentInfo, mailWants ...string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/documents/"+d.ID, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(pdf, []byte("%PDF-")) ||
		res.Header.Get("ETag") != `"`+d.SHA256+`"` {
		t.Fatalf("document %s: %d %v", d.Number, res.StatusCode, res.Header)
	}
	eml := filepath.Join(dataDir, "mail", d.ID+"@bellhop.example.eml")
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(eml)
		if err == nil {
			for _, w := range append(mailWants, d.Number, "application/pdf", d.Filename) {
				if !strings.Contains(string(b), w) {
					t.Fatalf("%s lacks %q", eml, w)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail for %s in the sink: %v", d.Number, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
