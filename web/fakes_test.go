package web_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/bookings/bookingstest"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/ids"
	"github.com/bellhop/bellhop/platform/mail"
	"github.com/bellhop/bellhop/web"
)

// fakeAuth is just enough of auth for the dashboard's pages: accounts with
// passwords and roles, sessions of real signed tokens (authntest) with
// rotating refresh tokens, and the "me" and admin methods.
type fakeAuth struct {
	auth.Service // methods the dashboard never calls panic
	t            testing.TB
	iss          *authntest.Issuer
	ttl          time.Duration

	mu       sync.Mutex
	users    map[string]*auth.User // by id
	pw       map[string]string     // id → password
	refresh  map[string]string     // refresh token → user id
	refreshN int
}

func newFakeAuth(t testing.TB, iss *authntest.Issuer) *fakeAuth {
	return &fakeAuth{t: t, iss: iss, ttl: time.Hour, users: map[string]*auth.User{}, pw: map[string]string{}, refresh: map[string]string{}}
}

func (f *fakeAuth) add(email, name, password string, roles ...string) auth.User {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := &auth.User{ID: ids.New("usr"), Email: email, Name: name, Roles: roles}
	f.users[u.ID], f.pw[u.ID] = u, password
	return *u
}

func (f *fakeAuth) tokens(u *auth.User) auth.Tokens {
	p := authn.Principal{Subject: u.ID, Kind: authn.KindUser, Email: u.Email, Name: u.Name, Roles: u.Roles}
	if p.IsStaff() {
		p.Scopes = []string{search.ScopeCatalogWrite, reporting.ScopeReportsRead} // as auth grants staff
	}
	rt := ids.New("rt")
	f.refresh[rt] = u.ID
	return auth.Tokens{AccessToken: f.iss.Token(f.t, p, f.ttl), TokenType: "Bearer", ExpiresIn: int(f.ttl.Seconds()), RefreshToken: rt}
}

func (f *fakeAuth) Register(_ context.Context, r auth.RegisterRequest) (auth.User, error) {
	if len(r.Password) < auth.MinPasswordLength {
		return auth.User{}, auth.ErrWeakPassword
	}
	f.mu.Lock()
	for _, u := range f.users {
		if strings.EqualFold(u.Email, r.Email) {
			f.mu.Unlock()
			return auth.User{}, auth.ErrEmailTaken
		}
	}
	f.mu.Unlock()
	return f.add(r.Email, r.Name, r.Password, authn.RoleGuest), nil
}

func (f *fakeAuth) SignIn(_ context.Context, r auth.SignInRequest) (auth.Tokens, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, u := range f.users {
		if strings.EqualFold(u.Email, r.Email) && f.pw[id] == r.Password {
			return f.tokens(u), nil
		}
	}
	return auth.Tokens{}, auth.ErrInvalidCredentials
}

func (f *fakeAuth) Token(_ context.Context, r auth.TokenRequest) (auth.Tokens, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.refresh[r.RefreshToken]
	if r.GrantType != auth.GrantRefreshToken || !ok {
		return auth.Tokens{}, auth.ErrInvalidGrant
	}
	delete(f.refresh, r.RefreshToken) // rotated
	f.refreshN++
	return f.tokens(f.users[id]), nil
}

func (f *fakeAuth) SignOut(_ context.Context, r auth.SignOutRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.refresh, r.RefreshToken)
	return nil
}

func (f *fakeAuth) me(ctx context.Context) (*auth.User, error) {
	p, err := authn.RequireUser(ctx)
	if err != nil {
		return nil, err
	}
	u, ok := f.users[p.Subject]
	if !ok {
		return nil, auth.ErrUserNotFound
	}
	return u, nil
}

func (f *fakeAuth) Me(ctx context.Context) (auth.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, err := f.me(ctx)
	if err != nil {
		return auth.User{}, err
	}
	return *u, nil
}

func (f *fakeAuth) UpdateMe(ctx context.Context, r auth.UpdateMeRequest) (auth.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, err := f.me(ctx)
	if err != nil {
		return auth.User{}, err
	}
	if r.Name != nil {
		if strings.TrimSpace(*r.Name) == "" {
			return auth.User{}, auth.ErrInvalidRequest.WithFields(apperrField("name", "notblank"))
		}
		u.Name = *r.Name
	}
	return *u, nil
}

func (f *fakeAuth) ChangePassword(ctx context.Context, r auth.ChangePasswordRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, err := f.me(ctx)
	if err != nil {
		return err
	}
	if f.pw[u.ID] != r.CurrentPassword {
		return auth.ErrWrongPassword
	}
	f.pw[u.ID] = r.NewPassword
	return nil
}

