package searchlocal

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/bellhop/bellhop/platform/civil"
)

// SeedStats counts what Seed wrote.
type SeedStats struct {
	Cities, Hotels, RoomTypes, Rates int
	AlreadySeeded                    bool
}

// Seed writes the demo catalog: 60 real cities and 2,400 hotels with room
// types, base rates and holiday rates. It is deterministic (the same names and
// ids on every run, from a fixed random seed) and idempotent: rows that exist
// are left alone, and a catalog that already has the demo hotels is skipped.
func (m *Module) Seed(ctx context.Context) (SeedStats, error) {
	cat := demoCatalog()
	existing, err := m.seeds.countHotels(ctx, cat.hotels[0].ID, cat.hotels[len(cat.hotels)-1].ID)
	if err != nil {
		return SeedStats{}, fmt.Errorf("seed: %w", err)
	}
	if existing == 2 {
		return SeedStats{AlreadySeeded: true}, nil
	}
	added, err := m.seeds.addCatalog(ctx, cat)
	if err != nil {
		return SeedStats{}, fmt.Errorf("seed: %w", err)
	}
	m.svc.index.refresh(ctx, cityIDs(cat.cities)...)
	return added, nil
}

// seedStore is what Seed needs of the database (store implements it).
type seedStore interface {
	// countHotels counts the hotels of ids that are in the catalog.
	countHotels(ctx context.Context, ids ...string) (int, error)
	// addCatalog adds the rows of cat not in the catalog yet and counts
	// them. Through the outbox, like the API: every room type's creation
	// is an event, so reporting knows the demo hotels' rooms (occupancy's
	// denominator) before their first booking.
	addCatalog(ctx context.Context, cat catalog) (SeedStats, error)
}

func cityIDs(cs []cityRow) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

type catalog struct {
	cities []cityRow
	hotels []hotelRow
	rooms  []roomTypeRow
	rates  []rateRow
}

// demoCity: name, country, zone, currency, the nightly price of a standard
// double in a 3-star hotel there (minor units), how many hotels, street style.
type demoCity struct {
	name, country, zone, currency string
	price                         int64
	hotels                        int
	street                        string
}

