// Package openapi assembles Bellhop's public API description and serves it.
//
// The document is a base (base.yaml: info, the bearer security scheme, the
// shared Problem schema and error responses, /healthz, /readyz and the docs
// routes themselves) merged with one fragment per module whose routes the
// process mounts. Each module's HTTP package owns its fragment; the
// composition root passes the fragments to Build, so this package never
// imports modules/.
//
// A fragment is an OpenAPI 3.1 document (YAML or JSON) of which only paths,
// components and tags are taken; it may $ref the base's shared components
// (#/components/schemas/Problem, #/components/responses/NotFound, ...). A
// path template or a component name described twice is an error, so a
// broken description stops the process at start instead of being served;
// the tests validate the merged document itself (openapicheck).
package openapi

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"go.yaml.in/yaml/v4"
)

// Routes serving the document.
const (
	PathDocs     = "/api/docs"              // JSON
	PathDocsYAML = "/api/docs/openapi.yaml" // the same document in YAML
)

// MediaTypeYAML is the content type of PathDocsYAML (RFC 9512).
const MediaTypeYAML = "application/yaml"

// CacheControl is sent with the document: clients and proxies may keep it a
// few minutes and then revalidate it with its ETag.
const CacheControl = "public, max-age=300"

//go:embed base.yaml
var baseYAML []byte

// baseOwner names the base document in conflict errors.
const baseOwner = "base"

// Fragment is one module's part of the document.
type Fragment struct {
	// Owner names the fragment in errors, such as "search".
	Owner string
	// Spec is an OpenAPI 3.1 document in YAML or JSON. Only its paths,
	// components and tags are merged; openapi (if set) must be 3.1.x, and
	// info and top-level x- extensions are ignored (they document the
	// fragment alone). Any other top-level field is an error.
	Spec []byte
}

// fragmentFields are the top-level fields a fragment may have; the others
// (servers, security, webhooks, ...) belong to the base document.
var fragmentFields = map[string]bool{"openapi": true, "info": true, "paths": true, "components": true, "tags": true}

// Document is a merged, validated document, ready to serve.
type Document struct {
	json []byte
	yaml func() []byte
	etag string
}

