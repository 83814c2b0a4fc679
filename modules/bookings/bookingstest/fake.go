package bookingstest

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/money"
	"github.com/bellhop/bellhop/platform/validation"
)

// Fake is an in-memory bookings.Service for other modules' tests, such as
// payments reading the booking it is asked to charge. Put the bookings a
// test needs (in any status) and call as their guest, as staff, or as a
// service with bookings.ScopeRead (authn.WithPrincipal; no tokens needed):
// it checks callers like the real module (another guest's booking is
// ErrNotFound, no principal is authn.ErrUnauthenticated), validates
// requests, and returns the same errors. FailNext injects an error, to test
// how a caller copes with bookings failing; Gets counts the reads, to test
// a caller that should not read again.
//
// Beyond that it is simpler than the module: Hold asks no search (every
// room type exists, is never sold out, and costs NightlyRate a night in a
// hotel in UTC), nothing expires on its own (Put a booking in the status
// you need), and no events are published. It is safe for concurrent use.
type Fake struct {
	// NightlyRate is the price of every night Hold books (default EUR 100.00).
	NightlyRate money.Money
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu       sync.Mutex
	seq      int
	failNext error
	gets     int
	bookings map[string]*bookings.Booking
	order    map[string]int    // id → creation order, for newest first
	keys     map[string]string // guest id + "\x00" + idempotency key → booking id
}

var _ bookings.Service = (*Fake)(nil)

var fakeValidator = validation.New()

// NewFake returns an empty Fake.
func NewFake() *Fake {
	return &Fake{
		NightlyRate: money.New(10000, "EUR"),
		bookings:    map[string]*bookings.Booking{},
		order:       map[string]int{},
		keys:        map[string]string{},
	}
}

func (f *Fake) now() time.Time {
	if f.Now != nil {
		return f.Now().UTC()
	}
	return time.Now().UTC()
}

// FailNext makes the next call to any method return err before checking
// anything (e.g. apperr.Unavailable(...) for a bookings outage); the calls
// after it behave normally. FailNext(nil) cancels a pending failure.
func (f *Fake) FailNext(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext = err
}

// Gets is how many times Get was called.
func (f *Fake) Gets() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gets
}

// Put stores b, replacing a booking with its id, and returns it as stored.
// Unset fields get defaults: an id, status pending, a stay of two nights in
// 30 days at NightlyRate, a hold expiring in 15 minutes, the default
// cancellation terms, zero fee and refund, and timestamps.
func (f *Fake) Put(b bookings.Booking) bookings.Booking {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.put(b)
}

// put is Put with f.mu held.
func (f *Fake) put(b bookings.Booking) bookings.Booking {
	now := f.now()
	if b.ID == "" {
		f.seq++
		b.ID = fmt.Sprintf("bk_fake%06d", f.seq)
	}
	if b.Status == "" {
		b.Status = bookings.StatusPending
	}
	if b.CheckIn.IsZero() {
		b.CheckIn = civil.Of(now).AddDays(30)
	}
	if b.CheckOut.IsZero() {
		b.CheckOut = b.CheckIn.AddDays(2)
	}
	if b.Guests == 0 {
		b.Guests = 1
	}
	if b.TimeZone == "" {
		b.TimeZone = "UTC"
	}
	if b.HotelID == "" {
		b.HotelID, b.HotelName, b.RoomTypeID, b.RoomTypeName = "htl_fake", "Fake Hotel", "rt_fake", "Double"
		b.Address, b.City, b.Country = "1 Test Street", "Testville", "PT"
	}
	if len(b.Nights) == 0 {
		b.Nights = []bookings.NightPrice{}
		for _, d := range civil.Nights(b.CheckIn, b.CheckOut) {
			b.Nights = append(b.Nights, bookings.NightPrice{Date: d, Price: f.NightlyRate})
		}
	}
	if b.Total.IsZero() {
		b.Total = money.New(0, b.Nights[0].Price.Currency)
		for _, n := range b.Nights {
			b.Total.Amount += n.Price.Amount
		}
	}
	cur := b.Total.Currency
	if b.HoldExpiresAt.IsZero() {
		b.HoldExpiresAt = now.Add(15 * time.Minute)
	}
	if b.FreeCancellationUntil.IsZero() {
		loc, err := time.LoadLocation(b.TimeZone)
		if err != nil {
			loc = time.UTC
		}
		b.FreeCancellationUntil = time.Date(b.CheckIn.Year, b.CheckIn.Month, b.CheckIn.Day, 15, 0, 0, 0, loc).Add(-48 * time.Hour).UTC()
	}
	if b.LateCancellationFee.IsZero() {
		b.LateCancellationFee = b.Nights[0].Price
	}
	if b.CancellationFee.IsZero() {
		b.CancellationFee = money.New(0, cur)
	}
	if b.Refund.IsZero() {
		b.Refund = money.New(0, cur)
	}
	if b.CreatedAt.IsZero() {
		b.CreatedAt = now
	}
	if b.UpdatedAt.IsZero() {
		b.UpdatedAt = b.CreatedAt
	}
	if _, ok := f.order[b.ID]; !ok {
		f.order[b.ID] = len(f.order)
	}
	stored := b
	f.bookings[b.ID] = &stored
	return b
}

// enter starts a call, with f.mu held: the error FailNext set, then the
// caller's principal, then the request's validity.
func (f *Fake) enter(ctx context.Context, req any) (authn.Principal, error) {
	if err := f.failNext; err != nil {
		f.failNext = nil
		return authn.Principal{}, err
	}
	p, ok := authn.FromContext(ctx)
	if !ok {
		return p, authn.ErrUnauthenticated
	}
	return p, fakeValidator.Struct(bookings.ErrInvalidRequest.Reason, req)
}

