package searchmodule

import (
	"context"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/observability"
)

// searchEdge is search.Service with per-edge metrics.
type searchEdge struct {
	next search.Service
	edge observability.Edge
}

// Instrument wraps an in-process Service with per-edge metrics (and a span
// per call when e has a tracer) along e.
func Instrument(s search.Service, e observability.Edge) search.Service {
	return searchEdge{next: s, edge: e}
}

func (s searchEdge) ListCities(ctx context.Context, r search.ListCitiesRequest) (search.CityList, error) {
	return observability.Call(ctx, s.edge, "ListCities", func(ctx context.Context) (search.CityList, error) { return s.next.ListCities(ctx, r) })
}

func (s searchEdge) SearchHotels(ctx context.Context, r search.SearchRequest) (search.SearchResult, error) {
	return observability.Call(ctx, s.edge, "SearchHotels", func(ctx context.Context) (search.SearchResult, error) { return s.next.SearchHotels(ctx, r) })
}

func (s searchEdge) GetHotel(ctx context.Context, r search.GetHotelRequest) (search.Hotel, error) {
	return observability.Call(ctx, s.edge, "GetHotel", func(ctx context.Context) (search.Hotel, error) { return s.next.GetHotel(ctx, r) })
}

func (s searchEdge) CreateHotel(ctx context.Context, r search.CreateHotelRequest) (search.Hotel, error) {
	return observability.Call(ctx, s.edge, "CreateHotel", func(ctx context.Context) (search.Hotel, error) { return s.next.CreateHotel(ctx, r) })
}

func (s searchEdge) UpdateHotel(ctx context.Context, r search.UpdateHotelRequest) (search.Hotel, error) {
	return observability.Call(ctx, s.edge, "UpdateHotel", func(ctx context.Context) (search.Hotel, error) { return s.next.UpdateHotel(ctx, r) })
}

func (s searchEdge) DeleteHotel(ctx context.Context, r search.DeleteHotelRequest) error {
	return observability.CallErr(ctx, s.edge, "DeleteHotel", func(ctx context.Context) error { return s.next.DeleteHotel(ctx, r) })
}

func (s searchEdge) CreateRoomType(ctx context.Context, r search.CreateRoomTypeRequest) (search.RoomType, error) {
	return observability.Call(ctx, s.edge, "CreateRoomType", func(ctx context.Context) (search.RoomType, error) { return s.next.CreateRoomType(ctx, r) })
}

func (s searchEdge) UpdateRoomType(ctx context.Context, r search.UpdateRoomTypeRequest) (search.RoomType, error) {
	return observability.Call(ctx, s.edge, "UpdateRoomType", func(ctx context.Context) (search.RoomType, error) { return s.next.UpdateRoomType(ctx, r) })
}

func (s searchEdge) DeleteRoomType(ctx context.Context, r search.DeleteRoomTypeRequest) error {
	return observability.CallErr(ctx, s.edge, "DeleteRoomType", func(ctx context.Context) error { return s.next.DeleteRoomType(ctx, r) })
}

func (s searchEdge) SetRates(ctx context.Context, r search.SetRatesRequest) (search.RoomType, error) {
	return observability.Call(ctx, s.edge, "SetRates", func(ctx context.Context) (search.RoomType, error) { return s.next.SetRates(ctx, r) })
}

func (s searchEdge) DeleteRate(ctx context.Context, r search.DeleteRateRequest) error {
	return observability.CallErr(ctx, s.edge, "DeleteRate", func(ctx context.Context) error { return s.next.DeleteRate(ctx, r) })
}

func (s searchEdge) Quote(ctx context.Context, r search.QuoteRequest) (search.Quote, error) {
	return observability.Call(ctx, s.edge, "Quote", func(ctx context.Context) (search.Quote, error) { return s.next.Quote(ctx, r) })
}
