package contract

import (
	"errors"
	"net/url"
	"reflect"
	"regexp"
	"testing"
)

func parseQuery(s string) (url.Values, error) { return url.ParseQuery(s) }

func TestQueryInstance(t *testing.T) {
	tests := []struct {
		query string
		want  map[string]any
	}{
		{"", map[string]any{}},
		{"a=1", map[string]any{"a": "1"}},
		{"a=1&a=2&b=", map[string]any{"a": []any{"1", "2"}, "b": ""}},
		{"a", map[string]any{"a": ""}},
		{"n%C3%A4me=v%C3%A4lue", map[string]any{"näme": "välue"}},
		{"a=%2F%26&a=x", map[string]any{"a": []any{"/&", "x"}}},
	}
	for _, tt := range tests {
		q, err := url.ParseQuery(tt.query)
		if err != nil {
			t.Fatal(err)
		}
		got, err := QueryInstance(q)
		if err != nil {
			t.Fatalf("%q: %v", tt.query, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %#v, want %#v", tt.query, got, tt.want)
		}
	}
	for _, bad := range []string{"a=%FF", "%C3%28=1", "a=1&a=%ED%A0%80"} {
		q, err := url.ParseQuery(bad)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := QueryInstance(q); !errors.Is(err, ErrQueryEncoding) {
			t.Errorf("%q: %v, want ErrQueryEncoding", bad, err)
		}
	}
}

// TestValidateQueryRepeatedNames: a repeated name passes only if a
// function that reads its first or its last value alone reads a valid one,
// unless the schema wants that name as an array.
func TestValidateQueryRepeatedNames(t *testing.T) {
	untyped := mustCompile(t, `{"properties":{"limit":{"pattern":"^[0-9]{1,3}$"}}}`)
	arrays := mustCompile(t, `{"properties":{"tag":{"type":"array","maxItems":3,"items":{"type":"string","pattern":"^[a-z]+$"}}}}`)
	either := mustCompile(t, `{"properties":{"t":{"anyOf":[{"type":"string","pattern":"^[0-9]+$"},
		{"type":"array","items":{"type":"string","pattern":"^[0-9]+$"}}]}}}`)
	free := mustCompile(t, `{"additionalProperties":{"maxLength":3}}`)
	tests := []struct {
		sch   *Schema
		query string
		want  []string // pointers
	}{
		{untyped, "limit=10", nil},
		{untyped, "limit=abc", []string{"/limit"}},
		{untyped, "limit=abc&limit=abc", []string{"/limit"}},
		{untyped, "limit=1&limit=abc", []string{"/limit"}},
		{untyped, "limit=abc&limit=1", []string{"/limit"}},
		{untyped, "limit=1&limit=2", nil},
		{arrays, "tag=a&tag=b", nil},
		{arrays, "tag=a&tag=B", []string{"/tag/1"}},
		{either, "t=1&t=2", nil},
		{either, "t=1", nil},
		{either, "t=1&t=x", []string{"/t"}},
		{free, "abcd=1&abcd=2", nil},
		{free, "a=1&a=long", []string{"/a"}},
	}
	for _, tt := range tests {
		q, err := url.ParseQuery(tt.query)
		if err != nil {
			t.Fatal(err)
		}
		vs, err := tt.sch.ValidateQuery(q, MaxViolations)
		if err != nil {
			t.Fatalf("%q: %v", tt.query, err)
		}
		var got []string
		for _, v := range vs {
			got = append(got, v.Pointer)
			if v.Keyword == "type" {
				t.Errorf("%q: a type violation of a single reading is reported: %+v", tt.query, v)
			}
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: violations at %v, want %v", tt.query, got, tt.want)
		}
	}
	if _, err := untyped.ValidateQuery(url.Values{"limit": {"\xff", "1"}}, MaxViolations); !errors.Is(err, ErrQueryEncoding) {
		t.Errorf("invalid UTF-8: %v", err)
	}
}

func TestJSONMediaType(t *testing.T) {
	tests := []struct {
		ct   string
		want bool
	}{
		{"application/json", true},
		{"Application/JSON", true},
		{"application/json; charset=utf-8", true},
		{"application/json; charset=UTF-8", true},
		{`application/json; charset="utf-8"`, true},
		{"application/json;charset=utf-8;foo=bar", true},
		{"application/problem+json", true},
		{"application/vnd.api+json; charset=utf-8", true},
		{"application/json; charset=latin1", false},
		{"application/json; charset=utf-16", false},
		{"application/json; charset=utf8", false},
		{"application/+json", false},
		{"application/jsonx", false},
		{"application/json-patch", false},
		{"text/json", false},
		{"text/plain", false},
		{"application/x-www-form-urlencoded", false},
		{"multipart/form-data; boundary=x", false},
		{"", false},
		{"application/json; charset", false},
		{"application/json;;", false},
		{"json", false},
	}
	for _, tt := range tests {
		if got := JSONMediaType(tt.ct); got != tt.want {
			t.Errorf("JSONMediaType(%q) = %v, want %v", tt.ct, got, tt.want)
		}
	}
}

// FuzzValidateQuery checks, for a schema whose pattern ignores arrays, that
// a query ValidateQuery accepts gives a valid value to a function reading
// the first or the last value of any name.
func FuzzValidateQuery(f *testing.F) {
	for _, s := range []string{"limit=1", "limit=1&limit=abc", "limit=abc&limit=1", "limit=1&limit=2&limit=x", "a=1&a=b"} {
		f.Add(s)
	}
	sch, err := Compile("query.json", []byte(`{"additionalProperties":{"pattern":"^[0-9]{1,3}$"}}`))
	if err != nil {
		f.Fatal(err)
	}
	re := regexp.MustCompile(`^[0-9]{1,3}$`)
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		vs, err := sch.ValidateQuery(q, MaxViolations)
		if err != nil || len(vs) > 0 {
			return
		}
		for name, vals := range q {
			if !re.MatchString(q.Get(name)) || !re.MatchString(vals[len(vals)-1]) {
				t.Fatalf("%q accepted, but %q reads %q or %q", raw, name, q.Get(name), vals[len(vals)-1])
			}
		}
	})
}
