package reportingmodule

import (
	"context"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/platform/host"
)

// reportingShadow is reporting.Service with its read methods (ListDocuments, GetDocument, Occupancy, Revenue, BookingBehaviour)
// also replayed against a remote copy (shadow traffic); every other method,
// through the embedded Service, runs in-process only.
type reportingShadow struct {
	reporting.Service
	remote reporting.Service
	shadow *host.Shadow
}

// Shadow declares reporting's read methods to the host's shadow traffic.
func Shadow(local, remote reporting.Service, s *host.Shadow) reporting.Service {
	return reportingShadow{Service: local, remote: remote, shadow: s}
}

func (s reportingShadow) ListDocuments(ctx context.Context, r reporting.ListDocumentsRequest) (reporting.DocumentList, error) {
	return host.ShadowRead(s.shadow, ctx, "ListDocuments", r, s.Service.ListDocuments, s.remote.ListDocuments)
}

func (s reportingShadow) GetDocument(ctx context.Context, r reporting.GetDocumentRequest) (reporting.Document, error) {
	return host.ShadowRead(s.shadow, ctx, "GetDocument", r, s.Service.GetDocument, s.remote.GetDocument)
}

func (s reportingShadow) Occupancy(ctx context.Context, r reporting.ReportRequest) (reporting.OccupancyReport, error) {
	return host.ShadowRead(s.shadow, ctx, "Occupancy", r, s.Service.Occupancy, s.remote.Occupancy)
}

func (s reportingShadow) Revenue(ctx context.Context, r reporting.ReportRequest) (reporting.RevenueReport, error) {
	return host.ShadowRead(s.shadow, ctx, "Revenue", r, s.Service.Revenue, s.remote.Revenue)
}

func (s reportingShadow) BookingBehaviour(ctx context.Context, r reporting.BehaviourRequest) (reporting.BehaviourReport, error) {
	return host.ShadowRead(s.shadow, ctx, "BookingBehaviour", r, s.Service.BookingBehaviour, s.remote.BookingBehaviour)
}
