// Package pdftexttest reads a PDF's text back with poppler's pdftotext, for
// tests that check what a document says.
package pdftexttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Text is pdf's text as pdftotext -layout reads it. pdftotext is installed
// (poppler-utils) when missing and the test runs as root, as make test does;
// otherwise the test is skipped with the reason.
func Text(t testing.TB, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Geteuid() != 0 {
			t.Skip("pdftotext is not installed and the test is not root: install poppler-utils (make test does)")
		}
		install := exec.Command("sh", "-c", "apt-get install -y poppler-utils || (apt-get update && apt-get install -y poppler-utils)")
		if out, err := install.CombinedOutput(); err != nil {
			t.Fatalf("installing poppler-utils: %v\n%s", err, out)
		}
		if bin, err = exec.LookPath("pdftotext"); err != nil {
			t.Fatal(err)
		}
	}
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
