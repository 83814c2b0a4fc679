package bookingslocal

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/ids"
	"github.com/bellhop/bellhop/platform/money"
	"github.com/bellhop/bellhop/platform/validation"
)

// Service is the in-process bookings.Service.
type Service struct {
	store    store
	search   search.Service
	validate *validation.Validator
	log      *slog.Logger
	clock    func() time.Time
	holdTTL  time.Duration
	policy   Policy
	// maxPendingHolds is how many pending bookings a guest may have at once.
	maxPendingHolds int
	// horizonMonths is how many months ahead (where the hotel is) a stay may start.
	horizonMonths int
	zones         sync.Map // zone name → *time.Location (LoadLocation reads a file each time)
}

// store is what the service needs of its database (gormStore in store.go).
type store interface {
	reader
	// list reads a page of bookings, newest first.
	list(ctx context.Context, f listFilter) ([]bookingRow, error)
	// expiredHolds are the ids of up to limit pending bookings whose hold
	// ran out by now, those that ran out first first.
	expiredHolds(ctx context.Context, now time.Time, limit int) ([]string, error)
	// write runs fn in one writing transaction and, once it has committed,
	// wakes the relay that publishes the events fn recorded.
	write(ctx context.Context, fn func(tx storeTx) error) error
}

// reader reads bookings, in a transaction or not.
type reader interface {
	// booking reads a booking; bookings.ErrNotFound (wrapped) if none has that id.
	booking(ctx context.Context, id string) (bookingRow, error)
	// byIdempotencyKey finds the guest's booking made with key.
	byIdempotencyKey(ctx context.Context, guestID, key string) (bookingRow, bool, error)
}

// storeTx is the store inside a writing transaction.
type storeTx interface {
	reader
	// insert stores a new booking; errKeyRace if a booking of the guest has
	// its idempotency key already.
	insert(ctx context.Context, r bookingRow) error
	// updateStatus writes next's status, payment, fee and refund, only if
	// the booking is still in status from (else errStale).
	updateStatus(ctx context.Context, from string, next bookingRow) error
	// takeRooms takes one room of the type on each night, never past
	// roomsTotal: bookings.ErrSoldOut as soon as a night is full (the
	// caller rolls back).
	takeRooms(ctx context.Context, roomTypeID string, nights []string, roomsTotal int) error
	// pendingHolds counts the guest's pending bookings.
	pendingHolds(ctx context.Context, guestID string) (int, error)
	// releaseRooms gives back one room of the type on each night.
	releaseRooms(ctx context.Context, roomTypeID string, nights []string) error
	// record adds a booking event about r to the outbox.
	record(ctx context.Context, typ string, r bookingRow, paymentID string) error
}

var _ bookings.Service = (*Service)(nil)

// Limits of a page of List.
const (
	defaultLimit = 20
	maxPageSize  = 100
)

// servicePrincipal is who bookings is when it calls search.Quote
// in-process: a service granted search:quote. (Over HTTP, search's client
// sends the process's own service token on the internal quote route instead.)
var servicePrincipal = authn.Principal{Subject: bookings.Module, Kind: authn.KindService, Scopes: []string{search.ScopeQuote}}

// now is the service's clock in UTC, at the precision the database keeps.
func (s *Service) now() time.Time { return s.clock().UTC().Truncate(time.Microsecond) }

// zone loads a time zone once; an unknown one (search validates them) is UTC.
func (s *Service) zone(name string) *time.Location {
	if loc, ok := s.zones.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		s.log.Warn("unknown time zone; using UTC", "zone", name, "err", err)
		loc = time.UTC
	}
	s.zones.Store(name, loc)
	return loc
}

// readsAll: staff (users with the staff or admin role), and services
// granted bookings:read (payments), see every booking.
func readsAll(caller authn.Principal) bool {
	return caller.IsStaff() || caller.HasScope(bookings.ScopeRead)
}

// mayRead checks a caller may read bookings at all: users may (their own at
// least); services need bookings:read.
func mayRead(caller authn.Principal) error {
	if caller.IsService() && !caller.HasScope(bookings.ScopeRead) {
		return authn.ErrForbidden.With("this needs the %q scope", bookings.ScopeRead)
	}
	return nil
}

// sees reports whether the caller may see the booking (others' are not found).
func sees(caller authn.Principal, r bookingRow) bool {
	return readsAll(caller) || r.GuestID == caller.Subject
}

