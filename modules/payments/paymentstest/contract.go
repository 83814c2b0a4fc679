// Package paymentstest is the payments test kit: the contract suite every
// payments.Service passes, and Events, a stand-in for other modules' tests.
package paymentstest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/payments/paymentsmodule"
	"github.com/bellhop/bellhop/platform/observability/contractcov"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/bookings/bookingstest"
	"github.com/bellhop/bellhop/modules/payments"
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
	Service payments.Service
	// Bookings is the bookings service Service reads amounts from; the suite
	// puts the bookings it pays into it.
	Bookings *bookingstest.Fake
}

// NewTarget builds a fresh, empty payments service under test that reads
// bookings from a fresh bookingstest.Fake and charges through a fresh
// sandbox bank (no faults). Callers' tokens are signed by iss.
type NewTarget func(t *testing.T, iss *authntest.Issuer) Target

// The principals the suite calls as.
var (
	Guest    = authn.Principal{Subject: "usr_guest", Kind: authn.KindUser, Email: "guest@bellhop.test", Roles: []string{"guest"}}
	Other    = authn.Principal{Subject: "usr_other", Kind: authn.KindUser, Email: "other@bellhop.test", Roles: []string{"guest"}}
	Lister   = authn.Principal{Subject: "usr_lister", Kind: authn.KindUser, Email: "lister@bellhop.test", Roles: []string{"guest"}}
	Staff    = authn.Principal{Subject: "usr_staff", Kind: authn.KindUser, Email: "staff@bellhop.test", Roles: []string{"staff"}}
	Reporter = authn.Principal{Subject: "reporting", Kind: authn.KindService, Scopes: []string{payments.ScopeRead}}
)

type suite struct {
	svc                  payments.Service
	bk                   *bookingstest.Fake
	anon, guest, other   context.Context
	lister, staff, svcCx context.Context
	mu                   sync.Mutex
	n                    int
}

// RunContract runs the payments contract against the implementation
// newTarget builds.
func RunContract(t *testing.T, newTarget NewTarget) {
	iss := authntest.NewIssuer(t, IssuerName, Audience)
	ctx := context.Background()
	target := newTarget(t, iss)
	// Every method must answer successfully at least once: one a Client
	// does not implement fails the suite.
	cov := contractcov.New(payments.Module)
	target.Service = paymentsmodule.Instrument(target.Service, cov.Edge())
	s := &suite{
		svc: target.Service, bk: target.Bookings,
		anon: ctx, guest: iss.Context(t, ctx, Guest), other: iss.Context(t, ctx, Other),
		lister: iss.Context(t, ctx, Lister), staff: iss.Context(t, ctx, Staff), svcCx: iss.Context(t, ctx, Reporter),
	}
	t.Run("Pay/Succeeded", s.testPaySucceeded)
	t.Run("Pay/Declined", s.testPayDeclined)
	t.Run("Pay/RetryAfterDecline", s.testRetryAfterDecline)
	t.Run("Pay/AlreadyPaid", s.testAlreadyPaid)
	t.Run("Pay/IdempotencyKey", s.testIdempotencyKey)
	t.Run("Pay/ConcurrentReplays", s.testConcurrentReplays)
	t.Run("Pay/NotYours", s.testNotYours)
	t.Run("Pay/NotPayable", s.testNotPayable)
	t.Run("Pay/Invalid", s.testPayInvalid)
	t.Run("Pay/Callers", s.testPayCallers)
	t.Run("Get", s.testGet)
	t.Run("List", s.testList)
	t.Run("List/Pages", s.testListPages)
	t.Run("List/Invalid", s.testListInvalid)
	cov.CheckIfWhole(t, reflect.TypeFor[payments.Service]())
}