var demoCities = []demoCity{
	{"Lisbon", "PT", "Europe/Lisbon", "EUR", 9500, 72, "pt"},
	{"Paris", "FR", "Europe/Paris", "EUR", 16000, 72, "fr"},
	{"London", "GB", "Europe/London", "GBP", 14000, 72, "en"},
	{"New York", "US", "America/New_York", "USD", 22000, 72, "en"},
	{"Tokyo", "JP", "Asia/Tokyo", "JPY", 16000, 72, "jp"},
	{"Barcelona", "ES", "Europe/Madrid", "EUR", 13000, 72, "es"},
	{"Rome", "IT", "Europe/Rome", "EUR", 12500, 72, "it"},
	{"Berlin", "DE", "Europe/Berlin", "EUR", 10500, 72, "de"},
	{"Amsterdam", "NL", "Europe/Amsterdam", "EUR", 15500, 72, "nl"},
	{"Singapore", "SG", "Asia/Singapore", "SGD", 22000, 72, "en"},
	{"Porto", "PT", "Europe/Lisbon", "EUR", 8500, 48, "pt"},
	{"Madrid", "ES", "Europe/Madrid", "EUR", 11500, 48, "es"},
	{"Vienna", "AT", "Europe/Vienna", "EUR", 11000, 48, "de"},
	{"Prague", "CZ", "Europe/Prague", "CZK", 220000, 48, "cz"},
	{"Copenhagen", "DK", "Europe/Copenhagen", "DKK", 110000, 48, "dk"},
	{"Dublin", "IE", "Europe/Dublin", "EUR", 15000, 48, "en"},
	{"Edinburgh", "GB", "Europe/London", "GBP", 12000, 48, "en"},
	{"Munich", "DE", "Europe/Berlin", "EUR", 12500, 48, "de"},
	{"Milan", "IT", "Europe/Rome", "EUR", 13500, 48, "it"},
	{"Florence", "IT", "Europe/Rome", "EUR", 13000, 48, "it"},
	{"Zurich", "CH", "Europe/Zurich", "CHF", 19000, 48, "de"},
	{"Stockholm", "SE", "Europe/Stockholm", "SEK", 130000, 48, "se"},
	{"San Francisco", "US", "America/Los_Angeles", "USD", 21000, 48, "en"},
	{"Chicago", "US", "America/Chicago", "USD", 16000, 48, "en"},
	{"Toronto", "CA", "America/Toronto", "CAD", 19000, 48, "en"},
	{"Sydney", "AU", "Australia/Sydney", "AUD", 21000, 48, "en"},
	{"Mexico City", "MX", "America/Mexico_City", "MXN", 150000, 48, "es"},
	{"São Paulo", "BR", "America/Sao_Paulo", "BRL", 45000, 48, "pt"},
	{"Buenos Aires", "AR", "America/Argentina/Buenos_Aires", "USD", 9000, 48, "es"},
	{"Istanbul", "TR", "Europe/Istanbul", "EUR", 9000, 48, "tr"},
	{"Seville", "ES", "Europe/Madrid", "EUR", 9500, 24, "es"},
	{"Valencia", "ES", "Europe/Madrid", "EUR", 9000, 24, "es"},
	{"Nice", "FR", "Europe/Paris", "EUR", 13000, 24, "fr"},
	{"Lyon", "FR", "Europe/Paris", "EUR", 10000, 24, "fr"},
	{"Hamburg", "DE", "Europe/Berlin", "EUR", 10500, 24, "de"},
	{"Brussels", "BE", "Europe/Brussels", "EUR", 11000, 24, "fr"},
	{"Oslo", "NO", "Europe/Oslo", "NOK", 150000, 24, "se"},
	{"Helsinki", "FI", "Europe/Helsinki", "EUR", 11500, 24, "en"},
	{"Warsaw", "PL", "Europe/Warsaw", "PLN", 38000, 24, "pl"},
	{"Krakow", "PL", "Europe/Warsaw", "PLN", 32000, 24, "pl"},
	{"Budapest", "HU", "Europe/Budapest", "HUF", 3500000, 24, "hu"},
	{"Athens", "GR", "Europe/Athens", "EUR", 10000, 24, "en"},
	{"Reykjavik", "IS", "Atlantic/Reykjavik", "ISK", 25000, 24, "en"},
	{"Funchal", "PT", "Atlantic/Madeira", "EUR", 9000, 24, "pt"},
	{"Boston", "US", "America/New_York", "USD", 19000, 24, "en"},
	{"Los Angeles", "US", "America/Los_Angeles", "USD", 18000, 24, "en"},
	{"Miami", "US", "America/New_York", "USD", 17000, 24, "en"},
	{"Vancouver", "CA", "America/Vancouver", "CAD", 18000, 24, "en"},
	{"Montreal", "CA", "America/Toronto", "CAD", 16000, 24, "fr"},
	{"Rio de Janeiro", "BR", "America/Sao_Paulo", "BRL", 42000, 24, "pt"},
	{"Cape Town", "ZA", "Africa/Johannesburg", "ZAR", 180000, 24, "en"},
	{"Marrakesh", "MA", "Africa/Casablanca", "MAD", 90000, 24, "fr"},
	{"Dubai", "AE", "Asia/Dubai", "AED", 55000, 24, "en"},
	{"Bangkok", "TH", "Asia/Bangkok", "THB", 280000, 24, "en"},
	{"Seoul", "KR", "Asia/Seoul", "KRW", 150000, 24, "en"},
	{"Kyoto", "JP", "Asia/Tokyo", "JPY", 15000, 24, "jp"},
	{"Hong Kong", "HK", "Asia/Hong_Kong", "HKD", 120000, 24, "en"},
	{"Melbourne", "AU", "Australia/Melbourne", "AUD", 19000, 24, "en"},
	{"Auckland", "NZ", "Pacific/Auckland", "NZD", 18000, 24, "en"},
	{"Honolulu", "US", "Pacific/Honolulu", "USD", 26000, 24, "en"},
}