// Hold implements bookings.Service: quote first (no transaction is open
// while search is called), then, in one short transaction, take a room on
// every night and store the pending booking with its booking.held event.
func (s *Service) Hold(ctx context.Context, req bookings.HoldRequest) (bookings.Booking, error) {
	caller, err := authn.Caller(ctx)
	if err != nil {
		return bookings.Booking{}, err
	}
	if caller.IsService() {
		return bookings.Booking{}, authn.ErrForbidden.With("holding a room needs a signed-in guest, not a service")
	}
	if err := s.validateHold(req); err != nil {
		return bookings.Booking{}, err
	}
	if req.IdempotencyKey != "" {
		// A retry of a hold that went through returns it without asking search again.
		if b, found, err := byKey(ctx, s.store, caller.Subject, req); found || err != nil {
			return b, err
		}
	}

	q, err := s.search.Quote(authn.WithPrincipal(ctx, servicePrincipal), search.QuoteRequest{
		RoomTypeID: req.RoomTypeID, CheckIn: req.CheckIn, CheckOut: req.CheckOut, Guests: req.Guests,
	})
	if err != nil {
		return bookings.Booking{}, quoteError(err)
	}
	if err := checkQuote(q, req); err != nil {
		return bookings.Booking{}, apperr.Internal(err)
	}
	if q.RoomsTotal < 1 {
		return bookings.Booking{}, bookings.ErrSoldOut
	}

	now := s.now()
	if last := search.Horizon(civil.Of(now.In(s.zone(q.TimeZone))), s.horizonMonths); req.CheckIn.After(last) {
		return bookings.Booking{}, bookings.ErrInvalidRequest.WithFields(apperr.FieldError{
			Field: "check_in", Reason: "beyond_horizon",
			Detail: fmt.Sprintf("must be at most %d months ahead (on or before %s)", s.horizonMonths, last)})
	}
	row := bookingRow{
		ID: ids.New(strings.TrimSuffix(idPrefix, "_")), Status: bookings.StatusPending,
		GuestID: caller.Subject, GuestEmail: caller.Email, GuestName: caller.Name,
		HotelID: q.HotelID, HotelName: q.HotelName, RoomTypeID: q.RoomTypeID, RoomTypeName: q.RoomTypeName,
		Address: q.Address, City: q.City, Country: q.Country, TimeZone: q.TimeZone,
		CheckIn: req.CheckIn.String(), CheckOut: req.CheckOut.String(), Guests: req.Guests,
		Nights:   make([]bookings.NightPrice, len(q.Nights)),
		Currency: q.Total.Currency, Total: q.Total.Amount,
		HoldExpiresAt: now.Add(s.holdTTL),
		CreatedAt:     now, UpdatedAt: now,
	}
	for i, n := range q.Nights {
		row.Nights[i] = bookings.NightPrice{Date: n.Date, Price: n.Price}
	}
	row.FreeCancellationUntil, row.LateCancellationFee = s.policy.terms(req.CheckIn, s.zone(q.TimeZone), row.Nights)
	if req.IdempotencyKey != "" {
		key := req.IdempotencyKey
		row.IdempotencyKey = &key
	}

	var first *bookings.Booking // the booking a concurrent request with the same key made
	err = s.store.write(ctx, func(tx storeTx) error {
		if req.IdempotencyKey != "" {
			// Writing transactions are serialised (BEGIN IMMEDIATE), so this
			// sees a concurrent request's booking; on PostgreSQL insert's
			// unique index catches it (errKeyRace).
			b, found, err := byKey(ctx, tx, caller.Subject, req)
			if found || err != nil {
				first = &b
				return err
			}
		}
		// Counted in the same writing transaction as the hold (BEGIN
		// IMMEDIATE serialises writers), so concurrent holds of one guest
		// cannot both pass the limit.
		held, err := tx.pendingHolds(ctx, caller.Subject)
		if err != nil {
			return err
		}
		if held >= s.maxPendingHolds {
			return bookings.ErrTooManyHolds.With("you hold %d unpaid rooms, the most a guest may; pay for or cancel one first", held)
		}
		if err := tx.takeRooms(ctx, row.RoomTypeID, nightDates(row), q.RoomsTotal); err != nil {
			return err
		}
		if err := tx.insert(ctx, row); err != nil {
			return err
		}
		return tx.record(ctx, bookings.EventHeld, row, "")
	})
	switch {
	case errors.Is(err, errKeyRace):
		b, _, err := byKey(ctx, s.store, caller.Subject, req)
		return b, err
	case err != nil:
		return bookings.Booking{}, apperr.OrInternal(err, "hold")
	case first != nil:
		return *first, nil
	}
	return toBooking(row), nil
}

// errKeyRace: another request with the same idempotency key committed first.
var errKeyRace = errors.New("idempotency key taken concurrently")