// readsAll and mayRead check callers as bookingslocal does.
func readsAll(caller authn.Principal) bool {
	return caller.IsStaff() || caller.HasScope(bookings.ScopeRead)
}

func mayRead(caller authn.Principal) error {
	if caller.IsService() && !caller.HasScope(bookings.ScopeRead) {
		return authn.ErrForbidden.With("this needs the %q scope", bookings.ScopeRead)
	}
	return nil
}

// Hold implements bookings.Service (without search: see Fake).
func (f *Fake) Hold(ctx context.Context, req bookings.HoldRequest) (bookings.Booking, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := f.enter(ctx, req)
	if err != nil {
		return bookings.Booking{}, err
	}
	if p.IsService() {
		return bookings.Booking{}, authn.ErrForbidden.With("holding a room needs a signed-in guest, not a service")
	}
	if !req.CheckIn.Before(req.CheckOut) {
		return bookings.Booking{}, bookings.ErrInvalidRequest.WithFields(apperr.FieldError{Field: "check_out", Reason: "not_after_check_in", Detail: "must be after check_in"})
	}
	key := p.Subject + "\x00" + req.IdempotencyKey
	if id, ok := f.keys[key]; ok && req.IdempotencyKey != "" {
		b := *f.bookings[id]
		if b.RoomTypeID != req.RoomTypeID || b.CheckIn != req.CheckIn || b.CheckOut != req.CheckOut || b.Guests != req.Guests {
			return bookings.Booking{}, bookings.ErrIdempotencyKeyReused
		}
		return b, nil
	}
	b := f.put(bookings.Booking{
		GuestID: p.Subject, GuestEmail: p.Email, GuestName: p.Name,
		HotelID: "htl_fake", HotelName: "Fake Hotel", RoomTypeID: req.RoomTypeID, RoomTypeName: "Double",
		Address: "1 Test Street", City: "Testville", Country: "PT",
		CheckIn: req.CheckIn, CheckOut: req.CheckOut, Guests: req.Guests,
	})
	if req.IdempotencyKey != "" {
		f.keys[key] = b.ID
	}
	return b, nil
}

// Get implements bookings.Service.
func (f *Fake) Get(ctx context.Context, req bookings.GetRequest) (bookings.Booking, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	b, err := f.visible(ctx, req, req.ID)
	if err != nil {
		return bookings.Booking{}, err
	}
	return *b, nil
}

// visible enters the call and finds the booking the caller may see.
func (f *Fake) visible(ctx context.Context, req any, id string) (*bookings.Booking, error) {
	p, err := f.enter(ctx, req)
	if err == nil {
		err = mayRead(p)
	}
	if err != nil {
		return nil, err
	}
	b, ok := f.bookings[id]
	if !ok || (!readsAll(p) && b.GuestID != p.Subject) {
		return nil, bookings.ErrNotFound
	}
	return b, nil
}

// List implements bookings.Service.
func (f *Fake) List(ctx context.Context, req bookings.ListRequest) (bookings.BookingList, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := f.enter(ctx, req)
	if err == nil {
		err = mayRead(p)
	}
	if err != nil {
		return bookings.BookingList{}, err
	}
	after := -1
	if req.Cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(req.Cursor)
		pos, ok := f.order[string(raw)]
		if err != nil || !ok {
			return bookings.BookingList{}, bookings.ErrInvalidRequest.WithFields(apperr.FieldError{Field: "cursor", Reason: "invalid", Detail: "is not a cursor this list returned"})
		}
		after = pos
	}
	var found []*bookings.Booking
	for _, b := range f.bookings {
		switch {
		case !readsAll(p) && b.GuestID != p.Subject,
			req.HotelID != "" && b.HotelID != req.HotelID,
			req.Status != "" && b.Status != req.Status,
			!req.From.IsZero() && b.CheckIn.Before(req.From),
			!req.To.IsZero() && !b.CheckIn.Before(req.To),
			after >= 0 && f.order[b.ID] >= after:
			continue
		}
		found = append(found, b)
	}
	slices.SortFunc(found, func(a, b *bookings.Booking) int { return f.order[b.ID] - f.order[a.ID] })
	limit := req.Limit
	if limit == 0 {
		limit = 20
	}
	out := bookings.BookingList{Bookings: []bookings.Booking{}}
	for i, b := range found {
		if i == limit {
			out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(found[i-1].ID))
			break
		}
		out.Bookings = append(out.Bookings, *b)
	}
	return out, nil
}

// Cancel implements bookings.Service with the default policy's terms.
func (f *Fake) Cancel(ctx context.Context, req bookings.CancelRequest) (bookings.Booking, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := authn.FromContext(ctx); ok && p.IsService() && f.failNext == nil {
		return bookings.Booking{}, authn.ErrForbidden.With("cancelling a booking needs its guest or staff")
	}
	b, err := f.visible(ctx, req, req.ID)
	if err != nil {
		return bookings.Booking{}, err
	}
	now := f.now()
	switch b.Status {
	case bookings.StatusPending:
	case bookings.StatusConfirmed:
		if !now.Before(b.FreeCancellationUntil) {
			b.CancellationFee = money.New(min(b.LateCancellationFee.Amount, b.Total.Amount), b.Total.Currency)
		}
		b.Refund = money.New(b.Total.Amount-b.CancellationFee.Amount, b.Total.Currency)
	default:
		return bookings.Booking{}, bookings.ErrNotCancellable.With("a booking that is %s cannot be cancelled", b.Status)
	}
	b.Status, b.UpdatedAt = bookings.StatusCancelled, now
	return *b, nil
}
