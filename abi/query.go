package abi

import (
	"errors"
	"net/url"
	"strings"
	"unicode/utf8"
)

// MaxQueryPairs is the largest number of '&'-separated pieces, empty ones
// included, that ParseQuery accepts. It is the smallest default among
// common parsers (Node's querystring reads 1000 keys and drops the rest),
// so every parser sees every pair.
const MaxQueryPairs = 1000

// Errors returned by ParseQuery. Like the decoders' errors, their text is
// stable and never includes bytes of the query.
var (
	// ErrQuerySeparator is a ';' in the query. Some parsers split pairs
	// on it, others keep it in the value and Go's drops the pair.
	ErrQuerySeparator = errors.New("abi: query contains ';'; separate pairs with '&' and percent-encode ';' as %3B")
	// ErrQueryEscape is a '%' not followed by two hexadecimal digits,
	// which some parsers keep literally and others drop with its pair.
	ErrQueryEscape = errors.New("abi: query contains '%' that does not start a %XX escape; percent-encode '%' as %25")
	// ErrQueryCharacter is a byte that cannot appear unencoded in a query:
	// a control character, a space or '#', which a URL parser takes as
	// the start of the fragment.
	ErrQueryCharacter = errors.New("abi: query contains a control character, space or '#'; percent-encode it")
	// ErrQueryText is a name or value that, once decoded, is not valid
	// UTF-8 or contains NUL. Parsers differ in how they replace invalid
	// UTF-8, and C strings end at NUL.
	ErrQueryText = errors.New("abi: query name or value is not valid UTF-8 or contains NUL once decoded")
	// ErrQueryTooMany is a query of more than MaxQueryPairs pieces.
	ErrQueryTooMany = errors.New("abi: query has too many parameters")
)

// ParseQuery parses a raw URL query (without the leading '?') the one way
// every common parser reads it, or fails. It is the
// application/x-www-form-urlencoded reading of the WHATWG URL standard,
// which Go's net/url, Python's urllib.parse, Node's URLSearchParams and
// querystring, and PHP share: pairs are separated by '&', empty pieces are
// skipped, a name ends at the first '=' (a piece without one has the empty
// value), '+' is a space and %XX is the byte XX.
//
// Where those parsers disagree, ParseQuery returns an error instead of
// picking one reading: a ';' (ErrQuerySeparator), a '%' that does not
// start a valid escape (ErrQueryEscape), an unencoded control character,
// space or '#' (ErrQueryCharacter), a decoded name or value that is not
// valid UTF-8 or holds NUL (ErrQueryText), or more than MaxQueryPairs
// pieces (ErrQueryTooMany). A query it accepts is one net/url.ParseQuery
// accepts without error, with the same result.
//
// The pave gateway refuses a request whose query fails here, so a
// function called through a route always receives a query ParseQuery
// accepts. The result is never nil.
func ParseQuery(raw string) (url.Values, error) {
	if strings.Count(raw, "&") >= MaxQueryPairs {
		return url.Values{}, ErrQueryTooMany
	}
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == ';':
			return url.Values{}, ErrQuerySeparator
		case c == '%':
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				return url.Values{}, ErrQueryEscape
			}
		case c <= ' ' || c == 0x7f || c == '#':
			return url.Values{}, ErrQueryCharacter
		}
	}
	v := url.Values{}
	for rest := raw; rest != ""; {
		var piece string
		piece, rest, _ = strings.Cut(rest, "&")
		if piece == "" {
			continue
		}
		name, value, _ := strings.Cut(piece, "=")
		name, okName := unescapeQuery(name)
		value, okValue := unescapeQuery(value)
		if !okName || !okValue {
			return url.Values{}, ErrQueryText
		}
		v[name] = append(v[name], value)
	}
	return v, nil
}

// unescapeQuery decodes s, whose escapes are known to be valid, and
// reports whether the result is valid UTF-8 without NUL.
func unescapeQuery(s string) (string, bool) {
	if strings.ContainsAny(s, "%+") {
		var err error
		if s, err = url.QueryUnescape(s); err != nil {
			return "", false
		}
	}
	return s, utf8.ValidString(s) && !strings.Contains(s, "\x00")
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
