package main

import (
	"context"
	"time"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/observability"
)

// observe times one in-process call along an edge. Remote calls are recorded
// by platform/httpclient under the same metric names.
func observe[T any](e observability.Edge, op string, call func() (T, error)) (T, error) {
	start := time.Now()
	v, err := call()
	e.Observe(op, start, err)
	return v, err
}

func observeErr(e observability.Edge, op string, call func() error) error {
	start := time.Now()
	err := call()
	e.Observe(op, start, err)
	return err
}

// searchEdge is search.Service with per-edge metrics.
type searchEdge struct {
	next search.Service
	edge observability.Edge
}

func instrumentSearch(s search.Service, e observability.Edge) search.Service {
	return searchEdge{next: s, edge: e}
}

func (s searchEdge) ListCities(ctx context.Context, r search.ListCitiesRequest) (search.CityList, error) {
	return observe(s.edge, "ListCities", func() (search.CityList, error) { return s.next.ListCities(ctx, r) })
}

func (s searchEdge) SearchHotels(ctx context.Context, r search.SearchRequest) (search.SearchResult, error) {
	return observe(s.edge, "SearchHotels", func() (search.SearchResult, error) { return s.next.SearchHotels(ctx, r) })
}

func (s searchEdge) GetHotel(ctx context.Context, r search.GetHotelRequest) (search.Hotel, error) {
	return observe(s.edge, "GetHotel", func() (search.Hotel, error) { return s.next.GetHotel(ctx, r) })
}

func (s searchEdge) CreateHotel(ctx context.Context, r search.CreateHotelRequest) (search.Hotel, error) {
	return observe(s.edge, "CreateHotel", func() (search.Hotel, error) { return s.next.CreateHotel(ctx, r) })
}

func (s searchEdge) UpdateHotel(ctx context.Context, r search.UpdateHotelRequest) (search.Hotel, error) {
	return observe(s.edge, "UpdateHotel", func() (search.Hotel, error) { return s.next.UpdateHotel(ctx, r) })
}

func (s searchEdge) DeleteHotel(ctx context.Context, r search.DeleteHotelRequest) error {
	return observeErr(s.edge, "DeleteHotel", func() error { return s.next.DeleteHotel(ctx, r) })
}

func (s searchEdge) CreateRoomType(ctx context.Context, r search.CreateRoomTypeRequest) (search.RoomType, error) {
	return observe(s.edge, "CreateRoomType", func() (search.RoomType, error) { return s.next.CreateRoomType(ctx, r) })
}

func (s searchEdge) UpdateRoomType(ctx context.Context, r search.UpdateRoomTypeRequest) (search.RoomType, error) {
	return observe(s.edge, "UpdateRoomType", func() (search.RoomType, error) { return s.next.UpdateRoomType(ctx, r) })
}

func (s searchEdge) DeleteRoomType(ctx context.Context, r search.DeleteRoomTypeRequest) error {
	return observeErr(s.edge, "DeleteRoomType", func() error { return s.next.DeleteRoomType(ctx, r) })
}

func (s searchEdge) SetRates(ctx context.Context, r search.SetRatesRequest) (search.RoomType, error) {
	return observe(s.edge, "SetRates", func() (search.RoomType, error) { return s.next.SetRates(ctx, r) })
}

func (s searchEdge) DeleteRate(ctx context.Context, r search.DeleteRateRequest) error {
	return observeErr(s.edge, "DeleteRate", func() error { return s.next.DeleteRate(ctx, r) })
}

func (s searchEdge) Quote(ctx context.Context, r search.QuoteRequest) (search.Quote, error) {
	return observe(s.edge, "Quote", func() (search.Quote, error) { return s.next.Quote(ctx, r) })
}
