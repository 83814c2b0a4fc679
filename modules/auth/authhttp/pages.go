package authhttp

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/httpserver"
)

// The sign-in and consent pages: plain HTML forms that work without
// JavaScript, with labels, autocomplete hints and errors announced to
// screen readers. Everything shown is escaped by html/template. The only
// style is the inline block below, allowed by its hash in a strict CSP.

const pageStyle = `body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f6f4;color:#1b1b1b}` +
	`main{max-width:26rem;margin:3rem auto;padding:2rem;background:#fff;border:1px solid #ccc;border-radius:8px}` +
	`h1{font-size:1.4rem;margin-top:0}label{display:block;margin-top:1rem;font-weight:600}` +
	`input{width:100%;box-sizing:border-box;padding:.6rem;font:inherit;border:1px solid #767676;border-radius:4px}` +
	`button{margin-top:1.5rem;padding:.6rem 1.2rem;font:inherit;border-radius:4px;border:1px solid #1a4d8f;background:#1a4d8f;color:#fff;cursor:pointer}` +
	`button.secondary{background:#fff;color:#1a4d8f;margin-left:.5rem}` +
	`:focus-visible{outline:3px solid #f5a623;outline-offset:2px}.error{color:#a4001d;font-weight:600}`

var styleHash = func() string {
	sum := sha256.Sum256([]byte(pageStyle))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

const pageHead = `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
	`<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer">` +
	`<title>{{.Title}} · Bellhop</title><style>` + pageStyle + `</style></head><body><main>`

const pageFoot = `</main></body></html>`

var pages = template.Must(template.New("signin").Parse(pageHead + `
<h1>Sign in to continue to {{.ClientName}}</h1>
{{if .Error}}<p class="error" role="alert" id="form-error">{{.Error}}</p>{{end}}
<form method="post" action="/oauth/authorize">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<input type="hidden" name="action" value="sign_in">
<input type="hidden" name="response_type" value="{{.Req.ResponseType}}">
<input type="hidden" name="client_id" value="{{.Req.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.Req.RedirectURI}}">
<input type="hidden" name="scope" value="{{.Req.Scope}}">
<input type="hidden" name="state" value="{{.Req.State}}">
<input type="hidden" name="code_challenge" value="{{.Req.CodeChallenge}}">
<input type="hidden" name="code_challenge_method" value="{{.Req.CodeChallengeMethod}}">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required autofocus value="{{.Email}}"{{if .Error}} aria-describedby="form-error" aria-invalid="true"{{end}}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required{{if .Error}} aria-describedby="form-error" aria-invalid="true"{{end}}>
<button type="submit">Sign in</button>
</form>
` + pageFoot))

var _ = template.Must(pages.New("consent").Parse(pageHead + `
<h1>Allow {{.ClientName}} to use your Bellhop account?</h1>
{{if .Scopes}}<p>It asks to:</p><ul>{{range .Scopes}}<li>{{.}}</li>{{end}}</ul>{{else}}<p>It asks to know who you are.</p>{{end}}
<form method="post" action="/oauth/authorize">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<input type="hidden" name="action" value="consent">
<input type="hidden" name="ticket" value="{{.Ticket}}">
<input type="hidden" name="state" value="{{.Req.State}}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>
` + pageFoot))

var _ = template.Must(pages.New("error").Parse(pageHead + `
<h1>{{.Title}}</h1>
<p role="alert">{{.Error}}</p>
` + pageFoot))

type pageData struct {
	Title, ClientName, Error, Email, CSRF, Ticket string
	Scopes                                        []string
	Req                                           auth.AuthorizationRequest
}

// page renders a page with a CSP that allows its own form posts and the
// redirect they end in (browsers apply form-action to redirects too).
func (h handlers) page(c echo.Context, status int, name string, d pageData, redirectURI string) error {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, d); err != nil {
		return apperr.Internal(err)
	}
	formAction := "'self'"
	if src := originOf(redirectURI); src != "" {
		formAction += " " + src
	}
	hdr := c.Response().Header()
	hdr.Set(echo.HeaderContentSecurityPolicy, "default-src 'none'; style-src "+styleHash+"; form-action "+formAction+
		"; frame-ancestors 'none'; base-uri 'none'")
	noStore(c)
	return c.HTMLBlob(status, buf.Bytes())
}

