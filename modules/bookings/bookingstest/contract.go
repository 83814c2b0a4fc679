// Package bookingstest is the bookings test kit: the contract suite every
// bookings.Service passes, and stand-ins (Fake, Events) for other modules' tests.
package bookingstest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/bookings/bookingsmodule"
	"github.com/bellhop/bellhop/platform/observability/contractcov"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/apperr/apperrtest"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/money"
)

// The token issuer the suite signs its callers' tokens with. An HTTP
// implementation under test must verify tokens with IssuerName and Audience
// against the issuer's keys.
const (
	IssuerName = "bellhop-contract"
	Audience   = "bellhop"
)

// Target is an implementation under test with what the suite needs around it.
type Target struct {
	Service bookings.Service
	// Catalog is the search service Service quotes from (a searchtest.Fake
	// will do); the suite adds hotels and room types to it as CatalogStaff.
	Catalog search.Service
	// Pay, if set, makes a payment of the booking's total succeed as the
	// payments module would (a payment.succeeded event on the bus the
	// bookings module consumes) and returns the payment's id. The suite then
	// waits for the booking to be confirmed. Without it, the suite skips what
	// needs a paid booking.
	Pay func(t *testing.T, b bookings.Booking) string
}

// NewTarget builds a fresh, empty service under test, with the default
// cancellation policy and hold time. Callers' tokens are signed by iss.
type NewTarget func(t *testing.T, iss *authntest.Issuer) Target

// The principals the suite calls as.
var (
	Guest      = authn.Principal{Subject: "usr_guest", Kind: authn.KindUser, Email: "guest@bellhop.test", Name: "Gina Guest", Roles: []string{"guest"}}
	OtherGuest = authn.Principal{Subject: "usr_other", Kind: authn.KindUser, Email: "other@bellhop.test", Name: "Otto Other", Roles: []string{"guest"}}
	Staff      = authn.Principal{Subject: "usr_staff", Kind: authn.KindUser, Email: "staff@bellhop.test", Name: "Stan Staff", Roles: []string{"staff"}}
	// PaymentsService reads any booking, as the payments module does.
	PaymentsService = authn.Principal{Subject: "payments", Kind: authn.KindService, Scopes: []string{bookings.ScopeRead}}
	// CatalogStaff builds the catalog the suite books from.
	CatalogStaff = authn.Principal{Subject: "usr_catalog", Kind: authn.KindUser, Roles: []string{"staff"}, Scopes: []string{search.ScopeCatalogWrite}}
	// OtherService is a service without bookings' scope.
	OtherService = authn.Principal{Subject: "reporting", Kind: authn.KindService, Scopes: []string{search.ScopeQuote}}
)

type suite struct {
	target                          Target
	svc                             bookings.Service
	anon, guest, other, staff, pays context.Context
	stranger, catalog               context.Context
	loc                             *time.Location
	today, checkIn, checkOut        civil.Date
	hotelID                         string
	seq                             atomic.Int64
}

// RunContract runs the bookings contract against the implementation newTarget builds.
func RunContract(t *testing.T, newTarget NewTarget) {
	iss := authntest.NewIssuer(t, IssuerName, Audience)
	target := newTarget(t, iss)
	// Every method must answer successfully at least once: one a Client
	// does not implement fails the suite.
	cov := contractcov.New(bookings.Module)
	target.Service = bookingsmodule.Instrument(target.Service, cov.Edge())
	ctx := context.Background()
	loc, err := time.LoadLocation("Europe/Lisbon")
	if err != nil {
		t.Fatal(err)
	}
	s := &suite{
		target: target, svc: target.Service, anon: ctx,
		guest: iss.Context(t, ctx, Guest), other: iss.Context(t, ctx, OtherGuest), staff: iss.Context(t, ctx, Staff),
		pays: iss.Context(t, ctx, PaymentsService), stranger: iss.Context(t, ctx, OtherService),
		catalog: iss.Context(t, ctx, CatalogStaff),
		loc:     loc, today: civil.Today(loc),
	}
	s.checkIn, s.checkOut = s.today.AddDays(10), s.today.AddDays(13)
	s.hotelID = s.hotel(t, "Alfama Rooms")

	t.Run("Hold", s.testHold)
	t.Run("Hold/Idempotent", s.testHoldIdempotent)
	t.Run("Hold/Invalid", s.testHoldInvalid)
	t.Run("Hold/SoldOut", s.testSoldOut)
	t.Run("Get", s.testGet)
	t.Run("List", s.testList)
	t.Run("Cancel", s.testCancel)
	t.Run("PayAndCancel", s.testPayAndCancel)
	cov.CheckIfWhole(t, reflect.TypeFor[bookings.Service]())
}

