package authhttp

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/httpserver"
)

// oauthCodes maps the module's OAuth errors to RFC 6749 §5.2 error codes.
var oauthCodes = map[string]string{
	auth.ErrInvalidRequest.Reason:       "invalid_request",
	auth.ErrInvalidClient.Reason:        "invalid_client",
	auth.ErrInvalidGrant.Reason:         "invalid_grant",
	auth.ErrInvalidScope.Reason:         "invalid_scope",
	auth.ErrUnauthorizedClient.Reason:   "unauthorized_client",
	auth.ErrUnsupportedGrantType.Reason: "unsupported_grant_type",
	auth.ErrUnsupportedResponse.Reason:  "unsupported_response_type",
	auth.ErrAccessDenied.Reason:         "access_denied",
}

// errInvalidRequest is an OAuth request that cannot be read.
var errInvalidRequest = auth.ErrInvalidRequest

// oauthError is the RFC 6749 §5.2 body.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// toOAuth maps err to an RFC 6749 error code, HTTP status and description.
func toOAuth(err error) (code string, status int, desc string) {
	e := apperr.As(err)
	if c, ok := oauthCodes[e.Reason]; ok {
		status = http.StatusBadRequest
		if c == "invalid_client" {
			status = http.StatusUnauthorized
		}
		return c, status, e.Message
	}
	switch e.Code {
	case apperr.CodeUnavailable, apperr.CodeRateLimited:
		return "temporarily_unavailable", http.StatusServiceUnavailable, e.Message
	case apperr.CodeInvalid, apperr.CodeUnreadable, apperr.CodeTooLarge, apperr.CodeUnsupportedMediaType:
		return "invalid_request", http.StatusBadRequest, e.Message
	}
	return "server_error", http.StatusInternalServerError, "an internal error occurred"
}

// renderOAuthError answers an OAuth endpoint's error as RFC 6749 §5.2 JSON.
// A failed client authentication is 401 with a Basic challenge (§5.2).
func (h handlers) renderOAuthError(c echo.Context, err error) error {
	code, status, desc := toOAuth(err)
	if status >= 500 {
		h.log.ErrorContext(c.Request().Context(), "oauth endpoint failed", "path", c.Request().URL.Path, "error", err)
	}
	hdr := c.Response().Header()
	if code == "invalid_client" {
		hdr.Set(echo.HeaderWWWAuthenticate, `Basic realm="bellhop", charset="UTF-8"`)
	}
	noStore(c)
	return c.JSON(status, oauthError{Error: code, Description: descriptionSafe(desc)})
}

// descriptionSafe keeps the characters RFC 6749 allows in error_description.
func descriptionSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}

// oauthRequest is a form-encoded OAuth request with the client's credentials.
type oauthRequest struct {
	form                   url.Values
	clientID, clientSecret string
}

// readOAuthRequest reads a POSTed application/x-www-form-urlencoded body:
// no parameter twice (RFC 6749 §3.2), client credentials from HTTP Basic
// (form-url-encoded inside, §2.3.1) or from the body, never both.
func readOAuthRequest(c echo.Context) (oauthRequest, error) {
	req := c.Request()
	mt, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEApplicationForm {
		return oauthRequest{}, errInvalidRequest.With("send the parameters as application/x-www-form-urlencoded")
	}
	if err := req.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return oauthRequest{}, errInvalidRequest.With("the request body is too large")
		}
		return oauthRequest{}, errInvalidRequest.With("the request body cannot be read")
	}
	for k, vs := range req.PostForm {
		if len(vs) > 1 {
			return oauthRequest{}, errInvalidRequest.With("the parameter %s is repeated", clip(k))
		}
	}
	out := oauthRequest{form: req.PostForm, clientID: req.PostForm.Get("client_id"), clientSecret: req.PostForm.Get("client_secret")}
	if user, pass, ok := req.BasicAuth(); ok {
		if out.clientSecret != "" {
			return oauthRequest{}, errInvalidRequest.With("send the client credentials once: in the Authorization header or in the body")
		}
		id, err1 := url.QueryUnescape(user)
		secret, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil || (out.clientID != "" && out.clientID != id) {
			return oauthRequest{}, auth.ErrInvalidClient.With("the Basic credentials cannot be read")
		}
		out.clientID, out.clientSecret = id, secret
	} else if a := req.Header.Get(echo.HeaderAuthorization); a != "" {
		return oauthRequest{}, auth.ErrInvalidClient.With("authenticate the client with HTTP Basic or client_secret in the body")
	}
	return out, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// token is the token endpoint (RFC 6749 §3.2).
func (h handlers) token(c echo.Context) error {
	r, err := readOAuthRequest(c)
	if err != nil {
		return h.renderOAuthError(c, err)
	}
	f := r.form
	tok, err := h.svc.Token(c.Request().Context(), auth.TokenRequest{
		GrantType: f.Get("grant_type"), Code: f.Get("code"), RedirectURI: f.Get("redirect_uri"), CodeVerifier: f.Get("code_verifier"),
		RefreshToken: f.Get("refresh_token"), Scope: f.Get("scope"), ClientID: r.clientID, ClientSecret: r.clientSecret,
	})
	if err != nil {
		return h.renderOAuthError(c, err)
	}
	noStore(c)
	return httpserver.Respond(c, http.StatusOK, tok, nil)
}

// revoke is the revocation endpoint (RFC 7009): 200 whether or not the
// token was known.
func (h handlers) revoke(c echo.Context) error {
	r, err := readOAuthRequest(c)
	if err != nil {
		return h.renderOAuthError(c, err)
	}
	err = h.svc.Revoke(c.Request().Context(), auth.RevokeRequest{
		Token: r.form.Get("token"), TokenTypeHint: r.form.Get("token_type_hint"), ClientID: r.clientID, ClientSecret: r.clientSecret,
	})
	if err != nil {
		return h.renderOAuthError(c, err)
	}
	noStore(c)
	return c.NoContent(http.StatusOK)
}

// introspect is the introspection endpoint (RFC 7662).
func (h handlers) introspect(c echo.Context) error {
	r, err := readOAuthRequest(c)
	if err != nil {
		return h.renderOAuthError(c, err)
	}
	res, err := h.svc.Introspect(c.Request().Context(), auth.IntrospectRequest{
		Token: r.form.Get("token"), TokenTypeHint: r.form.Get("token_type_hint"), ClientID: r.clientID, ClientSecret: r.clientSecret,
	})
	if err != nil {
		return h.renderOAuthError(c, err)
	}
	noStore(c)
	return httpserver.Respond(c, http.StatusOK, res, nil)
}
