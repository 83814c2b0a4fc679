package bookingsmodule

import (
	"context"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/platform/observability"
)

// bookingsEdge is bookings.Service with per-edge metrics.
type bookingsEdge struct {
	next bookings.Service
	edge observability.Edge
}

// Instrument wraps an in-process Service with per-edge metrics (and a span
// per call when e has a tracer) along e.
func Instrument(s bookings.Service, e observability.Edge) bookings.Service {
	return bookingsEdge{next: s, edge: e}
}

func (s bookingsEdge) Hold(ctx context.Context, r bookings.HoldRequest) (bookings.Booking, error) {
	return observability.Call(ctx, s.edge, "Hold", func(ctx context.Context) (bookings.Booking, error) { return s.next.Hold(ctx, r) })
}

func (s bookingsEdge) Get(ctx context.Context, r bookings.GetRequest) (bookings.Booking, error) {
	return observability.Call(ctx, s.edge, "Get", func(ctx context.Context) (bookings.Booking, error) { return s.next.Get(ctx, r) })
}

func (s bookingsEdge) List(ctx context.Context, r bookings.ListRequest) (bookings.BookingList, error) {
	return observability.Call(ctx, s.edge, "List", func(ctx context.Context) (bookings.BookingList, error) { return s.next.List(ctx, r) })
}

func (s bookingsEdge) Cancel(ctx context.Context, r bookings.CancelRequest) (bookings.Booking, error) {
	return observability.Call(ctx, s.edge, "Cancel", func(ctx context.Context) (bookings.Booking, error) { return s.next.Cancel(ctx, r) })
}