func (f *fakeAuth) ListUsers(ctx context.Context, _ auth.ListUsersRequest) (auth.UserList, error) {
	p, err := authn.RequireUser(ctx)
	if err != nil || !p.HasRole(authn.RoleAdmin) {
		return auth.UserList{}, authn.ErrForbidden
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out auth.UserList
	for _, u := range f.users {
		out.Users = append(out.Users, *u)
	}
	return out, nil
}

func (f *fakeAuth) SetRoles(ctx context.Context, r auth.SetRolesRequest) (auth.User, error) {
	p, err := authn.RequireUser(ctx)
	if err != nil || !p.HasRole(authn.RoleAdmin) {
		return auth.User{}, authn.ErrForbidden
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[r.UserID]
	if !ok {
		return auth.User{}, auth.ErrUserNotFound
	}
	u.Roles = r.Roles
	return *u, nil
}

// fakePayments charges bookings of a bookingstest.Fake: pm_card_visa
// succeeds (and confirms the booking), any other card is declined.
type fakePayments struct {
	bk *bookingstest.Fake
	mu sync.Mutex
	ps []payments.Payment
}

func (f *fakePayments) Pay(ctx context.Context, r payments.PayRequest) (payments.Payment, error) {
	b, err := f.bk.Get(ctx, bookings.GetRequest{ID: r.BookingID})
	if err != nil {
		return payments.Payment{}, err
	}
	if b.Status != bookings.StatusPending {
		return payments.Payment{}, payments.ErrNotPayable
	}
	p := payments.Payment{ID: ids.New("pay"), BookingID: b.ID, GuestID: b.GuestID, Amount: b.Total, Status: payments.StatusSucceeded,
		Card: &payments.Card{Brand: "visa", Last4: "4242"}, CreatedAt: time.Now()}
	if r.PaymentMethod != "pm_card_visa" {
		p.Status, p.FailureCode, p.FailureMessage = payments.StatusFailed, "card_declined", "Your card was declined."
	} else {
		b.Status, b.PaymentID = bookings.StatusConfirmed, p.ID
		f.bk.Put(b)
	}
	f.mu.Lock()
	f.ps = append(f.ps, p)
	f.mu.Unlock()
	return p, nil
}

func (f *fakePayments) Get(ctx context.Context, r payments.GetRequest) (payments.Payment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.ps {
		if p.ID == r.ID {
			return p, nil
		}
	}
	return payments.Payment{}, payments.ErrNotFound
}

func (f *fakePayments) List(ctx context.Context, r payments.ListRequest) (payments.PaymentList, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out payments.PaymentList
	for _, p := range f.ps {
		if r.BookingID == "" || p.BookingID == r.BookingID {
			out.Payments = append(out.Payments, p)
		}
	}
	return out, nil
}

// fakeReportFiles answers a report PDF naming what it was asked, for
// callers with reports:read (as the reporting route checks).
type fakeReportFiles struct{}

func (fakeReportFiles) ReportFile(ctx context.Context, req web.ReportFileRequest) (web.ReportFile, error) {
	p, err := authn.RequireScope(ctx, reporting.ScopeReportsRead)
	if err != nil {
		return web.ReportFile{}, err
	}
	q := req.Query()
	body := "%PDF " + req.Report + " from=" + q.Get("from") + " to=" + q.Get("to") + " granularity=" + q.Get("granularity") + " for " + p.Subject[:4]
	return web.ReportFile{Filename: req.Report + "-" + q.Get("from") + "-" + q.Get("to") + ".pdf", ContentType: "application/pdf", Data: []byte(body)}, nil
}

// newFakeMailbox is a real mail sink in a temporary directory, read for
// admins only (as cmd/bellhop's is).
func newFakeMailbox(tb testing.TB) *fakeMailbox {
	return &fakeMailbox{sink: mail.Sink{Dir: filepath.Join(tb.TempDir(), "mail")}}
}

type fakeMailbox struct{ sink mail.Sink }

func (m *fakeMailbox) admin(ctx context.Context) error {
	p, err := authn.RequireUser(ctx)
	if err == nil && !p.HasRole(authn.RoleAdmin) {
		err = authn.ErrForbidden
	}
	return err
}

func (m *fakeMailbox) Messages(ctx context.Context) ([]mail.Stored, error) {
	if err := m.admin(ctx); err != nil {
		return nil, err
	}
	return m.sink.List(0)
}

func (m *fakeMailbox) Message(ctx context.Context, name string) (mail.Message, error) {
	if err := m.admin(ctx); err != nil {
		return mail.Message{}, err
	}
	msg, err := m.sink.Read(name)
	if errors.Is(err, mail.ErrNoSuchMessage) {
		return msg, apperr.NotFound("web.mail_not_found", "no such message")
	}
	return msg, err
}

// The admin methods of auth the admin pages call: OAuth clients and signing
// keys, for admins only, with the service's field errors for a bad client.
type fakeAdminState struct {
	mu      sync.Mutex
	clients []auth.Client
	keys    []auth.SigningKey
}

var adminStates sync.Map // *fakeAuth → *fakeAdminState

func (f *fakeAuth) admin(ctx context.Context) (*fakeAdminState, error) {
	p, err := authn.RequireUser(ctx)
	if err != nil {
		return nil, err
	}
	if !p.HasRole(authn.RoleAdmin) {
		return nil, authn.ErrForbidden
	}
	st, _ := adminStates.LoadOrStore(f, &fakeAdminState{keys: []auth.SigningKey{{KID: "kid-first", Alg: "EdDSA", Status: auth.KeyActive, CreatedAt: time.Now()}}})
	return st.(*fakeAdminState), nil
}

func (f *fakeAuth) CreateClient(ctx context.Context, r auth.CreateClientRequest) (auth.CreatedClient, error) {
	st, err := f.admin(ctx)
	if err != nil {
		return auth.CreatedClient{}, err
	}
	var fields []apperr.FieldError
	if strings.TrimSpace(r.Name) == "" {
		fields = append(fields, apperr.FieldError{Field: "name", Reason: "notblank", Detail: "must not be blank"})
	}
	for i, u := range r.RedirectURIs {
		if !strings.HasPrefix(u, "https://") {
			fields = append(fields, apperr.FieldError{Field: fmt.Sprintf("redirect_uris[%d]", i), Reason: "redirect_uri", Detail: "must be an https URL"})
		}
	}
	if len(fields) > 0 {
		return auth.CreatedClient{}, auth.ErrInvalidRequest.WithFields(fields...)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	c := auth.Client{ID: ids.New("cli"), Name: r.Name, Confidential: r.Confidential, FirstParty: r.FirstParty, RedirectURIs: r.RedirectURIs,
		Scopes: r.Scopes, GrantTypes: r.GrantTypes, CreatedAt: time.Now()}
	st.clients = append(st.clients, c)
	out := auth.CreatedClient{Client: c}
	if r.Confidential {
		out.Secret = "secret-" + c.ID
	}
	return out, nil
}

func (f *fakeAuth) ListClients(ctx context.Context) (auth.ClientList, error) {
	st, err := f.admin(ctx)
	if err != nil {
		return auth.ClientList{}, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return auth.ClientList{Clients: slices.Clone(st.clients)}, nil
}

func (f *fakeAuth) GetClient(ctx context.Context, r auth.GetClientRequest) (auth.Client, error) {
	list, err := f.ListClients(ctx)
	if err != nil {
		return auth.Client{}, err
	}
	for _, c := range list.Clients {
		if c.ID == r.ID {
			return c, nil
		}
	}
	return auth.Client{}, auth.ErrClientNotFound
}

func (f *fakeAuth) DeleteClient(ctx context.Context, r auth.DeleteClientRequest) error {
	st, err := f.admin(ctx)
	if err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	n := len(st.clients)
	st.clients = slices.DeleteFunc(st.clients, func(c auth.Client) bool { return c.ID == r.ID })
	if len(st.clients) == n {
		return auth.ErrClientNotFound
	}
	return nil
}

func (f *fakeAuth) SigningKeys(ctx context.Context) (auth.SigningKeyList, error) {
	st, err := f.admin(ctx)
	if err != nil {
		return auth.SigningKeyList{}, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return auth.SigningKeyList{Keys: slices.Clone(st.keys)}, nil
}

func (f *fakeAuth) RotateSigningKey(ctx context.Context) (auth.SigningKey, error) {
	st, err := f.admin(ctx)
	if err != nil {
		return auth.SigningKey{}, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	now := time.Now()
	until := now.Add(time.Hour)
	for i := range st.keys {
		if st.keys[i].Status == auth.KeyActive {
			st.keys[i].Status, st.keys[i].RetiredAt, st.keys[i].PublishedUntil = auth.KeyRetired, &now, &until
		}
	}
	k := auth.SigningKey{KID: fmt.Sprintf("kid-%d", len(st.keys)+1), Alg: "EdDSA", Status: auth.KeyActive, CreatedAt: now}
	st.keys = append([]auth.SigningKey{k}, st.keys...)
	return k, nil
}