// Pending builds a pending booking of guest, held for another 15 minutes,
// of two nights at 180.00 EUR each (360.00 EUR in all), to put into a
// bookingstest.Fake.
func Pending(id, guest string) bookings.Booking {
	in := civil.Today(time.UTC).AddDays(30)
	now := time.Now().UTC().Truncate(time.Second)
	night := money.New(18000, "EUR")
	return bookings.Booking{
		ID: id, Status: bookings.StatusPending, GuestID: guest, GuestEmail: guest + "@bellhop.test", GuestName: "Guest " + guest,
		HotelID: "htl_test", HotelName: "Test Inn", RoomTypeID: "rt_test", RoomTypeName: "Double",
		Address: "Rua Augusta 1", City: "Lisbon", Country: "PT", TimeZone: "Europe/Lisbon",
		CheckIn: in, CheckOut: in.AddDays(2), Guests: 2,
		Nights: []bookings.NightPrice{{Date: in, Price: night}, {Date: in.AddDays(1), Price: night}},
		Total:  money.New(36000, "EUR"), HoldExpiresAt: now.Add(15 * time.Minute),
		CreatedAt: now, UpdatedAt: now,
	}
}

// booking puts a fresh pending booking of guest into the fake.
func (s *suite) booking(guest authn.Principal) bookings.Booking {
	s.mu.Lock()
	s.n++
	id := fmt.Sprintf("bkg_contract_%03d", s.n)
	s.mu.Unlock()
	b := Pending(id, guest.Subject)
	s.bk.Put(b)
	return b
}

func (s *suite) key() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	return fmt.Sprintf("key-%03d", s.n)
}

func (s *suite) pay(t *testing.T, ctx context.Context, b bookings.Booking, token string) payments.Payment {
	t.Helper()
	p, err := s.svc.Pay(ctx, payments.PayRequest{IdempotencyKey: s.key(), BookingID: b.ID, PaymentMethod: token})
	if err != nil {
		t.Fatalf("Pay %s with %s: %v", b.ID, token, err)
	}
	return p
}

// wantErr fails unless err is target (errors.Is) and names exactly fields.
var wantErr = apperrtest.Want