// hotel adds a hotel in Lisbon to the catalog and returns its id.
func (s *suite) hotel(t *testing.T, name string) string {
	t.Helper()
	h, err := s.target.Catalog.CreateHotel(s.catalog, search.CreateHotelRequest{
		Name: name, City: "Lisbon", Country: "PT", Address: "Rua dos Remédios 1", TimeZone: "Europe/Lisbon", Stars: 3, Rating: 4.2,
	})
	if err != nil {
		t.Fatalf("CreateHotel: %v", err)
	}
	return h.ID
}

// roomType adds a room type for 2 guests with rooms rooms at rate a night
// to the hotel and returns its id.
func (s *suite) roomType(t *testing.T, hotelID string, rooms int, rate int64) string {
	t.Helper()
	rt, err := s.target.Catalog.CreateRoomType(s.catalog, search.CreateRoomTypeRequest{
		HotelID: hotelID, Name: fmt.Sprintf("Double %d", s.seq.Add(1)), MaxGuests: 2, RoomsTotal: rooms, BaseRate: money.New(rate, "EUR"),
	})
	if err != nil {
		t.Fatalf("CreateRoomType: %v", err)
	}
	return rt.ID
}

func (s *suite) hold(t *testing.T, ctx context.Context, req bookings.HoldRequest) bookings.Booking {
	t.Helper()
	b, err := s.svc.Hold(ctx, req)
	if err != nil {
		t.Fatalf("Hold %+v: %v", req, err)
	}
	return b
}

func (s *suite) get(t *testing.T, ctx context.Context, id string) bookings.Booking {
	t.Helper()
	b, err := s.svc.Get(ctx, bookings.GetRequest{ID: id})
	if err != nil {
		t.Fatalf("Get %s: %v", id, err)
	}
	return b
}

// wantErr fails unless err is target (errors.Is) and names exactly fields.
var wantErr = apperrtest.Want

// same fails unless a and b are the same booking in the same state, as
// their JSON says (times compare as instants, in- and out-of-process alike).
func same(t *testing.T, what string, a, b bookings.Booking) {
	t.Helper()
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatalf("%s:\n got %s\nwant %s", what, ja, jb)
	}
}

func eur(amount int64) money.Money { return money.New(amount, "EUR") }

func ids(bs []bookings.Booking) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.ID
	}
	return out
}

func (s *suite) testHold(t *testing.T) {
	rt := s.roomType(t, s.hotelID, 5, 10000)
	start := time.Now()
	b := s.hold(t, s.guest, bookings.HoldRequest{RoomTypeID: rt, CheckIn: s.checkIn, CheckOut: s.checkOut, Guests: 2})
	if !strings.HasPrefix(b.ID, "bk_") || b.Status != bookings.StatusPending {
		t.Fatalf("booking = %+v", b)
	}
	if b.GuestID != Guest.Subject || b.GuestEmail != Guest.Email || b.GuestName != Guest.Name {
		t.Fatalf("guest = %q %q %q", b.GuestID, b.GuestEmail, b.GuestName)
	}
	if b.HotelID != s.hotelID || b.HotelName != "Alfama Rooms" || b.RoomTypeID != rt || !strings.HasPrefix(b.RoomTypeName, "Double ") ||
		b.Address != "Rua dos Remédios 1" || b.City != "Lisbon" || b.Country != "PT" || b.TimeZone != "Europe/Lisbon" {
		t.Fatalf("stay = %+v", b)
	}
	if b.CheckIn != s.checkIn || b.CheckOut != s.checkOut || b.Guests != 2 || b.Total != eur(30000) || len(b.Nights) != 3 ||
		b.Nights[0].Date != s.checkIn || b.Nights[2].Date != s.checkIn.AddDays(2) || b.Nights[1].Price != eur(10000) {
		t.Fatalf("prices = %+v", b)
	}
	if !b.HoldExpiresAt.After(start) || b.HoldExpiresAt.After(start.Add(time.Hour)) {
		t.Fatalf("hold expires at %s", b.HoldExpiresAt)
	}
	// The default policy: free until 48 hours before check-in at 15:00 in
	// the hotel's zone, then the first night is kept.
	freeUntil := time.Date(s.checkIn.Year, s.checkIn.Month, s.checkIn.Day, 15, 0, 0, 0, s.loc).Add(-48 * time.Hour)
	if !b.FreeCancellationUntil.Equal(freeUntil) || b.LateCancellationFee != eur(10000) {
		t.Fatalf("terms = %s, %v; want %s, EUR 100.00", b.FreeCancellationUntil, b.LateCancellationFee, freeUntil)
	}
	if b.CancellationFee != eur(0) || b.Refund != eur(0) || b.PaymentID != "" || b.CreatedAt.IsZero() || b.UpdatedAt.Before(b.CreatedAt) {
		t.Fatalf("booking = %+v", b)
	}
	same(t, "Get after Hold", s.get(t, s.guest, b.ID), b)
}

