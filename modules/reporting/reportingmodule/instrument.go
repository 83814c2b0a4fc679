package reportingmodule

import (
	"context"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/platform/observability"
)

// reportingEdge is reporting.Service with per-edge metrics.
type reportingEdge struct {
	next reporting.Service
	edge observability.Edge
}

// Instrument wraps an in-process Service with per-edge metrics (and a span
// per call when e has a tracer) along e.
func Instrument(s reporting.Service, e observability.Edge) reporting.Service {
	return reportingEdge{next: s, edge: e}
}

func (s reportingEdge) ListDocuments(ctx context.Context, r reporting.ListDocumentsRequest) (reporting.DocumentList, error) {
	return observability.Call(ctx, s.edge, "ListDocuments", func(ctx context.Context) (reporting.DocumentList, error) { return s.next.ListDocuments(ctx, r) })
}

func (s reportingEdge) GetDocument(ctx context.Context, r reporting.GetDocumentRequest) (reporting.Document, error) {
	return observability.Call(ctx, s.edge, "GetDocument", func(ctx context.Context) (reporting.Document, error) { return s.next.GetDocument(ctx, r) })
}

func (s reportingEdge) Occupancy(ctx context.Context, r reporting.ReportRequest) (reporting.OccupancyReport, error) {
	return observability.Call(ctx, s.edge, "Occupancy", func(ctx context.Context) (reporting.OccupancyReport, error) { return s.next.Occupancy(ctx, r) })
}

func (s reportingEdge) Revenue(ctx context.Context, r reporting.ReportRequest) (reporting.RevenueReport, error) {
	return observability.Call(ctx, s.edge, "Revenue", func(ctx context.Context) (reporting.RevenueReport, error) { return s.next.Revenue(ctx, r) })
}

func (s reportingEdge) BookingBehaviour(ctx context.Context, r reporting.BehaviourRequest) (reporting.BehaviourReport, error) {
	return observability.Call(ctx, s.edge, "BookingBehaviour", func(ctx context.Context) (reporting.BehaviourReport, error) {
		return s.next.BookingBehaviour(ctx, r)
	})
}
