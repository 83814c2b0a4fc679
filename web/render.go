package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/money"
	"github.com/bellhop/bellhop/platform/observability"
)

//go:embed templates
var templateFS embed.FS

// pageSet is every page: the layout with one page's templates each, so
// pages can all define "content" without clashing.
type pageSet struct {
	byName map[string]*template.Template
}

func loadPages(assets *assetSet) (*pageSet, error) {
	funcs := template.FuncMap{
		"asset":    assets.url,
		"money":    formatMoney,
		"date":     formatDate,
		"shortDay": func(d civil.Date) string { return d.In(time.UTC).Format("Mon 2 Jan") },
		"timeIn":   formatTimeIn,
		"when":     func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") },
		"rfc3339":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"iso":      func(d civil.Date) string { return d.String() },
		"nights":   func(a, b civil.Date) int { return a.DaysUntil(b) },
		"plural": func(n int, one, many string) string {
			if n == 1 {
				return "1 " + one
			}
			return strconv.Itoa(n) + " " + many
		},
		"stars":  func(n int) string { return strings.Repeat("★", n) + strings.Repeat("☆", max(0, 5-n)) },
		"pct":    func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" },
		"ms":     formatMillis,
		"rate":   func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
		"add":    func(a, b int) int { return a + b },
		"status": statusLabel,
		"join":   strings.Join,
		"hasRole": func(p *authn.Principal, role string) bool {
			return p != nil && p.HasRole(role)
		},
		"isStaff":       func(p *authn.Principal) bool { return p != nil && p.IsStaff() },
		"hasPrefix":     strings.HasPrefix,
		"adminSections": adminSections,
		"has":           hasAny,
		"list":          func(xs ...string) []string { return xs },
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, errors.New("dict: odd number of arguments")
			}
			m := make(map[string]any, len(kv)/2)
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, errors.New("dict: keys must be strings")
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
		// blankZero turns the zero date ("0000-00-00") into an empty field.
		"blankZero": func(s string) string {
			if strings.HasPrefix(s, "0000-") {
				return ""
			}
			return s
		},
		"cheapest":   cheapestOffer,
		"coord":      coord,
		"percent":    percent,
		"docKind":    documentKind,
		"lowerFirst": lowerFirst,
		"kb":         formatKB,
		"addf":       func(a, b float64) float64 { return a + b },
	}
	base, err := template.New("base").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	ps := &pageSet{byName: map[string]*template.Template{}}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, f)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		ps.byName[name] = t
	}
	return ps, nil
}

// view is what every page template gets.
type view struct {
	Title string
	// Me is the signed-in user (nil for a visitor).
	Me   *authn.Principal
	CSRF string
	// Path is the page's path, for the navigation's aria-current.
	Path string
	// Banner is a problem with the whole page (a module unavailable, a
	// refused action); Notice a success ("Your booking is cancelled").
	Banner, Notice string
	// Errors are the form's field errors, in the order of the form, for the
	// error summary; Field the same by field name, for the message next to it.
	Errors []fieldError
	Field  map[string]string
	// Refresh, when set, reloads the page after so many seconds (a payment
	// being confirmed): it works without JavaScript.
	Refresh int
	// Mailbox: the development mail sink is in use (its page is in the menu).
	Mailbox bool
	Data    any
}

type fieldError struct{ Field, Message string }

// render writes page with status. An htmx request that targets one of the
// page's fragments ("#results") gets that fragment alone.
func (w *Web) render(c echo.Context, status int, page string, v view) error {
	t, ok := w.pages.byName[page]
	if !ok {
		return apperr.Internal(fmt.Errorf("web: no page %q", page))
	}
	vis := visitorOf(c)
	if vis.signedIn() {
		p := vis.principal
		v.Me = &p
	}
	v.CSRF = w.csrfToken(c)
	v.Mailbox = w.d.Mailbox != nil
	v.Path = c.Request().URL.Path
	if b, ok := c.Get("web.banner").(string); ok && v.Banner == "" {
		v.Banner = b
	}
	name := "layout"
	if target := c.Request().Header.Get("HX-Target"); c.Request().Header.Get("HX-Request") == "true" && target != "" {
		if t.Lookup("fragment-"+target) != nil {
			name = "fragment-" + target
		}
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, v); err != nil {
		return apperr.Internal(fmt.Errorf("web: render %s: %w", page, err))
	}
	h := c.Response().Header()
	// Pages carry personal data and CSRF tokens: never stored by caches.
	h.Set(echo.HeaderCacheControl, "no-store")
	h.Add(echo.HeaderVary, "HX-Request, HX-Target")
	return c.HTMLBlob(status, buf.Bytes())
}