func (s *suite) testHoldIdempotent(t *testing.T) {
	rt := s.roomType(t, s.hotelID, 5, 10000)
	req := bookings.HoldRequest{IdempotencyKey: "hold-once", RoomTypeID: rt, CheckIn: s.checkIn, CheckOut: s.checkOut, Guests: 2}
	first := s.hold(t, s.guest, req)
	again := s.hold(t, s.guest, req)
	same(t, "the same key and request", again, first)

	t.Run("ErrIdempotencyKeyReused", func(t *testing.T) {
		other := req
		other.Guests = 1
		_, err := s.svc.Hold(s.guest, other)
		wantErr(t, err, bookings.ErrIdempotencyKeyReused)
	})
	t.Run("KeysArePerGuest", func(t *testing.T) {
		b := s.hold(t, s.other, req)
		if b.ID == first.ID || b.GuestID != OtherGuest.Subject {
			t.Fatalf("another guest's hold with the same key = %+v", b)
		}
	})
	t.Run("WithoutKeyEachHoldIsNew", func(t *testing.T) {
		r := req
		r.IdempotencyKey = ""
		a, b := s.hold(t, s.guest, r), s.hold(t, s.guest, r)
		if a.ID == b.ID {
			t.Fatal("two holds without a key made one booking")
		}
	})
}

func (s *suite) testHoldInvalid(t *testing.T) {
	rt := s.roomType(t, s.hotelID, 2, 9000)
	base := bookings.HoldRequest{RoomTypeID: rt, CheckIn: s.checkIn, CheckOut: s.checkOut, Guests: 2}
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		edit   func(*bookings.HoldRequest)
		target *apperr.Error
		fields []string
	}{
		{"ErrUnauthenticated", s.anon, func(*bookings.HoldRequest) {}, authn.ErrUnauthenticated, nil},
		{"ServiceIsForbidden", s.pays, func(*bookings.HoldRequest) {}, authn.ErrForbidden, nil},
		{"Missing", s.guest, func(r *bookings.HoldRequest) { *r = bookings.HoldRequest{} }, bookings.ErrInvalidRequest, []string{"room_type_id", "check_in", "check_out", "guests"}},
		{"KeyTooLong", s.guest, func(r *bookings.HoldRequest) { r.IdempotencyKey = strings.Repeat("k", 256) }, bookings.ErrInvalidRequest, []string{"Idempotency-Key"}},
		{"UnknownRoomType", s.guest, func(r *bookings.HoldRequest) { r.RoomTypeID = "rt_missing" }, search.ErrRoomTypeNotFound, nil},
		{"TooManyGuests", s.guest, func(r *bookings.HoldRequest) { r.Guests = 3 }, search.ErrTooManyGuests, []string{"guests"}},
		{"CheckOutNotAfterCheckIn", s.guest, func(r *bookings.HoldRequest) { r.CheckOut = r.CheckIn }, search.ErrInvalidStay, []string{"check_out"}},
		{"InPast", s.guest, func(r *bookings.HoldRequest) { r.CheckIn = s.today.AddDays(-1) }, search.ErrInvalidStay, []string{"check_in"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := base
			tc.edit(&r)
			_, err := s.svc.Hold(tc.ctx, r)
			wantErr(t, err, tc.target, tc.fields...)
		})
	}
}

