package searchtest

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/money"
	"github.com/bellhop/bellhop/platform/validation"
)

// Fake is an in-memory search.Service for other modules' tests, such as
// bookings asking for a Quote. It passes the same contract suite as the real
// module (RunContract), so it checks callers' scopes, validates requests and
// returns the same errors; it needs no database, no HTTP and no tokens (put
// a principal in the context with authn.WithPrincipal, e.g. Staff to build a
// catalog, Booking to quote). FailNext injects an error, to test how a caller
// copes with search failing.
//
// Use the Fake when search is a dependency of what you test. Test search
// itself, or the wiring of modules, with the real module: searchlocal (run by
// RunContract in its own tests) or the whole app from cmd/bellhop. Other
// modules may not import searchlocal or searchhttp anyway. Beyond the
// contract the Fake is simpler: ids are sequential ("htl_000001"), it has no
// view of rooms taken by bookings (RoomsFree is always RoomsTotal), and every
// call scans plain maps under one mutex. It is safe for concurrent use.
type Fake struct {
	mu       sync.Mutex
	seq      int                             // last id number handed out
	failNext error                           // returned by the next call, then cleared
	cities   map[string]search.City          // by id; HotelCount is counted when listed
	hotels   map[string]*search.Hotel        // by id, without RoomTypes
	rooms    map[string]*search.RoomType     // by id, without Rates
	rates    map[string]map[civil.Date]int64 // room type id → date → nightly override
}

var _ search.Service = (*Fake)(nil)

var fakeValidator = validation.New()

// NewFake returns an empty Fake.
func NewFake() *Fake {
	return &Fake{
		cities: map[string]search.City{},
		hotels: map[string]*search.Hotel{},
		rooms:  map[string]*search.RoomType{},
		rates:  map[string]map[civil.Date]int64{},
	}
}

// FailNext makes the next call to any method return err before checking
// anything (e.g. apperr.Unavailable(...) for a search outage); the calls
// after it behave normally. FailNext(nil) cancels a pending failure.
func (f *Fake) FailNext(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext = err
}

// enter starts a call, with f.mu held: it returns the error FailNext set, then
// checks the caller has one of scopes (none: anyone may call), then validates req.
func (f *Fake) enter(ctx context.Context, req any, scopes ...string) error {
	if err := f.failNext; err != nil {
		f.failNext = nil
		return err
	}
	if len(scopes) > 0 {
		p, ok := authn.FromContext(ctx)
		if !ok {
			return authn.ErrUnauthenticated
		}
		if !slices.ContainsFunc(scopes, p.HasScope) {
			return authn.ErrForbidden.With("this needs the %q scope", scopes[0])
		}
	}
	err := fakeValidator.Struct(search.ErrInvalidRequest.Reason, req)
	if r, ok := req.(search.CreateRoomTypeRequest); ok { // money has no validate tags: check it here
		var fields []apperr.FieldError
		if r.BaseRate.Amount < 1 {
			fields = append(fields, apperr.FieldError{Field: "base_rate.amount", Reason: "min", Detail: "must be at least 1 (minor units, e.g. cents)"})
		}
		if r.BaseRate.Amount > search.MaxRate {
			fields = append(fields, apperr.FieldError{Field: "base_rate.amount", Reason: "max", Detail: "must be at most 100000000 (minor units)"})
		}
		if !money.IsCurrency(r.BaseRate.Currency) {
			fields = append(fields, apperr.FieldError{Field: "base_rate.currency", Reason: "currency", Detail: "must be an ISO 4217 currency code such as EUR or USD"})
		}
		if len(fields) > 0 {
			return cmp.Or(apperr.As(err), search.ErrInvalidRequest).WithFields(fields...)
		}
	}
	return err
}

func (f *Fake) newID(prefix string) string {
	f.seq++
	return fmt.Sprintf("%s_%06d", prefix, f.seq)
}

