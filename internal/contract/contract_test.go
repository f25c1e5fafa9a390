package contract

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
)

// secretValue returns a distinctive value, generated per run, that must
// never appear in a violation.
func secretValue(t testing.TB) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "sk" + hex.EncodeToString(b)
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name      string
		schema    string
		kind      error
		pointer   string
		line, col int
		contains  string
	}{
		{"trailing comma", "{\n  \"type\": \"string\",\n}", ErrInvalidSchema, "", 3, 1, "not valid JSON"},
		{"unquoted value", `{"type": string}`, ErrInvalidSchema, "/type", 1, 10, "not valid JSON"},
		{"duplicate key", "{\"type\":\"string\",\n \"type\":\"integer\"}", ErrInvalidSchema, "/type", 2, 2, "duplicate"},
		{"empty", ``, ErrInvalidSchema, "", 1, 1, "not valid JSON"},
		{"draft-07", `{"$schema":"http://json-schema.org/draft-07/schema#"}`, ErrUnsupportedDraft, "/$schema", 1, 12, "2020-12"},
		{"draft 2019-09", `{"$schema":"https://json-schema.org/draft/2019-09/schema"}`, ErrUnsupportedDraft, "/$schema", 1, 12, "2020-12"},
		{"draft-04", `{"$schema":"http://json-schema.org/draft-04/schema#","type":"string"}`, ErrUnsupportedDraft, "/$schema", 1, 12, "draft-04"},
		{"custom meta-schema", `{"$schema":"https://example.com/meta"}`, ErrUnsupportedDraft, "/$schema", 1, 12, "2020-12"},
		{"non-string $schema", `{"$schema":7}`, ErrInvalidSchema, "/$schema", 1, 12, "string"},
		{"embedded draft-07", `{"$defs":{"a":{"$id":"https://example.com/a","$schema":"http://json-schema.org/draft-07/schema#"}},"$ref":"https://example.com/a"}`, ErrUnsupportedDraft, "/$defs/a/$schema", 1, 0, "draft 7"},
		{"unknown type", "{\n  \"type\": \"integr\"\n}", ErrInvalidSchema, "/type", 2, 11, "must be one of"},
		{"negative minLength", `{"minLength":-1}`, ErrInvalidSchema, "/minLength", 1, 14, "at least 0"},
		{"required not array", `{"required":"a"}`, ErrInvalidSchema, "/required", 1, 13, "type array"},
		{"nested bad maximum", "{\"properties\": {\n    \"price\": {\"maximum\": \"ten\"}\n}}", ErrInvalidSchema, "/properties/price/maximum", 2, 26, "type number"},
		{"repeated type", `{"type":["string","string"]}`, ErrInvalidSchema, "/type", 1, 9, ""},
		{"bad pattern", `{"properties":{"a":{"pattern":"(?=x)"}}}`, ErrInvalidSchema, "/properties/a/pattern", 1, 31, "regex"},
		{"bad patternProperties", `{"patternProperties":{"[":{}}}`, ErrInvalidSchema, "/patternProperties", 0, 0, ""},
		{"unknown format", `{"properties":{"a":{"format":"emial"}}}`, ErrUnknownFormat, "/properties/a/format", 1, 30, "emial"},
		{"missing local ref", `{"properties":{"a":{"$ref":"#/$defs/nope"}}}`, ErrInvalidSchema, "/properties/a/$ref", 1, 28, "does not exist"},
		{"missing anchor", `{"$ref":"#nope"}`, ErrInvalidSchema, "/$ref", 1, 9, "anchor"},
		{"meta-schema ref", `{"$ref":"https://json-schema.org/draft/2020-12/schema"}`, ErrRemoteRef, "/$ref", 1, 9, "outside this document"},
		{"draft-07 meta-schema ref", `{"$ref":"http://json-schema.org/draft-07/schema#"}`, ErrRemoteRef, "/$ref", 1, 9, "outside this document"},
		{"http ref", `{"$ref":"http://example.com/s.json"}`, ErrRemoteRef, "/$ref", 1, 9, `"http://example.com/s.json"`},
		{"https ref", `{"properties":{"a":{"$ref":"https://example.com/s.json#/x"}}}`, ErrRemoteRef, "/properties/a/$ref", 1, 28, "outside"},
		{"file ref", `{"$ref":"file:///etc/passwd"}`, ErrRemoteRef, "/$ref", 1, 9, "outside"},
		{"relative file ref", `{"$ref":"order.json"}`, ErrRemoteRef, "/$ref", 1, 9, `"order.json"`},
		{"relative parent ref", `{"$ref":"../../etc/passwd#"}`, ErrRemoteRef, "/$ref", 1, 9, "outside"},
		{"ref relative to embedded id", `{"$defs":{"x":{"$id":"https://example.com/b","$ref":"c.json"}},"$ref":"https://example.com/b"}`, ErrRemoteRef, "/$defs/x/$ref", 1, 53, `"c.json"`},
		{"dynamic ref", `{"$dynamicRef":"https://example.com/s.json"}`, ErrRemoteRef, "", 0, 0, "outside"},
		{"embedded remote $schema", `{"$defs":{"a":{"$id":"https://example.com/a","$schema":"https://example.com/meta"}}}`, ErrRemoteRef, "/$defs/a/$schema", 1, 56, "outside"},
		{"urn ref", `{"$ref":"urn:example:schema"}`, ErrRemoteRef, "/$ref", 1, 9, "outside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compile("schemas/test.json", []byte(tt.schema))
			if err == nil {
				t.Fatalf("compiled %s", tt.schema)
			}
			if s != nil {
				t.Error("returned a schema with an error")
			}
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v, want *CompileError", err, err)
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("error %v does not wrap %v", err, tt.kind)
			}
			if !strings.HasPrefix(err.Error(), "schemas/test.json: ") {
				t.Errorf("error %q does not start with the schema name", err)
			}
			if tt.pointer != "" && ce.Pointer != tt.pointer {
				t.Errorf("pointer %q, want %q (%v)", ce.Pointer, tt.pointer, err)
			}
			if tt.line != 0 && ce.Line != tt.line {
				t.Errorf("line %d, want %d (%v)", ce.Line, tt.line, err)
			}
			if tt.col != 0 && ce.Column != tt.col {
				t.Errorf("column %d, want %d (%v)", ce.Column, tt.col, err)
			}
			if ce.Line > 0 && !strings.Contains(err.Error(), fmt.Sprintf("line %d, column %d", ce.Line, ce.Column)) {
				t.Errorf("error %q does not show line and column", err)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not contain %q", err, tt.contains)
			}
			if strings.Contains(err.Error(), "pave:///") {
				t.Errorf("error %q leaks the internal base URL", err)
			}
		})
	}
}

