package manifest

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// MaxPathLength is the longest route path accepted, in bytes.
const MaxPathLength = 512

// A Segment is one "/"-separated part of a route path: either a literal
// that must match exactly, or a parameter that matches any one segment.
// A catch-all parameter, allowed only last, matches the rest of the path.
// Exactly one of Literal and Param is set.
type Segment struct {
	Literal  string
	Param    string
	CatchAll bool // Param is "{name...}"
}

// String returns the segment as written in a path: "users", "{id}" or
// "{rest...}".
func (s Segment) String() string {
	switch {
	case s.CatchAll:
		return "{" + s.Param + "...}"
	case s.Param != "":
		return "{" + s.Param + "}"
	default:
		return s.Literal
	}
}

var paramName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// reservedPrefixes are first path segments the platform keeps for itself.
var reservedPrefixes = []string{"_pave", "async", "events"}

// ParsePath validates one route path and returns its segments; the root
// path "/" has none.
//
// A path starts with "/" and is at most MaxPathLength bytes long. Each
// segment is a literal of letters, digits and ".", "_", "~", "-" (but not
// "." or ".."), a parameter "{name}", or, last only, a catch-all
// "{name...}". A parameter name is 1 to 64 ASCII letters, digits and '_',
// not starting with a digit, and is unique within its path. Empty
// segments, and so "//" and a trailing "/", are not allowed.
//
// ParsePath checks syntax only; it does not refuse the prefixes that the
// platform reserves, which Parse refuses in manifests.
func ParsePath(p string) ([]Segment, error) {
	switch {
	case p == "":
		return nil, errors.New("path is empty")
	case len(p) > MaxPathLength:
		return nil, fmt.Errorf("path is %d bytes long; the maximum is %d", len(p), MaxPathLength)
	case p[0] != '/':
		return nil, fmt.Errorf("path %s must start with \"/\"", quote(p))
	case p == "/":
		return nil, nil
	}
	parts := strings.Split(p[1:], "/")
	segs := make([]Segment, 0, len(parts))
	seen := make(map[string]bool)
	for i, part := range parts {
		last := i == len(parts)-1
		seg, err := parseSegment(part, last)
		if err != nil {
			return nil, fmt.Errorf("path %s: %w", quote(p), err)
		}
		if seg.Param != "" {
			if seen[seg.Param] {
				return nil, fmt.Errorf("path %s: parameter %q appears twice", quote(p), seg.Param)
			}
			seen[seg.Param] = true
		}
		segs = append(segs, seg)
	}
	return segs, nil
}

// parseSegment parses one segment; last reports whether it ends the path.
func parseSegment(s string, last bool) (Segment, error) {
	switch {
	case s == "" && last:
		return Segment{}, errors.New("trailing \"/\" is not allowed")
	case s == "":
		return Segment{}, errors.New("empty segment (\"//\") is not allowed")
	case strings.HasPrefix(s, "{") || strings.HasSuffix(s, "}"):
		return parseParam(s, last)
	default:
		return parseLiteral(s)
	}
}

// parseParam parses a "{name}" or "{name...}" segment.
func parseParam(s string, last bool) (Segment, error) {
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return Segment{}, fmt.Errorf("segment %s: a parameter must be a whole segment, written {name}", quote(s))
	}
	name, catchAll := strings.CutSuffix(s[1:len(s)-1], "...")
	if !paramName.MatchString(name) {
		return Segment{}, fmt.Errorf("segment %s: a parameter name must be a letter or '_' followed by at most 63 letters, digits or '_'", quote(s))
	}
	if catchAll && !last {
		return Segment{}, fmt.Errorf("segment %s: a catch-all parameter must be the last segment", quote(s))
	}
	return Segment{Param: name, CatchAll: catchAll}, nil
}

// parseLiteral parses a segment that must match exactly.
func parseLiteral(s string) (Segment, error) {
	if s == "." || s == ".." {
		return Segment{}, fmt.Errorf("segment %q is not allowed", s)
	}
	for _, c := range s {
		if !isLiteralChar(c) {
			return Segment{}, fmt.Errorf("segment %s: character %q is not allowed; use letters, digits, '.', '_', '~' or '-'", quote(s), c)
		}
	}
	return Segment{Literal: s}, nil
}

func isLiteralChar(c rune) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '~' || c == '-'
}

// erasePath rebuilds a path from its segments with parameter names erased:
// "/users/{}", "/files/{...}".
func erasePath(segs []Segment) string {
	if len(segs) == 0 {
		return "/"
	}
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		switch {
		case s.CatchAll:
			b.WriteString("{...}")
		case s.Param != "":
			b.WriteString("{}")
		default:
			b.WriteString(s.Literal)
		}
	}
	return b.String()
}

// reservedPrefix returns the reserved prefix that a path lies under, or ""
// if it lies under none.
func reservedPrefix(segs []Segment) string {
	if len(segs) == 0 {
		return ""
	}
	for _, r := range reservedPrefixes {
		if segs[0].Literal == r {
			return "/" + r
		}
	}
	return ""
}
