package httpserver

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/platform/apperr"
)

var (
	errUnreadableBody  = apperr.Unreadable(ReasonUnreadableBody, "the request body cannot be read")
	errUnreadableQuery = apperr.Unreadable(ReasonUnreadableQuery, "the query string cannot be read")
)

// BindJSON decodes the request body, which must be one JSON value sent as
// application/json (or a +json type), into dst. Binding is strict: a key
// must name a field exactly (encoding/json alone would take "Guests" for
// "guests"), and a key given twice in one object is an error.
// Every failure is a 400 apperr with reason "http.unreadable_body" and a
// message naming the problem (malformed JSON at an offset, a field of the
// wrong type, an unknown field, trailing data, an empty body, a wrong
// Content-Type); a field problem is also listed in the problem's errors. A
// body over the limit is a 413.
func BindJSON(c echo.Context, dst any) error {
	req := c.Request()
	if err := checkJSONContentType(req.Header.Get(echo.HeaderContentType)); err != nil {
		return err
	}
	if req.Body == nil || req.Body == http.NoBody {
		return errUnreadableBody.With("the request body is empty: send a JSON value")
	}
	// What the decoder reads is kept for the strict second walk.
	var seen bytes.Buffer
	dec := json.NewDecoder(io.TeeReader(req.Body, &seen))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		if aerr := jsonError(err); !isValueRefused(err) {
			return aerr
		}
		// A field's own UnmarshalText/UnmarshalJSON (a date, a time)
		// refused its value: name the field.
		msg := strings.TrimPrefix(err.Error(), "json: ")
		if fe := locateValueError(seen.Bytes()[:dec.InputOffset()], reflect.TypeOf(dst)); fe != nil {
			return errUnreadableBody.With("field %q cannot be read: %s", fe.Field, msg).
				WithFields(apperr.FieldError{Field: fe.Field, Reason: "invalid", Detail: msg}).WithCause(err)
		}
		return errUnreadableBody.With("a value cannot be read: %s", msg).WithCause(err)
	}
	// Exactly one value: anything but whitespace after it is an error.
	end := dec.InputOffset()
	if fe := checkStrictJSON(seen.Bytes()[:end], reflect.TypeOf(dst)); fe != nil {
		msg := fmt.Sprintf("unknown field %q", fe.Field)
		if fe.Reason == "duplicate" {
			msg = fmt.Sprintf("field %q is given more than once", fe.Field)
		}
		return errUnreadableBody.With("%s", msg).WithFields(*fe)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(mbe.Limit).WithCause(err)
		}
		return errUnreadableBody.With("trailing data after the JSON value, which ends at offset %d", end).WithCause(err)
	}
	return nil
}

// errUnsupportedMediaType is a body that is not JSON, by its Content-Type.
var errUnsupportedMediaType = apperr.New(apperr.CodeUnsupportedMediaType, ReasonUnsupportedMediaType, "the request body is not JSON")

func checkJSONContentType(ct string) error {
	if ct == "" {
		return errUnsupportedMediaType.With("the Content-Type header is missing: send application/json")
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || !(mt == echo.MIMEApplicationJSON || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return errUnsupportedMediaType.With("the Content-Type is %q: send application/json", ct)
	}
	return nil
}

func jsonError(err error) error {
	var (
		mbe    *http.MaxBytesError
		syn    *json.SyntaxError
		typ    *json.UnmarshalTypeError
		invDst *json.InvalidUnmarshalError
	)
	switch {
	case errors.As(err, &mbe):
		return tooLarge(mbe.Limit).WithCause(err)
	case errors.Is(err, io.EOF):
		return errUnreadableBody.With("the request body is empty: send a JSON value")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errUnreadableBody.With("malformed JSON: the body ends in the middle of a value").WithCause(err)
	case errors.As(err, &syn):
		return errUnreadableBody.With("malformed JSON at offset %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: ")).WithCause(err)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			detail := fmt.Sprintf("want %s, got %s", jsonKind(typ.Type), typ.Value)
			return errUnreadableBody.With("the body has the wrong type: %s", detail).WithCause(err)
		}
		detail := fmt.Sprintf("want %s, got %s", jsonKind(typ.Type), typ.Value)
		return errUnreadableBody.With("field %q has the wrong type: %s", field, detail).
			WithFields(apperr.FieldError{Field: field, Reason: "wrong_type", Detail: detail}).WithCause(err)
	case errors.As(err, &invDst):
		return apperr.Internal(fmt.Errorf("httpserver.BindJSON: %w", err))
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		field, uerr := strconv.Unquote(name)
		if uerr != nil {
			field = name
		}
		return errUnreadableBody.With("unknown field %q", field).
			WithFields(apperr.FieldError{Field: field, Reason: "unknown", Detail: "no such field"}).WithCause(err)
	}
	// An UnmarshalJSON/UnmarshalText of the destination refused a value.
	return errUnreadableBody.With("a value cannot be read: %s", strings.TrimPrefix(err.Error(), "json: ")).WithCause(err)
}

