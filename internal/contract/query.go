package contract

import (
	"errors"
	"mime"
	"net/url"
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
