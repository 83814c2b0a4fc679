package openapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"go.yaml.in/yaml/v4"

	"github.com/bellhop/bellhop/platform/openapi"
	"github.com/bellhop/bellhop/platform/openapi/openapicheck"
)

const widgets = `
openapi: 3.1.0
info: {title: widgets, version: "1"}
tags:
  - name: widgets
paths:
  /api/v1/widgets/{id}:
    get:
      operationId: getWidget
      tags: [widgets]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: A widget.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Widget"}
        "404":
          $ref: "#/components/responses/NotFound"
components:
  schemas:
    Widget:
      type: object
      required: [id, made_on]
      properties:
        id: {type: string}
        made_on: {type: string, format: date, examples: [2024-02-29]}
`

func load(t *testing.T, js []byte) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestBuild_MergesFragments(t *testing.T) {
	d, err := openapi.Build(openapi.Fragment{Owner: "widgets", Spec: []byte(widgets)})
	if err != nil {
		t.Fatal(err)
	}
	doc := load(t, d.JSON())
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	for _, p := range []string{"/healthz", "/readyz", openapi.PathDocs, openapi.PathDocsYAML, "/api/v1/widgets/{id}"} {
		if doc.Paths.Value(p) == nil {
			t.Errorf("no path %s", p)
		}
	}
	if doc.Paths.Value("/metrics") != nil {
		t.Error("/metrics is documented")
	}
	for _, s := range []string{"Problem", "FieldError", "Widget"} {
		if doc.Components.Schemas[s] == nil {
			t.Errorf("no schema %s", s)
		}
	}
	if doc.Tags.Get("widgets") == nil || doc.Tags.Get("operations") == nil {
		t.Errorf("tags %v", doc.Tags)
	}
	if doc.Components.SecuritySchemes["bearerAuth"] == nil {
		t.Error("no bearerAuth")
	}
	// The fragment's reference to the base's shared response resolves.
	nf := doc.Paths.Value("/api/v1/widgets/{id}").Get.Responses.Status(404)
	if nf == nil || nf.Value == nil || nf.Value.Content.Get("application/problem+json") == nil {
		t.Fatalf("404 %+v", nf)
	}
	// A YAML date stays the date it was written as.
	if !strings.Contains(string(d.JSON()), `"2024-02-29"`) {
		t.Error("date example changed")
	}
	// The YAML form is the same document.
	var fromYAML, fromJSON any
	if err := yaml.Unmarshal(d.YAML(), &fromYAML); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(d.JSON(), &fromJSON); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(fromYAML)
	b, _ := json.Marshal(fromJSON)
	if string(a) != string(b) {
		t.Fatalf("YAML and JSON differ:\n%s\n%s", a, b)
	}
	if !strings.HasPrefix(string(d.JSON()), "{\n  \"openapi\": \"3.1.0\",\n  \"info\"") {
		t.Fatalf("document starts %.60q", d.JSON())
	}
}

func TestBuild_NoFragments(t *testing.T) {
	d, err := openapi.Build()
	if err != nil {
		t.Fatal(err)
	}
	load(t, d.JSON())
}

