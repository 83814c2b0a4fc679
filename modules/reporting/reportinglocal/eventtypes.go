package reportinglocal

import (
	"time"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/money"
)

// The events reporting consumes. Booking events decode into the bookings
// contract's own payload types (bookings.BookingEvent); the others into types
// holding only the fields reporting reads. A producer adding fields changes
// nothing here, and a missing optional field (an older producer) decodes as zero.

// subjects reporting subscribes to.
var subjects = []string{
	events.Subject(bookings.Module, "bellhop.booking.>"),
	events.Subject(payments.Module, "bellhop.payment.>"),
	events.Subject(search.Module, search.EventRoomTypeChanged),
	events.Subject(auth.Module, auth.EventUserRegistered),
	events.Subject(auth.Module, auth.EventRegistrationAttempted),
}

// paymentEvent is payments.PaymentEvent as reporting reads it.
type paymentEvent struct {
	Payment struct {
		ID        string      `json:"id"`
		BookingID string      `json:"booking_id"`
		Amount    money.Money `json:"amount"`
		Status    string      `json:"status"`
		Card      *struct {
			Brand string `json:"brand"`
			Last4 string `json:"last4"`
		} `json:"card"`
		UpdatedAt time.Time `json:"updated_at"`
	} `json:"payment"`
}

// roomTypeChanged is search.RoomTypeChanged as reporting reads it.
type roomTypeChanged struct {
	Change     string      `json:"change"`
	RoomTypeID string      `json:"room_type_id"`
	HotelID    string      `json:"hotel_id"`
	HotelName  string      `json:"hotel_name"`
	CityID     string      `json:"city_id"`
	City       string      `json:"city"` // the name; absent from events before it was added
	Country    string      `json:"country"`
	TimeZone   string      `json:"time_zone"`
	Name       string      `json:"name"`
	RoomsTotal int         `json:"rooms_total"`
	BaseRate   money.Money `json:"base_rate"`
}

// userRegistered is auth.UserRegistered as reporting reads it.
type userRegistered struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
}

// registrationAttempted is auth.RegistrationAttempted as reporting reads it.
type registrationAttempted struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
	Kind   string `json:"kind"`
}
