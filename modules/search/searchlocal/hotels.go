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
	if !plainlyValid(req) {
		if err := s.validate.Struct(search.ErrInvalidRequest.Reason, req); err != nil {
			return search.SearchResult{}, s.withStayFields(ctx, err, req)
		}
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
	if err := search.CheckStay(req.CheckIn, req.CheckOut, cities[0].loc); err != nil {
		return search.SearchResult{}, err
	}
	after, err := decodeCursor(req.Cursor, req.Sort)
	if err != nil {
		return search.SearchResult{}, err
	}

	first, last := req.CheckIn.DaysSinceEpoch(), req.CheckOut.DaysSinceEpoch()
	// Rank every hotel that has a fitting room on small structs, then build
	// the answer only for the page: most matches are never shown.
	var found []candidate
	inCities := 0
	for _, c := range cities {
		entry, err := s.index.city(ctx, c.City)
		if err != nil {
			return search.SearchResult{}, apperr.Internal(err)
		}
		inCities += len(entry.hotels)
		if found == nil {
			found = make([]candidate, 0, len(entry.hotels))
		}
		for _, h := range entry.hotels {
			if from, ok := cheapest(h, first, last, req.Guests, req.MaxPrice); ok {
				found = append(found, candidate{key: sortKey(req.Sort, h, from), h: h})
			}
		}
	}
	if len(cities) == 1 {
		// One city: its hotels' ranks by id break ties (ints, not strings).
		slices.SortFunc(found, func(a, b candidate) int {
			if a.key != b.key {
				return cmp.Compare(a.key, b.key)
			}
			return cmp.Compare(a.h.ord, b.h.ord)
		})
	} else {
		slices.SortFunc(found, func(a, b candidate) int { return compareRank(a.key, a.h.id, b.key, b.h.id) })
	}
	start := 0
	if after != nil {
		start, _ = slices.BinarySearchFunc(found, *after, func(r candidate, c cursor) int {
			return compareRank(r.key, r.h.id, c.key, c.id)
		})
		if start < len(found) && found[start].key == after.key && found[start].h.id == after.id {
			start++
		}
	}
	end := min(start+req.Limit, len(found))
	res := search.SearchResult{
		City: cities[0].City, CheckIn: req.CheckIn, CheckOut: req.CheckOut, Nights: last - first,
		Guests: req.Guests, Sort: req.Sort, Hotels: make([]search.HotelResult, 0, end-start),
	}
	if len(cities) > 1 {
		// A name several countries share: the result spans them all.
		res.City = search.City{Name: cities[0].Name, TimeZone: cities[0].TimeZone}
	}
	res.City.HotelCount = inCities
	// The page's room offers share one allocation; each hotel's slice is
	// capped, so appending to one never writes into the next.
	n := 0
	for _, c := range found[start:end] {
		n += len(c.h.rooms)
	}
	rooms := make([]search.RoomOffer, n)
	for _, c := range found[start:end] {
		var h search.HotelResult
		h, rooms = offers(c.h, first, last, req.Guests, req.MaxPrice, rooms)
		res.Hotels = append(res.Hotels, h)
	}
	if end < len(found) {
		res.NextCursor = encodeCursor(req.Sort, found[end-1])
	}
	return res, nil
}

// plainlyValid reports, at no cost, a search the validator passes (its
// reflection was a fifth of a search's time): a city name of 1–100 printable
// ASCII characters not all spaces (notblank, safetext), both dates set,
// guests, price, sort, limit and cursor within their tags' bounds. Anything
// else goes to the validator, which names every bad field; so this may say
// false of a valid search, never true of an invalid one
// (TestPlainlyValid_OnlyWhatTheValidatorPasses; a change to SearchRequest's
// validate tags fails TestPlainlyValid_TagsAsChecked until this follows).
func plainlyValid(req search.SearchRequest) bool {
	if len(req.City) == 0 || len(req.City) > 100 || req.CheckIn.IsZero() || req.CheckOut.IsZero() ||
		req.Guests < 1 || req.Guests > search.MaxGuests || req.MaxPrice < 0 ||
		req.Limit < 0 || req.Limit > search.MaxLimit || len(req.Cursor) > 512 {
		return false
	}
	switch req.Sort {
	case search.SortPrice, search.SortRating, search.SortStars:
	default:
		return false
	}
	blank := true
	for i := 0; i < len(req.City); i++ {
		switch c := req.City[i]; {
		case c < 0x20 || c >= 0x7f:
			return false
		case c != ' ':
			blank = false
		}
	}
	return !blank
}

// compareRank orders by key, then by id (compared only on a tie: it is the
// costly part of sorting).
func compareRank(akey int64, aid string, bkey int64, bid string) int {
	if akey != bkey {
		return cmp.Compare(akey, bkey)
	}
	return strings.Compare(aid, bid)
}

