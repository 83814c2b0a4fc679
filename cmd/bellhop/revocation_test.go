package main_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/auth"
)

// A staff user's access token loses its power the moment a role is taken
// from them or their password changes, on a route of another module (search's
// catalog writes), not when the token expires; and a token issued right
// after works.
func TestAuth_RevocationTakesEffectAtOnce(t *testing.T) {
	dir, adminPassword := seedWithUsers(t)
	p := start(t, nil, "--data-dir", dir)
	const email, password, newPassword = "rhea.staff@hotel.example", "a long enough passphrase", "another long passphrase"

	u := register(t, p.URL, email, "Rhea", password)
	admin := signIn(t, p.URL, "admin@bellhop.demo", adminPassword)
	setRoles := func(roles string) {
		t.Helper()
		if res := call(t, "PUT", p.URL+"/api/v1/users/"+u.ID+"/roles", admin.AccessToken, strings.NewReader(`{"roles":`+roles+`}`), nil); res.StatusCode != 200 {
			t.Fatalf("set roles %s: %d", roles, res.StatusCode)
		}
	}
	createHotel := hotelCreator(t, p.URL, "Revoked Inn")

	// Demoted: the staff token is refused at once.
	setRoles(`["staff"]`)
	staff := signIn(t, p.URL, email, password)
	if got := createHotel(staff.AccessToken); got != 201 {
		t.Fatalf("staff creates a hotel: %d", got)
	}
	setRoles(`["guest"]`)
	if got := createHotel(staff.AccessToken); got != 401 {
		t.Fatalf("token issued before the demotion: %d, want 401", got)
	}

	// Password changed: every earlier token is refused.
	setRoles(`["staff"]`)
	staff = signIn(t, p.URL, email, password) // within a second of the revocation: still valid
	if got := createHotel(staff.AccessToken); got != 201 {
		t.Fatalf("token issued after the promotion: %d", got)
	}
	body := fmt.Sprintf(`{"current_password":%q,"new_password":%q}`, password, newPassword)
	if res := call(t, "POST", p.URL+"/api/v1/users/me/password", staff.AccessToken, strings.NewReader(body), nil); res.StatusCode/100 != 2 {
		t.Fatalf("change password: %d", res.StatusCode)
	}
	if got := createHotel(staff.AccessToken); got != 401 {
		t.Fatalf("token issued before the password change: %d, want 401", got)
	}

	staff = signIn(t, p.URL, email, newPassword)
	if got := createHotel(staff.AccessToken); got != 201 {
		t.Fatalf("token issued after the password change: %d", got)
	}
	// The admin, whose state did not change, keeps their token.
	if got := createHotel(admin.AccessToken); got != 201 {
		t.Fatalf("admin's token after another user's revocations: %d", got)
	}

	// Signed out: that session's access token is refused at once, the
	// user's other session goes on.
	other := signIn(t, p.URL, "admin@bellhop.demo", adminPassword)
	if res := call(t, "DELETE", p.URL+"/api/v1/sessions", admin.AccessToken, strings.NewReader(fmt.Sprintf(`{"refresh_token":%q}`, admin.RefreshToken)), nil); res.StatusCode != 204 {
		t.Fatalf("sign out: %d", res.StatusCode)
	}
	if got := createHotel(admin.AccessToken); got != 401 {
		t.Fatalf("the signed-out session's access token: %d, want 401", got)
	}
	if got := createHotel(other.AccessToken); got != 201 {
		t.Fatalf("the user's other session after the sign-out: %d", got)
	}
}

// startAuthApart runs auth in a process of its own (its data seeded with the
// demo users) and the rest in another, calling it, both on one NATS server;
// it returns them and the demo admin's password.
func startAuthApart(t *testing.T) (authProc, rest *proc, adminPassword string) {
	t.Helper()
	natsURL := startNATS(t)
	authDir, adminPassword := seedWithUsers(t)
	env := []string{"BELLHOP_EVENTS_NATS_URL=" + natsURL}
	authProc = start(t, env, "--only", "auth", "--data-dir", authDir)
	rest = start(t, env, "--remote", "auth="+authProc.URL, "--data-dir", seededDataDir(t))
	return authProc, rest, adminPassword
}

