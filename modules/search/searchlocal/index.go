package searchlocal

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/civil"
)

// index is the in-memory read model that SearchHotels runs on: per city, the
// hotels with their room types, rate overrides and rooms taken, laid out for a
// stay to be priced without touching the database. The database stays the
// source of truth: every committed write reloads the affected city before the
// write returns, so a change made a moment earlier always shows. Cities load
// lazily, so start-up costs nothing.
//
// Loads and swaps are serialized by mu and always read the database after
// taking it, so the last swap reflects the last commit; readers never lock.
type index struct {
	store indexStore

	mu     sync.Mutex
	cities sync.Map // city id → *cityEntry
	// roomCity maps the room types of the cities loaded to their city
	// (written under mu; a room type deleted since may linger, harmlessly).
	roomCity sync.Map // room type id → city id
	// directory maps ids and lower-cased names to cities; nil until first use.
	directory atomic.Pointer[directory]
}

type directory struct {
	byID   map[string]placedCity
	byName map[string][]string // name key → city ids
}

// placedCity is a city with its time zone loaded, ready for date checks.
type placedCity struct {
	search.City
	loc *time.Location
}

type cityEntry struct {
	city   search.City
	hotels []*hotelEntry // by id
}

type hotelEntry struct {
	id, name, cityID, address, timeZone string
	// ord is the hotel's rank by id in its city, so that a search in one
	// city breaks ties by comparing two ints rather than two ids.
	ord       int
	stars     int
	rating    float64
	amenities []string
	rooms     []*roomEntry // by id
}

type roomEntry struct {
	id, name   string
	maxGuests  int
	roomsTotal int
	baseRate   int64
	currency   string
	rates      []dayValue // overrides, by day
	taken      []dayValue // rooms taken, by day; days without one have none taken
}

// dayValue is a value on a day numbered from the epoch (civil.Date.DaysSinceEpoch).
type dayValue struct {
	day   int
	value int64
}

