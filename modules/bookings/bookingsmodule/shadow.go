package bookingsmodule

import (
	"context"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/platform/host"
)

// bookingsShadow is bookings.Service with its read methods (Get, List)
// also replayed against a remote copy (shadow traffic); every other method,
// through the embedded Service, runs in-process only.
type bookingsShadow struct {
	bookings.Service
	remote bookings.Service
	shadow *host.Shadow
}

// Shadow declares bookings's read methods to the host's shadow traffic.
func Shadow(local, remote bookings.Service, s *host.Shadow) bookings.Service {
	return bookingsShadow{Service: local, remote: remote, shadow: s}
}

func (s bookingsShadow) Get(ctx context.Context, r bookings.GetRequest) (bookings.Booking, error) {
	return host.ShadowRead(s.shadow, ctx, "Get", r, s.Service.Get, s.remote.Get)
}

func (s bookingsShadow) List(ctx context.Context, r bookings.ListRequest) (bookings.BookingList, error) {
	return host.ShadowRead(s.shadow, ctx, "List", r, s.Service.List, s.remote.List)
}