// ListCities implements search.Service.
func (f *Fake) ListCities(ctx context.Context, req search.ListCitiesRequest) (search.CityList, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, req); err != nil {
		return search.CityList{}, err
	}
	out := search.CityList{Cities: []search.City{}}
	for _, c := range f.cities {
		if strings.HasPrefix(nameKey(c.Name), nameKey(req.Prefix)) {
			for _, h := range f.hotels {
				if h.CityID == c.ID {
					c.HotelCount++
				}
			}
			out.Cities = append(out.Cities, c)
		}
	}
	slices.SortFunc(out.Cities, func(a, b search.City) int {
		return cmp.Or(cmp.Compare(b.HotelCount, a.HotelCount), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	out.Cities = out.Cities[:min(cmp.Or(req.Limit, 10), len(out.Cities))]
	return out, nil
}

// SearchHotels implements search.Service.
func (f *Fake) SearchHotels(ctx context.Context, req search.SearchRequest) (search.SearchResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req.Sort, req.Limit = cmp.Or(req.Sort, search.SortPrice), cmp.Or(req.Limit, search.DefaultLimit)
	if err := f.enter(ctx, req); err != nil {
		// Like the module, name the stay's bad fields with the others.
		bad := apperr.As(err)
		if cities := f.resolveCity(strings.TrimSpace(req.City)); len(cities) > 0 && !slices.ContainsFunc(bad.Fields, func(fe apperr.FieldError) bool {
			return fe.Field == "city" || fe.Field == "check_in" || fe.Field == "check_out"
		}) && bad.Code == apperr.CodeInvalid {
			if stay := apperr.As(search.CheckStay(req.CheckIn, req.CheckOut, zone(cities[0].TimeZone))); stay != nil {
				bad = bad.WithFields(stay.Fields...)
			}
		}
		return search.SearchResult{}, bad
	}
	cities := f.resolveCity(strings.TrimSpace(req.City))
	if len(cities) == 0 {
		return search.SearchResult{}, search.ErrUnknownCity.WithFields(apperr.FieldError{
			Field: "city", Reason: "unknown_city", Detail: "no city has the id or name " + strconv.Quote(req.City)})
	}
	if err := search.CheckStay(req.CheckIn, req.CheckOut, zone(cities[0].TimeZone)); err != nil {
		return search.SearchResult{}, err
	}
	found := []search.HotelResult{}
	inCities := 0
	for _, h := range f.hotels {
		if !slices.ContainsFunc(cities, func(c search.City) bool { return c.ID == h.CityID }) {
			continue
		}
		inCities++
		if r, ok := f.offer(h, req); ok {
			found = append(found, r)
		}
	}
	order := func(h search.HotelResult, key int64, id string) int {
		return cmp.Or(cmp.Compare(sortKey(req.Sort, h), key), cmp.Compare(h.ID, id))
	}
	slices.SortFunc(found, func(a, b search.HotelResult) int { return order(a, sortKey(req.Sort, b), b.ID) })
	start, err := pageStart(req.Cursor, req.Sort, found, order)
	if err != nil {
		return search.SearchResult{}, err
	}
	end := min(start+req.Limit, len(found))
	res := search.SearchResult{
		City: cities[0], CheckIn: req.CheckIn, CheckOut: req.CheckOut, Nights: req.CheckIn.DaysUntil(req.CheckOut),
		Guests: req.Guests, Sort: req.Sort, Hotels: found[start:end],
	}
	if len(cities) > 1 { // a name several countries share
		res.City = search.City{Name: cities[0].Name, TimeZone: cities[0].TimeZone}
	}
	res.City.HotelCount = inCities
	if end < len(found) {
		last := found[end-1]
		res.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(req.Sort + "|" + strconv.FormatInt(sortKey(req.Sort, last), 10) + "|" + last.ID))
	}
	return res, nil
}

// pageStart is the index in found of the first hotel after cursor ("sort|key|id",
// base64url, as SearchHotels writes it): keyset pages stay stable as the catalog changes.
func pageStart(cursor, sort string, found []search.HotelResult, order func(search.HotelResult, int64, string) int) (int, error) {
	if cursor == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	parts := strings.SplitN(string(raw), "|", 3)
	if err == nil && len(parts) == 3 && parts[0] == sort && parts[2] != "" {
		if key, err := strconv.ParseInt(parts[1], 10, 64); err == nil {
			if i := slices.IndexFunc(found, func(h search.HotelResult) bool { return order(h, key, parts[2]) > 0 }); i >= 0 {
				return i, nil
			}
			return len(found), nil
		}
	}
	return 0, search.ErrInvalidCursor.WithFields(apperr.FieldError{
		Field: "cursor", Reason: "invalid_cursor", Detail: "is not a cursor returned by this search (with sort=" + sort + ")"})
}

// resolveCity finds the cities a search names: by id, else by name (any case).
func (f *Fake) resolveCity(q string) []search.City {
	if c, ok := f.cities[q]; ok {
		return []search.City{c}
	}
	var out []search.City
	for _, c := range f.cities {
		if nameKey(c.Name) == nameKey(q) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b search.City) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// offer prices every room type of h that fits the stay and the guests; ok is
// false when none does.
func (f *Fake) offer(h *search.Hotel, req search.SearchRequest) (search.HotelResult, bool) {
	nights := civil.Nights(req.CheckIn, req.CheckOut)
	res := search.HotelResult{
		ID: h.ID, Name: h.Name, CityID: h.CityID, Address: h.Address, TimeZone: h.TimeZone,
		Stars: h.Stars, Rating: h.Rating, Amenities: slices.Clone(h.Amenities),
	}
	for _, rt := range f.hotelRooms(h.ID) {
		if rt.MaxGuests < req.Guests || rt.RoomsTotal == 0 {
			continue
		}
		var total int64
		for _, d := range nights {
			total += f.price(rt, d)
		}
		n := int64(len(nights))
		perNight := (total + n/2) / n
		if req.MaxPrice > 0 && perNight > req.MaxPrice {
			continue
		}
		cur := rt.BaseRate.Currency
		res.RoomTypes = append(res.RoomTypes, search.RoomOffer{
			ID: rt.ID, Name: rt.Name, MaxGuests: rt.MaxGuests, RoomsFree: rt.RoomsTotal,
			PricePerNight: money.New(perNight, cur), TotalPrice: money.New(total, cur),
		})
		if len(res.RoomTypes) == 1 || total < res.FromPrice.Amount {
			res.FromPrice = money.New(total, cur)
		}
	}
	return res, len(res.RoomTypes) > 0
}

// price is the nightly price of rt on d: its override there, else its base rate.
func (f *Fake) price(rt *search.RoomType, d civil.Date) int64 {
	if amount, ok := f.rates[rt.ID][d]; ok {
		return amount
	}
	return rt.BaseRate.Amount
}

// GetHotel implements search.Service.
func (f *Fake) GetHotel(ctx context.Context, req search.GetHotelRequest) (search.Hotel, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, req); err != nil {
		return search.Hotel{}, err
	}
	h, ok := f.hotels[req.ID]
	if !ok {
		return search.Hotel{}, search.ErrHotelNotFound
	}
	return f.hotelOut(h), nil
}

// CreateHotel implements search.Service.
func (f *Fake) CreateHotel(ctx context.Context, req search.CreateHotelRequest) (search.Hotel, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, req, search.ScopeCatalogWrite); err != nil {
		return search.Hotel{}, err
	}
	city, ok := f.cities[citySlug(req.City, req.Country)]
	if !ok {
		city = search.City{ID: citySlug(req.City, req.Country), Name: strings.TrimSpace(req.City), Country: req.Country, TimeZone: req.TimeZone}
		f.cities[city.ID] = city
	}
	now := time.Now().UTC()
	h := &search.Hotel{
		ID: f.newID("htl"), Name: strings.TrimSpace(req.Name), CityID: city.ID, City: city.Name, Country: city.Country,
		Address: strings.TrimSpace(req.Address), TimeZone: req.TimeZone, Stars: req.Stars, Rating: roundRating(req.Rating),
		Description: strings.TrimSpace(req.Description), Amenities: cleanList(req.Amenities), CreatedAt: now, UpdatedAt: now,
	}
	f.hotels[h.ID] = h
	return f.hotelOut(h), nil
}

