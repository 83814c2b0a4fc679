package httpserver

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"sync"

	"github.com/bellhop/bellhop/platform/apperr"
)

// encoding/json matches object keys to fields case-insensitively and lets the
// last of two equal keys win. checkStrictJSON walks an already decoded body a
// second time, token by token, against the destination type so that a key
// which only matches a field in another case, or a key given twice, is a 400
// naming the field instead of being silently accepted.

var jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// strictWalker walks one JSON value with a json.Decoder's tokens.
type strictWalker struct {
	dec *json.Decoder
	// locate, when set, also re-reads every string given to a type with its
	// own UnmarshalJSON/UnmarshalText, to find which field refused its value.
	locate bool
}

// checkStrictJSON reports the first key in body (one complete JSON value)
// that does not name a field of t exactly, or that repeats a key of its object.
func checkStrictJSON(body []byte, t reflect.Type) *apperr.FieldError {
	w := strictWalker{dec: json.NewDecoder(bytes.NewReader(body))}
	fe, _ := w.value(t, "")
	return fe
}

// locateValueError finds the field whose own unmarshaler refused its value.
func locateValueError(body []byte, t reflect.Type) *apperr.FieldError {
	w := strictWalker{dec: json.NewDecoder(bytes.NewReader(body)), locate: true}
	fe, _ := w.value(t, "")
	if fe != nil && fe.Reason == "invalid" {
		return fe
	}
	return nil
}

// value reads one value meant for type t (nil: any shape) at path.
// The error is a read error of the (already validated) body and ends the walk.
func (w *strictWalker) value(t reflect.Type, path string) (*apperr.FieldError, error) {
	for t != nil && t.Kind() == reflect.Pointer && !hasOwnUnmarshaler(t) {
		t = t.Elem()
	}
	if t != nil && hasOwnUnmarshaler(t) {
		tok, err := w.dec.Token()
		if err != nil {
			return nil, err
		}
		if s, ok := tok.(string); ok {
			if w.locate {
				if detail := ownUnmarshalError(t, s); detail != "" {
					return &apperr.FieldError{Field: path, Reason: "invalid", Detail: detail}, nil
				}
			}
			return nil, nil
		}
		// Free shape: only duplicates are checked below.
		return w.rest(tok, nil, path)
	}
	tok, err := w.dec.Token()
	if err != nil {
		return nil, err
	}
	return w.rest(tok, t, path)
}

// rest finishes the value that starts with tok.
func (w *strictWalker) rest(tok json.Token, t reflect.Type, path string) (*apperr.FieldError, error) {
	d, ok := tok.(json.Delim)
	if !ok {
		return nil, nil
	}
	switch d {
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for w.dec.More() {
			if fe, err := w.value(elem, path); fe != nil || err != nil {
				return fe, err
			}
		}
		_, err := w.dec.Token() // ']'
		return nil, err
	case '{':
		var fields map[string]reflect.Type
		var elem reflect.Type
		if t != nil {
			switch t.Kind() {
			case reflect.Struct:
				fields = jsonFieldsOf(t)
			case reflect.Map:
				elem = t.Elem()
			}
		}
		seen := map[string]bool{}
		for w.dec.More() {
			kt, err := w.dec.Token()
			if err != nil {
				return nil, err
			}
			key, _ := kt.(string)
			name := joinPath(path, key)
			if seen[key] {
				return &apperr.FieldError{Field: name, Reason: "duplicate", Detail: "given more than once"}, nil
			}
			seen[key] = true
			vt := elem
			if fields != nil {
				ft, ok := fields[key]
				if !ok {
					return &apperr.FieldError{Field: name, Reason: "unknown", Detail: "no such field"}, nil
				}
				vt = ft
			}
			if fe, err := w.value(vt, name); fe != nil || err != nil {
				return fe, err
			}
		}
		_, err := w.dec.Token() // '}'
		return nil, err
	}
	return nil, nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func hasOwnUnmarshaler(t reflect.Type) bool {
	return t.Implements(jsonUnmarshalerType) || reflect.PointerTo(t).Implements(jsonUnmarshalerType) ||
		t.Implements(textUnmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType)
}

// ownUnmarshalError gives s to a new value of t the way encoding/json does
// and returns what it refused ("" when it was accepted).
func ownUnmarshalError(t reflect.Type, s string) string {
	for t.Kind() == reflect.Pointer && !reflect.PointerTo(t).Implements(jsonUnmarshalerType) &&
		!reflect.PointerTo(t).Implements(textUnmarshalerType) {
		t = t.Elem()
	}
	v := reflect.New(t).Interface()
	var err error
	switch u := v.(type) {
	case json.Unmarshaler:
		raw, merr := json.Marshal(s)
		if merr != nil {
			return ""
		}
		err = u.UnmarshalJSON(raw)
	case encoding.TextUnmarshaler:
		err = u.UnmarshalText([]byte(s))
	}
	if err == nil {
		return ""
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

var jsonFieldCache sync.Map // reflect.Type -> map[string]reflect.Type

// jsonFieldsOf maps the exact JSON names of struct t's fields to their types,
// with the fields of untagged embedded structs promoted as encoding/json does.
func jsonFieldsOf(t reflect.Type) map[string]reflect.Type {
	if m, ok := jsonFieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	collectJSONFields(t, m, 0)
	jsonFieldCache.Store(t, m)
	return m
}

func collectJSONFields(t reflect.Type, out map[string]reflect.Type, depth int) {
	var embedded []reflect.Type
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				embedded = append(embedded, ft)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		if _, taken := out[name]; !taken || depth == 0 {
			out[name] = sf.Type
		}
	}
	// Shallower fields win over promoted ones, as in encoding/json.
	for _, et := range embedded {
		collectJSONFields(et, out, depth+1)
	}
}
