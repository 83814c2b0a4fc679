// Package web is Bellhop's browser dashboard: server-rendered pages for
// guests (search, book, pay, cancel, receipts), staff (hotels, rates,
// bookings, reports), admins (users, OAuth clients, signing keys, the
// sandbox bank, the development mailbox) and operators (the System page).
// It talks only to the modules' contracts, so every page
// works unchanged when a module runs in another process; it owns nothing but
// its sessions.
package web

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/httpserver"
)

// Module is the dashboard's name: its database file and config key.
const Module = "web"

// TokenVerifier turns an access token into its principal (*authn.Verifier
// does): the dashboard puts the principal of a session's token in the
// context, so the services check it exactly as they check an API call.
type TokenVerifier interface {
	Verify(ctx context.Context, rawToken string) (authn.Principal, error)
}

// Deps are what the dashboard needs. Auth, Search, Bookings, Payments and
// Verifier are required; Reporting, System and Bank are optional (their
// pages say they are not available here; booking pages omit documents).
type Deps struct {
	Auth     auth.Service
	Search   search.Service
	Bookings bookings.Service
	Payments payments.Service
	// Reporting lists and serves a booking's receipts and credit notes and
	// the staff reports (nil: no documents, the reports page says so).
	Reporting reporting.Service
	Verifier  TokenVerifier
	// DB holds the sessions (migrate it with Migrations).
	DB *db.DB
	// System is what the System page shows (cmd/bellhop implements it).
	System SystemStatus
	// Bank switches the sandbox bank's faults where it runs in this process.
	Bank BankFaults
	// ReportFiles fetches the reporting module's report exports (PDF with
	// charts) as the caller (nil: the reports page offers CSV only).
	ReportFiles ReportFiles
	// Mailbox reads the development mail sink (nil: the sink is not in use
	// here, and the mailbox page is not there).
	Mailbox Mailbox
	// CSRFKey signs the forms' CSRF tokens: at least 32 bytes, the same in
	// every process behind one address. Empty: a random key per process.
	CSRFKey []byte
	// SessionTTL is how long a session lasts without use (0: 7 days); it
	// also ends when auth refuses to refresh its tokens.
	SessionTTL time.Duration
	Log        *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Web is the dashboard.
type Web struct {
	d        Deps
	sessions *sessionStore
	csrfKey  []byte
	pages    *pageSet
	assets   *assetSet
	log      *slog.Logger
}

// New builds the dashboard. It starts nothing; Run prunes expired sessions.
func New(d Deps) (*Web, error) {
	if d.Auth == nil || d.Search == nil || d.Bookings == nil || d.Payments == nil || d.Verifier == nil || d.DB == nil {
		return nil, errors.New("web: Auth, Search, Bookings, Payments, Verifier and DB are required")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.SessionTTL <= 0 {
		d.SessionTTL = 7 * 24 * time.Hour
	}
	key := d.CSRFKey
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	} else if len(key) < 32 {
		return nil, errors.New("web: the CSRF key must be at least 32 bytes")
	}
	assets, err := loadAssets()
	if err != nil {
		return nil, err
	}
	pages, err := loadPages(assets)
	if err != nil {
		return nil, err
	}
	w := &Web{d: d, csrfKey: key, pages: pages, assets: assets, log: d.Log}
	w.sessions = &sessionStore{db: d.DB.DB, now: d.Now, ttl: d.SessionTTL}
	return w, nil
}

// CSP is the dashboard's Content-Security-Policy: scripts, styles and
// fetches from this origin only, no inline script or style, no eval, forms
// posting only here, never framed.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Register mounts the dashboard's pages on e: / and the pages below it, and
// /static/ for its assets. It leaves /api, /internal, /oauth and the
// operational routes alone.
func (w *Web) Register(e *echo.Echo) {
	e.GET("/static/:file", w.assets.serve)
	// Each page gets the dashboard's middleware itself: an echo Group with
	// middleware at the root would add a catch-all route, and every request
	// the API does not take (DELETE on a collection, say) would be a 404
	// instead of a 405 naming the methods it does take.
	pages := []echo.MiddlewareFunc{httpserver.ContentSecurityPolicy(CSP), middleware.GzipWithConfig(middleware.GzipConfig{Level: 5, MinLength: 1024}), w.withSession}
	for _, r := range w.routes() {
		e.Add(r.method, r.path, r.handler, append(slices.Clip(pages), r.mw...)...)
	}
}

// Run deletes expired sessions every hour until ctx is done.
func (w *Web) Run(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := w.sessions.prune(ctx); err != nil {
			w.log.Warn("web: pruning expired sessions", "err", err)
		} else if n > 0 {
			w.log.Debug("web: expired sessions pruned", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

type route struct {
	method, path string
	handler      echo.HandlerFunc
	mw           []echo.MiddlewareFunc
}

func (w *Web) routes() []route {
	get := func(p string, h echo.HandlerFunc, mw ...echo.MiddlewareFunc) route {
		return route{"GET", p, h, mw}
	}
	post := func(p string, h echo.HandlerFunc, mw ...echo.MiddlewareFunc) route {
		return route{"POST", p, h, append([]echo.MiddlewareFunc{w.checkCSRF}, mw...)}
	}
	user, staff, admin := w.requireRole(""), w.requireRole(authn.RoleStaff), w.requireRole(authn.RoleAdmin)
	return []route{
		get("/", w.home),
		get("/search", w.searchPage),
		get("/cities", w.cityOptions),
		get("/hotels/:id", w.hotelPage),
		get("/signin", w.signInPage),
		post("/signin", w.signIn),
		get("/register", w.registerPage),
		post("/register", w.register),
		post("/signout", w.signOut),
		get("/account", w.accountPage, user),
		post("/account/name", w.updateName, user),
		post("/account/password", w.changePassword, user),

		post("/book", w.book, user),
		get("/bookings", w.myBookings, user),
		get("/bookings/:id", w.bookingPage, user),
		get("/bookings/:id/pay", w.payPage, user),
		post("/bookings/:id/pay", w.pay, user),
		get("/bookings/:id/cancel", w.cancelPage, user),
		get("/documents/:id", w.downloadDocument, user),
		post("/bookings/:id/cancel", w.cancel, user),

		get("/staff", w.staffHome, staff),
		get("/staff/hotels/new", w.newHotelPage, staff),
		post("/staff/hotels", w.createHotel, staff),
		get("/staff/hotels/:id", w.staffHotelPage, staff),
		post("/staff/hotels/:id", w.updateHotel, staff),
		post("/staff/hotels/:id/room-types", w.createRoomType, staff),
		get("/staff/hotels/:id/room-types/:rt/rates", w.ratesPage, staff),
		post("/staff/hotels/:id/room-types/:rt/rates", w.setRates, staff),
		get("/staff/bookings", w.staffBookings, staff),
		get("/staff/reports", w.reportsPage, staff),
		get("/staff/reports/occupancy.csv", w.reportCSV("occupancy"), staff),
		get("/staff/reports/revenue.csv", w.reportCSV("revenue"), staff),
		get("/staff/reports/occupancy.pdf", w.reportPDF("occupancy"), staff),
		get("/staff/reports/revenue.pdf", w.reportPDF("revenue"), staff),

		get("/admin", w.adminHome, admin),
		get("/admin/users", w.usersPage, admin),
		post("/admin/users/:id/roles", w.setRoles, admin),
		get("/admin/clients", w.clientsPage, admin),
		post("/admin/clients", w.createClient, admin),
		post("/admin/clients/:id/delete", w.deleteClient, admin),
		get("/admin/keys", w.keysPage, admin),
		post("/admin/keys/rotate", w.rotateKey, admin),
		get("/admin/mail", w.mailboxPage, admin),
		get("/admin/mail/:name", w.mailPage, admin),
		get("/admin/mail/:name/attachments/:n", w.mailAttachment, admin),
		get("/admin/bank", w.bankPage, admin),
		post("/admin/bank", w.setBankFaults, admin),
		get("/system", w.systemPage, admin),
		get("/system/live", w.systemLive, admin),
		post("/system/dead-letters/:id/replay", w.replayDeadLetter, admin),
	}
}