var (
	nameAdjectives = []string{"Grand", "Royal", "Little", "Golden", "Silver", "Blue", "Old", "Quiet", "Bright", "Hidden",
		"Central", "Imperial", "Majestic", "Modern", "Secret", "Green", "White", "Northern", "Sunny", "Velvet"}
	nameNouns = []string{"Harbour", "Garden", "Tower", "Bridge", "Lantern", "Anchor", "Orchard", "Palace", "Court", "Square",
		"Gate", "River", "Park", "Station", "Market", "Lighthouse", "Meadow", "Cathedral", "Fountain", "Terrace", "Library",
		"Theatre", "Cloister", "Observatory", "Conservatory", "Arcade", "Pier", "Vineyard"}
	nameKinds   = []string{"Hotel", "Inn", "Suites", "Residence", "Lodge", "Boutique Hotel", "House", "Hotel & Spa"}
	streetNames = []string{"Victoria", "Garibaldi", "Lincoln", "Mozart", "Goethe", "Cervantes", "Camões", "Dante",
		"Shakespeare", "Hugo", "Chopin", "Pessoa", "Verdi", "Humboldt", "Curie", "Darwin", "Newton", "Bolívar",
		"Magellan", "Columbus", "Nobel", "Tesla", "Rembrandt", "Vivaldi", "Andersen", "Sibelius", "Liszt", "Kafka"}
	amenityPool = []string{"wifi", "breakfast", "parking", "pool", "gym", "spa", "restaurant", "bar", "airport-shuttle",
		"pet-friendly", "air-conditioning", "24h-reception", "family-rooms", "accessible", "ev-charging", "rooftop-terrace"}
	phrases = []string{"a short walk from the old town", "close to the main station", "with views over the water",
		"on a quiet street near the shops", "in the heart of the nightlife district", "beside a leafy park",
		"near the museums and galleries", "a few minutes from the business district"}
)

type demoRoom struct {
	name   string
	guests int
	factor float64
}

var demoRooms = []demoRoom{
	{"Single Room", 1, 0.75}, {"Twin Room", 2, 1.0}, {"Superior Double", 2, 1.25}, {"Deluxe King", 2, 1.5},
	{"Junior Suite", 3, 1.9}, {"Family Room", 4, 1.6}, {"Suite", 4, 2.6},
}

// Demo holiday rates: fixed dates, so the catalog is the same whenever it is seeded.
var demoHolidays = []struct {
	date   string
	factor float64
}{
	{"2026-12-24", 1.3}, {"2026-12-25", 1.3}, {"2026-12-31", 1.6}, {"2027-04-02", 1.2}, {"2027-08-14", 1.25},
}

// demoCatalog builds the catalog from a fixed seed: same input, same output.
func demoCatalog() catalog {
	rng := rand.New(rand.NewPCG(20261124, 1))
	entropy := rand.NewChaCha8([32]byte{'b', 'e', 'l', 'l', 'h', 'o', 'p'})
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	seq := 0
	id := func(prefix string) string {
		seq++
		u := ulid.MustNew(ulid.Timestamp(epoch.Add(time.Duration(seq)*time.Millisecond)), entropy)
		return prefix + "_" + strings.ToLower(u.String())
	}
	var cat catalog
	for _, c := range demoCities {
		city := cityRow{ID: citySlug(c.name, c.country), Name: c.name, NameKey: nameKey(c.name),
			Country: c.country, TimeZone: c.zone, CreatedAt: epoch}
		cat.cities = append(cat.cities, city)
		used := map[string]bool{}
		for n := 0; n < c.hotels; n++ {
			stars := starsFor(rng)
			name := hotelName(rng, c.name, used)
			h := hotelRow{
				ID: id("htl"), CityID: city.ID, Name: name, Address: address(rng, c.street),
				TimeZone: c.zone, Stars: stars, Rating: ratingFor(rng, stars),
				Description: fmt.Sprintf("%s is a %d-star stay in %s, %s.", name, stars, c.name, phrases[rng.IntN(len(phrases))]),
				Amenities:   amenitiesFor(rng, stars), CreatedAt: epoch, UpdatedAt: epoch,
			}
			cat.hotels = append(cat.hotels, h)
			for _, r := range roomsFor(rng) {
				rate := niceAmount(float64(c.price)*starFactor[stars]*r.factor*(0.85+0.3*rng.Float64()), c.currency)
				rt := roomTypeRow{
					ID: id("rt"), HotelID: h.ID, Name: r.name, MaxGuests: r.guests, RoomsTotal: 2 + rng.IntN(10+stars*6),
					BaseRate: rate, Currency: c.currency, CreatedAt: epoch, UpdatedAt: epoch,
				}
				cat.rooms = append(cat.rooms, rt)
				for _, hd := range demoHolidays {
					cat.rates = append(cat.rates, rateRow{RoomTypeID: rt.ID, Date: civil.MustParse(hd.date).String(),
						Amount: niceAmount(float64(rate)*hd.factor, c.currency)})
				}
			}
		}
	}
	return cat
}