// originOf is the CSP source of a redirect URI: its scheme and host, or for
// a private-use scheme the scheme alone. "" if it cannot be one.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || strings.ContainsAny(raw, " ;,'\"") {
		return ""
	}
	if u.Scheme == "http" || u.Scheme == "https" {
		return u.Scheme + "://" + u.Host
	}
	return u.Scheme + ":"
}

func (h handlers) errorPage(c echo.Context, status int, title, msg string) error {
	return h.page(c, status, "error", pageData{Title: title, Error: msg}, "")
}

// authorizationParams reads an authorization request; a repeated parameter
// makes it unreadable (RFC 6749 §3.1).
func authorizationParams(v url.Values) (auth.AuthorizationRequest, bool) {
	for _, vs := range v {
		if len(vs) > 1 {
			return auth.AuthorizationRequest{}, false
		}
	}
	return auth.AuthorizationRequest{
		ResponseType: v.Get("response_type"), ClientID: v.Get("client_id"), RedirectURI: v.Get("redirect_uri"),
		Scope: v.Get("scope"), State: v.Get("state"), CodeChallenge: v.Get("code_challenge"), CodeChallengeMethod: v.Get("code_challenge_method"),
	}, true
}

// notRedirectable reports the errors that must not be sent to the redirect
// URI: it is not known to belong to the client.
func notRedirectable(err error) bool {
	return errors.Is(err, auth.ErrInvalidClient) || errors.Is(err, auth.ErrInvalidRedirectURI)
}

// authorizePage is GET /oauth/authorize: the sign-in page of a valid request.
func (h handlers) authorizePage(c echo.Context) error {
	req, ok := authorizationParams(c.QueryParams())
	if !ok {
		return h.errorPage(c, http.StatusBadRequest, "This sign-in link is not valid", "A parameter appears more than once.")
	}
	info, err := h.svc.CheckAuthorization(c.Request().Context(), req)
	if err != nil {
		return h.authorizationFailed(c, req, err)
	}
	return h.page(c, http.StatusOK, "signin", pageData{Title: "Sign in", ClientName: info.ClientName, CSRF: h.csrf.issue(c), Req: req}, info.RedirectURI)
}

// authorizationFailed shows an error page for a request that cannot be
// redirected, else sends the error back to the client (RFC 6749 §4.1.2.1).
func (h handlers) authorizationFailed(c echo.Context, req auth.AuthorizationRequest, err error) error {
	if notRedirectable(err) {
		return h.errorPage(c, http.StatusBadRequest, "This sign-in link is not valid", apperr.As(err).Message+
			". Go back to the application and try again.")
	}
	code, status, desc := toOAuth(err)
	if status >= 500 {
		return err
	}
	return h.redirect(c, req.RedirectURI, url.Values{"error": {code}, "error_description": {descriptionSafe(desc)}}, req.State)
}

// redirect sends the browser back to the client with params, the state and
// the issuer (RFC 9207, against mix-up attacks).
func (h handlers) redirect(c echo.Context, redirectURI string, params url.Values, state string) error {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return apperr.Internal(err)
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	if state != "" {
		q.Set("state", state)
	}
	q.Set("iss", h.opts.Issuer)
	u.RawQuery = q.Encode()
	noStore(c)
	return c.Redirect(http.StatusSeeOther, u.String())
}

