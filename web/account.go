package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/httpserver"
)

type signInData struct {
	Email, Name, Next string
}

var signInLabels = [][2]string{{"email", "Email address"}, {"password", "Password"}}
var registerLabels = [][2]string{{"name", "Full name"}, {"email", "Email address"}, {"password", "Password"}}

func (w *Web) signInPage(c echo.Context) error {
	if visitorOf(c).signedIn() {
		return redirect(c, safeNext(c.QueryParam("next")))
	}
	v := view{Title: "Sign in · Bellhop", Data: &signInData{Next: safeNext(c.QueryParam("next"))}}
	if c.QueryParam("changed") == "1" {
		v.Notice = "Your password is changed. Sign in with the new one"
	}
	return w.render(c, http.StatusOK, "signin", v)
}

func (w *Web) signIn(c echo.Context) error {
	d := &signInData{Email: strings.TrimSpace(c.FormValue("email")), Next: safeNext(c.FormValue("next"))}
	t, err := w.d.Auth.SignIn(c.Request().Context(), auth.SignInRequest{Email: d.Email, Password: c.FormValue("password"), ClientIP: httpserver.ClientIP(c)})
	if err == nil {
		err = w.startSession(c, t)
	}
	if err != nil {
		v := view{Title: "Sign in · Bellhop", Data: d}
		v.Errors, v.Field, v.Banner = formErrors(err, signInLabels, map[string]string{
			auth.ErrInvalidCredentials.Reason: "email", auth.ErrTooManyAttempts.Reason: "email"})
		if errors.Is(err, auth.ErrInvalidCredentials) {
			v.Field["email"] = "The email address or password is not correct"
			v.Errors = []fieldError{{Field: "email", Message: v.Field["email"]}}
		}
		return w.render(c, statusOf(err), "signin", v)
	}
	return redirect(c, d.Next)
}

func (w *Web) registerPage(c echo.Context) error {
	return w.render(c, http.StatusOK, "register", view{Title: "Create an account · Bellhop",
		Data: &signInData{Next: safeNext(c.QueryParam("next"))}})
}

func (w *Web) register(c echo.Context) error {
	ctx := c.Request().Context()
	d := &signInData{Email: strings.TrimSpace(c.FormValue("email")), Name: strings.TrimSpace(c.FormValue("name")), Next: safeNext(c.FormValue("next"))}
	pw := c.FormValue("password")
	_, err := w.d.Auth.Register(ctx, auth.RegisterRequest{Email: d.Email, Name: d.Name, Password: pw})
	if err == nil {
		var t auth.Tokens
		if t, err = w.d.Auth.SignIn(ctx, auth.SignInRequest{Email: d.Email, Password: pw, ClientIP: httpserver.ClientIP(c)}); err == nil {
			err = w.startSession(c, t)
		}
	}
	if err != nil {
		v := view{Title: "Create an account · Bellhop", Data: d}
		v.Errors, v.Field, v.Banner = formErrors(err, registerLabels, map[string]string{
			auth.ErrEmailTaken.Reason: "email", auth.ErrWeakPassword.Reason: "password"})
		if errors.Is(err, auth.ErrEmailTaken) {
			v.Field["email"] = "An account with this email address already exists. Sign in instead"
			v.Errors = []fieldError{{Field: "email", Message: v.Field["email"]}}
		}
		return w.render(c, statusOf(err), "register", v)
	}
	return redirect(c, d.Next)
}

// signOut revokes the session's refresh token at auth and forgets the session.
func (w *Web) signOut(c echo.Context) error {
	v := visitorOf(c)
	if v.session != nil {
		ctx := c.Request().Context()
		if err := w.d.Auth.SignOut(ctx, auth.SignOutRequest{RefreshToken: v.session.RefreshToken}); err != nil {
			w.log.Warn("web: revoking a session's refresh token failed", "err", err)
		}
		if err := w.sessions.delete(ctx, v.session.ID); err != nil {
			return w.fail(c, apperr.Internal(err))
		}
	}
	w.clearCookie(c, sessionCookie)
	return redirect(c, "/")
}

type accountData struct {
	Name, Email string
	Roles       []string
}

var nameLabels = [][2]string{{"name", "Full name"}}
var passwordLabels = [][2]string{{"current_password", "Current password"}, {"new_password", "New password"}}

func (w *Web) accountPage(c echo.Context) error {
	return w.renderAccount(c, http.StatusOK, view{})
}

func (w *Web) renderAccount(c echo.Context, status int, v view) error {
	me, err := w.d.Auth.Me(c.Request().Context())
	if err != nil {
		return w.fail(c, err)
	}
	if c.QueryParam("saved") == "1" && v.Notice == "" {
		v.Notice = "Your name is saved"
	}
	d, _ := v.Data.(*accountData)
	if d == nil {
		d = &accountData{Name: me.Name}
	}
	d.Email, d.Roles = me.Email, me.Roles
	v.Title, v.Data = "Your account · Bellhop", d
	return w.render(c, status, "account", v)
}

func (w *Web) updateName(c echo.Context) error {
	name := strings.TrimSpace(c.FormValue("name"))
	_, err := w.d.Auth.UpdateMe(c.Request().Context(), auth.UpdateMeRequest{Name: &name})
	if err != nil {
		v := view{Data: &accountData{Name: name}}
		v.Errors, v.Field, v.Banner = formErrors(err, nameLabels, nil)
		return w.renderAccount(c, statusOf(err), v)
	}
	return redirect(c, "/account?saved=1")
}

// changePassword sets a new password; auth then ends every session of the
// user, this one too, so the guest signs in again.
func (w *Web) changePassword(c echo.Context) error {
	err := w.d.Auth.ChangePassword(c.Request().Context(), auth.ChangePasswordRequest{
		CurrentPassword: c.FormValue("current_password"), NewPassword: c.FormValue("new_password")})
	if err != nil {
		v := view{}
		v.Errors, v.Field, v.Banner = formErrors(err, passwordLabels, map[string]string{
			auth.ErrWrongPassword.Reason: "current_password", auth.ErrWeakPassword.Reason: "new_password"})
		if errors.Is(err, auth.ErrWrongPassword) {
			v.Field["current_password"] = "The current password is not correct"
			v.Errors = []fieldError{{Field: "current_password", Message: v.Field["current_password"]}}
		}
		// A weak password's field errors name "new_password" or "password".
		if ae := apperr.As(err); errors.Is(err, auth.ErrWeakPassword) && len(v.Errors) == 0 {
			v.Field["new_password"] = sentence(ae.Message)
			v.Errors = []fieldError{{Field: "new_password", Message: v.Field["new_password"]}}
		}
		return w.renderAccount(c, statusOf(err), v)
	}
	if s := visitorOf(c).session; s != nil {
		_ = w.sessions.delete(c.Request().Context(), s.ID)
	}
	w.clearCookie(c, sessionCookie)
	return redirect(c, "/signin?changed=1")
}

// statusOf is the HTTP status a form answers with after err: a refused form
// is 422 (or the error's own 4xx/5xx), never 200.
func statusOf(err error) int {
	s := apperr.As(err).Status()
	if s == http.StatusUnauthorized || s == http.StatusForbidden {
		return http.StatusUnprocessableEntity
	}
	return s
}