// UpdateHotel implements search.Service.
func (f *Fake) UpdateHotel(ctx context.Context, req search.UpdateHotelRequest) (search.Hotel, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, req, search.ScopeCatalogWrite); err != nil {
		return search.Hotel{}, err
	}
	h, ok := f.hotels[req.ID]
	if !ok {
		return search.Hotel{}, search.ErrHotelNotFound
	}
	setIf(&h.Name, req.Name, strings.TrimSpace)
	setIf(&h.Address, req.Address, strings.TrimSpace)
	setIf(&h.TimeZone, req.TimeZone, nil)
	setIf(&h.Stars, req.Stars, nil)
	setIf(&h.Rating, req.Rating, roundRating)
	setIf(&h.Description, req.Description, strings.TrimSpace)
	setIf(&h.Amenities, req.Amenities, cleanList)
	h.UpdatedAt = time.Now().UTC()
	return f.hotelOut(h), nil
}

// setIf stores *v (cleaned, if clean is not nil) in dst unless v is nil.
func setIf[T any](dst *T, v *T, clean func(T) T) {
	switch {
	case v == nil:
	case clean == nil:
		*dst = *v
	default:
		*dst = clean(*v)
	}
}

// DeleteHotel implements search.Service.
func (f *Fake) DeleteHotel(ctx context.Context, req search.DeleteHotelRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, req, search.ScopeCatalogWrite); err != nil {
		return err
	}
	if _, ok := f.hotels[req.ID]; !ok {
		return search.ErrHotelNotFound
	}
	for _, rt := range f.hotelRooms(req.ID) {
		delete(f.rooms, rt.ID)
		delete(f.rates, rt.ID)
	}
	delete(f.hotels, req.ID)
	return nil
}