// fail renders an error as a page a person can act on: sign in, a page
// that is not there, a module that is unavailable, or a generic apology with
// the request id to quote.
func (w *Web) fail(c echo.Context, err error) error {
	ae := apperr.As(err)
	switch ae.Code {
	case apperr.CodeUnauthenticated:
		if visitorOf(c).signedIn() {
			break
		}
		return redirect(c, "/signin?next="+urlQuery(safeNext(c.Request().URL.RequestURI())))
	case apperr.CodeInternal:
		w.log.Error("web: page failed", "path", c.Request().URL.Path, "err", err,
			"request_id", observability.RequestID(c.Request().Context()))
	}
	title, msg := "Something went wrong", "Sorry, something went wrong on our side. Try again in a moment."
	switch ae.Code {
	case apperr.CodeNotFound:
		title, msg = "Page not found", "We could not find that page. It may have been removed, or it belongs to another account."
	case apperr.CodeForbidden:
		title, msg = "You cannot see this page", ae.Message
		if ae.Reason == authn.ErrForbidden.Reason {
			msg = "Your account does not have access to this page."
		}
	case apperr.CodeUnavailable:
		title, msg = "Unavailable right now", unavailableMessage(ae)
	case apperr.CodeRateLimited:
		title, msg = "Too many requests", "You have done that too often. Wait a minute and try again."
	case apperr.CodeInvalid, apperr.CodeConflict, apperr.CodeUnreadable:
		title, msg = "That did not work", ae.Message
	}
	status := ae.Status()
	if ae.Code == apperr.CodeUnauthenticated {
		status = http.StatusUnauthorized
	}
	return w.render(c, status, "error", view{Title: title, Data: errorData{Message: msg,
		RequestID: observability.RequestID(c.Request().Context())}})
}

type errorData struct{ Message, RequestID string }

// unavailableMessage names the part of Bellhop that did not answer.
func unavailableMessage(ae *apperr.Error) string {
	area := "This part of Bellhop"
	switch {
	case strings.HasPrefix(ae.Reason, "search."):
		area = "Search"
	case strings.HasPrefix(ae.Reason, "bookings."):
		area = "Bookings"
	case strings.HasPrefix(ae.Reason, "payments."):
		area = "Payments"
	case strings.HasPrefix(ae.Reason, "auth."):
		area = "Sign-in"
	}
	return area + " is unavailable right now; try again in a moment."
}

// formErrors turns a service error into messages next to the fields of a
// form (labels: field name → its label, in the form's order) and a banner
// for the rest. A field-less error the page knows belongs to a field
// (fieldOf: reason → field) goes next to that field.
func formErrors(err error, labels [][2]string, fieldOf map[string]string) (errs []fieldError, byField map[string]string, banner string) {
	ae := apperr.As(err)
	byField = map[string]string{}
	label := map[string]string{}
	for _, l := range labels {
		label[l[0]] = l[1]
	}
	for _, f := range ae.Fields {
		if _, ok := label[f.Field]; !ok {
			continue
		}
		if _, dup := byField[f.Field]; !dup {
			byField[f.Field] = friendly(f, label)
		}
	}
	if len(byField) == 0 {
		if f, ok := fieldOf[ae.Reason]; ok {
			byField[f] = sentence(ae.Message)
		}
	}
	if len(byField) == 0 {
		switch ae.Code {
		case apperr.CodeUnavailable:
			banner = unavailableMessage(ae)
		case apperr.CodeInternal:
			banner = "Sorry, something went wrong on our side. Try again in a moment."
		case apperr.CodeRateLimited:
			banner = "You have done that too often. Wait a minute and try again."
		default:
			banner = sentence(ae.Message)
		}
	}
	for _, l := range labels {
		if m, ok := byField[l[0]]; ok {
			errs = append(errs, fieldError{Field: l[0], Message: m})
		}
	}
	return errs, byField, banner
}

