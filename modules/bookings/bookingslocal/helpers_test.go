package bookingslocal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/bookings/bookingslocal"
	"github.com/bellhop/bellhop/modules/payments/paymentstest"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/modules/search/searchtest"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/db/dbtest"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/events/eventstest"
	"github.com/bellhop/bellhop/platform/money"
)

// clock is a settable Deps.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// env is a bookings module on a real SQLite file quoting from a search Fake,
// with (if bus) an embedded event bus, the module running, and a payments
// stand-in publishing on it.
type env struct {
	db      *db.DB
	mod     *bookingslocal.Module
	svc     bookings.Service
	catalog *searchtest.Fake
	clock   *clock
	bus     *events.Bus
	pays    *paymentstest.Events
	hotelID string
}

func newEnv(t *testing.T, withBus bool, d bookingslocal.Deps) *env {
	t.Helper()
	e := &env{db: d.DB, catalog: searchtest.NewFake(), clock: newClock()}
	if e.db == nil {
		e.db = dbtest.Open(t, bookings.Module, bookingslocal.Migrations)
	}
	d.DB, d.Search = e.db, e.catalog
	if d.Now == nil {
		d.Now = e.clock.Now
	}
	if withBus {
		e.bus = eventstest.Bus(t)
		d.Bus = e.bus
	}
	m, err := bookingslocal.New(d)
	if err != nil {
		t.Fatal(err)
	}
	e.mod, e.svc = m, m.Service()
	if withBus {
		eventstest.Run(t, m)
		e.pays = paymentstest.NewEvents(t, e.bus)
	}
	h, err := e.catalog.CreateHotel(staffCatalog(), search.CreateHotelRequest{
		Name: "Tejo Hotel", City: "Lisbon", Country: "PT", Address: "Cais do Sodré 1", TimeZone: "Europe/Lisbon", Stars: 4, Rating: 4.5,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.hotelID = h.ID
	return e
}

func staffCatalog() context.Context {
	return authn.WithPrincipal(context.Background(), searchtest.Staff)
}

var roomSeq struct {
	sync.Mutex
	n int
}

// roomType adds a room type with rooms rooms at rate a night and returns its id.
func (e *env) roomType(t *testing.T, rooms int, rate int64) string {
	t.Helper()
	roomSeq.Lock()
	roomSeq.n++
	name := fmt.Sprintf("Room %d", roomSeq.n)
	roomSeq.Unlock()
	rt, err := e.catalog.CreateRoomType(staffCatalog(), search.CreateRoomTypeRequest{
		HotelID: e.hotelID, Name: name, MaxGuests: 2, RoomsTotal: rooms, BaseRate: money.New(rate, "EUR"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return rt.ID
}

// as is a context carrying a guest (or, with role, staff) principal.
func as(subject string, roles ...string) context.Context {
	if len(roles) == 0 {
		roles = []string{"guest"}
	}
	return authn.WithPrincipal(context.Background(), authn.Principal{
		Subject: subject, Kind: authn.KindUser, Email: subject + "@bellhop.test", Name: "Guest " + subject, Roles: roles,
	})
}

var (
	guest = as("usr_guest")
	staff = as("usr_staff", "staff")
)

// lisbonToday is today's date at the test hotel.
func lisbonToday(t *testing.T) civil.Date {
	t.Helper()
	d, err := civil.TodayIn("Europe/Lisbon")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (e *env) hold(t *testing.T, ctx context.Context, rt string, in civil.Date, nights int) bookings.Booking {
	t.Helper()
	b, err := e.svc.Hold(ctx, bookings.HoldRequest{RoomTypeID: rt, CheckIn: in, CheckOut: in.AddDays(nights), Guests: 1})
	if err != nil {
		t.Fatalf("Hold: %v", err)
	}
	return b
}

func (e *env) get(t *testing.T, id string) bookings.Booking {
	t.Helper()
	b, err := e.svc.Get(staff, bookings.GetRequest{ID: id})
	if err != nil {
		t.Fatalf("Get %s: %v", id, err)
	}
	return b
}

// published is a booking event in the outbox.
type published struct {
	Type string
	bookings.BookingEvent
}

// outbox returns the booking events recorded, in order.
func (e *env) outbox(t *testing.T) []published {
	t.Helper()
	var payloads [][]byte
	if err := e.db.Raw("SELECT payload FROM events_outbox WHERE source = ? ORDER BY seq", bookings.Module).Scan(&payloads).Error; err != nil {
		t.Fatal(err)
	}
	out := make([]published, 0, len(payloads))
	for _, p := range payloads {
		var evt events.Event
		if err := json.Unmarshal(p, &evt); err != nil {
			t.Fatal(err)
		}
		var be bookings.BookingEvent
		if err := evt.Decode(&be); err != nil {
			t.Fatal(err)
		}
		out = append(out, published{Type: evt.Type, BookingEvent: be})
	}
	return out
}

// eventsOf returns the types of the outbox events about booking id.
func (e *env) eventsOf(t *testing.T, id string) []string {
	t.Helper()
	var types []string
	for _, p := range e.outbox(t) {
		if p.Booking.ID == id {
			types = append(types, p.Type)
		}
	}
	return types
}

// taken is the inventory's count of rooms taken of rt on night.
func (e *env) taken(t *testing.T, rt string, night civil.Date) int {
	t.Helper()
	var n []int
	if err := e.db.Raw("SELECT taken FROM inventory WHERE room_type_id = ? AND date = ?", rt, night.String()).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	if len(n) == 0 {
		return 0
	}
	return n[0]
}

// eventually polls cond every 10ms until it holds, or fails after 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// inInbox reports whether bookings' payment consumer has handled event id.
func (e *env) inInbox(t *testing.T, id string) bool {
	t.Helper()
	var n int64
	if err := e.db.Raw("SELECT COUNT(*) FROM events_inbox WHERE consumer = ? AND event_id = ?", "bookings.payments", id).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// statusBecomes waits until booking id leaves status from, and returns it.
func (e *env) statusBecomes(t *testing.T, id, from string) bookings.Booking {
	t.Helper()
	var b bookings.Booking
	eventually(t, "booking "+id+" to leave "+from, func() bool {
		b = e.get(t, id)
		return b.Status != from
	})
	return b
}
