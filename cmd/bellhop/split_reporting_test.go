package main_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/platform/db"
)

// Reporting in a process of its own (`--only reporting`) builds everything
// from the events a monolith of the other four modules publishes on a
// shared NATS server: the demo catalog's room types (the seed publishes
// them through search's outbox), the welcome mail of a new guest, and the
// receipt of a booking paid through the gateway, which the guest then
// reads through the gateway (calling reporting over HTTP) and finds in
// reporting's mail sink.
func TestSplitMode_Reporting(t *testing.T) {
	natsURL := startNATS(t)
	gwDir, _ := seedWithUsers(t)
	repDir := t.TempDir() // fresh: serve migrates it
	repAddr := freeLoopbackAddr(t)
	common := []string{"BELLHOP_EVENTS_NATS_URL=" + natsURL}

	gw := start(t, common, "--data-dir", gwDir, "--remote", "reporting=http://"+repAddr)
	start(t, common, "--only", "reporting", "--addr", repAddr, "--data-dir", repDir, "--remote", "auth="+gw.URL)

	for _, f := range []string{"auth.db", "search.db", "bookings.db", "payments.db"} {
		if _, err := os.Stat(filepath.Join(repDir, f)); err == nil {
			t.Errorf("the reporting process has a database of a module it does not host: %s", f)
		}
	}

	// The seeded catalog's room types reach reporting (occupancy's rooms
	// available) over NATS.
	rep, err := db.Open(context.Background(), db.Options{Module: reporting.Module, DataDir: repDir, MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rep.Close() })
	var seeded int64
	if err := openStores(t, gwDir).search.Raw("SELECT COUNT(*) FROM room_types").Scan(&seeded).Error; err != nil || seeded == 0 {
		t.Fatalf("seeded room types: %d, %v", seeded, err)
	}
	pollUntil(t, "reporting to know every seeded room type", time.Minute, func() (bool, string) {
		var n int64
		rep.Raw("SELECT COUNT(*) FROM reporting_room_types").Scan(&n)
		return n == seeded, fmt.Sprintf("%d of %d", n, seeded)
	})
	var named int64
	rep.Raw("SELECT COUNT(*) FROM reporting_hotels WHERE name <> id AND time_zone <> ''").Scan(&named)
	if named == 0 {
		t.Error("reporting's hotels have no names or time zones from the room-type events")
	}

	// A guest registers (welcome mail), holds and pays through the gateway.
	guest := registerGuest(t, gw.URL, "split-reporting@guest.example")
	b := holdRoom(t, gw.URL, guest, firstRoomType(t, gw.URL), 20)
	var pm payments.Payment
	if res := send(t, "POST", gw.URL+"/api/v1/payments", guest, fmt.Sprintf(`{"booking_id":%q,"payment_method":"pm_card_visa"}`, b.ID),
		map[string]string{"Idempotency-Key": "split-reporting-pay"}, &pm); res.StatusCode/100 != 2 || pm.Status != payments.StatusSucceeded {
		t.Fatalf("pay: %d %+v", res.StatusCode, pm)
	}
	receipt := waitDocuments(t, gw.URL, guest, b.ID, 1)[0]
	if receipt.Kind != reporting.KindReceipt || receipt.Total != b.Total {
		t.Fatalf("receipt %+v for a booking of %v", receipt, b.Total)
	}
	checkDocument(t, gw.URL, guest, repDir, receipt, "split-reporting@guest.example")
	pollUntil(t, "the welcome mail in reporting's sink", 10*time.Second, func() (bool, string) {
		files, _ := filepath.Glob(filepath.Join(repDir, "mail", "welcome.*.eml"))
		return len(files) > 0, fmt.Sprintf("%d welcome mails", len(files))
	})
}