func (s *suite) testSoldOut(t *testing.T) {
	rt := s.roomType(t, s.hotelID, 1, 8000)
	req := bookings.HoldRequest{RoomTypeID: rt, CheckIn: s.checkIn, CheckOut: s.checkOut, Guests: 1}
	first := s.hold(t, s.guest, req)

	// The last night of the stay overlaps: sold out, whoever asks.
	overlap := bookings.HoldRequest{RoomTypeID: rt, CheckIn: s.checkOut.AddDays(-1), CheckOut: s.checkOut.AddDays(1), Guests: 1}
	_, err := s.svc.Hold(s.other, overlap)
	wantErr(t, err, bookings.ErrSoldOut)
	_, err = s.svc.Hold(s.guest, req)
	wantErr(t, err, bookings.ErrSoldOut)

	// Check-out day is free for the next guest.
	next := s.hold(t, s.other, bookings.HoldRequest{RoomTypeID: rt, CheckIn: s.checkOut, CheckOut: s.checkOut.AddDays(2), Guests: 1})
	if next.Status != bookings.StatusPending {
		t.Fatalf("next = %+v", next)
	}
	// Cancelling releases every night of the stay.
	if _, err := s.svc.Cancel(s.guest, bookings.CancelRequest{ID: first.ID}); err != nil {
		t.Fatal(err)
	}
	s.hold(t, s.other, bookings.HoldRequest{RoomTypeID: rt, CheckIn: s.checkIn, CheckOut: s.checkOut, Guests: 1})
}

func (s *suite) testGet(t *testing.T) {
	rt := s.roomType(t, s.hotelID, 3, 10000)
	b := s.hold(t, s.guest, bookings.HoldRequest{RoomTypeID: rt, CheckIn: s.checkIn, CheckOut: s.checkOut, Guests: 2})
	t.Run("Own", func(t *testing.T) { same(t, "own", s.get(t, s.guest, b.ID), b) })
	t.Run("Staff", func(t *testing.T) { same(t, "staff", s.get(t, s.staff, b.ID), b) })
	t.Run("ServiceWithScopeRead", func(t *testing.T) { same(t, "payments", s.get(t, s.pays, b.ID), b) })
	t.Run("AnotherGuestsIsNotFound", func(t *testing.T) {
		_, err := s.svc.Get(s.other, bookings.GetRequest{ID: b.ID})
		wantErr(t, err, bookings.ErrNotFound)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := s.svc.Get(s.staff, bookings.GetRequest{ID: "bk_missing"})
		wantErr(t, err, bookings.ErrNotFound)
	})
	t.Run("ErrInvalidRequest", func(t *testing.T) {
		_, err := s.svc.Get(s.guest, bookings.GetRequest{ID: ""})
		wantErr(t, err, bookings.ErrInvalidRequest, "id")
	})
	t.Run("ServiceWithoutScopeIsForbidden", func(t *testing.T) {
		_, err := s.svc.Get(s.stranger, bookings.GetRequest{ID: b.ID})
		wantErr(t, err, authn.ErrForbidden)
	})
	t.Run("ErrUnauthenticated", func(t *testing.T) {
		_, err := s.svc.Get(s.anon, bookings.GetRequest{ID: b.ID})
		wantErr(t, err, authn.ErrUnauthenticated)
	})
}

