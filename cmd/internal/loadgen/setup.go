package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/civil"
)

const (
	kindSearch = "search"
	kindHotel  = "hotel"
	kindSignIn = "sign_in"
	kindHold   = "hold"
	kindPay    = "pay"
)

// loadMixes are the weighted request mixes, in per-mille. A hold is always
// followed by a pay for the booking it made.
var loadMixes = map[string][]mixEntry{
	// DeathStarBench's hotel reservation workload.
	"hotel":   {{kindSearch, 600}, {kindHotel, 390}, {kindSignIn, 5}, {kindHold, 5}},
	"booking": {{kindSearch, 200}, {kindHold, 800}},
}

type mixEntry struct {
	kind   string
	weight int
}

const loadPassword = "bellhop load passphrase"

// loadWorld is what setup learned: guests, cities, hotels, room types, stays.
type loadWorld struct {
	run       string
	emails    []string
	tokens    []string
	byEmail   map[string]string // email -> access token
	cities    []string
	hotels    []string
	roomTypes []string
	stays     [][2]civil.Date
}

func setupLoad(ctx context.Context, c *apiClient, o options, log io.Writer) (*loadWorld, error) {
	var rb [4]byte
	_, _ = rand.Read(rb[:])
	w := &loadWorld{run: hex.EncodeToString(rb[:]), byEmail: map[string]string{}}

	var cities search.CityList
	if _, err := c.do(ctx, "GET", "/api/v1/cities?limit=100", "", nil, nil, &cities); err != nil {
		return nil, fmt.Errorf("list cities: %w", err)
	}
	for _, ci := range cities.Cities {
		if ci.HotelCount > 0 {
			w.cities = append(w.cities, ci.Name)
		}
	}
	if len(w.cities) == 0 {
		return nil, errors.New("the target has no city with hotels (seed it: bellhop seed)")
	}
	today := civil.Today(time.UTC)
	for i := 0; i < 16; i++ {
		in := today.AddDays(30 + mrand.IntN(300))
		w.stays = append(w.stays, [2]civil.Date{in, in.AddDays(1 + mrand.IntN(3))})
	}
	seenHotel, seenRT := map[string]bool{}, map[string]bool{}
	for _, city := range w.cities {
		s := w.stays[0]
		q := "/api/v1/hotels?" + url.Values{"city": {city}, "check_in": {s[0].String()}, "check_out": {s[1].String()}, "guests": {"1"}, "limit": {"100"}}.Encode()
		var page search.SearchResult
		if _, err := c.do(ctx, "GET", q, "", nil, nil, &page); err != nil {
			return nil, fmt.Errorf("search %s: %w", city, err)
		}
		for _, h := range page.Hotels {
			if !seenHotel[h.ID] {
				seenHotel[h.ID] = true
				w.hotels = append(w.hotels, h.ID)
			}
			for _, rt := range h.RoomTypes {
				if !seenRT[rt.ID] {
					seenRT[rt.ID] = true
					w.roomTypes = append(w.roomTypes, rt.ID)
				}
			}
		}
	}
	if len(w.hotels) == 0 || len(w.roomTypes) == 0 {
		return nil, errors.New("searches found no hotel with rooms")
	}

	for i := 0; i < o.users; i++ {
		email := fmt.Sprintf("load-%d-%s@load.example", i, w.run)
		body := map[string]string{"email": email, "name": fmt.Sprintf("Load guest %d", i), "password": loadPassword}
		if _, err := c.do(ctx, "POST", "/api/v1/users", "", body, nil, nil); err != nil {
			return nil, fmt.Errorf("register %s: %w%s", email, err, rateLimitHint(err))
		}
		tok, err := signInLoad(ctx, c, email, loadPassword)
		if err != nil {
			return nil, err
		}
		w.emails = append(w.emails, email)
		w.tokens = append(w.tokens, tok)
		w.byEmail[email] = tok
	}
	fmt.Fprintf(log, "load: run %s: %d guests, %d cities, %d hotels, %d room types\n", w.run, len(w.emails), len(w.cities), len(w.hotels), len(w.roomTypes))
	return w, nil
}

func signInLoad(ctx context.Context, c *apiClient, email, password string) (string, error) {
	var tok auth.Tokens
	if _, err := c.do(ctx, "POST", "/api/v1/sessions", "", map[string]string{"email": email, "password": password}, nil, &tok); err != nil {
		return "", fmt.Errorf("sign in %s: %w%s", email, err, rateLimitHint(err))
	}
	return tok.AccessToken, nil
}

func rateLimitHint(err error) string {
	if strings.Contains(err.Error(), ": 429 ") {
		return " (raise the target's auth.sign_in_rate_limit for a load run: see bellhop load --help)"
	}
	return ""
}

// targeter picks each request by the weighted mix. It is called from many
// goroutines; math/rand/v2's top-level functions are safe for that.
func (w *loadWorld) targeter(base string, mix []mixEntry) vegeta.Targeter {
	total := 0
	for _, m := range mix {
		total += m.weight
	}
	var seq atomic.Int64
	return func(t *vegeta.Target) error {
		if t == nil {
			return vegeta.ErrNilTarget
		}
		r := mrand.IntN(total)
		kind := mix[len(mix)-1].kind
		for _, m := range mix {
			if r < m.weight {
				kind = m.kind
				break
			}
			r -= m.weight
		}
		*t = vegeta.Target{Header: http.Header{}}
		stay := w.stays[mrand.IntN(len(w.stays))]
		user := mrand.IntN(len(w.emails))
		switch kind {
		case kindSearch:
			t.Method = "GET"
			t.URL = base + "/api/v1/hotels?" + url.Values{"city": {w.cities[mrand.IntN(len(w.cities))]},
				"check_in": {stay[0].String()}, "check_out": {stay[1].String()}, "guests": {fmt.Sprint(1 + mrand.IntN(2))}}.Encode()
		case kindHotel:
			t.Method = "GET"
			t.URL = base + "/api/v1/hotels/" + w.hotels[mrand.IntN(len(w.hotels))]
		case kindSignIn:
			t.Method = "POST"
			t.URL = base + "/api/v1/sessions"
			t.Body, _ = json.Marshal(map[string]string{"email": w.emails[user], "password": loadPassword})
			t.Header.Set("Content-Type", "application/json")
		case kindHold:
			t.Method = "POST"
			t.URL = base + "/api/v1/bookings"
			t.Body, _ = json.Marshal(map[string]any{"room_type_id": w.roomTypes[mrand.IntN(len(w.roomTypes))],
				"check_in": stay[0].String(), "check_out": stay[1].String(), "guests": 1})
			t.Header.Set("Content-Type", "application/json")
			t.Header.Set("Authorization", "Bearer "+w.tokens[user])
			t.Header.Set("Idempotency-Key", fmt.Sprintf("load-%s-%d", w.run, seq.Add(1)))
		}
		return nil
	}
}

// kindOf tells a result's request kind from its method and URL.
func kindOf(method, u string) string {
	p := u
	if pu, err := url.Parse(u); err == nil {
		p = pu.Path
	}
	switch {
	case method == "POST" && p == "/api/v1/bookings":
		return kindHold
	case method == "POST" && p == "/api/v1/payments":
		return kindPay
	case method == "POST" && p == "/api/v1/sessions":
		return kindSignIn
	case p == "/api/v1/hotels":
		return kindSearch
	case strings.HasPrefix(p, "/api/v1/hotels/"):
		return kindHotel
	}
	return "other"
}