// Build merges fragments into the base document. Validating the result
// against OpenAPI 3.1 (every $ref resolved) is the tests' job (see
// openapicheck): the document is static, and kin-openapi would add megabytes
// to the binary and tens of milliseconds to every start. Build fails when two parts describe the
// same path template (ignoring parameter names) or the same component, or
// when a fragment is not a usable OpenAPI 3.1 fragment.
func Build(fragments ...Fragment) (*Document, error) {
	base, err := decode(baseYAML)
	if err != nil {
		return nil, fmt.Errorf("openapi: base document: %w", err)
	}
	m := &merger{doc: base, owners: map[string]string{}}
	if err := m.add(baseOwner, base, true); err != nil {
		return nil, fmt.Errorf("openapi: base document: %w", err)
	}
	for _, f := range fragments {
		owner := f.Owner
		if owner == "" {
			owner = "unnamed fragment"
		}
		doc, err := decode(f.Spec)
		if err != nil {
			return nil, fmt.Errorf("openapi: fragment %s: %w", owner, err)
		}
		if err := m.add(owner, doc, false); err != nil {
			return nil, fmt.Errorf("openapi: fragment %s: %w", owner, err)
		}
	}

	js, err := marshalJSON(m.doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	sum := sha256.Sum256(js)
	d := &Document{json: js, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`}
	// The YAML form is made on first use: most processes are never asked for it.
	d.yaml = sync.OnceValue(func() []byte {
		y, err := jsonToYAML(js)
		if err != nil { // cannot happen: js is valid JSON
			panic(fmt.Sprintf("openapi: YAML of the document: %v", err))
		}
		return y
	})
	return d, nil
}

// JSON is the document as indented JSON.
func (d *Document) JSON() []byte { return d.json }

// YAML is the document as YAML.
func (d *Document) YAML() []byte { return d.yaml() }

// Register mounts GET PathDocs (JSON) and GET PathDocsYAML on e. Answers
// carry Cache-Control and an ETag; a matching If-None-Match gets 304.
func (d *Document) Register(e *echo.Echo) {
	e.GET(PathDocs, d.Handler())
	// Another representation, so another entity tag (RFC 9110 §8.8.3).
	e.GET(PathDocsYAML, d.handler(MediaTypeYAML, strings.TrimSuffix(d.etag, `"`)+`-yaml"`, d.yaml))
}

// Handler serves the document as JSON (with Cache-Control and an ETag), for
// mounting elsewhere.
func (d *Document) Handler() echo.HandlerFunc {
	return d.handler(echo.MIMEApplicationJSON, d.etag, func() []byte { return d.json })
}

func (d *Document) handler(contentType, etag string, body func() []byte) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set(echo.HeaderCacheControl, CacheControl)
		h.Set("ETag", etag)
		if etagMatches(c.Request().Header.Get("If-None-Match"), etag) {
			return c.NoContent(http.StatusNotModified)
		}
		return c.Blob(http.StatusOK, contentType, body())
	}
}

// etagMatches implements If-None-Match's weak comparison (RFC 9110 §13.1.2).
func etagMatches(header, etag string) bool {
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == etag {
			return true
		}
	}
	return false
}

// merger accumulates the document and who described each path and component.
type merger struct {
	doc    map[string]any
	owners map[string]string // "path /a/{}", "schemas Problem", "tag x" -> owner
}

// pathParam matches a path template's parameters, so /a/{id} and /a/{hotel}
// are recognized as the same route.
var pathParam = regexp.MustCompile(`\{[^}]*\}`)

// add records part's paths, components and tags under owner; unless isBase it
// also copies them into the document and checks part is a fragment.
func (m *merger) add(owner string, part map[string]any, isBase bool) error {
	if !isBase {
		for _, k := range slices.Sorted(maps.Keys(part)) {
			if !fragmentFields[k] && !strings.HasPrefix(k, "x-") {
				return fmt.Errorf("top-level field %q belongs to the base document (a fragment has paths, components and tags)", k)
			}
		}
		if v, ok := part["openapi"]; ok {
			s, _ := v.(string)
			if !strings.HasPrefix(s, "3.1.") {
				return fmt.Errorf("openapi is %v; fragments are OpenAPI 3.1.x", v)
			}
		}
	}

	paths, err := object(part, "paths")
	if err != nil {
		return err
	}
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("path %q does not start with /", p)
		}
		if err := m.claim("path "+pathParam.ReplaceAllString(p, "{}"), "path "+p, owner); err != nil {
			return err
		}
		if !isBase {
			setIn(m.doc, "paths", p, paths[p])
		}
	}

	comps, err := object(part, "components")
	if err != nil {
		return err
	}
	for _, section := range slices.Sorted(maps.Keys(comps)) {
		if strings.HasPrefix(section, "x-") {
			continue
		}
		entries, err := object(comps, section)
		if err != nil {
			return fmt.Errorf("components: %w", err)
		}
		for _, name := range slices.Sorted(maps.Keys(entries)) {
			what := "component " + section + "/" + name
			if err := m.claim(what, what, owner); err != nil {
				return err
			}
			if !isBase {
				comps, _ := m.doc["components"].(map[string]any)
				if comps == nil {
					comps = map[string]any{}
					m.doc["components"] = comps
				}
				setIn(comps, section, name, entries[name])
			}
		}
	}

	if v, ok := part["tags"]; ok {
		tags, ok := v.([]any)
		if !ok {
			return errors.New("tags is not a list")
		}
		for _, t := range tags {
			tag, _ := t.(map[string]any)
			name, _ := tag["name"].(string)
			if name == "" {
				return errors.New("a tag has no name")
			}
			if err := m.claim("tag "+name, "tag "+name, owner); err != nil {
				return err
			}
			if !isBase {
				list, _ := m.doc["tags"].([]any)
				m.doc["tags"] = append(list, tag)
			}
		}
	}
	return nil
}

func (m *merger) claim(key, what, owner string) error {
	if prev, ok := m.owners[key]; ok {
		if prev == owner {
			return fmt.Errorf("%s is described twice", what)
		}
		return fmt.Errorf("%s is already described by %s", what, prev)
	}
	m.owners[key] = owner
	return nil
}

// object returns the object at key of parent (nil if absent).
func object(parent map[string]any, key string) (map[string]any, error) {
	v, ok := parent[key]
	if !ok || v == nil {
		return nil, nil
	}
	o, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is not an object", key)
	}
	return o, nil
}

func setIn(doc map[string]any, key, name string, v any) {
	o, _ := doc[key].(map[string]any)
	if o == nil {
		o = map[string]any{}
		doc[key] = o
	}
	o[name] = v
}

// decode reads a YAML (or JSON) document into JSON-compatible values.
func decode(b []byte) (map[string]any, error) {
	var raw any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	v, err := jsonValue(raw)
	if err != nil {
		return nil, err
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("not an object")
	}
	return doc, nil
}

// jsonValue turns what the YAML decoder produced into values encoding/json
// writes back as the document said: mapping keys become strings (response
// codes such as 200) and timestamps their RFC 3339 text.
func jsonValue(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			jv, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			out[k] = jv
		}
		return out, nil
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			var key string
			switch k := k.(type) {
			case string:
				key = k
			case int, int64, uint64, bool:
				key = fmt.Sprint(k)
			default:
				return nil, fmt.Errorf("mapping key %v (%T) is not a string", k, k)
			}
			jv, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			out[key] = jv
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			jv, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = jv
		}
		return out, nil
	case time.Time:
		if v.Equal(time.Date(v.Year(), v.Month(), v.Day(), 0, 0, 0, 0, time.UTC)) && v.Location() == time.UTC {
			return v.Format(time.DateOnly), nil
		}
		return v.Format(time.RFC3339Nano), nil
	}
	return v, nil
}

// topOrder is the order of the top-level fields in the served document
// (the others follow, sorted); nested objects have sorted keys.
var topOrder = []string{"openapi", "info", "jsonSchemaDialect", "servers", "security", "tags", "externalDocs", "paths", "webhooks", "components"}

func marshalJSON(doc map[string]any) ([]byte, error) {
	keys := slices.Sorted(maps.Keys(doc))
	slices.SortStableFunc(keys, func(a, b string) int {
		ia, ib := slices.Index(topOrder, a), slices.Index(topOrder, b)
		if ia < 0 {
			ia = len(topOrder)
		}
		if ib < 0 {
			ib = len(topOrder)
		}
		return ia - ib
	})
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := encode(&buf, k); err != nil {
			return nil, err
		}
		buf.WriteByte(':')
		if err := encode(&buf, doc[k]); err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	buf.WriteByte('}')
	var out bytes.Buffer
	if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// encode writes v as JSON without escaping <, > and & (descriptions are text).
func encode(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	return nil
}

// jsonToYAML converts the JSON document to block-style YAML, keeping its key order.
func jsonToYAML(js []byte) ([]byte, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(js, &n); err != nil {
		return nil, err
	}
	var unflow func(*yaml.Node)
	unflow = func(n *yaml.Node) {
		n.Style &^= yaml.FlowStyle
		if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
			n.Style &^= yaml.DoubleQuotedStyle // quoted again only where YAML needs it
		}
		for _, c := range n.Content {
			unflow(c)
		}
	}
	unflow(&n)
	return yaml.Dump(&n, yaml.WithV4Defaults(), yaml.WithLineWidth(-1))
}