// validateHold validates req, naming the idempotency key (a header, not a
// JSON field) as "Idempotency-Key".
func (s *Service) validateHold(req bookings.HoldRequest) error {
	err := s.validate.Struct(bookings.ErrInvalidRequest.Reason, req)
	if err == nil {
		return nil
	}
	ae := apperr.As(err)
	fields := make([]apperr.FieldError, len(ae.Fields))
	for i, f := range ae.Fields {
		if f.Field == "" || f.Field == "IdempotencyKey" {
			f.Field = "Idempotency-Key"
		}
		fields[i] = f
	}
	out := *ae
	out.Fields = fields
	return &out
}

// byKey finds the guest's booking made with req's idempotency key: the same
// request gets it back; another request is ErrIdempotencyKeyReused.
func byKey(ctx context.Context, rd reader, guestID string, req bookings.HoldRequest) (bookings.Booking, bool, error) {
	r, found, err := rd.byIdempotencyKey(ctx, guestID, req.IdempotencyKey)
	if !found || err != nil {
		return bookings.Booking{}, false, err
	}
	if r.RoomTypeID != req.RoomTypeID || r.CheckIn != req.CheckIn.String() || r.CheckOut != req.CheckOut.String() || r.Guests != req.Guests {
		return bookings.Booking{}, true, bookings.ErrIdempotencyKeyReused
	}
	return toBooking(r), true, nil
}

// quoteError passes search's answers on (unknown room type, invalid stay,
// too many guests, unavailable); search refusing bookings itself is a
// misconfiguration of bookings' service identity, not the guest's fault.
func quoteError(err error) error {
	if errors.Is(err, apperr.UnauthenticatedAny) || errors.Is(err, apperr.ForbiddenAny) {
		return apperr.Internal(fmt.Errorf("search refused bookings' quote (does its service identity have %q?): %w", search.ScopeQuote, err))
	}
	return apperr.OrInternal(err, "quote")
}

// checkQuote checks search answered the question asked.
func checkQuote(q search.Quote, req bookings.HoldRequest) error {
	nights := civil.Nights(req.CheckIn, req.CheckOut)
	if q.RoomTypeID != req.RoomTypeID || len(q.Nights) != len(nights) || !money.IsCurrency(q.Total.Currency) {
		return fmt.Errorf("quote for %s %s–%s does not match the request: %+v", req.RoomTypeID, req.CheckIn, req.CheckOut, q)
	}
	sum := money.New(0, q.Total.Currency)
	for i, n := range q.Nights {
		if n.Date != nights[i] || n.Price.Currency != q.Total.Currency {
			return fmt.Errorf("quote for %s: night %d is %s in %s", req.RoomTypeID, i, n.Date, n.Price.Currency)
		}
		if n.Price.Amount < 1 || n.Price.Amount > search.MaxRate {
			return fmt.Errorf("quote for %s: night %d costs %d, outside 1..%d", req.RoomTypeID, i, n.Price.Amount, search.MaxRate)
		}
		var err error
		if sum, err = sum.Add(n.Price); err != nil {
			return fmt.Errorf("quote for %s: %w", req.RoomTypeID, err)
		}
	}
	if sum != q.Total {
		return fmt.Errorf("quote for %s: nights add up to %d, total is %d", req.RoomTypeID, sum.Amount, q.Total.Amount)
	}
	return nil
}

// Get implements bookings.Service.
func (s *Service) Get(ctx context.Context, req bookings.GetRequest) (bookings.Booking, error) {
	caller, err := authn.Caller(ctx)
	if err != nil {
		return bookings.Booking{}, err
	}
	if err := mayRead(caller); err != nil {
		return bookings.Booking{}, err
	}
	if err := s.validate.Struct(bookings.ErrInvalidRequest.Reason, req); err != nil {
		return bookings.Booking{}, err
	}
	row, err := s.store.booking(ctx, req.ID)
	if err != nil {
		return bookings.Booking{}, err
	}
	if !sees(caller, row) {
		return bookings.Booking{}, bookings.ErrNotFound
	}
	return toBooking(row), nil
}

