package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/platform/apperr"
)

// The OAuth clients page: admins list the clients that may ask auth for
// tokens, register one (a confidential client's secret is shown on the answer
// to the form and never again) and delete one. The auth service checks the
// admin role on every call, so the page is no more than a view of it.

// clientForm is the create form as typed, kept to show it again with its errors.
type clientForm struct {
	Name, RedirectURIs, Scopes string
	Confidential, FirstParty   bool
	GrantTypes                 []string
}

type clientsData struct {
	Clients []auth.Client
	Form    clientForm
	// Created is the client just registered, with its secret: on this
	// answer only (the page is not stored: Cache-Control no-store).
	Created *auth.CreatedClient
	Grants  []string
}

var clientLabels = [][2]string{{"name", "Name"}, {"redirect_uris", "Redirect URIs"}, {"scopes", "Scopes"},
	{"grant_types", "Grant types"}, {"confidential", "Confidential"}}

var grantTypes = []string{"authorization_code", "refresh_token", "client_credentials"}

// newClientForm is the create form as first shown: auth's default grants.
func newClientForm() clientForm {
	return clientForm{GrantTypes: []string{"authorization_code", "refresh_token"}}
}

func (w *Web) clientsPage(c echo.Context) error {
	v := view{}
	if name := c.QueryParam("deleted"); name != "" {
		v.Notice = "The client " + name + " is deleted: every token it was given stops working"
	}
	return w.renderClients(c, http.StatusOK, v, clientsData{Form: newClientForm()})
}

func (w *Web) renderClients(c echo.Context, status int, v view, d clientsData) error {
	list, err := w.d.Auth.ListClients(c.Request().Context())
	if err != nil {
		return w.fail(c, err)
	}
	d.Clients, d.Grants = list.Clients, grantTypes
	slices.SortFunc(d.Clients, func(a, b auth.Client) int { return strings.Compare(a.Name+a.ID, b.Name+b.ID) })
	v.Title, v.Data = "OAuth clients · Admin · Bellhop", &d
	return w.render(c, status, "clients", v)
}

// createClient registers a client and shows its secret once.
func (w *Web) createClient(c echo.Context) error {
	vals, _ := c.FormParams()
	f := clientForm{Name: strings.TrimSpace(vals.Get("name")), RedirectURIs: vals.Get("redirect_uris"), Scopes: vals.Get("scopes"),
		Confidential: vals.Get("confidential") == "on", FirstParty: vals.Get("first_party") == "on", GrantTypes: vals["grant_types"]}
	req := auth.CreateClientRequest{Name: f.Name, Confidential: f.Confidential, FirstParty: f.FirstParty,
		RedirectURIs: splitWords(f.RedirectURIs), Scopes: splitWords(f.Scopes), GrantTypes: f.GrantTypes}
	created, err := w.d.Auth.CreateClient(c.Request().Context(), req)
	if err != nil {
		if code := apperr.CodeOf(err); code == apperr.CodeForbidden || code == apperr.CodeUnauthenticated {
			return w.fail(c, err)
		}
		v := view{}
		v.Errors, v.Field, v.Banner = formErrors(listFieldsAsOne(err), clientLabels, nil)
		return w.renderClients(c, statusOf(err), v, clientsData{Form: f})
	}
	v := view{Notice: "The client " + created.Name + " is registered"}
	return w.renderClients(c, http.StatusCreated, v, clientsData{Created: &created, Form: newClientForm()})
}

// deleteClient removes a client; auth revokes its refresh tokens.
func (w *Web) deleteClient(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	name := id
	if cl, err := w.d.Auth.GetClient(ctx, auth.GetClientRequest{ID: id}); err == nil {
		name = cl.Name
	}
	if err := w.d.Auth.DeleteClient(ctx, auth.DeleteClientRequest{ID: id}); err != nil {
		if code := apperr.CodeOf(err); code == apperr.CodeForbidden || code == apperr.CodeUnauthenticated || code == apperr.CodeNotFound {
			return w.fail(c, err)
		}
		return w.renderClients(c, statusOf(err), view{Banner: "The client was not deleted: " + sentence(apperr.As(err).Message)}, clientsData{Form: newClientForm()})
	}
	return redirect(c, "/admin/clients?deleted="+url.QueryEscape(name))
}

// splitWords reads a textarea or input of values separated by spaces,
// commas or new lines (URIs and scopes hold none of them).
func splitWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

// listFieldsAsOne names a list's field errors after the list
// ("redirect_uris[1]" → "redirect_uris"): the form has one box for the list.
func listFieldsAsOne(err error) error {
	ae := *apperr.As(err)
	ae.Fields = slices.Clone(ae.Fields)
	for i, f := range ae.Fields {
		if name, idx, ok := strings.Cut(f.Field, "["); ok {
			ae.Fields[i].Field = name
			if n, err := strconv.Atoi(strings.TrimSuffix(idx, "]")); err == nil {
				ae.Fields[i].Detail = "(entry " + strconv.Itoa(n+1) + ") " + f.Detail
			}
		}
	}
	return &ae
}