var starFactor = map[int]float64{1: 0.5, 2: 0.7, 3: 1, 4: 1.5, 5: 2.4}

func starsFor(rng *rand.Rand) int {
	switch p := rng.IntN(100); {
	case p < 5:
		return 1
	case p < 20:
		return 2
	case p < 55:
		return 3
	case p < 88:
		return 4
	default:
		return 5
	}
}

func ratingFor(rng *rand.Rand, stars int) float64 {
	r := 2.8 + float64(stars)*0.3 + rng.Float64()*0.8
	return math.Min(5, math.Round(r*10)/10)
}

func hotelName(rng *rand.Rand, city string, used map[string]bool) string {
	for {
		var n string
		switch rng.IntN(5) {
		case 0:
			n = "Hotel " + nameNouns[rng.IntN(len(nameNouns))]
		case 1:
			n = nameNouns[rng.IntN(len(nameNouns))] + " " + nameKinds[rng.IntN(len(nameKinds))]
		case 2:
			n = "The " + nameAdjectives[rng.IntN(len(nameAdjectives))] + " " + nameNouns[rng.IntN(len(nameNouns))]
		case 3:
			n = city + " " + nameNouns[rng.IntN(len(nameNouns))] + " " + nameKinds[rng.IntN(len(nameKinds))]
		default:
			n = nameAdjectives[rng.IntN(len(nameAdjectives))] + " " + nameNouns[rng.IntN(len(nameNouns))] + " " + nameKinds[rng.IntN(len(nameKinds))]
		}
		if !used[n] {
			used[n] = true
			return n
		}
	}
}

func address(rng *rand.Rand, style string) string {
	s := streetNames[rng.IntN(len(streetNames))]
	n := strconv.Itoa(1 + rng.IntN(220))
	switch style {
	case "pt":
		return "Rua " + s + ", " + n
	case "es":
		return "Calle de " + s + ", " + n
	case "fr":
		return n + " rue " + s
	case "it":
		return "Via " + s + ", " + n
	case "de":
		return s + "straße " + n
	case "nl":
		return s + "straat " + n
	case "se", "dk":
		return s + "gatan " + n
	case "cz":
		return s + "ova " + n
	case "pl":
		return "ulica " + s + " " + n
	case "hu":
		return s + " utca " + n
	case "tr":
		return s + " Caddesi No:" + n
	case "jp":
		return n + "-" + strconv.Itoa(1+rng.IntN(30)) + " " + s + "-dori"
	}
	return n + " " + s + " Street"
}

func amenitiesFor(rng *rand.Rand, stars int) []string {
	n := 2 + stars + rng.IntN(3)
	perm := rng.Perm(len(amenityPool))
	out := []string{"wifi"}
	for _, i := range perm {
		if len(out) == n {
			break
		}
		if a := amenityPool[i]; a != "wifi" {
			out = append(out, a)
		}
	}
	return out
}

// roomsFor picks 2-4 room types; every hotel has a standard double.
func roomsFor(rng *rand.Rand) []demoRoom {
	out := []demoRoom{{"Standard Double", 2, 1.0}}
	perm := rng.Perm(len(demoRooms))
	for _, i := range perm[:1+rng.IntN(3)] {
		out = append(out, demoRooms[i])
	}
	return out
}

// niceAmount rounds a price to whole units (hundreds of units for currencies
// with large numbers), as a hotel would list it.
func niceAmount(v float64, currency string) int64 {
	step := 100.0 // one whole unit of a two-decimal currency
	switch currency {
	case "JPY", "KRW", "ISK", "CLP", "VND":
		step = 100
	case "HUF":
		step = 10000
	case "CZK", "THB", "MXN", "ZAR", "SEK", "NOK", "DKK":
		step = 1000
	}
	return int64(math.Max(step, math.Round(v/step)*step))
}
