package web

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/platform/apperr"
)

// The signing keys page: admins see the token signing keys still published
// (the active one, and retired ones until their tokens expire) and rotate
// to a new key. The auth service checks the admin role.

type keysData struct {
	Keys []auth.SigningKey
}

func (w *Web) keysPage(c echo.Context) error {
	v := view{}
	if kid := c.QueryParam("rotated"); kid != "" {
		v.Notice = "A new key signs from now on: " + kid + ". The previous key still verifies the tokens it signed until they expire"
	}
	return w.renderKeys(c, http.StatusOK, v)
}

func (w *Web) renderKeys(c echo.Context, status int, v view) error {
	list, err := w.d.Auth.SigningKeys(c.Request().Context())
	if err != nil {
		return w.fail(c, err)
	}
	v.Title, v.Data = "Signing keys · Admin · Bellhop", &keysData{Keys: list.Keys}
	return w.render(c, status, "keys", v)
}

func (w *Web) rotateKey(c echo.Context) error {
	k, err := w.d.Auth.RotateSigningKey(c.Request().Context())
	if err != nil {
		if code := apperr.CodeOf(err); code == apperr.CodeForbidden || code == apperr.CodeUnauthenticated {
			return w.fail(c, err)
		}
		return w.renderKeys(c, statusOf(err), view{Banner: "The key was not rotated: " + sentence(apperr.As(err).Message)})
	}
	return redirect(c, "/admin/keys?rotated="+url.QueryEscape(k.KID))
}
