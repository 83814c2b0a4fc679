package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
)

// BankFaults switches the sandbox bank's faults (latency, failures, an
// outage) where it runs in this process, for drills. cmd/bellhop implements
// it; implementations check that the caller in ctx is an admin.
type BankFaults interface {
	Faults(ctx context.Context) (SandboxFaults, error)
	SetFaults(ctx context.Context, f SandboxFaults) error
}

// SandboxFaults are the sandbox bank's fault switches.
type SandboxFaults struct {
	// Latency is added to every call (up to LatencyMax when that is larger:
	// a random latency between the two).
	Latency, LatencyMax time.Duration
	// FailureRate is the share of calls that fail (0 to 1).
	FailureRate float64
	// Down makes every call fail.
	Down bool
}

type usersData struct {
	Users    []auth.User
	Roles    []string
	NextURL  string
	FirstURL string
}

// usersPage lists accounts with their roles, each with a form to change them.
func (w *Web) usersPage(c echo.Context) error {
	return w.renderUsers(c, http.StatusOK, view{})
}

func (w *Web) renderUsers(c echo.Context, status int, v view) error {
	cursor := c.QueryParam("cursor")
	list, err := w.d.Auth.ListUsers(c.Request().Context(), auth.ListUsersRequest{Limit: 50, Cursor: cursor})
	if err != nil {
		return w.fail(c, err)
	}
	d := usersData{Users: list.Users, Roles: authn.Roles}
	if list.NextCursor != "" {
		d.NextURL = "/admin/users?cursor=" + url.QueryEscape(list.NextCursor)
	}
	if cursor != "" {
		d.FirstURL = "/admin/users"
	}
	if who := c.QueryParam("saved"); who != "" && v.Notice == "" {
		v.Notice = "The roles of " + who + " are saved"
	}
	v.Title, v.Data = "Users and roles · Admin · Bellhop", &d
	return w.render(c, status, "users", v)
}

func (w *Web) setRoles(c echo.Context) error {
	vals, _ := c.FormParams()
	roles := vals["roles"]
	u, err := w.d.Auth.SetRoles(c.Request().Context(), auth.SetRolesRequest{UserID: c.Param("id"), Roles: roles})
	if err != nil {
		v := view{Banner: sentence(apperr.As(err).Message)}
		switch {
		case len(roles) == 0:
			v.Banner = "Give the user at least one role"
		case apperr.As(err).Reason == auth.ErrLastAdmin.Reason:
			v.Banner = "The last admin cannot give up the admin role: make someone else an admin first"
		}
		if apperr.CodeOf(err) == apperr.CodeForbidden {
			return w.fail(c, err)
		}
		return w.renderUsers(c, statusOf(err), v)
	}
	return redirect(c, "/admin/users?saved="+url.QueryEscape(u.Email))
}

type bankData struct {
	Available               bool
	LatencyMS, LatencyMaxMS string
	FailurePercent          string
	Down                    bool
}

var bankLabels = [][2]string{{"latency_ms", "Added latency"}, {"latency_max_ms", "Latency up to"}, {"failure_percent", "Calls that fail"}}

// bankPage shows the sandbox bank's fault switches.
func (w *Web) bankPage(c echo.Context) error {
	d := bankData{}
	v := view{Title: "Sandbox bank · Admin · Bellhop", Data: &d}
	if w.d.Bank != nil {
		f, err := w.d.Bank.Faults(c.Request().Context())
		if err != nil {
			return w.fail(c, err)
		}
		d = bankData{Available: true, LatencyMS: strconv.FormatInt(f.Latency.Milliseconds(), 10),
			LatencyMaxMS: strconv.FormatInt(f.LatencyMax.Milliseconds(), 10), FailurePercent: strconv.FormatFloat(f.FailureRate*100, 'f', -1, 64), Down: f.Down}
	}
	if c.QueryParam("saved") == "1" {
		v.Notice = "The bank's faults are changed"
	}
	return w.render(c, http.StatusOK, "bank", v)
}

func (w *Web) setBankFaults(c echo.Context) error {
	if w.d.Bank == nil {
		return w.fail(c, apperr.Unavailable("payments.sandbox_not_here", "the sandbox bank does not run in this process"))
	}
	d := bankData{Available: true, LatencyMS: strings.TrimSpace(c.FormValue("latency_ms")), LatencyMaxMS: strings.TrimSpace(c.FormValue("latency_max_ms")),
		FailurePercent: strings.TrimSpace(c.FormValue("failure_percent")), Down: c.FormValue("down") == "on"}
	var bad []*apperr.Error
	num := func(field, s string, hi float64) float64 {
		if s == "" {
			return 0
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || f > hi {
			bad = append(bad, invalid(field, "range", "must be a number from 0 to "+strconv.FormatFloat(hi, 'f', -1, 64)))
		}
		return f
	}
	lat, latMax, pct := num("latency_ms", d.LatencyMS, 60000), num("latency_max_ms", d.LatencyMaxMS, 60000), num("failure_percent", d.FailurePercent, 100)
	if latMax != 0 && latMax < lat {
		bad = append(bad, invalid("latency_max_ms", "gtefield", "must be 0 (a fixed latency) or at least the added latency"))
	}
	err := joinInvalid(bad...)
	if err == nil {
		err = w.d.Bank.SetFaults(c.Request().Context(), SandboxFaults{Latency: time.Duration(lat) * time.Millisecond,
			LatencyMax: time.Duration(latMax) * time.Millisecond, FailureRate: pct / 100, Down: d.Down})
	}
	if err != nil {
		if apperr.CodeOf(err) == apperr.CodeForbidden {
			return w.fail(c, err)
		}
		v := view{Title: "Sandbox bank · Admin · Bellhop", Data: &d}
		v.Errors, v.Field, v.Banner = formErrors(err, bankLabels, nil)
		return w.render(c, statusOf(err), "bank", v)
	}
	return redirect(c, "/admin/bank?saved=1")
}

// hasAny reports whether roles holds role (for the role checkboxes).
func hasAny(roles []string, role string) bool { return slices.Contains(roles, role) }

// adminSection is one admin page, as the hub and the admin pages' own menu
// list it.
type adminSection struct{ Name, Path, What string }

// adminSections are the admin pages, the mailbox only where the development
// mail sink is in use.
func adminSections(mailbox bool) []adminSection {
	s := []adminSection{
		{"Users", "/admin/users", "Find an account and grant or take its roles (guest, staff, admin): a change applies at once, also to tokens already issued."},
		{"OAuth clients", "/admin/clients", "Register the applications that call the API for themselves or for a user, and delete them."},
		{"Signing keys", "/admin/keys", "The keys that sign access tokens: see which one signs, rotate it."},
		{"Bank", "/admin/bank", "The sandbox bank: its charges and refunds, and faults to drill with (latency, failures, an outage)."},
	}
	if mailbox {
		s = append(s, adminSection{"Mailbox", "/admin/mail", "The mail Bellhop sent (receipts, credit notes, notices), as the development sink keeps it."})
	}
	return s
}

// adminHome is the admin hub: every admin page, with what it is for.
func (w *Web) adminHome(c echo.Context) error {
	return w.render(c, http.StatusOK, "admin", view{Title: "Admin · Bellhop"})
}