func TestCompileAcceptsLocalReferences(t *testing.T) {
	for _, s := range []string{
		`{"$defs":{"a":{"type":"string"}},"properties":{"x":{"$ref":"#/$defs/a"}}}`,
		`{"$defs":{"a":{"$anchor":"str","type":"string"}},"properties":{"x":{"$ref":"#str"}}}`,
		`{"$id":"https://example.com/root","$defs":{"a":{"$id":"item","type":"string"}},"properties":{"x":{"$ref":"item"},"y":{"$ref":"https://example.com/root#/$defs/a"}}}`,
		`{"$schema":"https://json-schema.org/draft/2020-12/schema#","type":"object","properties":{"n":{"$ref":"#"}}}`,
		`{"$schema":"http://json-schema.org/draft/2020-12/schema"}`,
		`{"$dynamicAnchor":"node","type":"object","properties":{"next":{"$dynamicRef":"#node"}}}`,
		`{"$defs":{"a/b":{"type":"string"},"c~d":{"type":"string"}},"properties":{"x":{"$ref":"#/$defs/a~1b"},"y":{"$ref":"#/$defs/c~0d"}}}`,
		`true`,
		`{"format":"date-time"}`,
	} {
		if _, err := Compile("s", []byte(s)); err != nil {
			t.Errorf("Compile(%s): %v", s, err)
		}
	}
}