func TestBuild_Conflicts(t *testing.T) {
	other := func(s string) openapi.Fragment { return openapi.Fragment{Owner: "other", Spec: []byte(s)} }
	w := openapi.Fragment{Owner: "widgets", Spec: []byte(widgets)}
	okResponse := `{responses: {"200": {description: ok}}}`
	for _, tc := range []struct {
		name  string
		frags []openapi.Fragment
		want  string
	}{
		{"same path, other parameter name", []openapi.Fragment{w, other(`paths: {"/api/v1/widgets/{widget}": {delete: ` + okResponse + `}}`)},
			"fragment other: path /api/v1/widgets/{widget} is already described by widgets"},
		{"base path", []openapi.Fragment{other(`paths: {/healthz: {post: ` + okResponse + `}}`)},
			"fragment other: path /healthz is already described by base"},
		{"schema name", []openapi.Fragment{w, other(`components: {schemas: {Widget: {type: string}}}`)},
			"fragment other: component schemas/Widget is already described by widgets"},
		{"base schema name", []openapi.Fragment{other(`components: {schemas: {Problem: {type: object}}}`)},
			"fragment other: component schemas/Problem is already described by base"},
		{"base response name", []openapi.Fragment{other(`components: {responses: {NotFound: {description: x}}}`)},
			"component responses/NotFound is already described by base"},
		{"tag", []openapi.Fragment{w, other(`tags: [{name: widgets}]`)},
			"tag widgets is already described by widgets"},
		{"base-only field", []openapi.Fragment{other(`servers: [{url: /}]`)},
			`fragment other: top-level field "servers" belongs to the base document`},
		{"version", []openapi.Fragment{other(`openapi: 3.0.3`)},
			"fragment other: openapi is 3.0.3; fragments are OpenAPI 3.1.x"},
		{"not YAML", []openapi.Fragment{other(`paths: [`)}, "fragment other: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := openapi.Build(tc.frags...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// Documents that merge but are not valid OpenAPI 3.1 are caught by openapicheck.
func TestValidate_Rejects(t *testing.T) {
	other := func(s string) openapi.Fragment { return openapi.Fragment{Owner: "other", Spec: []byte(s)} }
	w := openapi.Fragment{Owner: "widgets", Spec: []byte(widgets)}
	for name, frags := range map[string][]openapi.Fragment{
		"dangling ref":          {other(`paths: {/x: {get: {responses: {"200": {$ref: "#/components/responses/Nope"}}}}}`)},
		"invalid schema":        {other(`components: {schemas: {Bad: {type: string, pattern: "("}}}`)},
		"duplicate operationId": {w, other(`paths: {/y: {get: {operationId: getWidget, responses: {"200": {description: ok}}}}}`)},
	} {
		t.Run(name, func(t *testing.T) {
			d, err := openapi.Build(frags...)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if err := openapicheck.Validate(d.JSON()); err == nil {
				t.Fatal("an invalid document passed validation")
			}
		})
	}
	d, err := openapi.Build(w)
	if err != nil {
		t.Fatal(err)
	}
	if err := openapicheck.Validate(d.JSON()); err != nil {
		t.Fatalf("a valid document failed: %v", err)
	}
}

func TestRegister_ServesWithCaching(t *testing.T) {
	d, err := openapi.Build(openapi.Fragment{Owner: "widgets", Spec: []byte(widgets)})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	d.Register(e)
	get := func(path, inm string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}

	rec := get(openapi.PathDocs, "")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" || rec.Body.String() != string(d.JSON()) {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	etag := rec.Header().Get("ETag")
	if rec.Header().Get("Cache-Control") != openapi.CacheControl || !strings.HasPrefix(etag, `"`) {
		t.Fatalf("headers %v", rec.Header())
	}
	if rec := get(openapi.PathDocs, `"other", W/`+etag); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 || rec.Header().Get("ETag") != etag {
		t.Fatalf("revalidation: %d %v", rec.Code, rec.Header())
	}
	if rec := get(openapi.PathDocs, `"other"`); rec.Code != 200 {
		t.Fatalf("other etag: %d", rec.Code)
	}
	rec = get(openapi.PathDocsYAML, "")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != openapi.MediaTypeYAML || !strings.HasPrefix(rec.Body.String(), "openapi: 3.1.0\n") {
		t.Fatalf("yaml: %d %v %.40q", rec.Code, rec.Header(), rec.Body.String())
	}
	if yamlTag := rec.Header().Get("ETag"); yamlTag == etag || get(openapi.PathDocsYAML, yamlTag).Code != http.StatusNotModified {
		t.Fatalf("YAML etag %q (JSON %q)", yamlTag, etag)
	}
}