// CreateRoomType implements search.Service.
func (f *Fake) CreateRoomType(ctx context.Context, req search.CreateRoomTypeRequest) (search.RoomType, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, req, search.ScopeCatalogWrite); err != nil {
		return search.RoomType{}, err
	}
	if _, ok := f.hotels[req.HotelID]; !ok {
		return search.RoomType{}, search.ErrHotelNotFound
	}
	name := strings.TrimSpace(req.Name)
	if f.nameTaken(req.HotelID, name, "") {
		return search.RoomType{}, search.ErrRoomTypeExists
	}
	now := time.Now().UTC()
	rt := &search.RoomType{
		ID: f.newID("rt"), HotelID: req.HotelID, Name: name, MaxGuests: req.MaxGuests, RoomsTotal: req.RoomsTotal,
		BaseRate: req.BaseRate, CreatedAt: now, UpdatedAt: now,
	}
	f.rooms[rt.ID] = rt
	return f.roomOut(rt), nil
}

// UpdateRoomType implements search.Service.
func (f *Fake) UpdateRoomType(ctx context.Context, req search.UpdateRoomTypeRequest) (search.RoomType, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, req, search.ScopeCatalogWrite); err != nil {
		return search.RoomType{}, err
	}
	rt, ok := f.rooms[req.ID]
	if !ok {
		return search.RoomType{}, search.ErrRoomTypeNotFound
	}
	if req.Name != nil && f.nameTaken(rt.HotelID, strings.TrimSpace(*req.Name), rt.ID) {
		return search.RoomType{}, search.ErrRoomTypeExists
	}
	setIf(&rt.Name, req.Name, strings.TrimSpace)
	setIf(&rt.MaxGuests, req.MaxGuests, nil)
	setIf(&rt.RoomsTotal, req.RoomsTotal, nil)
	setIf(&rt.BaseRate.Amount, req.BaseRate, nil)
	rt.UpdatedAt = time.Now().UTC()
	return f.roomOut(rt), nil
}

// DeleteRoomType implements search.Service.
func (f *Fake) DeleteRoomType(ctx context.Context, req search.DeleteRoomTypeRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, req, search.ScopeCatalogWrite); err != nil {
		return err
	}
	if _, ok := f.rooms[req.ID]; !ok {
		return search.ErrRoomTypeNotFound
	}
	delete(f.rooms, req.ID)
	delete(f.rates, req.ID)
	return nil
}

// SetRates implements search.Service.
func (f *Fake) SetRates(ctx context.Context, req search.SetRatesRequest) (search.RoomType, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, req, search.ScopeCatalogWrite); err != nil {
		return search.RoomType{}, err
	}
	seen := map[civil.Date]bool{}
	for i, r := range req.Rates {
		if seen[r.Date] {
			return search.RoomType{}, search.ErrInvalidRequest.WithFields(apperr.FieldError{
				Field: fmt.Sprintf("rates[%d].date", i), Reason: "duplicate", Detail: "sets " + r.Date.String() + " twice"})
		}
		seen[r.Date] = true
	}
	rt, ok := f.rooms[req.RoomTypeID]
	if !ok {
		return search.RoomType{}, search.ErrRoomTypeNotFound
	}
	if f.rates[rt.ID] == nil {
		f.rates[rt.ID] = map[civil.Date]int64{}
	}
	for _, r := range req.Rates {
		f.rates[rt.ID][r.Date] = r.Amount
	}
	return f.roomOut(rt), nil
}

// DeleteRate implements search.Service.
func (f *Fake) DeleteRate(ctx context.Context, req search.DeleteRateRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, req, search.ScopeCatalogWrite); err != nil {
		return err
	}
	if _, ok := f.rooms[req.RoomTypeID]; !ok {
		return search.ErrRoomTypeNotFound
	}
	if _, ok := f.rates[req.RoomTypeID][req.Date]; !ok {
		return search.ErrRateNotFound
	}
	delete(f.rates[req.RoomTypeID], req.Date)
	return nil
}