// TestCompileFetchesNothing attacks the loader. The server and the file
// hold a schema that is invalid ({"type": 12}), so a reference that was
// fetched or read fails with ErrInvalidSchema instead of ErrRemoteRef; the
// server also counts requests.
func TestCompileFetchesNothing(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/schema+json")
		fmt.Fprint(w, `{"type":12}`)
	}))
	defer srv.Close()

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "other.json"), []byte(`{"type":12}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	fileURL := "file://" + filepath.ToSlash(filepath.Join(dir, "other.json"))

	schemas := []string{
		`{"$ref":"` + srv.URL + `/s.json"}`,
		`{"properties":{"a":{"$ref":"` + srv.URL + `/s.json#/type"}}}`,
		`{"$id":"` + srv.URL + `/root.json","$ref":"other.json"}`,
		`{"$defs":{"a":{"$id":"https://example.com/a","$schema":"` + srv.URL + `/meta"}},"$ref":"https://example.com/a"}`,
		`{"$dynamicRef":"` + srv.URL + `/s.json"}`,
		`{"$ref":"other.json"}`,
		`{"$ref":"./other.json"}`,
		`{"$ref":"` + fileURL + `"}`,
		`{"$ref":"` + fileURL + `#"}`,
		`{"$id":"file://` + filepath.ToSlash(dir) + `/","$ref":"other.json"}`,
		`{"$ref":"../` + filepath.Base(dir) + `/other.json"}`,
	}
	for _, s := range schemas {
		_, err := Compile("s", []byte(s))
		if !errors.Is(err, ErrRemoteRef) || errors.Is(err, ErrInvalidSchema) {
			t.Errorf("Compile(%s) = %v, want ErrRemoteRef", s, err)
		}
	}
	// A $schema naming the server is refused before anything is resolved.
	if _, err := Compile("s", []byte(`{"$schema":"`+srv.URL+`/meta"}`)); !errors.Is(err, ErrUnsupportedDraft) {
		t.Errorf("remote $schema: %v, want ErrUnsupportedDraft", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the schema server received %d requests", n)
	}
}

const orderSchema = `{
  "type": "object",
  "required": ["id", "items"],
  "additionalProperties": false,
  "properties": {
    "id": {"type": "string", "format": "uuid"},
    "email": {"type": "string", "format": "email"},
    "status": {"enum": ["new", "paid"]},
    "note": {"type": "string", "maxLength": 10},
    "items": {"type": "array", "minItems": 1, "maxItems": 100, "items": {"$ref": "#/$defs/item"}}
  },
  "$defs": {
    "item": {
      "type": "object",
      "required": ["sku", "price"],
      "properties": {
        "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"},
        "price": {"type": "number", "minimum": 0, "maximum": 100},
        "qty": {"type": "integer", "exclusiveMinimum": 0}
      }
    }
  }
}`

func mustCompile(t testing.TB, s string) *Schema {
	t.Helper()
	sch, err := Compile("test", []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func mustDecode(t testing.TB, s string) any {
	t.Helper()
	v, err := DecodeStrict([]byte(s), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestValidate(t *testing.T) {
	sch := mustCompile(t, orderSchema)
	const id = `"id":"0b6f3f9e-4f5c-4a53-8d1f-3c8f1f7a2b10"`
	item := `{"sku":"ABC-1234","price":9.5,"qty":2}`
	tests := []struct {
		name     string
		body     string
		want     []Violation
		wantNone bool
	}{
		{name: "valid", body: `{` + id + `,"items":[` + item + `]}`, wantNone: true},
		{name: "integral float is an integer", body: `{` + id + `,"items":[{"sku":"ABC-1234","price":0,"qty":2.0}]}`, wantNone: true},
		{name: "missing required", body: `{"items":[` + item + `]}`,
			want: []Violation{{"/id", "is required", "required"}}},
		{name: "missing both", body: `{}`,
			want: []Violation{{"/id", "is required", "required"}, {"/items", "is required", "required"}}},
		{name: "wrong root type", body: `[]`,
			want: []Violation{{"", "must be of type object", "type"}}},
		{name: "price too high", body: `{` + id + `,"items":[` + item + `,` + item + `,` + item + `,{"sku":"ABC-1234","price":150}]}`,
			want: []Violation{{"/items/3/price", "must be at most 100", "maximum"}}},
		{name: "fractional qty", body: `{` + id + `,"items":[{"sku":"ABC-1234","price":1,"qty":1.5}]}`,
			want: []Violation{{"/items/0/qty", "must be of type integer", "type"}}},
		{name: "zero qty", body: `{` + id + `,"items":[{"sku":"ABC-1234","price":1,"qty":0}]}`,
			want: []Violation{{"/items/0/qty", "must be greater than 0", "exclusiveMinimum"}}},
		{name: "bad sku", body: `{` + id + `,"items":[{"sku":"abc","price":1}]}`,
			want: []Violation{{"/items/0/sku", `must match pattern "^[A-Z]{3}-[0-9]{4}$"`, "pattern"}}},
		{name: "bad uuid and email", body: `{"id":"nope","email":"nope","items":[` + item + `]}`,
			want: []Violation{{"/email", "must be a valid email", "format"}, {"/id", "must be a valid uuid", "format"}}},
		{name: "enum", body: `{` + id + `,"status":"lost","items":[` + item + `]}`,
			want: []Violation{{"/status", "must be one of the allowed values", "enum"}}},
		{name: "long note", body: `{` + id + `,"note":"abcdefghijk","items":[` + item + `]}`,
			want: []Violation{{"/note", "must be at most 10 characters long", "maxLength"}}},
		{name: "empty items", body: `{` + id + `,"items":[]}`,
			want: []Violation{{"/items", "must have at least 1 items", "minItems"}}},
		{name: "extra property", body: `{` + id + `,"items":[` + item + `],"x/y":1}`,
			want: []Violation{{"/x~1y", "is not an allowed property", "additionalProperties"}}},
		{name: "extra properties not named", body: `{` + id + `,"items":[` + item + `],"<b>":1,"a b":2,"` + strings.Repeat("k", MaxNamedProperty+1) + `":3}`,
			want: []Violation{{"", "has 3 properties that are not allowed", "additionalProperties"}}},
		{name: "extra properties named and not", body: `{` + id + `,"items":[` + item + `],"colour":1,"x\ny":2}`,
			want: []Violation{{"", "has a property that is not allowed", "additionalProperties"}, {"/colour", "is not an allowed property", "additionalProperties"}}},
		{name: "numeric order", body: `{` + id + `,"items":[{"sku":"ABC-1234"},1,1,1,1,1,1,1,1,1,{"price":1}]}`,
			want: []Violation{
				{"/items/0/price", "is required", "required"},
				{"/items/1", "must be of type object", "type"},
				{"/items/2", "must be of type object", "type"},
				{"/items/3", "must be of type object", "type"},
				{"/items/4", "must be of type object", "type"},
				{"/items/5", "must be of type object", "type"},
				{"/items/6", "must be of type object", "type"},
				{"/items/7", "must be of type object", "type"},
				{"/items/8", "must be of type object", "type"},
				{"/items/9", "must be of type object", "type"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sch.Validate(mustDecode(t, tt.body), MaxViolations)
			if tt.wantNone {
				if got != nil {
					t.Fatalf("violations %+v, want none", got)
				}
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestValidateMax(t *testing.T) {
	sch := mustCompile(t, `{"type":"array","items":{"type":"string"}}`)
	v := mustDecode(t, `[1,2,3,4,5,6,7,8,9,10,11,12,13]`)
	for _, max := range []int{1, 3, 10} {
		got := sch.Validate(v, max)
		if len(got) != max {
			t.Fatalf("max %d: %d violations", max, len(got))
		}
		for i, vi := range got {
			if want := fmt.Sprintf("/%d", i); vi.Pointer != want {
				t.Errorf("max %d: violation %d at %q, want %q", max, i, vi.Pointer, want)
			}
		}
	}
	if got := sch.Validate(v, 0); len(got) != MaxViolations {
		t.Errorf("max 0: %d violations, want %d", len(got), MaxViolations)
	}
}

func TestValidateKeywords(t *testing.T) {
	tests := []struct {
		schema, body string
		want         Violation
	}{
		{`{"const":"a"}`, `"b"`, Violation{"", "must be one of the allowed values", "const"}},
		{`{"not":{"type":"string"}}`, `"x"`, Violation{"", "must not match the schema in not", "not"}},
		{`{"anyOf":[{"type":"string"},{"type":"integer"}]}`, `true`, Violation{"", "must match at least one of the schemas in anyOf", "anyOf"}},
		{`{"oneOf":[{"type":"string"},{"type":"integer"}]}`, `true`, Violation{"", "must match exactly one of the schemas in oneOf, but matches none", "oneOf"}},
		{`{"oneOf":[{"type":"number"},{"type":"integer"}]}`, `1`, Violation{"", "must match exactly one of the schemas in oneOf, but matches schemas 0 and 1", "oneOf"}},
		{`{"multipleOf":0.5}`, `0.7`, Violation{"", "must be a multiple of 0.5", "multipleOf"}},
		{`{"minimum":-2.5}`, `-3`, Violation{"", "must be at least -2.5", "minimum"}},
		{`{"exclusiveMaximum":10}`, `10`, Violation{"", "must be less than 10", "exclusiveMaximum"}},
		{`{"minLength":3}`, `"ab"`, Violation{"", "must be at least 3 characters long", "minLength"}},
		{`{"uniqueItems":true}`, `[1,2,1]`, Violation{"", "must not contain duplicate items (items 0 and 2 are equal)", "uniqueItems"}},
		{`{"contains":{"type":"string"}}`, `[1]`, Violation{"", "must contain at least one item matching the schema in contains", "contains"}},
		{`{"maxProperties":1}`, `{"a":1,"b":2}`, Violation{"", "must have at most 1 properties", "maxProperties"}},
		{`{"propertyNames":{"maxLength":2}}`, `{"abc":1}`, Violation{"", "has a property name that does not match the schema in propertyNames", "propertyNames"}},
		{`{"dependentRequired":{"a":["b"]}}`, `{"a":1}`, Violation{"/b", `is required when "a" is present`, "dependentRequired"}},
		{`{"prefixItems":[{"type":"string"}],"items":false}`, `["a",1]`, Violation{"/1", "is not allowed", "false"}},
		{`{"properties":{"a":true},"unevaluatedProperties":false}`, `{"a":1,"b":2}`, Violation{"/b", "is not allowed", "false"}},
		{`{"if":{"required":["a"]},"then":{"required":["b"]}}`, `{"a":1}`, Violation{"/b", "is required", "required"}},
		{`{"type":["string","null"]}`, `1`, Violation{"", "must be of type null or string", "type"}},
	}
	for _, tt := range tests {
		got := mustCompile(t, tt.schema).Validate(mustDecode(t, tt.body), MaxViolations)
		if len(got) != 1 || got[0] != tt.want {
			t.Errorf("schema %s, body %s: got %+v, want %+v", tt.schema, tt.body, got, tt.want)
		}
	}
}

// TestViolationsDoNotQuoteInstance fails instances carrying a run-time
// secret against every keyword that looks at a value, and checks that no
// violation repeats it.
func TestViolationsDoNotQuoteInstance(t *testing.T) {
	secret := secretValue(t)
	tests := []struct{ schema, body string }{
		{`{"type":"integer"}`, `"` + secret + `"`},
		{`{"enum":["a","b"]}`, `"` + secret + `"`},
		{`{"enum":["a",1,null]}`, `"` + secret + `"`},
		{`{"const":"a"}`, `"` + secret + `"`},
		{`{"pattern":"^[0-9]+$"}`, `"` + secret + `"`},
		{`{"maxLength":3}`, `"` + secret + `"`},
		{`{"format":"email"}`, `"` + secret + `"`},
		{`{"format":"date-time"}`, `"` + secret + `"`},
		{`{"format":"uuid"}`, `"` + secret + `"`},
		{`{"format":"ipv4"}`, `"` + secret + `"`},
		{`{"format":"uri"}`, `"` + secret + `"`},
		{`{"format":"regex"}`, `"(` + secret + `"`},
		{`{"not":{"type":"string"}}`, `"` + secret + `"`},
		{`{"anyOf":[{"enum":["x"]},{"type":"integer"}]}`, `"` + secret + `"`},
		{`{"oneOf":[{"pattern":"^x"},{"pattern":"^y"}]}`, `"` + secret + `"`},
		{`{"uniqueItems":true}`, `["` + secret + `","` + secret + `"]`},
		{`{"contains":{"const":1}}`, `["` + secret + `"]`},
		{`{"items":{"enum":["x"]}}`, `["` + secret + `"]`},
		{`{"properties":{"k":{"pattern":"^a"}}}`, `{"k":"` + secret + `"}`},
		{`{"additionalProperties":false}`, `{"k":"` + secret + `"}`},
		{`{"additionalProperties":false}`, `{"` + secret + ` ":1}`},
		{`{"additionalProperties":false}`, `{"` + secret + strings.Repeat("x", MaxNamedProperty) + `":1}`},
		{`{"propertyNames":{"pattern":"^a"}}`, `{"` + secret + `":1}`},
		{`{"dependentRequired":{"a":["b"]}}`, `{"a":"` + secret + `"}`},
	}
	for _, tt := range tests {
		got := mustCompile(t, tt.schema).Validate(mustDecode(t, tt.body), MaxViolations)
		if len(got) == 0 {
			t.Errorf("schema %s accepted the instance", tt.schema)
			continue
		}
		for _, v := range got {
			if strings.Contains(v.Reason, secret) || strings.Contains(v.Keyword, secret) {
				t.Errorf("schema %s: reason %q quotes the instance", tt.schema, v.Reason)
			}
			if strings.Contains(v.Pointer, secret) {
				t.Errorf("schema %s: pointer %q quotes the instance", tt.schema, v.Pointer)
			}
		}
	}
}

func TestValidateQuery(t *testing.T) {
	sch := mustCompile(t, `{"type":"object","additionalProperties":false,"required":["page"],
		"properties":{"page":{"type":"string","pattern":"^[0-9]{1,4}$"},"tag":{"type":"array","maxItems":2,"items":{"type":"string"}}}}`)
	tests := []struct {
		query string
		want  []string // pointers
	}{
		{"page=1", nil},
		{"page=1&tag=a&tag=b", nil},
		{"page=x", []string{"/page"}},
		{"page=1&page=2", []string{"/page"}},
		{"page=1&tag=a&tag=b&tag=c", []string{"/tag"}},
		{"page=1&other=1", []string{"/other"}}, // a short, plain name is named
		{"page=1&%3Cb%3E=1", []string{""}},     // any other is not: at the object
		{"", []string{"/page"}},
	}
	for _, tt := range tests {
		q, err := parseQuery(tt.query)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := QueryInstance(q)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, v := range sch.Validate(inst, MaxViolations) {
			got = append(got, v.Pointer)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("query %q: violations at %v, want %v", tt.query, got, tt.want)
		}
	}
}

func TestSchemaConcurrentUse(t *testing.T) {
	sch := mustCompile(t, orderSchema)
	bad := mustDecode(t, `{"id":"x","items":[{"sku":"abc","price":1000}]}`)
	want := sch.Validate(bad, MaxViolations)
	done := make(chan []Violation)
	for i := 0; i < 8; i++ {
		go func() { done <- sch.Validate(bad, MaxViolations) }()
	}
	for i := 0; i < 8; i++ {
		if got := <-done; !reflect.DeepEqual(got, want) {
			t.Errorf("concurrent Validate: %+v, want %+v", got, want)
		}
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{orderSchema, `{"$ref":"#/$defs/a","$defs":{"a":{"$ref":"#"}}}`, `{"$ref":"x.json"}`,
		`{"$id":"http://a/","$defs":{"b":{"$id":"b","$schema":"http://json-schema.org/draft-07/schema#"}}}`,
		`{"format":"x"}`, `{"pattern":"("}`, `true`, `{"$schema":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		s, err := Compile("fuzz", text)
		if err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *CompileError", err)
			}
			_ = err.Error()
			return
		}
		// A compiled schema validates without panicking.
		s.Validate(map[string]any{"a": []any{"x", nil}}, MaxViolations)
	})
}

func BenchmarkValidate(b *testing.B) {
	sch := mustCompile(b, orderSchema)
	body := []byte(`{"id":"0b6f3f9e-4f5c-4a53-8d1f-3c8f1f7a2b10","email":"buyer@example.com","status":"paid","note":"gift",
		"items":[{"sku":"ABC-1234","price":9.5,"qty":2},{"sku":"XYZ-0001","price":99,"qty":1},{"sku":"QRS-9999","price":0.25,"qty":10}]}`)
	v := mustDecode(b, string(body))
	b.Run("valid", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if vs := sch.Validate(v, MaxViolations); vs != nil {
				b.Fatal(vs)
			}
		}
	})
	b.Run("decode+valid", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v, err := DecodeStrict(body, Limits{})
			if err != nil {
				b.Fatal(err)
			}
			if vs := sch.Validate(v, MaxViolations); vs != nil {
				b.Fatal(vs)
			}
		}
	})
	bad := mustDecode(b, `{"id":"x","items":[{"sku":"abc","price":1000,"qty":0}],"extra":1}`)
	b.Run("invalid", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if vs := sch.Validate(bad, MaxViolations); len(vs) == 0 {
				b.Fatal("no violations")
			}
		}
	})
}