func (s *suite) testList(t *testing.T) {
	hotel := s.hotel(t, "Listing Lodge")
	rt := s.roomType(t, hotel, 10, 7000)
	var mine []bookings.Booking // oldest first
	for i := range 3 {
		in := s.checkIn.AddDays(i)
		mine = append(mine, s.hold(t, s.guest, bookings.HoldRequest{RoomTypeID: rt, CheckIn: in, CheckOut: in.AddDays(1), Guests: 1}))
	}
	theirs := s.hold(t, s.other, bookings.HoldRequest{RoomTypeID: rt, CheckIn: s.checkIn, CheckOut: s.checkOut, Guests: 1})
	newestFirst := []string{theirs.ID, mine[2].ID, mine[1].ID, mine[0].ID}

	list := func(t *testing.T, ctx context.Context, req bookings.ListRequest) bookings.BookingList {
		t.Helper()
		req.HotelID = hotel
		res, err := s.svc.List(ctx, req)
		if err != nil {
			t.Fatalf("List %+v: %v", req, err)
		}
		return res
	}
	t.Run("GuestSeesOwnOnly", func(t *testing.T) {
		res := list(t, s.guest, bookings.ListRequest{})
		if got := ids(res.Bookings); !slices.Equal(got, newestFirst[1:]) || res.NextCursor != "" {
			t.Fatalf("guest's list = %v (cursor %q), want %v", got, res.NextCursor, newestFirst[1:])
		}
		same(t, "listed", res.Bookings[2], mine[0])
	})
	t.Run("StaffSeesAllInPages", func(t *testing.T) {
		var got []string
		req := bookings.ListRequest{Limit: 3}
		for page := 0; ; page++ {
			if page > 3 {
				t.Fatal("pagination does not end")
			}
			res := list(t, s.staff, req)
			got = append(got, ids(res.Bookings)...)
			if res.NextCursor == "" {
				break
			}
			req.Cursor = res.NextCursor
		}
		if !slices.Equal(got, newestFirst) {
			t.Fatalf("staff's pages = %v, want %v", got, newestFirst)
		}
		if res := list(t, s.pays, bookings.ListRequest{}); len(res.Bookings) != 4 {
			t.Fatalf("a service with %s lists %d", bookings.ScopeRead, len(res.Bookings))
		}
	})
	t.Run("Filters", func(t *testing.T) {
		if _, err := s.svc.Cancel(s.guest, bookings.CancelRequest{ID: mine[1].ID}); err != nil {
			t.Fatal(err)
		}
		res := list(t, s.staff, bookings.ListRequest{Status: bookings.StatusCancelled})
		if got := ids(res.Bookings); !slices.Equal(got, []string{mine[1].ID}) {
			t.Fatalf("cancelled = %v", got)
		}
		res = list(t, s.staff, bookings.ListRequest{From: s.checkIn.AddDays(1), To: s.checkIn.AddDays(2)})
		if got := ids(res.Bookings); !slices.Equal(got, []string{mine[1].ID}) {
			t.Fatalf("checking in on day 11 = %v", got)
		}
		res = list(t, s.guest, bookings.ListRequest{Status: bookings.StatusPending})
		if got := ids(res.Bookings); !slices.Equal(got, []string{mine[2].ID, mine[0].ID}) {
			t.Fatalf("guest's pending = %v", got)
		}
		res, err := s.svc.List(s.staff, bookings.ListRequest{HotelID: "htl_none"})
		if err != nil || res.Bookings == nil || len(res.Bookings) != 0 {
			t.Fatalf("no bookings = %+v, %v (want an empty list, not null)", res.Bookings, err)
		}
	})
	t.Run("ErrInvalidRequest", func(t *testing.T) {
		_, err := s.svc.List(s.guest, bookings.ListRequest{Cursor: "bm90LWEtY3Vyc29y"})
		wantErr(t, err, bookings.ErrInvalidRequest, "cursor")
		_, err = s.svc.List(s.guest, bookings.ListRequest{Limit: 101, Status: "lost"})
		wantErr(t, err, bookings.ErrInvalidRequest, "limit", "status")
		_, err = s.svc.List(s.guest, bookings.ListRequest{From: s.checkIn, To: s.checkIn})
		wantErr(t, err, bookings.ErrInvalidRequest, "to")
	})
	t.Run("Forbidden", func(t *testing.T) {
		_, err := s.svc.List(s.anon, bookings.ListRequest{})
		wantErr(t, err, authn.ErrUnauthenticated)
		_, err = s.svc.List(s.stranger, bookings.ListRequest{})
		wantErr(t, err, authn.ErrForbidden)
	})
}

