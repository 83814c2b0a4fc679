package reportingtest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/money"
)

// The events reporting consumes, built as their producers publish them, so
// suites can script what happened without running the other modules.

// Stay describes a booking for the event builders.
type Stay struct {
	BookingID, GuestID, GuestName, GuestEmail string
	HotelID, HotelName, Address, City, CityID string
	Country, TimeZone                         string
	RoomTypeID, RoomTypeName                  string
	CheckIn                                   civil.Date
	Prices                                    []int64 // one per night, minor units
	Currency                                  string
	Guests                                    int
	HeldAt                                    time.Time
	FreeCancellationUntil                     time.Time
	LateCancellationFee                       int64
	PaymentID, CardBrand, CardLast4           string
	PaidAt                                    time.Time
}

// Total is the price of the stay.
func (s Stay) Total() int64 {
	var t int64
	for _, p := range s.Prices {
		t += p
	}
	return t
}

// CheckOut is the day after the last night.
func (s Stay) CheckOut() civil.Date { return s.CheckIn.AddDays(len(s.Prices)) }

type nightPrice struct {
	Date  civil.Date  `json:"date"`
	Price money.Money `json:"price"`
}

type bookingPayload struct {
	Booking   map[string]any `json:"booking"`
	PaymentID string         `json:"payment_id,omitempty"`
	Payment   map[string]any `json:"payment,omitempty"`
}

// BookingEvent builds a booking event of type typ ("bellhop.booking.confirmed.v1")
// at time at. refund and fee are the cancellation's (zero otherwise).
func BookingEvent(t testing.TB, typ string, s Stay, status string, at time.Time, refund, fee int64) events.Event {
	t.Helper()
	nights := make([]nightPrice, len(s.Prices))
	for i, p := range s.Prices {
		nights[i] = nightPrice{Date: s.CheckIn.AddDays(i), Price: money.New(p, s.Currency)}
	}
	b := map[string]any{
		"id": s.BookingID, "status": status, "guest_id": s.GuestID, "guest_email": s.GuestEmail, "guest_name": s.GuestName,
		"hotel_id": s.HotelID, "hotel_name": s.HotelName, "room_type_id": s.RoomTypeID, "room_type_name": s.RoomTypeName,
		"address": s.Address, "city": s.City, "country": s.Country, "time_zone": s.TimeZone,
		"check_in": s.CheckIn, "check_out": s.CheckOut(), "guests": max(s.Guests, 1), "nights": nights,
		"total": money.New(s.Total(), s.Currency), "hold_expires_at": s.HeldAt.Add(15 * time.Minute),
		"free_cancellation_until": s.FreeCancellationUntil, "late_cancellation_fee": money.New(s.LateCancellationFee, s.Currency),
		"cancellation_fee": money.New(fee, s.Currency), "refund": money.New(refund, s.Currency),
		"created_at": s.HeldAt, "updated_at": at,
	}
	if s.CityID != "" {
		b["city_id"] = s.CityID
	}
	p := bookingPayload{Booking: b}
	if status != "pending" && s.PaymentID != "" {
		b["payment_id"] = s.PaymentID
		p.PaymentID = s.PaymentID
		p.Payment = map[string]any{"id": s.PaymentID, "amount": money.New(s.Total(), s.Currency),
			"brand": s.CardBrand, "last4": s.CardLast4, "paid_at": s.PaidAt}
	}
	return event(t, "bookings", typ, p, at)
}

// RoomTypeEvent builds a catalog.room_type.changed event (city is the
// city's name, cityID its id).
func RoomTypeEvent(t testing.TB, change, roomTypeID, hotelID, hotelName, cityID, city, zone string, rooms int, currency string, at time.Time) events.Event {
	t.Helper()
	return event(t, "search", "bellhop.catalog.room_type.changed.v1", map[string]any{
		"change": change, "room_type_id": roomTypeID, "hotel_id": hotelID, "hotel_name": hotelName, "city_id": cityID, "city": city,
		"time_zone": zone, "name": "Room " + roomTypeID, "max_guests": 2, "rooms_total": rooms,
		"base_rate": money.New(10000, currency),
	}, at)
}

// UserRegisteredEvent builds a user.registered event.
func UserRegisteredEvent(t testing.TB, userID, email, name string, at time.Time) events.Event {
	t.Helper()
	return event(t, "auth", "bellhop.user.registered.v1", map[string]any{
		"user_id": userID, "email": email, "name": name, "roles": []string{"guest"}, "registered_at": at,
	}, at)
}

// RegistrationAttemptedEvent builds a user.registration_attempted event: someone
// tried to register the email of the account userID.
func RegistrationAttemptedEvent(t testing.TB, userID, email, name string, at time.Time) events.Event {
	t.Helper()
	return event(t, "auth", "bellhop.user.registration_attempted.v1", map[string]any{
		"user_id": userID, "email": email, "name": name, "kind": "existing_account", "attempted_at": at,
	}, at)
}

func event(t testing.TB, source, typ string, data any, at time.Time) events.Event {
	t.Helper()
	evt, err := events.New(context.Background(), source, typ, data)
	if err != nil {
		t.Fatal(err)
	}
	evt.Time = at.UTC()
	return evt
}

// Decode is a helper for tests reading JSON.
func Decode(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}
