package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/db"
)

// Sessions are a backend-for-frontend: the browser holds only a random
// session id in an HttpOnly, SameSite=Lax cookie; the access and refresh
// tokens stay in the dashboard's own table, keyed by the id's SHA-256 (a
// copy of the table does not let anyone present the cookie). The access
// token is refreshed with auth's refresh token shortly before it expires.

const (
	sessionCookie = "bellhop_session"
	// anonCookie keys the CSRF token of a visitor without a session (the
	// sign-in and register forms).
	anonCookie = "bellhop_visitor"
	// refreshBefore: an access token this close to expiry is refreshed first.
	refreshBefore = 30 * time.Second
)

// Migrations create the dashboard's sessions table.
var Migrations = []db.Migration{{
	ID: "0001_sessions",
	Up: func(tx *gorm.DB) error { return tx.AutoMigrate(&sessionRow{}) },
}}

type sessionRow struct {
	ID            string `gorm:"primaryKey;size:64"` // hex SHA-256 of the cookie value
	UserID        string `gorm:"size:64;index"`
	AccessToken   string `gorm:"size:4096"`
	AccessExpires time.Time
	RefreshToken  string `gorm:"size:512"`
	CreatedAt     time.Time
	LastSeenAt    time.Time
	ExpiresAt     time.Time `gorm:"index"`
}

func (sessionRow) TableName() string { return "web_sessions" }

type sessionStore struct {
	db  *gorm.DB
	now func() time.Time
	ttl time.Duration
	// refreshing serializes refreshes per session: auth rotates refresh
	// tokens and revokes the whole family when one is used twice, so two
	// requests of one browser must not both refresh.
	refreshing sync.Map // session id → *sync.Mutex
}

func hashID(cookie string) string {
	sum := sha256.Sum256([]byte(cookie))
	return hex.EncodeToString(sum[:])
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *sessionStore) create(ctx context.Context, userID string, t auth.Tokens) (cookie string, row sessionRow, err error) {
	cookie = randomToken()
	now := s.now().UTC()
	row = sessionRow{ID: hashID(cookie), UserID: userID, AccessToken: t.AccessToken, RefreshToken: t.RefreshToken,
		AccessExpires: now.Add(time.Duration(t.ExpiresIn) * time.Second), CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.ttl)}
	return cookie, row, s.db.WithContext(ctx).Create(&row).Error
}

func (s *sessionStore) get(ctx context.Context, cookie string) (sessionRow, bool, error) {
	var row sessionRow
	err := s.db.WithContext(ctx).Where("id = ?", hashID(cookie)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row, false, nil
	}
	if err != nil {
		return row, false, err
	}
	if !s.now().Before(row.ExpiresAt) {
		_ = s.delete(ctx, row.ID)
		return row, false, nil
	}
	return row, true, nil
}

func (s *sessionStore) delete(ctx context.Context, id string) error {
	return s.db.WithContext(ctx).Where("id = ?", id).Delete(&sessionRow{}).Error
}

func (s *sessionStore) prune(ctx context.Context) (int64, error) {
	res := s.db.WithContext(ctx).Where("expires_at < ?", s.now().UTC()).Delete(&sessionRow{})
	return res.RowsAffected, res.Error
}

// fresh returns the session with an access token good for a while:
// refreshed through auth when it is about to expire. A refresh auth refuses
// (revoked, expired) ends the session: ok is false.
func (s *sessionStore) fresh(ctx context.Context, a auth.Service, row sessionRow) (sessionRow, bool, error) {
	if s.now().Add(refreshBefore).Before(row.AccessExpires) {
		return row, true, nil
	}
	mu, _ := s.refreshing.LoadOrStore(row.ID, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	defer s.refreshing.Delete(row.ID)
	// Another request may have refreshed while this one waited.
	var cur sessionRow
	if err := s.db.WithContext(ctx).Where("id = ?", row.ID).Take(&cur).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return row, false, nil
		}
		return row, false, err
	}
	if s.now().Add(refreshBefore).Before(cur.AccessExpires) {
		return cur, true, nil
	}
	t, err := a.Token(ctx, auth.TokenRequest{GrantType: auth.GrantRefreshToken, RefreshToken: cur.RefreshToken, ClientID: auth.SessionClientID})
	if err != nil {
		if apperr.CodeOf(err) == apperr.CodeInvalid || apperr.CodeOf(err) == apperr.CodeUnauthenticated {
			_ = s.delete(ctx, cur.ID)
			return cur, false, nil
		}
		return cur, false, err
	}
	now := s.now().UTC()
	cur.AccessToken, cur.AccessExpires = t.AccessToken, now.Add(time.Duration(t.ExpiresIn)*time.Second)
	if t.RefreshToken != "" {
		cur.RefreshToken = t.RefreshToken
	}
	cur.LastSeenAt, cur.ExpiresAt = now, now.Add(s.ttl)
	err = s.db.WithContext(ctx).Model(&sessionRow{}).Where("id = ?", cur.ID).Updates(map[string]any{
		"access_token": cur.AccessToken, "access_expires": cur.AccessExpires, "refresh_token": cur.RefreshToken,
		"last_seen_at": cur.LastSeenAt, "expires_at": cur.ExpiresAt,
	}).Error
	return cur, true, err
}

// visitor is who is asking: signed in (principal set) or not.
type visitor struct {
	session   *sessionRow
	cookie    string // the session cookie's value, or the anonymous visitor's
	principal authn.Principal
}

func (v *visitor) signedIn() bool { return v.session != nil }

const visitorKey = "web.visitor"

