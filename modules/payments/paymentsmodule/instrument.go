package paymentsmodule

import (
	"context"

	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/platform/observability"
)

// paymentsEdge is payments.Service with per-edge metrics.
type paymentsEdge struct {
	next payments.Service
	edge observability.Edge
}

// Instrument wraps an in-process Service with per-edge metrics (and a span
// per call when e has a tracer) along e.
func Instrument(s payments.Service, e observability.Edge) payments.Service {
	return paymentsEdge{next: s, edge: e}
}

func (s paymentsEdge) Pay(ctx context.Context, r payments.PayRequest) (payments.Payment, error) {
	return observability.Call(ctx, s.edge, "Pay", func(ctx context.Context) (payments.Payment, error) { return s.next.Pay(ctx, r) })
}

func (s paymentsEdge) Get(ctx context.Context, r payments.GetRequest) (payments.Payment, error) {
	return observability.Call(ctx, s.edge, "Get", func(ctx context.Context) (payments.Payment, error) { return s.next.Get(ctx, r) })
}

func (s paymentsEdge) List(ctx context.Context, r payments.ListRequest) (payments.PaymentList, error) {
	return observability.Call(ctx, s.edge, "List", func(ctx context.Context) (payments.PaymentList, error) { return s.next.List(ctx, r) })
}
