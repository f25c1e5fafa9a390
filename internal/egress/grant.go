package egress

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Grant is one entry of a function's http capability: the host and port
// the function may send requests to.
type Grant struct {
	// Host is a lower-case DNS name or, for an IP address grant, the
	// address in its canonical form (IPv6 without brackets). For a
	// wildcard grant it is the name after "*.".
	Host string
	// Port is the one port allowed, or 0 for the default port of the
	// URL's scheme: 80 for http, 443 for https.
	Port int
	// Wildcard grants match names with one or more labels in front of
	// Host, but not Host itself.
	Wildcard bool
}

// maxGrantLen bounds the text of a grant: a name, "*." and ":65535".
const maxGrantLen = maxNameLen + 8

// ParseGrant reads a grant written as host or host:port. The host is a DNS
// name of letters, digits and hyphens (non-ASCII names must be written in
// their xn-- form), optionally "*." followed by a name of at least two
// labels, or an IP address: IPv4 as four decimal numbers, IPv6 in
// brackets. Letters are lower-cased. A name whose last label is a number
// is refused unless it is such an IPv4 address, since resolvers read
// forms like 127.1 or 0x7f.1 as addresses. The port, when present, is a
// decimal number from 1 to 65535.
//
// ParseGrant accepts IP addresses; whether they count is the Policy's
// decision (AllowIPGrants).
func ParseGrant(s string) (Grant, error) {
	g, reason := parseGrant(s)
	if reason != "" {
		return Grant{}, fmt.Errorf("%w %q: %s", ErrInvalidGrant, clip(s), reason)
	}
	return g, nil
}

func parseGrant(s string) (Grant, string) {
	if s == "" {
		return Grant{}, "empty"
	}
	if len(s) > maxGrantLen {
		return Grant{}, "too long"
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return Grant{}, "not ASCII; write the name in its xn-- form"
		}
	}
	var g Grant
	hostPart, portPart, hasPort := s, "", false
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return Grant{}, "missing ]"
		}
		hostPart = s[1:end]
		if rest := s[end+1:]; rest != "" {
			if rest[0] != ':' {
				return Grant{}, "expected :port after ]"
			}
			portPart, hasPort = rest[1:], true
		}
	} else {
		if strings.Count(s, ":") > 1 {
			return Grant{}, "write IPv6 addresses in brackets, as in [2001:db8::1]:8443"
		}
		hostPart, portPart, hasPort = strings.Cut(s, ":")
	}
	if hasPort {
		p, ok := parsePort(portPart)
		if !ok {
			return Grant{}, "the port must be a number from 1 to 65535"
		}
		g.Port = p
	}

	if s[0] == '[' {
		a, err := netip.ParseAddr(hostPart)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return Grant{}, "malformed IPv6 address"
		}
		g.Host = a.Unmap().String()
		return g, ""
	}
	name := strings.ToLower(hostPart)
	name, g.Wildcard = strings.CutPrefix(name, "*.")
	if strings.Contains(name, "*") {
		return Grant{}, "a wildcard may only be the whole first label, as in *.example.com"
	}
	if strings.HasSuffix(name, ".") {
		return Grant{}, "remove the trailing dot"
	}
	if numericLabel(name[strings.LastIndexByte(name, '.')+1:]) {
		a, err := netip.ParseAddr(name)
		if g.Wildcard || err != nil || !a.Is4() {
			return Grant{}, "a name cannot end in a number; write IPv4 addresses as four decimal numbers"
		}
		g.Host = a.String()
		return g, ""
	}
	if !validName(name) {
		return Grant{}, "a host is a DNS name of letters, digits and hyphens, such as api.example.com"
	}
	if g.Wildcard && !strings.Contains(name, ".") {
		return Grant{}, "a wildcard needs at least two labels after it, as in *.example.com"
	}
	g.Host = name
	return g, ""
}

// parsePort reads a port without sign or leading zeros.
func parsePort(s string) (int, bool) {
	if s == "" || len(s) > 5 || s[0] == '0' || !allOf(s, isDigit) {
		return 0, false
	}
	p, err := strconv.Atoi(s)
	if err != nil || p > 65535 {
		return 0, false
	}
	return p, true
}

// String returns g as ParseGrant reads it.
func (g Grant) String() string {
	h := g.Host
	if g.Wildcard {
		h = "*." + h
	} else if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	if g.Port != 0 {
		h += ":" + strconv.Itoa(g.Port)
	}
	return h
}

// IsIP reports whether g grants an IP address rather than a name.
func (g Grant) IsIP() bool {
	_, err := netip.ParseAddr(g.Host)
	return err == nil
}

// valid reports whether g is a grant ParseGrant could return, which
// keeps hand-made grants such as {Host: "com", Wildcard: true} out.
func (g Grant) valid() bool {
	p, err := ParseGrant(g.String())
	return err == nil && p == g
}

// matches reports whether g allows h on port, where defaultPort is the
// default port of the URL's scheme.
func (g Grant) matches(h host, port, defaultPort int) bool {
	want := g.Port
	if want == 0 {
		want = defaultPort
	}
	if port != want {
		return false
	}
	if h.ip.IsValid() {
		a, err := netip.ParseAddr(g.Host)
		return err == nil && a == h.ip
	}
	if g.Wildcard {
		return strings.HasSuffix(h.name, "."+g.Host)
	}
	return h.name == g.Host
}

// clip shortens s for an error message.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
