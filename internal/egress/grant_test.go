package egress

import (
	"errors"
	"strings"
	"testing"
)

func TestParseGrant(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Grant
	}{
		{"api.example.com", Grant{Host: "api.example.com"}},
		{"API.Example.COM", Grant{Host: "api.example.com"}},
		{"hooks.example.org:8443", Grant{Host: "hooks.example.org", Port: 8443}},
		{"*.example.com", Grant{Host: "example.com", Wildcard: true}},
		{"*.example.com:443", Grant{Host: "example.com", Port: 443, Wildcard: true}},
		{"localhost", Grant{Host: "localhost"}},
		{"xn--bcher-kva.example", Grant{Host: "xn--bcher-kva.example"}},
		{"a.b-c.d1", Grant{Host: "a.b-c.d1"}},
		{"1.example", Grant{Host: "1.example"}},
		{"example.com:65535", Grant{Host: "example.com", Port: 65535}},
		{"example.com:1", Grant{Host: "example.com", Port: 1}},
		{"203.0.113.7", Grant{Host: "203.0.113.7"}},
		{"203.0.113.7:8080", Grant{Host: "203.0.113.7", Port: 8080}},
		{"[2001:db8::1]", Grant{Host: "2001:db8::1"}},
		{"[2001:DB8:0::1]:8443", Grant{Host: "2001:db8::1", Port: 8443}},
		{"[::ffff:203.0.113.7]", Grant{Host: "203.0.113.7"}},
		{strings.Repeat("a", 63) + ".example", Grant{Host: strings.Repeat("a", 63) + ".example"}},
	} {
		g, err := ParseGrant(tc.in)
		if err != nil || g != tc.want {
			t.Errorf("ParseGrant(%q) = %+v, %v; want %+v", tc.in, g, err, tc.want)
			continue
		}
		back, err := ParseGrant(g.String())
		if err != nil || back != g {
			t.Errorf("ParseGrant(%q).String() = %q does not read back: %+v, %v", tc.in, g.String(), back, err)
		}
	}

	for _, tc := range []struct{ in, why string }{
		{"", "empty"},
		{"*", "a wildcard may only be the whole first label"},
		{"*.com", "a wildcard needs at least two labels"},
		{"*.*.example.com", "a wildcard may only be the whole first label"},
		{"a.*.example.com", "a wildcard may only be the whole first label"},
		{"*example.com", "a wildcard may only be the whole first label"},
		{"api.*", "a wildcard may only be the whole first label"},
		{"https://api.example.com", "the port must be"},
		{"api.example.com/", "a host is a DNS name"},
		{"api.example.com.", "remove the trailing dot"},
		{"user@api.example.com", "a host is a DNS name"},
		{"api_x.example.com", "a host is a DNS name"},
		{"-api.example.com", "a host is a DNS name"},
		{"api..example.com", "a host is a DNS name"},
		{" api.example.com", "a host is a DNS name"},
		{"b\u00fccher.example", "not ASCII"},
		{strings.Repeat("a", 64) + ".example", "a host is a DNS name"},
		{strings.Repeat("a.", 130) + "com", "too long"},
		{"api.example.com:0", "the port must be"},
		{"api.example.com:65536", "the port must be"},
		{"api.example.com:080", "the port must be"},
		{"api.example.com:+80", "the port must be"},
		{"api.example.com:", "the port must be"},
		{"api.example.com:http", "the port must be"},
		{"127.1", "a name cannot end in a number"},
		{"0x7f.1", "a name cannot end in a number"},
		{"2130706433", "a name cannot end in a number"},
		{"0177.0.0.1", "a name cannot end in a number"},
		{"example.123", "a name cannot end in a number"},
		{"*.10.0.0.1", "a name cannot end in a number"},
		{"::1", "write IPv6 addresses in brackets"},
		{"[::1", "missing ]"},
		{"[::1]x", "expected :port"},
		{"[127.0.0.1]", "malformed IPv6 address"},
		{"[fe80::1%eth0]", "malformed IPv6 address"},
		{"[api.example.com]", "malformed IPv6 address"},
	} {
		_, err := ParseGrant(tc.in)
		if err == nil || !errors.Is(err, ErrInvalidGrant) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("ParseGrant(%q) = %v, want an error about %q", tc.in, err, tc.why)
		}
	}
}

func TestGrantMatches(t *testing.T) {
	name := func(s string) host { return host{name: s} }
	for _, tc := range []struct {
		grant       string
		h           host
		port, deflt int
		want        bool
	}{
		{"api.example.com", name("api.example.com"), 443, 443, true},
		{"api.example.com", name("api.example.com"), 80, 80, true},
		{"api.example.com", name("api.example.com"), 8443, 443, false},
		{"api.example.com:8443", name("api.example.com"), 8443, 443, true},
		{"api.example.com:8443", name("api.example.com"), 443, 443, false},
		{"api.example.com", name("x.api.example.com"), 443, 443, false},
		{"api.example.com", name("example.com"), 443, 443, false},
		{"*.example.com", name("a.example.com"), 443, 443, true},
		{"*.example.com", name("a.b.example.com"), 443, 443, true},
		{"*.example.com", name("example.com"), 443, 443, false},
		{"*.example.com", name("aexample.com"), 443, 443, false},
		{"*.example.com", name("a.example.com.evil"), 443, 443, false},
		{"*.example.com:8443", name("a.example.com"), 443, 443, false},
		{"203.0.113.7", host{ip: mustAddr("203.0.113.7")}, 80, 80, true},
		{"203.0.113.7", host{ip: mustAddr("203.0.113.8")}, 80, 80, false},
		{"203.0.113.7", name("203.0.113.7.example"), 80, 80, false},
		{"[2001:db8::1]:8443", host{ip: mustAddr("2001:db8::1")}, 8443, 443, true},
	} {
		g := grants(t, tc.grant)[0]
		if got := g.matches(tc.h, tc.port, tc.deflt); got != tc.want {
			t.Errorf("%s matches %s:%d = %v, want %v", tc.grant, tc.h, tc.port, got, tc.want)
		}
	}
}