func visitorOf(c echo.Context) *visitor {
	if v, ok := c.Get(visitorKey).(*visitor); ok {
		return v
	}
	return &visitor{}
}

// withSession loads the session named by the cookie, refreshes its tokens
// when needed and puts its principal in the request context.
func (w *Web) withSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		v := &visitor{}
		c.Set(visitorKey, v)
		ck, err := c.Cookie(sessionCookie)
		if err != nil || ck.Value == "" {
			return next(c)
		}
		ctx := c.Request().Context()
		row, ok, err := w.sessions.get(ctx, ck.Value)
		if err != nil {
			return apperr.Internal(err)
		}
		if ok {
			row, ok, err = w.sessions.fresh(ctx, w.d.Auth, row)
			if err != nil {
				// Auth is unreachable: the page still renders for a visitor
				// without a session, and says so.
				w.log.Warn("web: refreshing a session failed", "err", err)
				c.Set("web.banner", "We could not check your sign-in just now; some pages may ask you to sign in again.")
				return next(c)
			}
		}
		if !ok {
			w.clearCookie(c, sessionCookie)
			return next(c)
		}
		p, err := w.d.Verifier.Verify(ctx, row.AccessToken)
		if err != nil {
			w.log.Debug("web: a session's access token does not verify", "err", err)
			_ = w.sessions.delete(ctx, row.ID)
			w.clearCookie(c, sessionCookie)
			return next(c)
		}
		p.Token = row.AccessToken
		v.session, v.cookie, v.principal = &row, ck.Value, p
		c.SetRequest(c.Request().WithContext(authn.WithPrincipal(ctx, p)))
		return next(c)
	}
}

func (w *Web) setCookie(c echo.Context, name, value string, maxAge time.Duration) {
	c.SetCookie(&http.Cookie{
		Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: c.Scheme() == "https", MaxAge: int(maxAge.Seconds()),
	})
}

func (w *Web) clearCookie(c echo.Context, name string) {
	c.SetCookie(&http.Cookie{Name: name, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: c.Scheme() == "https", MaxAge: -1})
}

// startSession signs the visitor in with tokens from auth.
func (w *Web) startSession(c echo.Context, t auth.Tokens) error {
	ctx := c.Request().Context()
	p, err := w.d.Verifier.Verify(ctx, t.AccessToken)
	if err != nil {
		return apperr.Internal(err)
	}
	if old := visitorOf(c); old.session != nil {
		_ = w.sessions.delete(ctx, old.session.ID)
	}
	cookie, _, err := w.sessions.create(ctx, p.Subject, t)
	if err != nil {
		return apperr.Internal(err)
	}
	w.setCookie(c, sessionCookie, cookie, w.d.SessionTTL)
	return nil
}

// csrfToken is the token the visitor's forms carry: an HMAC of the session
// cookie, or of an anonymous visitor cookie set here when missing.
func (w *Web) csrfToken(c echo.Context) string {
	v := visitorOf(c)
	if v.session != nil {
		return w.sign("session", v.cookie)
	}
	if v.cookie == "" {
		if ck, err := c.Cookie(anonCookie); err == nil && len(ck.Value) >= 32 {
			v.cookie = ck.Value
		} else {
			v.cookie = randomToken()
			w.setCookie(c, anonCookie, v.cookie, 24*time.Hour)
		}
	}
	return w.sign("visitor", v.cookie)
}

func (w *Web) sign(kind, value string) string {
	m := hmac.New(sha256.New, w.csrfKey)
	m.Write([]byte(kind + "\x00" + value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// errCSRF is the answer to a form without its token (a forged cross-site
// post, or a page left open past its session).
var errCSRF = apperr.Forbidden("web.csrf", "This form has expired. Go back, reload the page and try again.")

// checkCSRF requires the form's CSRF token to match the visitor's.
func (w *Web) checkCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		got := c.FormValue("csrf_token")
		v := visitorOf(c)
		var want string
		switch {
		case v.session != nil:
			want = w.sign("session", v.cookie)
		default:
			ck, err := c.Cookie(anonCookie)
			if err != nil || ck.Value == "" {
				return w.fail(c, errCSRF)
			}
			v.cookie = ck.Value
			want = w.sign("visitor", ck.Value)
		}
		if got == "" || !hmac.Equal([]byte(got), []byte(want)) {
			return w.fail(c, errCSRF)
		}
		return next(c)
	}
}

// requireRole sends visitors without a session to sign in (and back), and
// answers 403 to users without the role ("" = any user). The services check
// again: this only keeps the pages from rendering half.
func (w *Web) requireRole(role string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			v := visitorOf(c)
			if !v.signedIn() {
				back := c.Request().URL.RequestURI()
				if c.Request().Method != http.MethodGet {
					back = c.Request().Referer()
					if u, err := url.Parse(back); err == nil {
						back = u.RequestURI()
					}
				}
				return redirect(c, "/signin?next="+url.QueryEscape(safeNext(back)))
			}
			if role != "" && !v.principal.HasRole(role) && !(role == authn.RoleStaff && v.principal.IsStaff()) {
				return w.fail(c, authn.ErrForbidden.With("this page is for %s users", role))
			}
			return next(c)
		}
	}
}

// safeNext keeps a post-sign-in destination on this site: a path, never
// "//host" or a scheme.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.HasPrefix(next, "/signin") || strings.HasPrefix(next, "/register") {
		return "/"
	}
	return next
}

// redirect answers POST/redirect/GET; htmx follows it and swaps the page.
func redirect(c echo.Context, to string) error {
	return c.Redirect(http.StatusSeeOther, to)
}