// List implements bookings.Service: newest first, keyset pages by id (ids
// are ULIDs, which sort by creation time).
func (s *Service) List(ctx context.Context, req bookings.ListRequest) (bookings.BookingList, error) {
	caller, err := authn.Caller(ctx)
	if err != nil {
		return bookings.BookingList{}, err
	}
	if err := mayRead(caller); err != nil {
		return bookings.BookingList{}, err
	}
	err = s.validate.Struct(bookings.ErrInvalidRequest.Reason, req)
	var fields []apperr.FieldError
	after, ok := decodeCursor(req.Cursor)
	if !ok {
		fields = append(fields, apperr.FieldError{Field: "cursor", Reason: "invalid", Detail: "is not a cursor this list returned; start again without it"})
	}
	if !req.From.IsZero() && !req.To.IsZero() && !req.From.Before(req.To) {
		fields = append(fields, apperr.FieldError{Field: "to", Reason: "not_after_from", Detail: "must be after from"})
	}
	if len(fields) > 0 {
		if err == nil {
			err = bookings.ErrInvalidRequest
		}
		err = apperr.As(err).WithFields(fields...)
	}
	if err != nil {
		return bookings.BookingList{}, err
	}
	limit := req.Limit
	if limit == 0 {
		limit = defaultLimit
	}
	f := listFilter{HotelID: req.HotelID, Status: req.Status, AfterID: after, Limit: limit + 1}
	if !readsAll(caller) {
		f.GuestID = caller.Subject
	}
	if !req.From.IsZero() {
		f.From = req.From.String()
	}
	if !req.To.IsZero() {
		f.To = req.To.String()
	}
	rows, err := s.store.list(ctx, f)
	if err != nil {
		return bookings.BookingList{}, err
	}
	out := bookings.BookingList{Bookings: make([]bookings.Booking, 0, min(len(rows), limit))}
	for i, r := range rows {
		if i == limit {
			out.NextCursor = encodeCursor(rows[i-1].ID)
			break
		}
		out.Bookings = append(out.Bookings, toBooking(r))
	}
	return out, nil
}

const cursorPrefix = "after:"

func encodeCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + id))
}

// decodeCursor returns the id a cursor continues after ("" for none) and
// whether the cursor is one encodeCursor made.
func decodeCursor(c string) (string, bool) {
	if c == "" {
		return "", true
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	id, ok := strings.CutPrefix(string(raw), cursorPrefix)
	if err != nil || !ok || !strings.HasPrefix(id, idPrefix) || len(id) > 64 {
		return "", false
	}
	return id, true
}

// Cancel implements bookings.Service: a guest cancels their own booking,
// staff any. The charge follows the terms stored with the booking (see
// Policy); the rooms are released.
func (s *Service) Cancel(ctx context.Context, req bookings.CancelRequest) (bookings.Booking, error) {
	caller, err := authn.Caller(ctx)
	if err != nil {
		return bookings.Booking{}, err
	}
	if caller.IsService() {
		return bookings.Booking{}, authn.ErrForbidden.With("cancelling a booking needs its guest or staff")
	}
	if err := s.validate.Struct(bookings.ErrInvalidRequest.Reason, req); err != nil {
		return bookings.Booking{}, err
	}
	var out bookingRow
	err = s.write(ctx, func(tx storeTx) error {
		row, err := tx.booking(ctx, req.ID)
		if err != nil {
			return err
		}
		if !sees(caller, row) {
			return bookings.ErrNotFound
		}
		now := s.now()
		if !allowed(row.Status, bookings.StatusCancelled) {
			return bookings.ErrNotCancellable.With("a booking that is %s cannot be cancelled", row.Status)
		}
		if checkOut, _ := civil.Parse(row.CheckOut); !civil.Of(now.In(s.zone(row.TimeZone))).Before(checkOut) {
			return bookings.ErrNotCancellable.With("the stay has ended")
		}
		fee, refund := charge(row, now)
		if err := transition(ctx, tx, &row, bookings.StatusCancelled, now, func(r *bookingRow) {
			r.CancellationFee, r.Refund = fee, refund
		}); err != nil {
			return err
		}
		out = row
		return nil
	})
	if err != nil {
		return bookings.Booking{}, apperr.OrInternal(err, "cancel")
	}
	return toBooking(out), nil
}

// write runs fn in a writing transaction (see store.write). A guarded
// update that found the booking changed under it (possible on PostgreSQL,
// where transactions are not serialised as SQLite's are) runs fn again on
// the fresh state.
func (s *Service) write(ctx context.Context, fn func(tx storeTx) error) error {
	var err error
	for range 3 {
		err = s.store.write(ctx, fn)
		if !errors.Is(err, errStale) {
			break
		}
	}
	return err
}

// nightDates are the nights of the booking's stay, as stored ("YYYY-MM-DD").
func nightDates(r bookingRow) []string {
	in, _ := civil.Parse(r.CheckIn)
	out, _ := civil.Parse(r.CheckOut)
	nights := civil.Nights(in, out)
	dates := make([]string, len(nights))
	for i, n := range nights {
		dates[i] = n.String()
	}
	return dates
}

// idPrefix starts every booking id.
const idPrefix = "bk_"
