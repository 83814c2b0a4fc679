package reportinglocal

import (
	"time"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/money"
)

// The events reporting consumes, decoded into types of its own: only the
// fields it reads, so a producer adding fields changes nothing here, and a
// missing optional field (an older producer) decodes as zero.

// subjects reporting subscribes to.
var subjects = []string{
	events.Subject(bookings.Module, "bellhop.booking.>"),
	events.Subject(payments.Module, "bellhop.payment.>"),
	events.Subject(search.Module, search.EventRoomTypeChanged),
	events.Subject(auth.Module, auth.EventUserRegistered),
}

// bookingEvent is bookings.BookingEvent as reporting reads it.
type bookingEvent struct {
	Booking   bookingData `json:"booking"`
	PaymentID string      `json:"payment_id"`
	// Payment describes the payment that confirmed the booking (or that a
	// rejection or refused payment gives back): set by bookings from the
	// payment.succeeded event it handled.
	Payment *paymentData `json:"payment,omitempty"`
}

type bookingData struct {
	ID                    string       `json:"id"`
	Status                string       `json:"status"`
	GuestID               string       `json:"guest_id"`
	GuestEmail            string       `json:"guest_email"`
	GuestName             string       `json:"guest_name"`
	HotelID               string       `json:"hotel_id"`
	HotelName             string       `json:"hotel_name"`
	RoomTypeID            string       `json:"room_type_id"`
	RoomTypeName          string       `json:"room_type_name"`
	Address               string       `json:"address"`
	City                  string       `json:"city"`
	CityID                string       `json:"city_id"`
	Country               string       `json:"country"`
	TimeZone              string       `json:"time_zone"`
	CheckIn               civil.Date   `json:"check_in"`
	CheckOut              civil.Date   `json:"check_out"`
	Guests                int          `json:"guests"`
	Nights                []nightPrice `json:"nights"`
	Total                 money.Money  `json:"total"`
	FreeCancellationUntil time.Time    `json:"free_cancellation_until"`
	LateCancellationFee   money.Money  `json:"late_cancellation_fee"`
	PaymentID             string       `json:"payment_id"`
	CancellationFee       money.Money  `json:"cancellation_fee"`
	Refund                money.Money  `json:"refund"`
	CreatedAt             time.Time    `json:"created_at"`
	UpdatedAt             time.Time    `json:"updated_at"`
}

type nightPrice struct {
	Date  civil.Date  `json:"date"`
	Price money.Money `json:"price"`
}

// paymentData is the part of a payment a receipt shows.
type paymentData struct {
	ID     string      `json:"id"`
	Amount money.Money `json:"amount"`
	Brand  string      `json:"brand"`
	Last4  string      `json:"last4"`
	PaidAt time.Time   `json:"paid_at"`
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