// isValueRefused tells whether err came from a destination's own
// UnmarshalJSON/UnmarshalText rather than from encoding/json.
func isValueRefused(err error) bool {
	var (
		mbe    *http.MaxBytesError
		syn    *json.SyntaxError
		typ    *json.UnmarshalTypeError
		invDst *json.InvalidUnmarshalError
	)
	switch {
	case errors.As(err, &mbe), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.As(err, &syn), errors.As(err, &typ), errors.As(err, &invDst):
		return false
	}
	return !strings.HasPrefix(err.Error(), "json: unknown field ")
}

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// jsonKind names the JSON type a Go type is decoded from, for messages.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) || t.Implements(textUnmarshalerType) {
		return "string"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return t.String()
}

// BindQuery binds the query string into dst, a pointer to a struct whose
// fields carry `query:"name"` tags (embedded structs are walked; `query:"-"`
// and untagged fields are skipped). Supported field types: string, bool,
// integers, floats, time.Duration, anything implementing
// encoding.TextUnmarshaler (civil.Date, time.Time), pointers to those (left
// nil when the parameter is absent) and slices of those (from repeated
// parameters). Binding is strict: a parameter that fits no field, a value of
// the wrong type, or a scalar given twice is a 400 apperr with reason
// "http.unreadable_query" naming the parameter.
func BindQuery(c echo.Context, dst any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return apperr.Internal(fmt.Errorf("httpserver.BindQuery: want a pointer to a struct, got %T", dst))
	}
	values, err := url.ParseQuery(c.Request().URL.RawQuery)
	if err != nil {
		return errUnreadableQuery.With("malformed query string: %s", err.Error()).WithCause(err)
	}
	plan := queryPlanOf(rv.Elem().Type())
	if plan.err != nil {
		return apperr.Internal(fmt.Errorf("httpserver.BindQuery(%T): %w", dst, plan.err))
	}
	root := rv.Elem()
	if plan.throughPointers {
		// Embedded structs held by pointer are allocated whether or not a
		// parameter sets one of their fields.
		for _, path := range plan.paths {
			fieldAt(root, path)
		}
	}
	field := func(name string) (reflect.Value, bool) {
		path, ok := plan.paths[name]
		if !ok {
			return reflect.Value{}, false
		}
		return fieldAt(root, path)
	}

	var unknown []string
	var fieldErrs []apperr.FieldError
	for name, vals := range values {
		f, ok := field(name)
		if !ok {
			unknown = append(unknown, name)
			continue
		}
		if detail := setQueryField(f, vals); detail != "" {
			fieldErrs = append(fieldErrs, apperr.FieldError{Field: name, Reason: "wrong_type", Detail: detail})
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		fes := make([]apperr.FieldError, len(unknown))
		for i, n := range unknown {
			fes[i] = apperr.FieldError{Field: n, Reason: "unknown", Detail: "no such query parameter"}
		}
		return errUnreadableQuery.With("unknown query parameter %s", quoteList(unknown)).WithFields(fes...)
	}
	if len(fieldErrs) > 0 {
		slices.SortFunc(fieldErrs, func(a, b apperr.FieldError) int { return strings.Compare(a.Field, b.Field) })
		msgs := make([]string, len(fieldErrs))
		for i, fe := range fieldErrs {
			msgs[i] = "query parameter " + fe.Field + ": " + fe.Detail
		}
		return errUnreadableQuery.With("%s", strings.Join(msgs, "; ")).WithFields(fieldErrs...)
	}
	return nil
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// queryPlan is what BindQuery learns once per struct type: the index path
// of the field each parameter sets (through embedded structs, by value or by
// pointer), or why the type cannot be bound.
type queryPlan struct {
	paths           map[string][]int
	throughPointers bool // a path goes through an embedded struct held by pointer
	err             error
}

var queryPlans sync.Map // reflect.Type → queryPlan

func queryPlanOf(t reflect.Type) queryPlan {
	if p, ok := queryPlans.Load(t); ok {
		return p.(queryPlan)
	}
	p := queryPlan{paths: map[string][]int{}}
	p.err = queryFieldPaths(t, nil, &p)
	queryPlans.Store(t, p)
	return p
}

// queryFieldPaths records in p the path of each tagged, exported field of
// struct type t (below prefix), and of those of the structs it embeds
// untagged.
func queryFieldPaths(t reflect.Type, prefix []int, p *queryPlan) error {
	for i := range t.NumField() {
		sf := t.Field(i)
		name, hasTag := queryTag(sf)
		if name == "-" {
			continue
		}
		path := append(slices.Clip(prefix), i)
		if sf.Anonymous && !hasTag {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct {
				ft = ft.Elem()
				p.throughPointers = true
			}
			if ft.Kind() == reflect.Struct {
				if err := queryFieldPaths(ft, path, p); err != nil {
					return err
				}
			}
			continue
		}
		if !hasTag || name == "" || !sf.IsExported() {
			continue
		}
		if _, dup := p.paths[name]; dup {
			return fmt.Errorf("two fields are tagged query:%q", name)
		}
		if !queryBindable(sf.Type) {
			return fmt.Errorf("field %s (%s) cannot be bound from a query parameter", sf.Name, sf.Type)
		}
		p.paths[name] = path
	}
	return nil
}

// fieldAt is the field of struct v at path, allocating the embedded structs
// held by a nil pointer on the way; false where such a pointer cannot be set
// (an unexported embedded type), whose fields are then not bound.
func fieldAt(v reflect.Value, path []int) (reflect.Value, bool) {
	for _, i := range path {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, false
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(i)
	}
	return v, true
}

// queryTag is a field's query parameter name ("-": never bound) and whether
// it has a query tag at all.
func queryTag(sf reflect.StructField) (name string, hasTag bool) {
	tag, hasTag := sf.Tag.Lookup("query")
	name, _, _ = strings.Cut(tag, ",")
	return name, hasTag
}

var durationType = reflect.TypeFor[time.Duration]()

// textUnmarshalers remembers isTextUnmarshaler's answers (reflect.Type →
// bool): Implements is slow, and every bound parameter asks it.
var textUnmarshalers sync.Map

func isTextUnmarshaler(t reflect.Type) bool {
	if is, ok := textUnmarshalers.Load(t); ok {
		return is.(bool)
	}
	is := reflect.PointerTo(t).Implements(textUnmarshalerType)
	textUnmarshalers.Store(t, is)
	return is
}

func queryScalar(t reflect.Type) bool {
	if isTextUnmarshaler(t) || t == durationType {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

func queryBindable(t reflect.Type) bool {
	if queryScalar(t) {
		return true
	}
	switch t.Kind() {
	case reflect.Pointer:
		return queryScalar(t.Elem())
	case reflect.Slice:
		e := t.Elem()
		if e.Kind() == reflect.Pointer {
			e = e.Elem()
		}
		return queryScalar(e)
	}
	return false
}

// setQueryField sets f from vals; it returns "" or what was wrong.
func setQueryField(f reflect.Value, vals []string) string {
	t := f.Type()
	if t.Kind() == reflect.Slice && !isTextUnmarshaler(t) {
		s := reflect.MakeSlice(t, len(vals), len(vals))
		for i, v := range vals {
			if d := setQueryScalar(s.Index(i), v); d != "" {
				return d
			}
		}
		f.Set(s)
		return ""
	}
	if len(vals) > 1 {
		return "given more than once; want one value"
	}
	return setQueryScalar(f, vals[0])
}

func setQueryScalar(f reflect.Value, s string) string {
	if f.Kind() == reflect.Pointer && !isTextUnmarshaler(f.Type()) {
		p := reflect.New(f.Type().Elem())
		if d := setQueryScalar(p.Elem(), s); d != "" {
			return d
		}
		f.Set(p)
		return ""
	}
	if isTextUnmarshaler(f.Type()) {
		if err := f.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			return err.Error()
		}
		return ""
	}
	if f.Type() == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return "want a duration such as 90s or 1h30m"
		}
		f.SetInt(int64(d))
		return ""
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return "want true or false"
		}
		f.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, f.Type().Bits())
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return "the integer is out of range"
			}
			return "want an integer"
		}
		f.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, f.Type().Bits())
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return "the integer is out of range"
			}
			return "want a non-negative integer"
		}
		f.SetUint(n)
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(s, f.Type().Bits())
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
			return "want a number"
		}
		f.SetFloat(n)
	default:
		return "unsupported field type " + f.Type().String()
	}
	return ""
}
