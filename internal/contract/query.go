package contract

import (
	"errors"
	"mime"
	"net/url"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// ErrQueryEncoding is a query parameter name or value that is not valid
// UTF-8 once percent-decoded.
var ErrQueryEncoding = errors.New("contract: query parameter is not valid UTF-8")

// QueryInstance turns URL query values into the instance a query schema
// validates: an object with one property per parameter name, a string when
// the parameter was given once and an array of strings when it was given
// several times. Query values are always strings; a query schema constrains
// them with pattern, format, enum or length rather than number types.
//
// Names and values must be valid UTF-8; the error, ErrQueryEncoding, does
// not say which parameter failed.
func QueryInstance(q url.Values) (map[string]any, error) {
	out := make(map[string]any, len(q))
	for name, vals := range q {
		if !utf8.ValidString(name) {
			return nil, ErrQueryEncoding
		}
		for _, v := range vals {
			if !utf8.ValidString(v) {
				return nil, ErrQueryEncoding
			}
		}
		if len(vals) == 1 {
			out[name] = vals[0]
			continue
		}
		arr := make([]any, len(vals))
		for i, v := range vals {
			arr[i] = v
		}
		out[name] = arr
	}
	return out, nil
}

// ValidateQuery checks query values, as parsed by abi.ParseQuery, against
// the schema s: the instance QueryInstance makes, in which a repeated name
// is an array, and also, for each repeated name, the readings of functions
// that take one value of it: the first (Go's Get, Python's
// parse_qs()[name][0], Flask, URLSearchParams.get) and the last (PHP,
// Django). Without this, a property schema such as {"pattern": "^[0-9]+$"},
// whose keywords ignore arrays, would pass ?limit=abc&limit=abc, and the
// function would read abc.
//
// A single reading that fails only on "type" is not held against the
// query: the schema then wants that name repeated (an array) and never
// accepts a lone string, so a function reads it as a list.
//
// The result is as Validate's; the error is ErrQueryEncoding, from
// QueryInstance.
func (s *Schema) ValidateQuery(q url.Values, max int) ([]Violation, error) {
	inst, err := QueryInstance(q)
	if err != nil {
		return nil, err
	}
	if vs := s.Validate(inst, max); len(vs) > 0 {
		return vs, nil
	}
	names := make([]string, 0, len(q))
	for name, vals := range q {
		if len(vals) > 1 {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		all, vals := inst[name], q[name]
		for _, one := range []string{vals[0], vals[len(vals)-1]} {
			inst[name] = one
			vs := s.Validate(inst, max)
			inst[name] = all
			if slices.ContainsFunc(vs, func(v Violation) bool { return v.Keyword != "type" }) {
				return slices.DeleteFunc(vs, func(v Violation) bool { return v.Keyword == "type" }), nil
			}
		}
	}
	return nil, nil
}

// JSONMediaType reports whether a Content-Type header value names JSON:
// application/json or application/<subtype>+json, with optional parameters.
// A charset parameter, if present, must be utf-8 (any case), the only
// encoding RFC 8259 allows between systems.
func JSONMediaType(contentType string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	if mt != "application/json" {
		sub, ok := strings.CutPrefix(mt, "application/")
		if !ok || !strings.HasSuffix(sub, "+json") || len(sub) == len("+json") {
			return false
		}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return false
	}
	return true
}