// authorizeSubmit is POST /oauth/authorize: the sign-in form or the
// consent form.
func (h handlers) authorizeSubmit(c echo.Context) error {
	r := c.Request()
	if err := r.ParseForm(); err != nil {
		return h.errorPage(c, http.StatusBadRequest, "The form cannot be read", "Go back and try again.")
	}
	if !h.csrf.check(c, r.PostForm.Get("csrf_token")) {
		return h.errorPage(c, http.StatusForbidden, "The form has expired",
			"It may have been open too long or sent from another site. Go back to the application and start again.")
	}
	req, ok := authorizationParams(r.PostForm)
	if !ok {
		return h.errorPage(c, http.StatusBadRequest, "The form cannot be read", "A field appears more than once.")
	}
	ctx := r.Context()
	if r.PostForm.Get("action") == "consent" {
		res, err := h.svc.Consent(ctx, auth.ConsentRequest{Ticket: r.PostForm.Get("ticket"), Allow: r.PostForm.Get("decision") == "allow"})
		if err != nil {
			if apperr.CodeOf(err) == apperr.CodeInternal {
				return err
			}
			return h.errorPage(c, http.StatusBadRequest, "This request has expired", "Go back to the application and start again.")
		}
		if res.Denied {
			return h.redirect(c, res.RedirectURI, url.Values{"error": {"access_denied"}, "error_description": {"the user denied the request"}}, req.State)
		}
		return h.redirect(c, res.RedirectURI, url.Values{"code": {res.Code}}, req.State)
	}

	email := r.PostForm.Get("email")
	res, err := h.svc.Authorize(ctx, auth.AuthorizeRequest{AuthorizationRequest: req, Email: email, Password: r.PostForm.Get("password"), ClientIP: httpserver.ClientIP(c)})
	switch {
	case errors.Is(err, auth.ErrInvalidCredentials), errors.Is(err, auth.ErrTooManyAttempts):
		info, cerr := h.svc.CheckAuthorization(ctx, req)
		if cerr != nil {
			return h.authorizationFailed(c, req, cerr)
		}
		status, msg := http.StatusUnauthorized, "The email or password is not correct."
		if ae := apperr.As(err); errors.Is(err, auth.ErrTooManyAttempts) {
			secs := int(ae.RetryAfter.Seconds())
			status, msg = http.StatusTooManyRequests, "Too many failed attempts. Wait "+strconv.Itoa(max(secs, 1))+" seconds and try again."
			c.Response().Header().Set(echo.HeaderRetryAfter, strconv.Itoa(max(secs, 1)))
		}
		return h.page(c, status, "signin", pageData{Title: "Sign in", ClientName: info.ClientName, Error: msg, Email: email,
			CSRF: h.csrf.issue(c), Req: req}, info.RedirectURI)
	case err != nil:
		return h.authorizationFailed(c, req, err)
	case res.ConsentTicket != "":
		return h.page(c, http.StatusOK, "consent", pageData{Title: "Allow access", ClientName: res.ClientName, Scopes: res.Scopes,
			CSRF: h.csrf.issue(c), Ticket: res.ConsentTicket, Req: req}, res.RedirectURI)
	}
	return h.redirect(c, res.RedirectURI, url.Values{"code": {res.Code}}, req.State)
}

// csrf is a signed double-submit token: a random value in a cookie, and in
// the form its HMAC under the server's key. A page on another site can
// neither read the cookie nor compute the HMAC of one it planted.
type csrf struct {
	key    []byte
	secure bool
}

const csrfCookie = "bellhop_csrf"

func (x csrf) cookieName(c echo.Context) (string, bool) {
	if x.secure || c.Request().TLS != nil {
		return "__Host-" + csrfCookie, true // Secure, Path=/, no Domain: the host's own
	}
	return csrfCookie, false
}

func (x csrf) sign(v string) string {
	m := hmac.New(sha256.New, x.key)
	m.Write([]byte("bellhop-csrf:" + v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// issue returns the form token for the request's cookie, setting a fresh
// cookie if there is none.
func (x csrf) issue(c echo.Context) string {
	name, secure := x.cookieName(c)
	if ck, err := c.Cookie(name); err == nil && len(ck.Value) == 43 {
		return x.sign(ck.Value)
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	v := base64.RawURLEncoding.EncodeToString(b[:])
	c.SetCookie(&http.Cookie{Name: name, Value: v, Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	return x.sign(v)
}

// check compares the form's token with the cookie's HMAC in constant time.
func (x csrf) check(c echo.Context, token string) bool {
	name, _ := x.cookieName(c)
	ck, err := c.Cookie(name)
	if err != nil || ck.Value == "" || token == "" {
		return false
	}
	return hmac.Equal([]byte(token), []byte(x.sign(ck.Value)))
}
