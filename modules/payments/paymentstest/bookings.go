package paymentstest

import (
	"context"
	"sync"
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/money"
)

// Bookings is a small in-memory bookings.Service for payments' tests: Get
// checks the caller as the contract says (the guest, staff, or a service
// with bookings:read); Hold, List and Cancel are not implemented. Put
// bookings in with Put.
type Bookings struct {
	mu   sync.Mutex
	byID map[string]bookings.Booking
	gets int
}

var _ bookings.Service = (*Bookings)(nil)

// NewBookings returns an empty fake.
func NewBookings() *Bookings { return &Bookings{byID: map[string]bookings.Booking{}} }

// Put adds or replaces a booking.
func (f *Bookings) Put(b bookings.Booking) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byID[b.ID] = b
}

// Gets is how many times Get was called.
func (f *Bookings) Gets() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gets
}

// Pending builds a pending booking of guest, held for another 15 minutes,
// of two nights at 180.00 EUR each (360.00 EUR in all).
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

// Get implements bookings.Service.
func (f *Bookings) Get(ctx context.Context, req bookings.GetRequest) (bookings.Booking, error) {
	p, ok := authn.FromContext(ctx)
	if !ok {
		return bookings.Booking{}, authn.ErrUnauthenticated
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	b, ok := f.byID[req.ID]
	if !ok {
		return bookings.Booking{}, bookings.ErrNotFound
	}
	switch {
	case p.Kind == authn.KindService && p.HasScope(bookings.ScopeRead):
	case p.Kind == authn.KindUser && (p.Subject == b.GuestID || p.HasRole(authn.RoleStaff) || p.HasRole(authn.RoleAdmin)):
	default:
		return bookings.Booking{}, bookings.ErrNotFound
	}
	return b, nil
}

var errNotImplemented = apperr.Internal(errNotImpl{})

type errNotImpl struct{}

func (errNotImpl) Error() string { return "paymentstest.Bookings: not implemented" }

// Hold implements bookings.Service (not implemented).
func (f *Bookings) Hold(context.Context, bookings.HoldRequest) (bookings.Booking, error) {
	return bookings.Booking{}, errNotImplemented
}

// List implements bookings.Service (not implemented).
func (f *Bookings) List(context.Context, bookings.ListRequest) (bookings.BookingList, error) {
	return bookings.BookingList{}, errNotImplemented
}

// Cancel implements bookings.Service (not implemented).
func (f *Bookings) Cancel(context.Context, bookings.CancelRequest) (bookings.Booking, error) {
	return bookings.Booking{}, errNotImplemented
}
