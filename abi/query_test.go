package abi

import (
	"errors"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseQuery(t *testing.T) {
	tests := []struct {
		raw  string
		want url.Values
	}{
		{"", url.Values{}},
		{"limit=10", url.Values{"limit": {"10"}}},
		{"a=1&a=2&b=", url.Values{"a": {"1", "2"}, "b": {""}}},
		{"a", url.Values{"a": {""}}},
		{"&&a=1&", url.Values{"a": {"1"}}},
		{"=1", url.Values{"": {"1"}}},
		{"a=b=c", url.Values{"a": {"b=c"}}},
		{"q=a+b&r=a%2Bb", url.Values{"q": {"a b"}, "r": {"a+b"}}},
		{"n%C3%A4me=v%c3%a4lue", url.Values{"näme": {"välue"}}},
		{"näme=välue", url.Values{"näme": {"välue"}}},
		{"x=%3B%25%23%26%3D", url.Values{"x": {";%#&="}}},
		{"f[a]=1&g=|^`{}", url.Values{"f[a]": {"1"}, "g": {"|^`{}"}}},
		{"nl=%0A", url.Values{"nl": {"\n"}}},
		{"limit=..%2F..", url.Values{"limit": {"../.."}}},
		{strings.Repeat("&", MaxQueryPairs-1), url.Values{}},
	}
	for _, tt := range tests {
		got, err := ParseQuery(tt.raw)
		if err != nil {
			t.Errorf("ParseQuery(%q): %v", tt.raw, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseQuery(%q) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}

// TestParseQueryRefusesAmbiguity holds the queries that parsers read
// differently: each is refused, with the error naming the rule.
func TestParseQueryRefusesAmbiguity(t *testing.T) {
	tests := []struct {
		raw  string
		want error
	}{
		// Python before 3.9.2 reads limit=abc and x=1, Python after and
		// Node read limit=abc;x=1, Go drops the pair.
		{"limit=abc;x=1", ErrQuerySeparator},
		{";", ErrQuerySeparator},
		{"a=1;", ErrQuerySeparator},
		// WHATWG parsers keep a bad escape literally, Go drops the pair.
		{"limit=abc%ZZ", ErrQueryEscape},
		{"limit=abc%", ErrQueryEscape},
		{"limit=abc%4", ErrQueryEscape},
		{"%=1", ErrQueryEscape},
		{"a=%G0", ErrQueryEscape},
		{"a=%%41", ErrQueryEscape},
		// Invalid UTF-8 is replaced by some and kept by others; NUL ends C
		// strings.
		{"limit=%FF", ErrQueryText},
		{"%C3%28=1", ErrQueryText},
		{"a=%ED%A0%80", ErrQueryText},
		{"a=\xff", ErrQueryText},
		{"limit=1%00abc", ErrQueryText},
		{"%00=1", ErrQueryText},
		// Cannot appear unencoded in a request target.
		{"a=1#b", ErrQueryCharacter},
		{"a=b c", ErrQueryCharacter},
		{"a=\x00", ErrQueryCharacter},
		{"a=\n", ErrQueryCharacter},
		{"a=\x7f", ErrQueryCharacter},
		// Node's querystring stops reading at 1000 keys.
		{strings.Repeat("a=1&", MaxQueryPairs) + "limit=abc", ErrQueryTooMany},
		{strings.Repeat("&", MaxQueryPairs), ErrQueryTooMany},
	}
	for _, tt := range tests {
		v, err := ParseQuery(tt.raw)
		if !errors.Is(err, tt.want) {
			t.Errorf("ParseQuery(%.40q) error = %v, want %v", tt.raw, err, tt.want)
		}
		if v == nil || len(v) != 0 {
			t.Errorf("ParseQuery(%.40q) = %v with an error, want no values", tt.raw, v)
		}
		if err != nil && strings.Contains(err.Error(), "abc") {
			t.Errorf("error %q quotes the query", err)
		}
	}
}

var queryErrors = []error{ErrQuerySeparator, ErrQueryEscape, ErrQueryCharacter, ErrQueryText, ErrQueryTooMany}

// whatwgParse is the application/x-www-form-urlencoded parser of the WHATWG
// URL standard, which Node's URLSearchParams implements and Python's
// parse_qsl follows: it never fails, keeps bad escapes literally and
// replaces invalid UTF-8.
func whatwgParse(raw string) url.Values {
	v := url.Values{}
	for _, piece := range strings.Split(raw, "&") {
		if piece == "" {
			continue
		}
		name, value, _ := strings.Cut(piece, "=")
		name, value = whatwgDecode(name), whatwgDecode(value)
		v[name] = append(v[name], value)
	}
	return v
}

func whatwgDecode(s string) string {
	s = strings.ReplaceAll(s, "+", " ")
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// FuzzParseQuery checks that a query ParseQuery accepts is read the same
// by net/url (without an error) and by a WHATWG parser, and that
// re-encoding the result reads back to the same values; a refused query
// gets one of the documented errors and no values.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"", "a=1&b=2", "limit=abc;x=1", "limit=abc%ZZ", "limit=abc%", "q=a+b%2B",
		"a=%FF", "a=%00", "&&=&", "a#b", "n%C3%A4me=1", "a=b=c", "f[a]=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := ParseQuery(raw)
		if err != nil {
			if !slices.Contains(queryErrors, err) {
				t.Fatalf("undocumented error %v", err)
			}
			if v == nil || len(v) != 0 {
				t.Fatalf("values %v with error %v", v, err)
			}
			return
		}
		std, err := url.ParseQuery(raw)
		if err != nil {
			t.Fatalf("accepted %q, which net/url refuses: %v", raw, err)
		}
		if !reflect.DeepEqual(v, std) {
			t.Fatalf("%q: %v, net/url reads %v", raw, v, std)
		}
		if w := whatwgParse(raw); !reflect.DeepEqual(v, w) {
			t.Fatalf("%q: %v, a WHATWG parser reads %v", raw, v, w)
		}
		enc := v.Encode()
		again, err := ParseQuery(enc)
		if err != nil || !reflect.DeepEqual(again, v) {
			t.Fatalf("%q re-encoded as %q reads %v, %v", raw, enc, again, err)
		}
	})
}