// candidate is a hotel with a fitting room, ranked by key.
type candidate struct {
	key int64
	h   *hotelEntry
}

// price is what a stay from day first to day last costs in room type rt, and
// how many of its rooms are free on every night.
func price(rt *roomEntry, first, last int) (free int, total int64) {
	var maxTaken int64
	for _, t := range rangeOf(rt.taken, first, last) {
		maxTaken = max(maxTaken, t.value)
	}
	total = rt.baseRate * int64(last-first)
	for _, r := range rangeOf(rt.rates, first, last) {
		total += r.value - rt.baseRate
	}
	return rt.roomsTotal - int(maxTaken), total
}

// fits reports whether room type rt can take the stay, and at what price.
func fits(rt *roomEntry, first, last, guests int, maxPrice int64) (free int, total int64, ok bool) {
	if rt.maxGuests < guests || rt.roomsTotal == 0 {
		return 0, 0, false
	}
	free, total = price(rt, first, last)
	if free <= 0 || (maxPrice > 0 && perNight(total, last-first) > maxPrice) {
		return 0, 0, false
	}
	return free, total, true
}

// cheapest is the lowest total of the room types of h that fit the stay.
func cheapest(h *hotelEntry, first, last, guests int, maxPrice int64) (int64, bool) {
	var from int64
	found := false
	for _, rt := range h.rooms {
		if _, total, ok := fits(rt, first, last, guests, maxPrice); ok && (!found || total < from) {
			from, found = total, true
		}
	}
	return from, found
}

// offers describes h with every room type that fits the stay, priced. Its
// room offers are appended to spare (which has room for them all) and the
// rest of spare is returned.
func offers(h *hotelEntry, first, last, guests int, maxPrice int64, spare []search.RoomOffer) (search.HotelResult, []search.RoomOffer) {
	res := search.HotelResult{
		ID: h.id, Name: h.name, CityID: h.cityID, Address: h.address, TimeZone: h.timeZone,
		Stars: h.stars, Rating: h.rating, Amenities: h.amenities, RoomTypes: spare[:0:len(h.rooms)],
	}
	for _, rt := range h.rooms {
		free, total, ok := fits(rt, first, last, guests, maxPrice)
		if !ok {
			continue
		}
		if len(res.RoomTypes) == 0 || total < res.FromPrice.Amount {
			res.FromPrice = money.New(total, rt.currency)
		}
		res.RoomTypes = append(res.RoomTypes, search.RoomOffer{
			ID: rt.id, Name: rt.name, MaxGuests: rt.maxGuests, RoomsFree: free,
			PricePerNight: money.New(perNight(total, last-first), rt.currency), TotalPrice: money.New(total, rt.currency),
		})
	}
	return res, spare[len(res.RoomTypes):]
}

// perNight is the average nightly price, rounded half up.
func perNight(total int64, nights int) int64 {
	n := int64(nights)
	return (total + n/2) / n
}

// sortKey orders results ascending: cheapest, best rated, or most stars first
// (ties broken by rating, then by id).
func sortKey(sort string, h *hotelEntry, from int64) int64 {
	rating := int64(h.rating*10 + 0.5)
	switch sort {
	case search.SortRating:
		return -rating
	case search.SortStars:
		return -(int64(h.stars)*1000 + rating)
	}
	return from
}

// cursor is the position after the last hotel of a page: its sort key and id.
// Keyset pagination keeps pages stable while the catalog changes.
type cursor struct {
	key int64
	id  string
}

func encodeCursor(sort string, last candidate) string {
	raw := sort + "|" + strconv.FormatInt(last.key, 10) + "|" + last.h.id
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

// withStayFields adds to invalid (the validator's verdict on a search) what
// is wrong with the stay itself, so one answer names every bad field (a past
// check-in and guests=0 together). The stay rules need the city's time zone:
// when the city cannot be resolved, or a date is missing, invalid stands alone.
func (s *Service) withStayFields(ctx context.Context, invalid error, req search.SearchRequest) error {
	bad := apperr.As(invalid)
	named := map[string]bool{}
	for _, f := range bad.Fields {
		named[f.Field] = true
	}
	if named["city"] || named["check_in"] || named["check_out"] {
		return bad
	}
	cities, err := s.index.resolveCity(ctx, strings.TrimSpace(req.City))
	if err != nil || len(cities) == 0 {
		return bad
	}
	if stay := apperr.As(search.CheckStay(req.CheckIn, req.CheckOut, cities[0].loc)); stay != nil {
		return bad.WithFields(stay.Fields...)
	}
	return bad
}
