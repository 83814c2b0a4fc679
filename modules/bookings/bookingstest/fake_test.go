package bookingstest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/bookings/bookingstest"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/money"
)

var (
	guest    = authn.WithPrincipal(context.Background(), bookingstest.Guest)
	other    = authn.WithPrincipal(context.Background(), bookingstest.OtherGuest)
	staff    = authn.WithPrincipal(context.Background(), bookingstest.Staff)
	pays     = authn.WithPrincipal(context.Background(), bookingstest.PaymentsService)
	stranger = authn.WithPrincipal(context.Background(), bookingstest.OtherService)
)

// What payments' tests do with the Fake: put a booking, read it as its
// guest or as the payments service; others see nothing.
func TestFake_Get(t *testing.T) {
	f := bookingstest.NewFake()
	b := f.Put(bookings.Booking{GuestID: bookingstest.Guest.Subject, Total: money.New(25000, "EUR")})
	if b.ID == "" || b.Status != bookings.StatusPending || b.Total != money.New(25000, "EUR") || len(b.Nights) != 2 || b.HoldExpiresAt.Before(time.Now()) {
		t.Fatalf("put = %+v", b)
	}
	for name, ctx := range map[string]context.Context{"guest": guest, "staff": staff, "payments": pays} {
		got, err := f.Get(ctx, bookings.GetRequest{ID: b.ID})
		if err != nil || got.ID != b.ID || got.Total != b.Total {
			t.Fatalf("%s: %+v, %v", name, got, err)
		}
	}
	for _, tc := range []struct {
		ctx    context.Context
		id     string
		target *apperr.Error
	}{
		{other, b.ID, bookings.ErrNotFound},
		{stranger, b.ID, authn.ErrForbidden},
		{context.Background(), b.ID, authn.ErrUnauthenticated},
		{guest, "bk_missing", bookings.ErrNotFound},
		{guest, "", bookings.ErrInvalidRequest},
	} {
		if _, err := f.Get(tc.ctx, bookings.GetRequest{ID: tc.id}); !errors.Is(err, tc.target) {
			t.Errorf("Get %q: %v, want %s", tc.id, err, tc.target.Reason)
		}
	}

	// A booking in another status, e.g. to test ErrNotPayable.
	b.Status = bookings.StatusConfirmed
	f.Put(b)
	if got, _ := f.Get(pays, bookings.GetRequest{ID: b.ID}); got.Status != bookings.StatusConfirmed {
		t.Fatalf("status = %s", got.Status)
	}

	outage := apperr.Unavailable("bookings.unavailable", "down")
	f.FailNext(outage)
	if _, err := f.Get(guest, bookings.GetRequest{ID: b.ID}); !errors.Is(err, outage) {
		t.Fatalf("FailNext: %v", err)
	}
	if _, err := f.Get(guest, bookings.GetRequest{ID: b.ID}); err != nil {
		t.Fatalf("after FailNext: %v", err)
	}
}

func TestFake_HoldListCancel(t *testing.T) {
	f := bookingstest.NewFake()
	in := civil.Today(time.UTC).AddDays(10)
	req := bookings.HoldRequest{IdempotencyKey: "k", RoomTypeID: "rt_1", CheckIn: in, CheckOut: in.AddDays(3), Guests: 2}
	b, err := f.Hold(guest, req)
	if err != nil || b.Total != money.New(30000, "EUR") || b.GuestEmail != bookingstest.Guest.Email {
		t.Fatalf("hold = %+v, %v", b, err)
	}
	if again, err := f.Hold(guest, req); err != nil || again.ID != b.ID {
		t.Fatalf("retried hold = %+v, %v", again, err)
	}
	req.Guests = 1
	if _, err := f.Hold(guest, req); !errors.Is(err, bookings.ErrIdempotencyKeyReused) {
		t.Fatalf("reused key: %v", err)
	}
	if _, err := f.Hold(pays, req); !errors.Is(err, authn.ErrForbidden) {
		t.Fatalf("service hold: %v", err)
	}
	f.Put(bookings.Booking{GuestID: bookingstest.OtherGuest.Subject})
	mine, err := f.List(guest, bookings.ListRequest{})
	if err != nil || len(mine.Bookings) != 1 {
		t.Fatalf("guest's list = %+v, %v", mine, err)
	}
	all, err := f.List(staff, bookings.ListRequest{Limit: 1})
	if err != nil || len(all.Bookings) != 1 || all.NextCursor == "" || all.Bookings[0].GuestID != bookingstest.OtherGuest.Subject {
		t.Fatalf("staff's first page = %+v, %v", all, err)
	}
	next, err := f.List(staff, bookings.ListRequest{Limit: 1, Cursor: all.NextCursor})
	if err != nil || len(next.Bookings) != 1 || next.Bookings[0].ID != b.ID || next.NextCursor != "" {
		t.Fatalf("staff's second page = %+v, %v", next, err)
	}
	c, err := f.Cancel(guest, bookings.CancelRequest{ID: b.ID})
	if err != nil || c.Status != bookings.StatusCancelled || c.Refund != money.New(0, "EUR") {
		t.Fatalf("cancel = %+v, %v", c, err)
	}
	if _, err := f.Cancel(guest, bookings.CancelRequest{ID: b.ID}); !errors.Is(err, bookings.ErrNotCancellable) {
		t.Fatalf("cancel again: %v", err)
	}
}
