package searchlocal

import (
	"cmp"
	"context"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/money"
)

// SearchHotels implements search.Service. It runs on the in-memory index.
func (s *Service) SearchHotels(ctx context.Context, req search.SearchRequest) (search.SearchResult, error) {
	if req.Sort == "" {
		req.Sort = search.SortPrice
	}
	if req.Limit == 0 {
		req.Limit = search.DefaultLimit
	}
	if err := s.validate.Struct(search.ErrInvalidRequest.Reason, req); err != nil {
		return search.SearchResult{}, err
	}
	cities, err := s.index.resolveCity(ctx, strings.TrimSpace(req.City))
	if err != nil {
		return search.SearchResult{}, apperr.Internal(err)
	}
	if len(cities) == 0 {
		return search.SearchResult{}, search.ErrUnknownCity.WithFields(apperr.FieldError{
			Field: "city", Reason: "unknown_city", Detail: "no city has the id or name " + strconv.Quote(req.City),
		})
	}
	if err := search.CheckStay(req.CheckIn, req.CheckOut, cities[0].TimeZone); err != nil {
		return search.SearchResult{}, err
	}
	after, err := decodeCursor(req.Cursor, req.Sort)
	if err != nil {
		return search.SearchResult{}, err
	}

	first, last := req.CheckIn.DaysSinceEpoch(), req.CheckOut.DaysSinceEpoch()
	nights := last - first
	var found []ranked
	inCities := 0
	for _, c := range cities {
		entry, err := s.index.city(ctx, c)
		if err != nil {
			return search.SearchResult{}, apperr.Internal(err)
		}
		inCities += len(entry.hotels)
		for _, h := range entry.hotels {
			if r, ok := offer(h, first, last, req.Guests, req.MaxPrice); ok {
				r.key = sortKey(req.Sort, r.hotel)
				found = append(found, r)
			}
		}
	}
	slices.SortFunc(found, func(a, b ranked) int {
		return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.hotel.ID, b.hotel.ID))
	})
	start := 0
	if after != nil {
		start, _ = slices.BinarySearchFunc(found, *after, func(r ranked, c cursor) int {
			return cmp.Or(cmp.Compare(r.key, c.key), cmp.Compare(r.hotel.ID, c.id))
		})
		if start < len(found) && found[start].key == after.key && found[start].hotel.ID == after.id {
			start++
		}
	}
	end := min(start+req.Limit, len(found))
	res := search.SearchResult{
		City: cities[0], CheckIn: req.CheckIn, CheckOut: req.CheckOut, Nights: nights,
		Guests: req.Guests, Sort: req.Sort, Hotels: make([]search.HotelResult, 0, end-start),
	}
	if len(cities) > 1 {
		// A name several countries share: the result spans them all.
		res.City = search.City{Name: cities[0].Name, TimeZone: cities[0].TimeZone}
	}
	res.City.HotelCount = inCities
	for _, r := range found[start:end] {
		res.Hotels = append(res.Hotels, r.hotel)
	}
	if end < len(found) {
		res.NextCursor = encodeCursor(req.Sort, found[end-1])
	}
	return res, nil
}

type ranked struct {
	key   int64
	hotel search.HotelResult
}

// offer prices every room type of h that fits the stay and the guests and has
// a room free on every night; ok is false when none does.
func offer(h *hotelEntry, first, last, guests int, maxPrice int64) (ranked, bool) {
	nights := int64(last - first)
	var offers []search.RoomOffer
	var from money.Money
	for _, rt := range h.rooms {
		if rt.maxGuests < guests || rt.roomsTotal == 0 {
			continue
		}
		var maxTaken int64
		for _, t := range rangeOf(rt.taken, first, last) {
			maxTaken = max(maxTaken, t.value)
		}
		free := rt.roomsTotal - int(maxTaken)
		if free <= 0 {
			continue
		}
		total := rt.baseRate * nights
		for _, r := range rangeOf(rt.rates, first, last) {
			total += r.value - rt.baseRate
		}
		perNight := (total + nights/2) / nights
		if maxPrice > 0 && perNight > maxPrice {
			continue
		}
		o := search.RoomOffer{
			ID: rt.id, Name: rt.name, MaxGuests: rt.maxGuests, RoomsFree: free,
			PricePerNight: money.New(perNight, rt.currency), TotalPrice: money.New(total, rt.currency),
		}
		if offers == nil || total < from.Amount {
			from = o.TotalPrice
		}
		offers = append(offers, o)
	}
	if len(offers) == 0 {
		return ranked{}, false
	}
	return ranked{hotel: search.HotelResult{
		ID: h.id, Name: h.name, CityID: h.cityID, Address: h.address, TimeZone: h.timeZone,
		Stars: h.stars, Rating: h.rating, Amenities: h.amenities, FromPrice: from, RoomTypes: offers,
	}}, true
}

// sortKey orders results ascending: cheapest, best rated, or most stars first
// (ties broken by rating, then by id).
func sortKey(sort string, h search.HotelResult) int64 {
	rating := int64(h.Rating*10 + 0.5)
	switch sort {
	case search.SortRating:
		return -rating
	case search.SortStars:
		return -(int64(h.Stars)*1000 + rating)
	}
	return h.FromPrice.Amount
}

// cursor is the position after the last hotel of a page: its sort key and id.
// Keyset pagination keeps pages stable while the catalog changes.
type cursor struct {
	key int64
	id  string
}

func encodeCursor(sort string, last ranked) string {
	raw := sort + "|" + strconv.FormatInt(last.key, 10) + "|" + last.hotel.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeCursor(s, sort string) (*cursor, error) {
	if s == "" {
		return nil, nil
	}
	bad := search.ErrInvalidCursor.WithFields(apperr.FieldError{
		Field: "cursor", Reason: "invalid_cursor", Detail: "is not a cursor returned by this search (with sort=" + sort + ")",
	})
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	parts := strings.SplitN(string(raw), "|", 3)
	if len(parts) != 3 || parts[0] != sort || parts[2] == "" {
		return nil, bad
	}
	key, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return nil, bad
	}
	return &cursor{key: key, id: parts[2]}, nil
}
