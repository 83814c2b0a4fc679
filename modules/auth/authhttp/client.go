package authhttp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/httpclient"
)

// Client is auth.Service over HTTP, for processes that do not host auth.
// Errors come back as the same apperr values (errors.Is works), those of the
// OAuth endpoints mapped back from their RFC 6749 error codes; an auth
// process that cannot be reached is apperr code unavailable.
//
// The authorization-flow methods call internal routes with the process's
// service token (it needs the auth:authorize scope).
type Client struct {
	http    *httpclient.Client
	base    string
	form    *http.Client // for the form-encoded OAuth endpoints
	unavail *apperr.Error
}

var _ auth.Service = (*Client)(nil)

// NewClient calls the auth module at baseURL (e.g. http://127.0.0.1:8102).
func NewClient(baseURL string, opts httpclient.Options) (*Client, error) {
	opts.Callee = auth.Module
	hc, err := httpclient.New(baseURL, opts)
	if err != nil {
		return nil, err
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = httpclient.DefaultTimeout
	}
	form := opts.HTTPClient
	if form == nil {
		form = &http.Client{Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &Client{http: hc, base: strings.TrimSuffix(baseURL, "/"), form: form,
		unavail: apperr.Unavailable(auth.Module+".unavailable", "the auth module is unavailable")}, nil
}

// Register implements auth.Service.
func (c *Client) Register(ctx context.Context, req auth.RegisterRequest) (auth.User, error) {
	var out auth.User
	err := c.http.Do(ctx, httpclient.Call{Op: "Register", Method: http.MethodPost, Path: pathUsers, Body: req, Out: &out})
	return out, err
}

// Me implements auth.Service.
func (c *Client) Me(ctx context.Context) (auth.User, error) {
	var out auth.User
	err := c.http.Do(ctx, httpclient.Call{Op: "Me", Path: pathMe, Out: &out})
	return out, err
}

// UpdateMe implements auth.Service.
func (c *Client) UpdateMe(ctx context.Context, req auth.UpdateMeRequest) (auth.User, error) {
	var out auth.User
	err := c.http.Do(ctx, httpclient.Call{Op: "UpdateMe", Method: http.MethodPatch, Path: pathMe, Body: req, Out: &out})
	return out, err
}

// ChangePassword implements auth.Service.
func (c *Client) ChangePassword(ctx context.Context, req auth.ChangePasswordRequest) error {
	// A POST, so it is sent once: a retry after a lost answer would fail
	// on the password it had just replaced.
	return c.http.Do(ctx, httpclient.Call{Op: "ChangePassword", Method: http.MethodPost, Path: pathMyPassword, Body: req})
}

// ListUsers implements auth.Service.
func (c *Client) ListUsers(ctx context.Context, req auth.ListUsersRequest) (auth.UserList, error) {
	q := url.Values{}
	if req.Limit != 0 {
		q.Set("limit", strconv.Itoa(req.Limit))
	}
	if req.Cursor != "" {
		q.Set("cursor", req.Cursor)
	}
	var out auth.UserList
	err := c.http.Do(ctx, httpclient.Call{Op: "ListUsers", Path: pathUsers, Query: q, Out: &out})
	return out, err
}

// SetRoles implements auth.Service.
func (c *Client) SetRoles(ctx context.Context, req auth.SetRolesRequest) (auth.User, error) {
	var out auth.User
	err := c.http.Do(ctx, httpclient.Call{Op: "SetRoles", Method: http.MethodPut, Path: pathUsers + "/" + segment(req.UserID) + "/roles", Body: req, Out: &out})
	return out, err
}

// SignIn implements auth.Service. The caller's req.ClientIP (the browser
// behind the dashboard) travels as X-Forwarded-For: auth believes it only
// when this process's address is in its server.trusted_proxies, so its
// per-IP sign-in limit and pacing see the browser, not the gateway.
func (c *Client) SignIn(ctx context.Context, req auth.SignInRequest) (auth.Tokens, error) {
	var out auth.Tokens
	call := httpclient.Call{Op: "SignIn", Method: http.MethodPost, Path: pathSessions, Body: req, Out: &out}
	if req.ClientIP != "" {
		call.Header = http.Header{"X-Forwarded-For": {req.ClientIP}}
	}
	err := c.http.Do(ctx, call)
	return out, err
}

// SignOut implements auth.Service.
func (c *Client) SignOut(ctx context.Context, req auth.SignOutRequest) error {
	return c.http.Do(ctx, httpclient.Call{Op: "SignOut", Method: http.MethodDelete, Path: pathSessions, Body: req})
}

// Token implements auth.Service: a form POST to the token endpoint with the
// client's credentials in HTTP Basic (RFC 6749 §2.3.1).
func (c *Client) Token(ctx context.Context, req auth.TokenRequest) (auth.Tokens, error) {
	f := url.Values{}
	set(f, "grant_type", req.GrantType)
	set(f, "code", req.Code)
	set(f, "redirect_uri", req.RedirectURI)
	set(f, "code_verifier", req.CodeVerifier)
	set(f, "refresh_token", req.RefreshToken)
	set(f, "scope", req.Scope)
	var out auth.Tokens
	err := c.postForm(ctx, pathToken, f, req.ClientID, req.ClientSecret, &out)
	return out, err
}

// Revoke implements auth.Service.
func (c *Client) Revoke(ctx context.Context, req auth.RevokeRequest) error {
	f := url.Values{}
	set(f, "token", req.Token)
	set(f, "token_type_hint", req.TokenTypeHint)
	return c.postForm(ctx, pathRevoke, f, req.ClientID, req.ClientSecret, nil)
}

// Introspect implements auth.Service.
func (c *Client) Introspect(ctx context.Context, req auth.IntrospectRequest) (auth.Introspection, error) {
	f := url.Values{}
	set(f, "token", req.Token)
	set(f, "token_type_hint", req.TokenTypeHint)
	var out auth.Introspection
	err := c.postForm(ctx, pathIntrospect, f, req.ClientID, req.ClientSecret, &out)
	return out, err
}

// JWKS implements auth.Service.
func (c *Client) JWKS(ctx context.Context) (auth.JWKS, error) {
	var out auth.JWKS
	err := c.http.Do(ctx, httpclient.Call{Op: "JWKS", Path: pathJWKS, Out: &out})
	return out, err
}

// CheckAuthorization implements auth.Service.
func (c *Client) CheckAuthorization(ctx context.Context, req auth.AuthorizationRequest) (auth.AuthorizationInfo, error) {
	var out auth.AuthorizationInfo
	err := c.http.Do(ctx, httpclient.Call{Op: "CheckAuthorization", Method: http.MethodPost, Path: pathAuthzCheck, Body: req, Out: &out, Idempotent: true})
	return out, err
}

// Authorize implements auth.Service.
func (c *Client) Authorize(ctx context.Context, req auth.AuthorizeRequest) (auth.AuthorizeResult, error) {
	var out auth.AuthorizeResult
	err := c.http.Do(ctx, httpclient.Call{Op: "Authorize", Method: http.MethodPost, Path: pathAuthz, Body: req, Out: &out})
	return out, err
}

// Consent implements auth.Service.
func (c *Client) Consent(ctx context.Context, req auth.ConsentRequest) (auth.AuthorizeResult, error) {
	var out auth.AuthorizeResult
	err := c.http.Do(ctx, httpclient.Call{Op: "Consent", Method: http.MethodPost, Path: pathAuthzConsent, Body: req, Out: &out})
	return out, err
}

// CreateClient implements auth.Service.
func (c *Client) CreateClient(ctx context.Context, req auth.CreateClientRequest) (auth.CreatedClient, error) {
	var out auth.CreatedClient
	err := c.http.Do(ctx, httpclient.Call{Op: "CreateClient", Method: http.MethodPost, Path: pathClients, Body: req, Out: &out})
	return out, err
}

// ListClients implements auth.Service.
func (c *Client) ListClients(ctx context.Context) (auth.ClientList, error) {
	var out auth.ClientList
	err := c.http.Do(ctx, httpclient.Call{Op: "ListClients", Path: pathClients, Out: &out})
	return out, err
}

// GetClient implements auth.Service.
func (c *Client) GetClient(ctx context.Context, req auth.GetClientRequest) (auth.Client, error) {
	var out auth.Client
	err := c.http.Do(ctx, httpclient.Call{Op: "GetClient", Path: pathClients + "/" + segment(req.ID), Out: &out})
	return out, err
}

// UpdateClient implements auth.Service.
func (c *Client) UpdateClient(ctx context.Context, req auth.UpdateClientRequest) (auth.Client, error) {
	var out auth.Client
	err := c.http.Do(ctx, httpclient.Call{Op: "UpdateClient", Method: http.MethodPatch, Path: pathClients + "/" + segment(req.ID), Body: req, Out: &out})
	return out, err
}

// DeleteClient implements auth.Service.
func (c *Client) DeleteClient(ctx context.Context, req auth.DeleteClientRequest) error {
	return c.http.Do(ctx, httpclient.Call{Op: "DeleteClient", Method: http.MethodDelete, Path: pathClients + "/" + segment(req.ID)})
}

// SigningKeys implements auth.Service.
func (c *Client) SigningKeys(ctx context.Context) (auth.SigningKeyList, error) {
	var out auth.SigningKeyList
	err := c.http.Do(ctx, httpclient.Call{Op: "SigningKeys", Path: pathSigningKeys, Out: &out})
	return out, err
}

// RotateSigningKey implements auth.Service. It is not retried: a retry
// after a lost answer would rotate twice.
func (c *Client) RotateSigningKey(ctx context.Context) (auth.SigningKey, error) {
	var out auth.SigningKey
	err := c.http.Do(ctx, httpclient.Call{Op: "RotateSigningKey", Method: http.MethodPost, Path: pathSigningKeys, Out: &out})
	return out, err
}

// oauthErrors maps RFC 6749 error codes back to the module's errors.
var oauthErrors = func() map[string]*apperr.Error {
	m := map[string]*apperr.Error{}
	for _, e := range []*apperr.Error{auth.ErrInvalidRequest, auth.ErrInvalidClient, auth.ErrInvalidGrant, auth.ErrInvalidScope,
		auth.ErrUnauthorizedClient, auth.ErrUnsupportedGrantType, auth.ErrUnsupportedResponse, auth.ErrAccessDenied} {
		m[oauthCodes[e.Reason]] = e
	}
	return m
}()

// postForm POSTs an OAuth request once (token requests are not idempotent)
// and decodes the answer: out on 200, else the RFC 6749 error or problem.
func (c *Client) postForm(ctx context.Context, path string, f url.Values, clientID, secret string, out any) error {
	if secret == "" && clientID != "" {
		f.Set("client_id", clientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, strings.NewReader(f.Encode()))
	if err != nil {
		return apperr.Internal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if secret != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	res, err := c.form.Do(req)
	if err != nil {
		return c.unavail.WithCause(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return c.unavail.WithCause(err)
	}
	if res.StatusCode == http.StatusOK {
		if out == nil || len(body) == 0 {
			return nil
		}
		if err := json.Unmarshal(body, out); err != nil {
			return c.unavail.With("the auth module sent an answer that cannot be read").WithCause(err)
		}
		return nil
	}
	mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if mt == apperr.ProblemMediaType {
		var p apperr.Problem
		if err := json.Unmarshal(body, &p); err == nil && p.Status != 0 {
			e := p.Err()
			if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && e.RetryAfter == 0 {
				e = e.WithRetryAfter(time.Duration(ra) * time.Second)
			}
			return e
		}
	}
	var oe oauthError
	if err := json.Unmarshal(body, &oe); err == nil && oe.Error != "" {
		if e, ok := oauthErrors[oe.Error]; ok {
			if oe.Description != "" {
				return e.With("%s", oe.Description)
			}
			return e
		}
		if oe.Error == "temporarily_unavailable" {
			return c.unavail.With("%s", oe.Description)
		}
		return apperr.Internal(fmt.Errorf("auth %s: %s: %s", path, oe.Error, oe.Description))
	}
	code := apperr.CodeForStatus(res.StatusCode)
	if code == apperr.CodeUnavailable {
		return c.unavail.With("the auth module answered %s", res.Status)
	}
	return apperr.New(code, "", fmt.Sprintf("the auth module answered %s", res.Status))
}

func set(f url.Values, k, v string) {
	if v != "" {
		f.Set(k, v)
	}
}

// segment escapes an id so it cannot reach another route; an empty id still
// names a path, which the server answers as a validation error.
func segment(id string) string {
	if id == "" {
		return "%20"
	}
	return url.PathEscape(id)
}
