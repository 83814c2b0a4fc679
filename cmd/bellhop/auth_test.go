package main_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/modules/search/searchhttp"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/httpclient"
)

// seedWithUsers seeds a fresh data dir and returns it with the demo admin's
// password, read from seed's one-time output.
func seedWithUsers(t *testing.T) (dir, adminPassword string) {
	t.Helper()
	dir = t.TempDir()
	out, err := exec.Command(binary, "seed", "--data-dir", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`demo admin created: admin@bellhop.demo / (\S+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("seed did not print the demo admin:\n%s", out)
	}
	return dir, string(m[1])
}

func signIn(t *testing.T, base, email, password string) auth.Tokens {
	t.Helper()
	var tok auth.Tokens
	res := call(t, "POST", base+"/api/v1/sessions", "", strings.NewReader(fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)), &tok)
	if res.StatusCode != 200 || tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("sign in %s: %d %+v", email, res.StatusCode, tok)
	}
	return tok
}

func form(t *testing.T, u string, v url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var body map[string]any
	res, err := httpc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	_ = jsonDecode(res, &body)
	return res.StatusCode, body
}

// The single binary with its own auth: register, sign in, get promoted by
// the demo admin, manage the catalog with the token, refresh with rotation.
func TestAuth_SingleBinary(t *testing.T) {
	dir, adminPassword := seedWithUsers(t)
	p := start(t, nil, "--data-dir", dir)

	u := register(t, p.URL, "Zoe.Staff@Hotel.example", "Zoë", "a long enough passphrase")
	if u.Email != "Zoe.Staff@Hotel.example" || u.Name != "Zoë" || len(u.Roles) != 1 || u.Roles[0] != authn.RoleGuest {
		t.Fatalf("register: %+v", u)
	}
	// The same address in another case: the same answer, and the account
	// is unchanged (its name is still its own).
	res, raw := rawCall(t, "POST", p.URL+"/api/v1/users", "", `{"email":"zoe.staff@hotel.example","name":"Z","password":"another long passphrase"}`)
	wantAccepted(t, "duplicate email (other case)", res, raw, "zoe.staff@hotel.example")
	guest := signIn(t, p.URL, "zoe.staff@hotel.example", "a long enough passphrase")
	var again auth.User
	if res := call(t, "GET", p.URL+"/api/v1/users/me", guest.AccessToken, nil, &again); res.StatusCode != 200 || again.ID != u.ID || again.Name != "Zoë" {
		t.Fatalf("the account after a duplicate registration: %d %+v", res.StatusCode, again)
	}
	newHotel := `{"name":"Token Inn","city":"Lisbon","country":"PT","address":"Rua 1","time_zone":"Europe/Lisbon","stars":3,"rating":4}`
	if res := call(t, "POST", p.URL+"/api/v1/hotels", guest.AccessToken, strings.NewReader(newHotel), nil); res.StatusCode != 403 {
		t.Fatalf("guest creates a hotel: %d", res.StatusCode)
	}
	// Wrong password and unknown account: the same answer.
	var wrong, unknown apperr.Problem
	r1 := call(t, "POST", p.URL+"/api/v1/sessions", "", strings.NewReader(`{"email":"zoe.staff@hotel.example","password":"not the passphrase"}`), &wrong)
	r2 := call(t, "POST", p.URL+"/api/v1/sessions", "", strings.NewReader(`{"email":"nobody@hotel.example","password":"not the passphrase"}`), &unknown)
	if r1.StatusCode != 401 || r2.StatusCode != 401 || wrong.Reason != unknown.Reason || wrong.Detail != unknown.Detail {
		t.Fatalf("enumeration: %d %+v vs %d %+v", r1.StatusCode, wrong, r2.StatusCode, unknown)
	}

	admin := signIn(t, p.URL, "admin@bellhop.demo", adminPassword)
	if res := call(t, "PUT", p.URL+"/api/v1/users/"+u.ID+"/roles", admin.AccessToken, strings.NewReader(`{"roles":["staff"]}`), nil); res.StatusCode != 200 {
		t.Fatalf("promote: %d", res.StatusCode)
	}
	if res := call(t, "PUT", p.URL+"/api/v1/users/"+u.ID+"/roles", guest.AccessToken, strings.NewReader(`{"roles":["admin"]}`), nil); res.StatusCode != 403 {
		t.Fatalf("guest promotes itself: %d", res.StatusCode)
	}
	staff := signIn(t, p.URL, "zoe.staff@hotel.example", "a long enough passphrase")
	var h search.Hotel
	if res := call(t, "POST", p.URL+"/api/v1/hotels", staff.AccessToken, strings.NewReader(newHotel), &h); res.StatusCode != 201 || h.ID == "" {
		t.Fatalf("staff creates a hotel with auth's token: %d", res.StatusCode)
	}

	// Refresh tokens rotate; presenting a used one revokes the family.
	status, body := form(t, p.URL+"/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {staff.RefreshToken}})
	if status != 200 || body["access_token"] == nil || body["refresh_token"] == staff.RefreshToken {
		t.Fatalf("refresh: %d %v", status, body)
	}
	next := body["refresh_token"].(string)
	if status, body := form(t, p.URL+"/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {staff.RefreshToken}}); status != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("reused refresh token: %d %v", status, body)
	}
	if status, body := form(t, p.URL+"/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next}}); status != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("the family survived a reuse: %d %v", status, body)
	}
	if status, body := form(t, p.URL+"/oauth/token", url.Values{"grant_type": {"password"}, "username": {"x"}, "password": {"y"}}); status != 400 || body["error"] != "unsupported_grant_type" {
		t.Fatalf("password grant: %d %v", status, body)
	}

	var meta map[string]any
	if res := call(t, "GET", p.URL+"/.well-known/oauth-authorization-server", "", nil, &meta); res.StatusCode != 200 || meta["issuer"] != "bellhop" {
		t.Fatalf("metadata: %d %v", res.StatusCode, meta)
	}
	var jwks struct{ Keys []map[string]any }
	if res := call(t, "GET", p.URL+"/.well-known/jwks.json", "", nil, &jwks); res.StatusCode != 200 || len(jwks.Keys) == 0 || jwks.Keys[0]["d"] != nil {
		t.Fatalf("jwks: %d %v", res.StatusCode, jwks)
	}
	if strings.Contains(p.logs.String(), "a long enough passphrase") || strings.Contains(p.logs.String(), staff.RefreshToken) {
		t.Fatal("a password or token reached the log")
	}
}

// Auth as its own process: the rest verifies tokens with auth's JWKS over
// HTTP and serves auth's routes through the client; a service signs in with
// client credentials and calls search's internal quote route.
func TestAuth_SplitMode(t *testing.T) {
	natsURL := startNATS(t)
	authDir, adminPassword := seedWithUsers(t)
	secret := "a-service-secret-of-at-least-32-characters"
	cfgFile := filepath.Join(t.TempDir(), "auth.yaml")
	if err := os.WriteFile(cfgFile, []byte(fmt.Sprintf("auth:\n  service_clients:\n    - id: bookings\n      secret: %s\n      scopes: [search:quote]\n", secret)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"BELLHOP_EVENTS_NATS_URL=" + natsURL}
	authProc := start(t, env, "--only", "auth", "--data-dir", authDir, "--config", cfgFile)
	rest := start(t, env, "--remote", "auth="+authProc.URL, "--data-dir", seededDataDir(t))

	// Sign in through the rest (auth's routes through the client) and use the
	// token there (verified with the remote JWKS).
	admin := signIn(t, rest.URL, "admin@bellhop.demo", adminPassword)
	var me auth.User
	if res := call(t, "GET", rest.URL+"/api/v1/users/me", admin.AccessToken, nil, &me); res.StatusCode != 200 || me.Email != "admin@bellhop.demo" {
		t.Fatalf("me via the rest: %d %+v", res.StatusCode, me)
	}
	newHotel := `{"name":"Split Inn","city":"Porto","country":"PT","address":"Rua 2","time_zone":"Europe/Lisbon","stars":3,"rating":4}`
	if res := call(t, "POST", rest.URL+"/api/v1/hotels", admin.AccessToken, strings.NewReader(newHotel), nil); res.StatusCode != 201 {
		t.Fatalf("admin creates a hotel on the rest with auth's token: %d", res.StatusCode)
	}
	if res := call(t, "POST", rest.URL+"/api/v1/hotels", "forged."+admin.AccessToken, strings.NewReader(newHotel), nil); res.StatusCode != 401 {
		t.Fatalf("forged token: %d", res.StatusCode)
	}

	// A service identity from config: client credentials at auth, then
	// search's internal route on the rest.
	tokens := httpclient.ClientCredentials(httpclient.ClientCredentialsConfig{TokenURL: authProc.URL + "/oauth/token", ClientID: "bookings", ClientSecret: secret})
	rt := firstRoomType(t, rest.URL)
	in := civil.Today(time.UTC).AddDays(20)
	quoteReq := search.QuoteRequest{RoomTypeID: rt, CheckIn: in, CheckOut: in.AddDays(2), Guests: 1}
	withService, err := searchhttp.NewClient(rest.URL, httpclient.Options{Caller: "bookings", ServiceTokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	q, err := withService.Quote(context.Background(), quoteReq)
	if err != nil || len(q.Nights) != 2 || q.RoomTypeID != rt {
		t.Fatalf("quote with a service token: %+v %v", q, err)
	}
	anonymous, _ := searchhttp.NewClient(rest.URL, httpclient.Options{Caller: "test"})
	if _, err := anonymous.Quote(context.Background(), quoteReq); !errorsIs(err, authn.ErrUnauthenticated) {
		t.Fatalf("quote without a token: %v", err)
	}
	wrong := httpclient.ClientCredentials(httpclient.ClientCredentialsConfig{TokenURL: authProc.URL + "/oauth/token", ClientID: "bookings", ClientSecret: strings.Repeat("x", 40)})
	if _, err := wrong.Token(context.Background()); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("wrong secret: %v", err)
	}
}

// With auth in its own process, a key rotation reaches the rest through
// auth's event: a token the new key signed verifies there at once, although
// the rest fetched auth's JWKS a moment before (its refetch interval, 10 s,
// would otherwise refuse the unknown key until it passed).
func TestAuth_KeyRotationReachesSplitProcesses(t *testing.T) {
	authProc, rest, adminPassword := startAuthApart(t)
	createHotel := hotelCreator(t, rest.URL, "Rotated Inn")
	admin := signIn(t, authProc.URL, "admin@bellhop.demo", adminPassword)
	if got := createHotel(admin.AccessToken); got != 201 { // the rest fetches the JWKS now
		t.Fatalf("admin creates a hotel on the rest: %d", got)
	}
	var rotated auth.SigningKey
	if res := call(t, "POST", authProc.URL+"/api/v1/signing-keys", admin.AccessToken, nil, &rotated); res.StatusCode != 201 && res.StatusCode != 200 {
		t.Fatalf("rotate: %d", res.StatusCode)
	}
	began := time.Now()
	fresh := signIn(t, authProc.URL, "admin@bellhop.demo", adminPassword) // signed by the new key
	for {
		got := createHotel(fresh.AccessToken)
		if got == 201 {
			t.Logf("the rest took the new key's token %v after the rotation", time.Since(began).Round(time.Millisecond))
			break
		}
		if time.Since(began) > 3*time.Second {
			t.Fatalf("the rest still refuses the new key's token %v after the rotation: %d", time.Since(began).Round(time.Millisecond), got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := createHotel(admin.AccessToken); got != 201 {
		t.Errorf("a token of the retired key on the rest: %d, want 201 (it stays published until its tokens expire)", got)
	}
}
