package paymentsmodule

import (
	"context"

	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/platform/host"
)

// paymentsShadow is payments.Service with its read methods (Get, List)
// also replayed against a remote copy (shadow traffic); every other method,
// through the embedded Service, runs in-process only.
type paymentsShadow struct {
	payments.Service
	remote payments.Service
	shadow *host.Shadow
}

// Shadow declares payments's read methods to the host's shadow traffic.
func Shadow(local, remote payments.Service, s *host.Shadow) payments.Service {
	return paymentsShadow{Service: local, remote: remote, shadow: s}
}

func (s paymentsShadow) Get(ctx context.Context, r payments.GetRequest) (payments.Payment, error) {
	return host.ShadowRead(s.shadow, ctx, "Get", r, s.Service.Get, s.remote.Get)
}

func (s paymentsShadow) List(ctx context.Context, r payments.ListRequest) (payments.PaymentList, error) {
	return host.ShadowRead(s.shadow, ctx, "List", r, s.Service.List, s.remote.List)
}