// friendly words a field error for a person: the label instead of the JSON
// name, and plain sentences for the common cases.
func friendly(f apperr.FieldError, label map[string]string) string {
	l := label[f.Field]
	switch f.Reason {
	case "required", "notblank":
		return "Enter " + lowerFirst(l)
	case "email":
		return "Enter an email address in the correct format, like name@example.com"
	case "not_after_check_in":
		return "The check-out date must be after the check-in date"
	case "in_past":
		return "The check-in date must be today or later"
	case "too_long":
		return "A stay can be at most 30 nights"
	case "timezone":
		return "Enter a time zone such as Europe/Lisbon"
	}
	d := f.Detail
	for name, lab := range label {
		d = strings.ReplaceAll(d, name, lowerFirst(lab))
	}
	return sentence(l + " " + d)
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// sentence capitalizes s and drops a final full stop (the templates add none).
func sentence(s string) string {
	s = strings.TrimSuffix(strings.TrimSpace(s), ".")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// invalid is a field error raised by the dashboard itself (a date it cannot
// read), in the same shape as the services' so one path renders both.
func invalid(field, reason, detail string) *apperr.Error {
	return apperr.Invalid("web.invalid_form", "the form has invalid values").WithFields(apperr.FieldError{Field: field, Reason: reason, Detail: detail})
}

func joinInvalid(errs ...*apperr.Error) error {
	var fields []apperr.FieldError
	for _, e := range errs {
		if e != nil {
			fields = append(fields, e.Fields...)
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return apperr.Invalid("web.invalid_form", "the form has invalid values").WithFields(fields...)
}

var currencySymbols = map[string]string{"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹", "AUD": "A$", "CAD": "C$"}

// formatMoney renders €129.50 (symbol first, the currency's decimals); a
// currency without a well-known symbol keeps its code: "CHF 129.50".
func formatMoney(m money.Money) string {
	d := m.Decimal()
	neg := strings.HasPrefix(d, "-")
	d = strings.TrimPrefix(d, "-")
	intPart, frac, _ := strings.Cut(d, ".")
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	s := b.String()
	if frac != "" {
		s += "." + frac
	}
	sym, ok := currencySymbols[m.Currency]
	if !ok {
		sym = m.Currency + " "
	}
	if neg {
		return "−" + sym + s
	}
	return sym + s
}

// formatDate renders "Fri 20 Dec 2026".
func formatDate(d civil.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.In(time.UTC).Format("Mon 2 Jan 2006")
}

// formatTimeIn renders a time in a hotel's zone, naming the zone:
// "Fri 20 Dec 2026, 14:05 (Europe/Lisbon)".
func formatTimeIn(t time.Time, zone string) string {
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" {
		loc, zone = time.UTC, "UTC"
	}
	return t.In(loc).Format("Mon 2 Jan 2006, 15:04") + " (" + zone + ")"
}

func formatMillis(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms == 0:
		return "0 ms"
	case ms < 1:
		return strconv.FormatFloat(ms, 'f', 2, 64) + " ms"
	case ms < 10:
		return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(math.Round(ms), 'f', 0, 64) + " ms"
}

// statusLabel is how a booking's or payment's status reads to a guest.
func statusLabel(s string) string {
	switch s {
	case "pending":
		return "Awaiting payment"
	case "confirmed":
		return "Confirmed"
	case "expired":
		return "Expired (not paid in time)"
	case "rejected":
		return "Not confirmed (refunded)"
	case "cancelled":
		return "Cancelled"
	case "succeeded":
		return "Paid"
	case "failed":
		return "Declined"
	case "processing", "unknown":
		return "Being confirmed"
	case "refunded":
		return "Refunded"
	case "partially_refunded":
		return "Partly refunded"
	}
	return s
}

// cheapestOffer is the room offer a result's "from" price is for.
func cheapestOffer(h search.HotelResult) search.RoomOffer {
	var best search.RoomOffer
	for i, o := range h.RoomTypes {
		if i == 0 || o.TotalPrice.Amount < best.TotalPrice.Amount {
			best = o
		}
	}
	return best
}

// formatKB prints a size in bytes as "12.3 KB" (an int or an int64).
func formatKB(n any) string {
	var b float64
	switch x := n.(type) {
	case int:
		b = float64(x)
	case int64:
		b = float64(x)
	}
	if b < 1024 {
		return strconv.FormatFloat(b, 'f', 0, 64) + " bytes"
	}
	return strconv.FormatFloat(b/1024, 'f', 1, 64) + " KB"
}