func (s *suite) testCancel(t *testing.T) {
	rt := s.roomType(t, s.hotelID, 3, 10000)
	req := bookings.HoldRequest{RoomTypeID: rt, CheckIn: s.checkIn, CheckOut: s.checkOut, Guests: 2}
	b := s.hold(t, s.guest, req)
	t.Run("AnotherGuestsIsNotFound", func(t *testing.T) {
		_, err := s.svc.Cancel(s.other, bookings.CancelRequest{ID: b.ID})
		wantErr(t, err, bookings.ErrNotFound)
	})
	t.Run("ServiceIsForbidden", func(t *testing.T) {
		_, err := s.svc.Cancel(s.pays, bookings.CancelRequest{ID: b.ID})
		wantErr(t, err, authn.ErrForbidden)
	})
	t.Run("Pending", func(t *testing.T) {
		// Nothing was paid: nothing is kept, nothing refunded.
		c, err := s.svc.Cancel(s.guest, bookings.CancelRequest{ID: b.ID})
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != bookings.StatusCancelled || c.CancellationFee != eur(0) || c.Refund != eur(0) || c.ID != b.ID || c.Total != b.Total {
			t.Fatalf("cancelled = %+v", c)
		}
		same(t, "Get after Cancel", s.get(t, s.guest, b.ID), c)
	})
	t.Run("ErrNotCancellable", func(t *testing.T) {
		_, err := s.svc.Cancel(s.guest, bookings.CancelRequest{ID: b.ID})
		wantErr(t, err, bookings.ErrNotCancellable)
	})
	t.Run("ByStaff", func(t *testing.T) {
		b := s.hold(t, s.guest, req)
		c, err := s.svc.Cancel(s.staff, bookings.CancelRequest{ID: b.ID})
		if err != nil || c.Status != bookings.StatusCancelled {
			t.Fatalf("staff cancel = %+v, %v", c, err)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		_, err := s.svc.Cancel(s.guest, bookings.CancelRequest{ID: "bk_missing"})
		wantErr(t, err, bookings.ErrNotFound)
		_, err = s.svc.Cancel(s.guest, bookings.CancelRequest{ID: ""})
		wantErr(t, err, bookings.ErrInvalidRequest, "id")
		_, err = s.svc.Cancel(s.anon, bookings.CancelRequest{ID: b.ID})
		wantErr(t, err, authn.ErrUnauthenticated)
	})
}

// confirmed pays b and waits until the bookings module has confirmed it.
func (s *suite) confirmed(t *testing.T, b bookings.Booking) bookings.Booking {
	t.Helper()
	paymentID := s.target.Pay(t, b)
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := s.get(t, s.guest, b.ID)
		if got.Status != bookings.StatusPending {
			if got.Status != bookings.StatusConfirmed || got.PaymentID != paymentID {
				t.Fatalf("after payment %s: %+v", paymentID, got)
			}
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("booking %s still pending 10s after payment %s", b.ID, paymentID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *suite) testPayAndCancel(t *testing.T) {
	if s.target.Pay == nil {
		t.Skip("the target cannot pay")
	}
	rt := s.roomType(t, s.hotelID, 3, 10000)
	t.Run("FreeBeforeTheDeadline", func(t *testing.T) {
		b := s.confirmed(t, s.hold(t, s.guest, bookings.HoldRequest{RoomTypeID: rt, CheckIn: s.checkIn, CheckOut: s.checkOut, Guests: 2}))
		c, err := s.svc.Cancel(s.guest, bookings.CancelRequest{ID: b.ID})
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != bookings.StatusCancelled || c.CancellationFee != eur(0) || c.Refund != eur(30000) || c.PaymentID != b.PaymentID {
			t.Fatalf("cancelled = %+v", c)
		}
	})
	t.Run("FirstNightKeptAfterIt", func(t *testing.T) {
		// Arriving tomorrow: 48 hours before check-in has passed.
		in := s.today.AddDays(1)
		b := s.confirmed(t, s.hold(t, s.guest, bookings.HoldRequest{RoomTypeID: rt, CheckIn: in, CheckOut: in.AddDays(3), Guests: 2}))
		c, err := s.svc.Cancel(s.guest, bookings.CancelRequest{ID: b.ID})
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != bookings.StatusCancelled || c.CancellationFee != eur(10000) || c.Refund != eur(20000) {
			t.Fatalf("cancelled late = %+v", c)
		}
		same(t, "Get after a late cancel", s.get(t, s.staff, b.ID), c)
	})
}
