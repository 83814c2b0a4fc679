package searchlocal

import (
	"context"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/platform/events"
)

// bookingSeenRow remembers, per booking, whether search's availability view
// holds its rooms. Events may arrive out of order after a redelivery (a
// release before its hold): a booking released first is never taken later.
type bookingSeenRow struct {
	BookingID string `gorm:"primaryKey;size:64"`
	Holding   bool   `gorm:"not null"`
}

func (bookingSeenRow) TableName() string { return "availability_bookings" }

// availabilitySubjects are the booking events that move rooms in or out of the view.
var availabilitySubjects = []string{events.Subject(bookings.Module, "bellhop.booking.>")}

// applyBookingEvent keeps the availability view (rooms taken per room type
// and night) in step with bookings: a hold takes a room for each night; an
// expiry, rejection or cancellation gives it back. Bookings owns the truth;
// this view is what searches show. It runs in the consumer's transaction,
// after the event's id was recorded in the inbox, so it applies once.
func (s *Service) applyBookingEvent(ctx context.Context, tx *gorm.DB, evt events.Event) error {
	var take bool
	switch evt.Type {
	case bookings.EventHeld:
		take = true
	case bookings.EventExpired, bookings.EventRejected, bookings.EventCancelled:
		take = false
	default:
		return nil // confirmed: the rooms stay taken
	}
	var p bookings.BookingEvent
	if err := evt.Decode(&p); err != nil {
		return err
	}
	return takeOrRelease(tx, p.Booking, take)
}

// bookingsCommitted refreshes the rooms taken in the index of the room types
// the committed events changed, so the next search shows them.
func (s *Service) bookingsCommitted(ctx context.Context, applied []events.Event) {
	roomTypes := map[string]bool{}
	ids := make([]string, 0, len(applied))
	for _, evt := range applied {
		var p bookings.BookingEvent
		if evt.Decode(&p) == nil && !roomTypes[p.Booking.RoomTypeID] {
			roomTypes[p.Booking.RoomTypeID] = true
			ids = append(ids, p.Booking.RoomTypeID)
		}
	}
	s.index.refreshTaken(ctx, ids)
}
