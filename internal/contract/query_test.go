package contract

import (
	"errors"
	"net/url"
	"reflect"
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