// refusedWithin calls status (a request with a token that just lost its
// power) until it answers 401, failing the test if it still answers
// otherwise limit after since; what names the token.
func refusedWithin(t *testing.T, what string, since time.Time, limit time.Duration, status func() int) {
	t.Helper()
	for {
		got := status()
		if got == 401 {
			t.Logf("the rest refused %s %v after", what, time.Since(since).Round(time.Millisecond))
			return
		}
		if time.Since(since) > limit {
			t.Fatalf("the rest still accepts %s %v later: %d", what, limit, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hotelCreator returns a function that creates a hotel on base with a token
// (a fresh name each time, named after prefix) and returns the status: a
// write only staff may make, to see whether a token still has that power.
func hotelCreator(t *testing.T, base, prefix string) func(token string) int {
	n := 0
	return func(token string) int {
		t.Helper()
		n++
		body := fmt.Sprintf(`{"name":"%s %d","city":"Porto","country":"PT","address":"Rua 1","time_zone":"Europe/Lisbon","stars":3,"rating":4}`, prefix, n)
		return call(t, "POST", base+"/api/v1/hotels", token, strings.NewReader(body), nil).StatusCode
	}
}

// With auth in its own process, the rest learns of a demotion from auth's
// event over NATS and refuses the old token within a second.
func TestAuth_RevocationReachesSplitProcesses(t *testing.T) {
	authProc, rest, adminPassword := startAuthApart(t)
	const email, password = "split.staff@hotel.example", "a long enough passphrase"

	u := register(t, authProc.URL, email, "Sam", password)
	admin := signIn(t, authProc.URL, "admin@bellhop.demo", adminPassword)
	if res := call(t, "PUT", authProc.URL+"/api/v1/users/"+u.ID+"/roles", admin.AccessToken, strings.NewReader(`{"roles":["staff"]}`), nil); res.StatusCode != 200 {
		t.Fatalf("promote: %d", res.StatusCode)
	}
	staff := signIn(t, authProc.URL, email, password)
	newHotel := `{"name":"Split Revoked Inn","city":"Porto","country":"PT","address":"Rua 3","time_zone":"Europe/Lisbon","stars":3,"rating":4}`
	if res := call(t, "POST", rest.URL+"/api/v1/hotels", staff.AccessToken, strings.NewReader(newHotel), nil); res.StatusCode != 201 {
		t.Fatalf("staff creates a hotel on the rest: %d", res.StatusCode)
	}
	if res := call(t, "PUT", authProc.URL+"/api/v1/users/"+u.ID+"/roles", admin.AccessToken, strings.NewReader(`{"roles":["guest"]}`), nil); res.StatusCode != 200 {
		t.Fatalf("demote: %d", res.StatusCode)
	}
	refusedWithin(t, "the demoted user's token", time.Now(), time.Second, func() int {
		return call(t, "POST", rest.URL+"/api/v1/hotels", staff.AccessToken, strings.NewReader(newHotel), nil).StatusCode
	})

	// A sign-out reaches the rest the same way: that session's token is
	// refused within a second, the admin's other session is not.
	other := signIn(t, authProc.URL, "admin@bellhop.demo", adminPassword)
	createHotel := hotelCreator(t, rest.URL, "Split Signed Out Inn")
	if got := createHotel(admin.AccessToken); got != 201 {
		t.Fatalf("admin creates a hotel on the rest: %d", got)
	}
	if res := call(t, "DELETE", authProc.URL+"/api/v1/sessions", admin.AccessToken, strings.NewReader(fmt.Sprintf(`{"refresh_token":%q}`, admin.RefreshToken)), nil); res.StatusCode != 204 {
		t.Fatalf("sign out: %d", res.StatusCode)
	}
	refusedWithin(t, "the signed-out session's token", time.Now(), time.Second, func() int { return createHotel(admin.AccessToken) })
	if got := createHotel(other.AccessToken); got != 201 {
		t.Fatalf("the admin's other session on the rest after the sign-out: %d", got)
	}

	// Deleting an OAuth client ends its client-credentials token on the
	// rest the same way.
	var app auth.CreatedClient
	body := `{"name":"Nightly export","confidential":true,"grant_types":["client_credentials"],"scopes":["reports:read"]}`
	if res := call(t, "POST", authProc.URL+"/api/v1/oauth-clients", other.AccessToken, strings.NewReader(body), &app); res.StatusCode != 201 {
		t.Fatalf("create client: %d", res.StatusCode)
	}
	status, tok := form(t, authProc.URL+"/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ID}, "client_secret": {app.Secret}})
	if status != 200 || tok["access_token"] == nil {
		t.Fatalf("client credentials: %d %v", status, tok)
	}
	appToken := tok["access_token"].(string)
	today := time.Now().UTC().Format(time.DateOnly)
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	report := func() int {
		return call(t, "GET", rest.URL+"/api/v1/reports/occupancy?"+query("from", today, "to", tomorrow), appToken, nil, nil).StatusCode
	}
	if got := report(); got != 200 {
		t.Fatalf("the client's report on the rest: %d", got)
	}
	if res := call(t, "DELETE", authProc.URL+"/api/v1/oauth-clients/"+app.ID, other.AccessToken, nil, nil); res.StatusCode != 204 {
		t.Fatalf("delete client: %d", res.StatusCode)
	}
	refusedWithin(t, "the deleted client's token", time.Now(), time.Second, report)
}
