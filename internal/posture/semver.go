package posture

import (
	"strings"
)

// This file compares versions as Semantic Versioning 2.0.0 orders them
// (https://semver.org/#spec-item-11), in the forms Go and its OSV entries
// write: "v1.2.3" or "1.2.3", with an optional pre-release ("-rc.1", and
// the pseudo-versions "v0.0.0-20240101120000-0123456789ab" and
// "v1.2.4-0.20240101120000-0123456789ab") and optional build metadata
// ("+incompatible"), which does not take part in the order. As the go
// command does, "v1" and "v1.2" stand for "v1.0.0" and "v1.2.0".

// A semver is a parsed version. Pre-release identifiers are kept as text:
// numeric ones are compared by length, then lexically, which orders
// numbers of any size without converting them.
type semver struct {
	major, minor, patch string
	pre                 []string
}

// parseSemver parses v, with or without a leading "v".
func parseSemver(v string) (semver, bool) {
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexByte(v, '+'); i >= 0 {
		if !validIdents(v[i+1:], false) {
			return semver{}, false
		}
		v = v[:i]
	}
	var pre string
	if i := strings.IndexByte(v, '-'); i >= 0 {
		v, pre = v[:i], v[i+1:]
		if !validIdents(pre, true) {
			return semver{}, false
		}
	}
	parts := strings.Split(v, ".")
	if len(parts) > 3 {
		return semver{}, false
	}
	for _, p := range parts {
		if !isNumber(p) {
			return semver{}, false
		}
	}
	for len(parts) < 3 {
		if pre != "" {
			// "v1.2-pre" is not a version Go accepts.
			return semver{}, false
		}
		parts = append(parts, "0")
	}
	s := semver{major: parts[0], minor: parts[1], patch: parts[2]}
	if pre != "" {
		s.pre = strings.Split(pre, ".")
	}
	return s, true
}

// isNumber reports whether s is a numeric identifier: digits, without a
// leading zero unless it is "0".
func isNumber(s string) bool {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validIdents reports whether s is a dot-separated list of non-empty
// identifiers of [0-9A-Za-z-]; in a pre-release, numeric identifiers must
// not have leading zeros.
func validIdents(s string, pre bool) bool {
	for _, id := range strings.Split(s, ".") {
		if id == "" {
			return false
		}
		numeric := true
		for i := 0; i < len(id); i++ {
			c := id[i]
			switch {
			case '0' <= c && c <= '9':
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '-':
				numeric = false
			default:
				return false
			}
		}
		if pre && numeric && !isNumber(id) {
			return false
		}
	}
	return true
}

// compareSemver compares two parsed versions: -1, 0 or +1.
func compareSemver(a, b semver) int {
	if c := compareNumbers(a.major, b.major); c != 0 {
		return c
	}
	if c := compareNumbers(a.minor, b.minor); c != 0 {
		return c
	}
	if c := compareNumbers(a.patch, b.patch); c != 0 {
		return c
	}
	// A version without a pre-release ranks above one with.
	switch {
	case len(a.pre) == 0 && len(b.pre) == 0:
		return 0
	case len(a.pre) == 0:
		return 1
	case len(b.pre) == 0:
		return -1
	}
	for i := 0; i < len(a.pre) && i < len(b.pre); i++ {
		x, y := a.pre[i], b.pre[i]
		xn, yn := isNumber(x), isNumber(y)
		var c int
		switch {
		case xn && yn:
			c = compareNumbers(x, y)
		case xn: // numeric identifiers rank below alphanumeric ones
			c = -1
		case yn:
			c = 1
		default:
			c = strings.Compare(x, y)
		}
		if c != 0 {
			return c
		}
	}
	switch {
	case len(a.pre) < len(b.pre):
		return -1
	case len(a.pre) > len(b.pre):
		return 1
	}
	return 0
}

// compareNumbers compares two numeric identifiers without leading zeros.
func compareNumbers(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// CompareVersions compares two semantic versions, with or without a
// leading "v": -1 if a < b, 0 if they are equal in precedence, +1 if
// a > b. ok is false if either is not a valid version.
func CompareVersions(a, b string) (cmp int, ok bool) {
	x, ok1 := parseSemver(a)
	y, ok2 := parseSemver(b)
	if !ok1 || !ok2 {
		return 0, false
	}
	return compareSemver(x, y), true
}

// GoVersionSemver converts a Go toolchain version to the semantic version
// OSV entries for the "stdlib" and "toolchain" packages use: "go1.26.8" to
// "1.26.8", "go1.21" to "1.21.0", "go1.22rc2" to "1.22.0-rc.2",
// "go1.23beta1" to "1.23.0-beta.1". Anything after a space (such as
// " X:nocoverageredesign") is ignored. It returns false for development
// versions ("devel ...") and anything else it does not recognise.
func GoVersionSemver(v string) (string, bool) {
	v, _, _ = strings.Cut(v, " ")
	if !strings.HasPrefix(v, "go") {
		return "", false
	}
	v = v[2:]
	var pre string
	for _, kind := range []string{"rc", "beta", "alpha"} {
		if i := strings.Index(v, kind); i > 0 {
			if n := v[i+len(kind):]; isNumber(n) {
				v, pre = v[:i], kind+"."+n
				break
			}
			return "", false
		}
	}
	parts := strings.Split(v, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return "", false
	}
	for _, p := range parts {
		if !isNumber(p) {
			return "", false
		}
	}
	if len(parts) == 2 {
		// Before Go 1.21 the first release of a minor version was "go1.N",
		// since then it is "go1.N.0"; both are N.0 in OSV.
		parts = append(parts, "0")
	}
	s := strings.Join(parts, ".")
	if pre != "" {
		s += "-" + pre
	}
	return s, true
}
