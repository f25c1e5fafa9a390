package egress

import (
	"net/netip"
	"strings"
)

// maxNameLen is the longest DNS name in text form, without a trailing dot.
const maxNameLen = 253

// host is the host of a URL or a grant: an IP address or a DNS name.
type host struct {
	ip   netip.Addr // set for an address, unmapped and without a zone
	name string     // a lower-case DNS name otherwise
}

func (h host) String() string {
	if h.ip.IsValid() {
		return h.ip.String()
	}
	return h.name
}

// urlHost returns h as it is written in a URL's authority.
func (h host) urlHost() string {
	if h.ip.Is6() {
		return "[" + h.ip.String() + "]"
	}
	return h.String()
}

// parseHost reads a URL's host, without brackets (as url.URL.Hostname
// returns it). Every string has exactly one reading:
//
//   - with a colon, an IPv6 address; zones are refused;
//   - when its last label is a number (decimal, or hexadecimal with 0x),
//     an IPv4 address in any of the inet_aton forms, or else malformed;
//   - otherwise a DNS name of letters, digits and hyphens.
//
// The second rule is the one browsers follow, and it is what keeps a name
// like 0x7f.1 from reaching a resolver that would read it as 127.0.0.1.
// One trailing dot is dropped, and names are lower-cased.
func parseHost(s string) (host, *refusal) {
	if s == "" {
		return host{}, refuse(ErrBadRequest, "URL has no host")
	}
	if len(s) > maxNameLen+1 {
		return host{}, refuse(ErrBadRequest, "host name is too long")
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return host{}, refuse(ErrBadRequest, "host name is not ASCII; use its xn-- form")
		}
	}
	if strings.Contains(s, ":") {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is6() {
			return host{}, refuse(ErrBadRequest, "malformed IPv6 address")
		}
		if a.Zone() != "" {
			return host{}, refuse(ErrBadRequest, "IPv6 zones are not allowed")
		}
		return host{ip: a.Unmap()}, nil
	}
	s = strings.ToLower(strings.TrimSuffix(s, "."))
	if s == "" {
		return host{}, refuse(ErrBadRequest, "URL has no host")
	}
	if numericLabel(s[strings.LastIndexByte(s, '.')+1:]) {
		a, ok := parseIPv4(s)
		if !ok {
			return host{}, refuse(ErrBadRequest, "malformed numeric host")
		}
		return host{ip: a}, nil
	}
	if !validName(s) {
		return host{}, refuse(ErrBadRequest, "invalid host name")
	}
	return host{name: s}, nil
}

// numericLabel reports whether a host's last label makes it an IPv4
// address: decimal digits, or 0x followed by hexadecimal digits.
func numericLabel(l string) bool {
	if rest, ok := strings.CutPrefix(l, "0x"); ok {
		return allOf(rest, isHex)
	}
	return l != "" && allOf(l, isDigit)
}

// parseIPv4 reads an IPv4 address in the forms inet_aton accepts: one to
// four dot-separated numbers, each decimal, octal (leading 0) or
// hexadecimal (leading 0x), the last one filling the remaining bytes. The
// input is lower-case.
func parseIPv4(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, p := range parts {
		n, ok := parseIPv4Part(p)
		if !ok {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 {
			if n > 0xff {
				return netip.Addr{}, false
			}
			v |= n << (8 * (3 - i))
			continue
		}
		if n >= 1<<(8*(4-i)) {
			return netip.Addr{}, false
		}
		v |= n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// parseIPv4Part reads one number of parseIPv4, refusing anything above
// 2^32-1.
func parseIPv4Part(p string) (uint64, bool) {
	base, digits := uint64(10), p
	switch {
	case strings.HasPrefix(p, "0x"):
		base, digits = 16, p[2:]
	case len(p) > 1 && p[0] == '0':
		base, digits = 8, p[1:]
	}
	if digits == "" {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		var d uint64
		switch {
		case isDigit(c):
			d = uint64(c - '0')
		case c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		default:
			return 0, false
		}
		if d >= base {
			return 0, false
		}
		n = n*base + d
		if n > 0xffffffff {
			return 0, false
		}
	}
	return n, true
}

// validName reports whether s is a lower-case DNS name: labels of 1 to 63
// letters, digits and hyphens, not starting or ending with a hyphen.
func validName(s string) bool {
	if s == "" || len(s) > maxNameLen {
		return false
	}
	for l := range strings.SplitSeq(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		if !allOf(l, func(c byte) bool { return isDigit(c) || (c >= 'a' && c <= 'z') || c == '-' }) {
			return false
		}
	}
	return true
}

func allOf(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || (c >= 'a' && c <= 'f') }
