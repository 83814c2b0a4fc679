package searchmodule

import (
	"context"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/host"
)

// searchShadow is search.Service with its read methods (ListCities, SearchHotels, GetHotel, Quote)
// also replayed against a remote copy (shadow traffic); every other method,
// through the embedded Service, runs in-process only.
type searchShadow struct {
	search.Service
	remote search.Service
	shadow *host.Shadow
}

// Shadow declares search's read methods to the host's shadow traffic.
func Shadow(local, remote search.Service, s *host.Shadow) search.Service {
	return searchShadow{Service: local, remote: remote, shadow: s}
}

func (s searchShadow) ListCities(ctx context.Context, r search.ListCitiesRequest) (search.CityList, error) {
	return host.ShadowRead(s.shadow, ctx, "ListCities", r, s.Service.ListCities, s.remote.ListCities)
}

func (s searchShadow) SearchHotels(ctx context.Context, r search.SearchRequest) (search.SearchResult, error) {
	return host.ShadowRead(s.shadow, ctx, "SearchHotels", r, s.Service.SearchHotels, s.remote.SearchHotels)
}

func (s searchShadow) GetHotel(ctx context.Context, r search.GetHotelRequest) (search.Hotel, error) {
	return host.ShadowRead(s.shadow, ctx, "GetHotel", r, s.Service.GetHotel, s.remote.GetHotel)
}

func (s searchShadow) Quote(ctx context.Context, r search.QuoteRequest) (search.Quote, error) {
	return host.ShadowRead(s.shadow, ctx, "Quote", r, s.Service.Quote, s.remote.Quote)
}