// Quote implements search.Service.
func (f *Fake) Quote(ctx context.Context, req search.QuoteRequest) (search.Quote, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, req, search.ScopeQuote); err != nil {
		return search.Quote{}, err
	}
	rt, ok := f.rooms[req.RoomTypeID]
	if !ok {
		return search.Quote{}, search.ErrRoomTypeNotFound
	}
	h := f.hotels[rt.HotelID]
	if err := search.CheckStay(req.CheckIn, req.CheckOut, zone(h.TimeZone)); err != nil {
		return search.Quote{}, err
	}
	if req.Guests > rt.MaxGuests {
		return search.Quote{}, search.ErrTooManyGuests.WithFields(apperr.FieldError{
			Field: "guests", Reason: "too_many_guests", Detail: fmt.Sprintf("must be at most %d for this room type", rt.MaxGuests)})
	}
	cur := rt.BaseRate.Currency
	q := search.Quote{
		RoomTypeID: rt.ID, RoomTypeName: rt.Name, HotelID: h.ID, HotelName: h.Name, Address: h.Address,
		City: h.City, Country: h.Country, TimeZone: h.TimeZone, CheckIn: req.CheckIn, CheckOut: req.CheckOut,
		Guests: req.Guests, MaxGuests: rt.MaxGuests, RoomsTotal: rt.RoomsTotal, Currency: cur, Total: money.New(0, cur),
	}
	for _, d := range civil.Nights(req.CheckIn, req.CheckOut) {
		price := f.price(rt, d)
		q.Nights = append(q.Nights, search.NightPrice{Date: d, Price: money.New(price, cur)})
		q.Total.Amount += price
	}
	return q, nil
}

// hotelRooms returns the room types of a hotel, by id.
func (f *Fake) hotelRooms(hotelID string) []*search.RoomType {
	var out []*search.RoomType
	for _, rt := range f.rooms {
		if rt.HotelID == hotelID {
			out = append(out, rt)
		}
	}
	slices.SortFunc(out, func(a, b *search.RoomType) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// nameTaken reports whether another room type than except in the hotel has name.
func (f *Fake) nameTaken(hotelID, name, except string) bool {
	return slices.ContainsFunc(f.hotelRooms(hotelID), func(rt *search.RoomType) bool { return rt.Name == name && rt.ID != except })
}

// hotelOut is a copy of h with its room types by name, safe to hand out.
func (f *Fake) hotelOut(h *search.Hotel) search.Hotel {
	out := *h
	out.Amenities = slices.Clone(h.Amenities)
	out.RoomTypes = []search.RoomType{}
	for _, rt := range f.hotelRooms(h.ID) {
		out.RoomTypes = append(out.RoomTypes, f.roomOut(rt))
	}
	slices.SortStableFunc(out.RoomTypes, func(a, b search.RoomType) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// roomOut is a copy of rt with its overrides from today (where the hotel is) on.
func (f *Fake) roomOut(rt *search.RoomType) search.RoomType {
	today, err := civil.TodayIn(f.hotels[rt.HotelID].TimeZone)
	if err != nil {
		today = civil.Of(time.Now().UTC())
	}
	out := *rt
	out.Rates = []search.Rate{}
	for d, amount := range f.rates[rt.ID] {
		if !d.Before(today) {
			out.Rates = append(out.Rates, search.Rate{Date: d, Amount: amount})
		}
	}
	slices.SortFunc(out.Rates, func(a, b search.Rate) int { return a.Date.Compare(b.Date) })
	return out
}

// The rules below copy searchlocal's, which the Fake may not import.

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

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

var slugLetters = strings.NewReplacer("á", "a", "à", "a", "â", "a", "ã", "a", "ä", "a", "å", "a", "é", "e", "è", "e", "ê", "e", "ë", "e",
	"í", "i", "ì", "i", "î", "i", "ï", "i", "ó", "o", "ò", "o", "ô", "o", "õ", "o", "ö", "o", "ø", "o", "ú", "u", "ù", "u",
	"û", "u", "ü", "u", "ç", "c", "ñ", "n", "ß", "ss", "ł", "l", "ś", "s", "ź", "z", "ż", "z", "č", "c", "ř", "r", "š", "s", "ž", "z")

// citySlug is a stable, readable city id: "São Paulo", "BR" → "sao-paulo-br".
func citySlug(name, country string) string {
	s := strings.Trim(nonSlug.ReplaceAllString(slugLetters.Replace(nameKey(name)), "-"), "-")
	return cmp.Or(s, "city") + "-" + strings.ToLower(country)
}

func nameKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func roundRating(r float64) float64 { return float64(int(r*10+0.5)) / 10 }

// cleanList trims items and drops blank and repeated ones.
func cleanList(in []string) []string {
	out := []string{}
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// zone loads a time zone validated when the hotel was created.
func zone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}