// rangeOf returns the values with from <= day < to. Most room types have a
// handful of overrides and no rooms taken, so the common answer is found
// without a search.
func rangeOf(vs []dayValue, from, to int) []dayValue {
	if len(vs) == 0 || vs[len(vs)-1].day < from || vs[0].day >= to {
		return nil
	}
	lo, hi := 0, len(vs)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if vs[mid].day < from {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	end := lo
	for end < len(vs) && vs[end].day < to {
		end++
	}
	return vs[lo:end]
}

// indexStore is what the index reads from the database (store implements it).
type indexStore interface {
	allCities(ctx context.Context) ([]cityRow, error)
	cityCatalog(ctx context.Context, cityID, from string) (cityCatalog, error)
	roomsTaken(ctx context.Context, roomTypeIDs []string, from string) ([]availabilityRow, error)
}

func newIndex(st indexStore) *index { return &index{store: st} }

// roomType finds a room type in the cities loaded, with its hotel and city.
func (ix *index) roomType(id string) (*cityEntry, *hotelEntry, *roomEntry, bool) {
	cityID, ok := ix.roomCity.Load(id)
	if !ok {
		return nil, nil, nil, false
	}
	v, ok := ix.cities.Load(cityID)
	if !ok {
		return nil, nil, nil, false
	}
	c := v.(*cityEntry)
	for _, h := range c.hotels {
		for _, r := range h.rooms {
			if r.id == id {
				return c, h, r, true
			}
		}
	}
	return nil, nil, nil, false
}

// resolveCity finds the cities a search names: by id, else by name (any case).
func (ix *index) resolveCity(ctx context.Context, q string) ([]placedCity, error) {
	dir, err := ix.loadDirectory(ctx)
	if err != nil {
		return nil, err
	}
	if c, ok := dir.byID[q]; ok {
		return []placedCity{c}, nil
	}
	ids := dir.byName[nameKey(q)]
	out := make([]placedCity, 0, len(ids))
	for _, id := range ids {
		out = append(out, dir.byID[id])
	}
	return out, nil
}

func (ix *index) loadDirectory(ctx context.Context) (*directory, error) {
	if d := ix.directory.Load(); d != nil {
		return d, nil
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if d := ix.directory.Load(); d != nil {
		return d, nil
	}
	return ix.reloadDirectoryLocked(ctx)
}

func (ix *index) reloadDirectoryLocked(ctx context.Context) (*directory, error) {
	rows, err := ix.store.allCities(ctx)
	if err != nil {
		return nil, err
	}
	d := &directory{byID: make(map[string]placedCity, len(rows)), byName: make(map[string][]string)}
	for _, r := range rows {
		loc, err := time.LoadLocation(r.TimeZone)
		if err != nil {
			loc = time.UTC // unreachable: zones are validated on the way in
		}
		d.byID[r.ID] = placedCity{City: search.City{ID: r.ID, Name: r.Name, Country: r.Country, TimeZone: r.TimeZone}, loc: loc}
		d.byName[r.NameKey] = append(d.byName[r.NameKey], r.ID)
	}
	ix.directory.Store(d)
	return d, nil
}

// city returns the entry of a city, loading it on first use.
func (ix *index) city(ctx context.Context, c search.City) (*cityEntry, error) {
	if e, ok := ix.cities.Load(c.ID); ok {
		return e.(*cityEntry), nil
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if e, ok := ix.cities.Load(c.ID); ok {
		return e.(*cityEntry), nil
	}
	return ix.reloadLocked(ctx, c.ID)
}

// refresh reloads cities after a committed write. If a reload fails the entry
// is dropped, so the next search loads it afresh rather than serving stale data.
func (ix *index) refresh(ctx context.Context, cityIDs ...string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if _, err := ix.reloadDirectoryLocked(ctx); err != nil {
		ix.directory.Store(nil)
	}
	for _, id := range cityIDs {
		if id == "" {
			continue
		}
		if _, err := ix.reloadLocked(context.WithoutCancel(ctx), id); err != nil {
			ix.cities.Delete(id)
		}
	}
}

func (ix *index) reloadLocked(ctx context.Context, cityID string) (*cityEntry, error) {
	cat, err := ix.store.cityCatalog(ctx, cityID, searchableFrom())
	if err != nil {
		return nil, err
	}
	if cat.city.ID == "" {
		ix.cities.Delete(cityID)
		return &cityEntry{}, nil
	}
	city, hotels, rooms := cat.city, cat.hotels, cat.rooms
	rates := map[string][]dayValue{}
	for _, r := range cat.rates {
		rates[r.RoomTypeID] = append(rates[r.RoomTypeID], dayValue{day: mustDay(r.Date), value: r.Amount})
	}
	taken := takenByRoomType(cat.taken)
	// Entries sit side by side in one allocation each (a search walks them all).
	roomSlab := make([]roomEntry, len(rooms))
	byHotel := make(map[string][]*roomEntry, len(hotels))
	for i, r := range rooms {
		ix.roomCity.Store(r.ID, cityID)
		roomSlab[i] = roomEntry{
			id: r.ID, name: r.Name, maxGuests: r.MaxGuests, roomsTotal: r.RoomsTotal,
			baseRate: r.BaseRate, currency: r.Currency, rates: rates[r.ID], taken: taken[r.ID],
		}
		byHotel[r.HotelID] = append(byHotel[r.HotelID], &roomSlab[i])
	}
	e := &cityEntry{
		city:   search.City{ID: city.ID, Name: city.Name, Country: city.Country, TimeZone: city.TimeZone, HotelCount: len(hotels)},
		hotels: make([]*hotelEntry, len(hotels)),
	}
	hotelSlab := make([]hotelEntry, len(hotels))
	for i, h := range hotels {
		e.hotels[i] = &hotelSlab[i]
		*e.hotels[i] = hotelEntry{
			id: h.ID, name: h.Name, cityID: h.CityID, address: h.Address, timeZone: h.TimeZone,
			stars: h.Stars, rating: h.Rating, amenities: nonNil(h.Amenities), rooms: byHotel[h.ID],
		}
	}
	// In Go's order of strings, whatever the database's collation.
	slices.SortFunc(e.hotels, func(a, b *hotelEntry) int { return strings.Compare(a.id, b.id) })
	for i, h := range e.hotels {
		h.ord = i
	}
	packStrings(e.hotels)
	ix.cities.Store(cityID, e)
	return e, nil
}

// packStrings copies the strings of a city's hotels and room types into one
// allocation, each hotel's next to its room types', equal ones once (the
// city, zone and currency every hotel repeats). A search page reads ~12 KB
// of them, which the rows had scattered over the heap: packed, they are a
// few cache lines a hotel instead of a miss a string (encoding a page took
// ~15% less of the server's CPU under wrk).
func packStrings(hotels []*hotelEntry) {
	var refs []*string
	size := 0
	for _, h := range hotels {
		h.amenities = slices.Clone(h.amenities) // the row's slice is not ours to change
		refs = append(refs, &h.id, &h.name, &h.cityID, &h.address, &h.timeZone)
		for i := range h.amenities {
			refs = append(refs, &h.amenities[i])
		}
		for _, r := range h.rooms {
			refs = append(refs, &r.id, &r.name, &r.currency)
		}
	}
	for _, r := range refs {
		size += len(*r)
	}
	var b strings.Builder
	b.Grow(size)
	offsets := make([]int, len(refs))
	seen := map[string]int{}
	for i, r := range refs {
		if off, ok := seen[*r]; ok {
			offsets[i] = off
			continue
		}
		offsets[i] = b.Len()
		b.WriteString(*r)
		if len(*r) <= 40 { // cities, zones, currencies and room names repeat; ids and addresses do not
			seen[*r] = offsets[i]
		}
	}
	all := b.String()
	for i, r := range refs {
		*r = all[offsets[i] : offsets[i]+len(*r)]
	}
}

// takenByRoomType groups rows of rooms taken (by date) by room type.
func takenByRoomType(rows []availabilityRow) map[string][]dayValue {
	taken := map[string][]dayValue{}
	for _, a := range rows {
		taken[a.RoomTypeID] = append(taken[a.RoomTypeID], dayValue{day: mustDay(a.Date), value: int64(a.Taken)})
	}
	return taken
}

// searchableFrom is the first night a search can still touch: past nights
// never are. Yesterday, because "today" runs up to a day behind UTC in some
// zones.
func searchableFrom() string { return civil.Of(time.Now().UTC()).AddDays(-1).String() }

// refreshTaken reloads the rooms taken of room types after committed booking
// events — a few rows each, where reloading their cities would read every
// hotel, room type and rate of them — and swaps in copies of their cities'
// entries (readers keep the entry they hold). Room types of cities not
// loaded need nothing: a city loads from the database when first searched.
// If the read fails the cities are dropped, to be loaded afresh.
func (ix *index) refreshTaken(ctx context.Context, roomTypeIDs []string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	byCity := map[string]map[string]bool{}
	var ids []string
	for _, id := range roomTypeIDs {
		v, ok := ix.roomCity.Load(id)
		if !ok {
			continue
		}
		c := v.(string)
		if byCity[c] == nil {
			byCity[c] = map[string]bool{}
		}
		byCity[c][id] = true
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return
	}
	as, err := ix.store.roomsTaken(context.WithoutCancel(ctx), ids, searchableFrom())
	if err != nil {
		for c := range byCity {
			ix.cities.Delete(c)
		}
		return
	}
	taken := takenByRoomType(as)
	for cityID, changed := range byCity {
		v, ok := ix.cities.Load(cityID)
		if !ok {
			continue
		}
		old := v.(*cityEntry)
		e := &cityEntry{city: old.city, hotels: slices.Clone(old.hotels)}
		for i, h := range old.hotels {
			for j, r := range h.rooms {
				if !changed[r.id] {
					continue
				}
				if e.hotels[i] == h { // first change in this hotel: copy it
					hc := *h
					hc.rooms = slices.Clone(h.rooms)
					e.hotels[i] = &hc
				}
				rc := *r
				rc.taken = taken[r.id]
				e.hotels[i].rooms[j] = &rc
			}
		}
		ix.cities.Store(cityID, e)
	}
}

func mustDay(s string) int {
	d, err := civil.Parse(s)
	if err != nil {
		return 0 // unreachable: dates are written by this module
	}
	return d.DaysSinceEpoch()
}

func nameKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