func same(t *testing.T, what string, got, want payments.Payment) {
	t.Helper()
	if !reflect.DeepEqual(normal(got), normal(want)) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// normal makes times comparable with ==-like semantics across a JSON hop.
func normal(p payments.Payment) payments.Payment {
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p
}

func (s *suite) testPaySucceeded(t *testing.T) {
	b := s.booking(Guest)
	key := s.key()
	req := payments.PayRequest{IdempotencyKey: key, BookingID: b.ID, PaymentMethod: "pm_card_visa"}
	p, err := s.svc.Pay(s.guest, req)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID == "" || p.BookingID != b.ID || p.GuestID != Guest.Subject || p.Status != payments.StatusSucceeded || p.Provider != "sandbox" {
		t.Fatalf("payment = %+v", p)
	}
	if p.Amount != b.Total || p.Refunded != money.New(0, "EUR") {
		t.Fatalf("amount = %v, refunded = %v; want %v and nothing", p.Amount, p.Refunded, b.Total)
	}
	if p.Card == nil || *p.Card != (payments.Card{Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2034}) {
		t.Fatalf("card = %+v", p.Card)
	}
	if p.FailureCode != "" || p.FailureMessage != "" || p.CreatedAt.IsZero() || p.UpdatedAt.Before(p.CreatedAt) {
		t.Fatalf("payment = %+v", p)
	}
	again, err := s.svc.Pay(s.guest, req)
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	same(t, "replay", again, p)
	got, err := s.svc.Get(s.guest, payments.GetRequest{ID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "Get", got, p)
}

func (s *suite) testPayDeclined(t *testing.T) {
	for token, code := range map[string]string{
		"pm_card_chargeDeclined":    "card_declined",
		"pm_card_insufficientFunds": "insufficient_funds",
		"pm_card_expired":           "expired_card",
		"pm_card_processingError":   "processing_error",
		"pm_card_doesNotExist":      "invalid_payment_method",
	} {
		t.Run(token, func(t *testing.T) {
			b := s.booking(Guest)
			p := s.pay(t, s.guest, b, token)
			if p.Status != payments.StatusFailed || p.FailureCode != code || p.FailureMessage == "" || p.Amount != b.Total {
				t.Fatalf("payment = %+v, want failed with %s", p, code)
			}
		})
	}
	t.Run("CardReported", func(t *testing.T) {
		p := s.pay(t, s.guest, s.booking(Guest), "pm_card_chargeDeclined")
		if p.Card == nil || p.Card.Brand != "visa" || p.Card.Last4 != "0002" {
			t.Fatalf("card = %+v", p.Card)
		}
	})
}

func (s *suite) testRetryAfterDecline(t *testing.T) {
	b := s.booking(Guest)
	if p := s.pay(t, s.guest, b, "pm_card_insufficientFunds"); p.Status != payments.StatusFailed {
		t.Fatalf("first = %+v", p)
	}
	p := s.pay(t, s.guest, b, "pm_card_mastercard")
	if p.Status != payments.StatusSucceeded || p.Card == nil || p.Card.Brand != "mastercard" {
		t.Fatalf("second = %+v", p)
	}
	list, err := s.svc.List(s.guest, payments.ListRequest{BookingID: b.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Payments) != 2 || list.Payments[0].ID != p.ID || list.Payments[1].Status != payments.StatusFailed {
		t.Fatalf("payments of the booking = %+v", list.Payments)
	}
}

func (s *suite) testAlreadyPaid(t *testing.T) {
	b := s.booking(Guest)
	s.pay(t, s.guest, b, "pm_card_visa")
	_, err := s.svc.Pay(s.guest, payments.PayRequest{IdempotencyKey: s.key(), BookingID: b.ID, PaymentMethod: "pm_card_visa"})
	wantErr(t, err, payments.ErrAlreadyPaid)
}

func (s *suite) testIdempotencyKey(t *testing.T) {
	b := s.booking(Guest)
	t.Run("Required", func(t *testing.T) {
		_, err := s.svc.Pay(s.guest, payments.PayRequest{BookingID: b.ID, PaymentMethod: "pm_card_visa"})
		wantErr(t, err, payments.ErrIdempotencyKeyRequired)
	})
	key := s.key()
	first, err := s.svc.Pay(s.guest, payments.PayRequest{IdempotencyKey: key, BookingID: b.ID, PaymentMethod: "pm_card_chargeDeclined"})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("ReusedWithAnotherToken", func(t *testing.T) {
		_, err := s.svc.Pay(s.guest, payments.PayRequest{IdempotencyKey: key, BookingID: b.ID, PaymentMethod: "pm_card_visa"})
		wantErr(t, err, payments.ErrIdempotencyKeyReused)
	})
	t.Run("ReusedWithAnotherBooking", func(t *testing.T) {
		_, err := s.svc.Pay(s.guest, payments.PayRequest{IdempotencyKey: key, BookingID: s.booking(Guest).ID, PaymentMethod: "pm_card_chargeDeclined"})
		wantErr(t, err, payments.ErrIdempotencyKeyReused)
	})
	t.Run("ReplayOfAFailure", func(t *testing.T) {
		again, err := s.svc.Pay(s.guest, payments.PayRequest{IdempotencyKey: key, BookingID: b.ID, PaymentMethod: "pm_card_chargeDeclined"})
		if err != nil {
			t.Fatal(err)
		}
		same(t, "replay", again, first)
	})
	t.Run("ScopedPerCaller", func(t *testing.T) {
		ob := s.booking(Other)
		p, err := s.svc.Pay(s.other, payments.PayRequest{IdempotencyKey: key, BookingID: ob.ID, PaymentMethod: "pm_card_visa"})
		if err != nil {
			t.Fatal(err)
		}
		if p.ID == first.ID || p.GuestID != Other.Subject || p.Status != payments.StatusSucceeded {
			t.Fatalf("other guest's payment with the same key = %+v", p)
		}
	})
}

func (s *suite) testConcurrentReplays(t *testing.T) {
	b := s.booking(Guest)
	req := payments.PayRequest{IdempotencyKey: s.key(), BookingID: b.ID, PaymentMethod: "pm_card_visa"}
	const n = 10
	got := make([]payments.Payment, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = s.svc.Pay(s.guest, req) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		same(t, fmt.Sprintf("answer %d", i), got[i], got[0])
	}
	if got[0].Status != payments.StatusSucceeded {
		t.Fatalf("payment = %+v", got[0])
	}
	list, err := s.svc.List(s.guest, payments.ListRequest{BookingID: b.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Payments) != 1 {
		t.Fatalf("%d payments of the booking, want 1", len(list.Payments))
	}
}

func (s *suite) testNotYours(t *testing.T) {
	b := s.booking(Guest)
	_, err := s.svc.Pay(s.other, payments.PayRequest{IdempotencyKey: s.key(), BookingID: b.ID, PaymentMethod: "pm_card_visa"})
	wantErr(t, err, bookings.ErrNotFound)
	_, err = s.svc.Pay(s.guest, payments.PayRequest{IdempotencyKey: s.key(), BookingID: "bkg_nope", PaymentMethod: "pm_card_visa"})
	wantErr(t, err, bookings.ErrNotFound)
}

func (s *suite) testNotPayable(t *testing.T) {
	t.Run("Confirmed", func(t *testing.T) {
		b := s.booking(Guest)
		b.Status = bookings.StatusConfirmed
		s.bk.Put(b)
		_, err := s.svc.Pay(s.guest, payments.PayRequest{IdempotencyKey: s.key(), BookingID: b.ID, PaymentMethod: "pm_card_visa"})
		wantErr(t, err, payments.ErrNotPayable)
	})
	t.Run("HoldExpired", func(t *testing.T) {
		b := s.booking(Guest)
		b.HoldExpiresAt = time.Now().Add(-time.Second)
		s.bk.Put(b)
		_, err := s.svc.Pay(s.guest, payments.PayRequest{IdempotencyKey: s.key(), BookingID: b.ID, PaymentMethod: "pm_card_visa"})
		wantErr(t, err, payments.ErrNotPayable)
	})
}

func (s *suite) testPayInvalid(t *testing.T) {
	b := s.booking(Guest)
	_, err := s.svc.Pay(s.guest, payments.PayRequest{IdempotencyKey: s.key(), BookingID: b.ID, PaymentMethod: "4242424242424242"})
	wantErr(t, err, payments.ErrInvalidRequest, "payment_method")
	_, err = s.svc.Pay(s.guest, payments.PayRequest{IdempotencyKey: s.key(), BookingID: " ", PaymentMethod: ""})
	wantErr(t, err, payments.ErrInvalidRequest, "booking_id", "payment_method")
	long := make([]byte, 256)
	for i := range long {
		long[i] = 'k'
	}
	_, err = s.svc.Pay(s.guest, payments.PayRequest{IdempotencyKey: string(long), BookingID: b.ID, PaymentMethod: "pm_card_visa"})
	wantErr(t, err, payments.ErrInvalidRequest)
}

func (s *suite) testPayCallers(t *testing.T) {
	b := s.booking(Guest)
	_, err := s.svc.Pay(s.anon, payments.PayRequest{IdempotencyKey: s.key(), BookingID: b.ID, PaymentMethod: "pm_card_visa"})
	wantErr(t, err, authn.ErrUnauthenticated)
	_, err = s.svc.Pay(s.svcCx, payments.PayRequest{IdempotencyKey: s.key(), BookingID: b.ID, PaymentMethod: "pm_card_visa"})
	wantErr(t, err, authn.ErrForbidden)
}

func (s *suite) testGet(t *testing.T) {
	p := s.pay(t, s.guest, s.booking(Guest), "pm_card_visa")
	for name, ctx := range map[string]context.Context{"Staff": s.staff, "Service": s.svcCx} {
		t.Run(name, func(t *testing.T) {
			got, err := s.svc.Get(ctx, payments.GetRequest{ID: p.ID})
			if err != nil {
				t.Fatal(err)
			}
			same(t, "Get", got, p)
		})
	}
	t.Run("AnotherGuests", func(t *testing.T) {
		_, err := s.svc.Get(s.other, payments.GetRequest{ID: p.ID})
		wantErr(t, err, payments.ErrNotFound)
	})
	t.Run("Unknown", func(t *testing.T) {
		_, err := s.svc.Get(s.guest, payments.GetRequest{ID: "pay_nope"})
		wantErr(t, err, payments.ErrNotFound)
	})
	t.Run("Anonymous", func(t *testing.T) {
		_, err := s.svc.Get(s.anon, payments.GetRequest{ID: p.ID})
		wantErr(t, err, authn.ErrUnauthenticated)
	})
	t.Run("Invalid", func(t *testing.T) {
		_, err := s.svc.Get(s.guest, payments.GetRequest{ID: " "})
		wantErr(t, err, payments.ErrInvalidRequest, "id")
	})
}

func (s *suite) testList(t *testing.T) {
	ok := s.pay(t, s.lister, s.booking(Lister), "pm_card_visa")
	failed := s.pay(t, s.lister, s.booking(Lister), "pm_card_expired")
	others := s.pay(t, s.other, s.booking(Other), "pm_card_visa")

	mine, err := s.svc.List(s.lister, payments.ListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(mine.Payments) != 2 || mine.Payments[0].ID != failed.ID || mine.Payments[1].ID != ok.ID || mine.NextCursor != "" {
		t.Fatalf("lister's payments = %+v", mine)
	}
	same(t, "listed", mine.Payments[1], ok)

	// A guest's filters cannot reach another guest's payments.
	none, err := s.svc.List(s.lister, payments.ListRequest{BookingID: others.BookingID})
	if err != nil {
		t.Fatal(err)
	}
	if len(none.Payments) != 0 {
		t.Fatalf("another guest's payments listed: %+v", none.Payments)
	}
	byStatus, err := s.svc.List(s.lister, payments.ListRequest{Status: payments.StatusFailed})
	if err != nil {
		t.Fatal(err)
	}
	if len(byStatus.Payments) != 1 || byStatus.Payments[0].ID != failed.ID {
		t.Fatalf("failed payments = %+v", byStatus.Payments)
	}

	staff, err := s.svc.List(s.staff, payments.ListRequest{BookingID: others.BookingID})
	if err != nil {
		t.Fatal(err)
	}
	if len(staff.Payments) != 1 || staff.Payments[0].ID != others.ID {
		t.Fatalf("staff by booking = %+v", staff.Payments)
	}
	all, err := s.svc.List(s.staff, payments.ListRequest{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	guests := map[string]bool{}
	for _, p := range all.Payments {
		guests[p.GuestID] = true
	}
	if !guests[Lister.Subject] || !guests[Other.Subject] || !guests[Guest.Subject] {
		t.Fatalf("staff sees payments of %v", guests)
	}
	if _, err := s.svc.List(s.anon, payments.ListRequest{}); !errors.Is(err, authn.ErrUnauthenticated) {
		t.Fatalf("anonymous List: err = %v", err)
	}
}

func (s *suite) testListPages(t *testing.T) {
	all, err := s.svc.List(s.staff, payments.ListRequest{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Payments) < 5 {
		t.Fatalf("only %d payments to page through", len(all.Payments))
	}
	var paged []string
	cursor := ""
	for page := 0; ; page++ {
		res, err := s.svc.List(s.staff, payments.ListRequest{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Payments) > 2 || page > 100 {
			t.Fatalf("page %d has %d payments", page, len(res.Payments))
		}
		for _, p := range res.Payments {
			paged = append(paged, p.ID)
		}
		if res.NextCursor == "" {
			break
		}
		cursor = res.NextCursor
	}
	var want []string
	for _, p := range all.Payments {
		want = append(want, p.ID)
	}
	if !slices.Equal(paged, want) {
		t.Fatalf("pages = %v, want %v", paged, want)
	}
	for i := 1; i < len(all.Payments); i++ {
		if all.Payments[i].CreatedAt.After(all.Payments[i-1].CreatedAt) {
			t.Fatalf("not newest first at %d", i)
		}
	}
}

func (s *suite) testListInvalid(t *testing.T) {
	_, err := s.svc.List(s.staff, payments.ListRequest{Cursor: "garbage"})
	wantErr(t, err, payments.ErrInvalidRequest, "cursor")
	_, err = s.svc.List(s.staff, payments.ListRequest{Status: "lost"})
	wantErr(t, err, payments.ErrInvalidRequest, "status")
	_, err = s.svc.List(s.staff, payments.ListRequest{Limit: 101})
	wantErr(t, err, payments.ErrInvalidRequest, "limit")
}
