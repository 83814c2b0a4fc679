package searchlocal

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/platform/civil"
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
	b := p.Booking
	var seen bookingSeenRow
	err := tx.Where("booking_id = ?", b.ID).Take(&seen).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		if err := tx.Create(&bookingSeenRow{BookingID: b.ID, Holding: take}).Error; err != nil {
			return err
		}
		if !take {
			return nil // released before we saw it held: nothing was taken
		}
	case err != nil:
		return err
	case seen.Holding == take || !seen.Holding:
		return nil // already applied, or released for good
	default:
		if err := tx.Model(&seen).Update("holding", false).Error; err != nil {
			return err
		}
	}
	delta := 1
	if !take {
		delta = -1
	}
	for _, night := range civil.Nights(b.CheckIn, b.CheckOut) {
		row := availabilityRow{RoomTypeID: b.RoomTypeID, Date: night.String(), Taken: max(delta, 0)}
		err := tx.Clauses(clause.OnConflict{
			Columns: []clause.Column{{Name: "room_type_id"}, {Name: "date"}},
			// Never below zero: a release always follows its take (see bookingSeenRow).
			DoUpdates: clause.Assignments(map[string]any{"taken": gorm.Expr("CASE WHEN availability.taken + ? < 0 THEN 0 ELSE availability.taken + ? END", delta, delta)}),
		}).Create(&row).Error
		if err != nil {
			return fmt.Errorf("availability of %s on %s: %w", b.RoomTypeID, night, err)
		}
	}
	return nil
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
