package egress

import (
	"errors"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// refusedPrefixes are the ranges no address accepted by the default policy
// may be in, written out again independently of the package's table.
var refusedPrefixes = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
		"172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
		"198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
		"168.63.129.16/32",
		"::/96", "::1/128", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32",
		"3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// acceptable is the property of an address the default policy accepts:
// global unicast, in none of refusedPrefixes, in 2000::/3 if IPv6 unless it
// embeds an IPv4 address, and that embedded address acceptable too.
func acceptable(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() ||
		a.IsMulticast() || a.IsUnspecified() || a.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range refusedPrefixes {
		if p.Contains(a) {
			return false
		}
	}
	if a.Is4() {
		return true
	}
	b := a.As16()
	v4 := netip.AddrFrom4([4]byte(b[12:16]))
	switch {
	case netip.MustParsePrefix("64:ff9b::/96").Contains(a), netip.MustParsePrefix("::ffff:0:0:0/96").Contains(a):
		return acceptable(v4)
	case netip.MustParsePrefix("2002::/16").Contains(a):
		return acceptable(netip.AddrFrom4([4]byte(b[2:6])))
	}
	return netip.MustParsePrefix("2000::/3").Contains(a)
}

// FuzzCheckAddr: whatever the default policy accepts is acceptable; the
// IPv4-mapped form and a zone change nothing; opening private ranges never
// refuses more; every refusal wraps ErrForbiddenAddress and names the
// address.
func FuzzCheckAddr(f *testing.F) {
	for _, s := range []string{"8.8.8.8", "127.0.0.1", "10.0.0.5", "169.254.169.254", "::1", "fd00:ec2::254",
		"64:ff9b::808:808", "64:ff9b::a00:5", "2002:808:808::1", "2002:a00:5::", "::ffff:0:7f00:1",
		"2001::1", "2606:4700:4700::1111", "100.100.100.200", "fe80::1", "ff02::1", "0.0.0.0"} {
		b := netip.MustParseAddr(s).AsSlice()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var a netip.Addr
		if len(b) >= 16 {
			a = netip.AddrFrom16([16]byte(b[:16]))
		} else {
			var v4 [4]byte
			copy(v4[:], b)
			a = netip.AddrFrom4(v4)
		}
		err := CheckAddr(a, Policy{})
		if err == nil && !acceptable(a) {
			t.Fatalf("CheckAddr accepted %s", a)
		}
		if err != nil {
			if !errors.Is(err, ErrForbiddenAddress) || !strings.HasPrefix(err.Error(), "egress: address "+a.Unmap().String()+" ") {
				t.Fatalf("CheckAddr(%s) = %q", a, err)
			}
		}
		if a.Is4() {
			if e := CheckAddr(netip.AddrFrom16(a.As16()), Policy{}); (e == nil) != (err == nil) {
				t.Fatalf("%s and its IPv4-mapped form disagree: %v, %v", a, err, e)
			}
		} else if e := CheckAddr(a.WithZone("eth0"), Policy{}); (e == nil) != (err == nil) {
			t.Fatalf("%s and %s%%eth0 disagree: %v, %v", a, a, err, e)
		}
		if err == nil && CheckAddr(a, Policy{AllowPrivate: true}) != nil {
			t.Fatalf("AllowPrivate refuses %s, which the default policy accepts", a)
		}
		// Whatever AllowPrivate opens is private-use, never loopback,
		// link-local or metadata.
		if err != nil && CheckAddr(a, Policy{AllowPrivate: true}) == nil {
			u := a.Unmap()
			if u.IsLoopback() || u.IsLinkLocalUnicast() || u.IsUnspecified() || u.IsMulticast() ||
				u == netip.MustParseAddr("169.254.169.254") || u == netip.MustParseAddr("100.100.100.200") ||
				netip.MustParsePrefix("fd00:ec2::/64").Contains(u) {
				t.Fatalf("AllowPrivate opens %s", a)
			}
		}
	})
}

var (
	// grantName is the syntax of a name grant, as the manifest checks it.
	grantName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)
	// numberish matches what inet_aton could read as an IPv4 address, or
	// any name whose last label is a number.
	numberish = regexp.MustCompile(`(?i)(^|\.)(0x[0-9a-f]*|[0-9]+)\.?$`)
)

// FuzzParseGrant: an accepted grant is in canonical form, reads back from
// its String, and is either a valid name that no resolver could read as a
// number, or a canonical IP address.
func FuzzParseGrant(f *testing.F) {
	for _, s := range []string{"api.example.com", "hooks.example.org:8443", "*.example.com", "*.com", "127.1",
		"0x7f.1", "2130706433", "10.0.0.1", "[::1]:80", "[fe80::1%eth0]", "a:b:c", "example.com:080",
		"EXAMPLE.com", "*.*.x.y", "x.y.", "", "[", "]:", "*.", "a..b", "b\u00fccher.de"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseGrant(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidGrant) {
				t.Fatalf("ParseGrant(%q) = %v, not ErrInvalidGrant", s, err)
			}
			return
		}
		if len(s) > maxGrantLen || g.Port < 0 || g.Port > 65535 {
			t.Fatalf("ParseGrant(%q) = %+v", s, g)
		}
		if back, err := ParseGrant(g.String()); err != nil || back != g {
			t.Fatalf("ParseGrant(%q) = %+v; its String %q reads back as %+v, %v", s, g, g.String(), back, err)
		}
		if !g.valid() {
			t.Fatalf("ParseGrant(%q) = %+v is not valid", s, g)
		}
		if g.IsIP() {
			a, _ := netip.ParseAddr(g.Host)
			if g.Wildcard || a.String() != g.Host || a.Is4In6() || a.Zone() != "" {
				t.Fatalf("ParseGrant(%q) = %+v, not a canonical address", s, g)
			}
			return
		}
		if !grantName.MatchString(g.Host) || len(g.Host) > maxNameLen || numberish.MatchString(g.Host) {
			t.Fatalf("ParseGrant(%q) = %+v, not a valid name", s, g)
		}
		if g.Wildcard && !strings.Contains(g.Host, ".") {
			t.Fatalf("ParseGrant(%q) = %+v: a wildcard over a top-level domain", s, g)
		}
		if g.Host != strings.ToLower(g.Host) {
			t.Fatalf("ParseGrant(%q) = %+v, not lower-case", s, g)
		}
	})
}

// refIPv4 reads a host in the inet_aton forms, written independently of
// parseIPv4.
var ipv4Part = regexp.MustCompile(`^(0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)$`)

func refIPv4(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		if !ipv4Part.MatchString(p) {
			return netip.Addr{}, false
		}
		n, err := strconv.ParseUint(p, 0, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		nums[i] = n
	}
	var v uint64
	for i, n := range nums[:len(nums)-1] {
		if n > 255 {
			return netip.Addr{}, false
		}
		v += n << (24 - 8*i)
	}
	last := nums[len(nums)-1]
	if last >= 1<<(32-8*(len(nums)-1)) {
		return netip.Addr{}, false
	}
	v += last
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// FuzzParseHost: a URL host is read as an address exactly when the
// reference reads it as one, with the same value; a name is never one a
// resolver could read as a number; refusals use fixed messages.
func FuzzParseHost(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "127.1", "0x7f.1", "0177.0.0.1", "2130706433", "0x7f000001",
		"127.0.0.1.", "::1", "::ffff:127.0.0.1", "fe80::1%eth0", "example.com", "EXAMPLE.com.", "1.2.3.4.5",
		"0x", "08", "1.example", "example.1", "0xg", "4294967296", "", ".", "a..b", "-a", "b\u00fccher"} {
		f.Add(s)
	}
	messages := map[string]bool{}
	for _, s := range []string{"", strings.Repeat("a", 300), "\u00fc", ":", "fe80::1%eth0", "1.2.3.4.5", "a_b"} {
		_, rf := parseHost(s)
		messages[rf.Error()] = true
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, rf := parseHost(s)
		if rf != nil {
			if !errors.Is(rf, ErrBadRequest) || !messages[rf.Error()] {
				t.Fatalf("parseHost(%q) = %q", s, rf)
			}
		}
		lower := strings.ToLower(strings.TrimSuffix(s, "."))
		if strings.Contains(s, ":") {
			a, err := netip.ParseAddr(s)
			ok := err == nil && a.Is6() && a.Zone() == ""
			if ok != (rf == nil) || (ok && h.ip != a.Unmap()) {
				t.Fatalf("parseHost(%q) = %+v, %v; want %v", s, h, rf, a)
			}
			return
		}
		ref, isIP := refIPv4(lower)
		if isIP && len(s) <= maxNameLen+1 && allOf(s, func(c byte) bool { return c < 0x80 }) {
			if rf != nil || h.ip != ref {
				t.Fatalf("parseHost(%q) = %+v, %v; want %s", s, h, rf, ref)
			}
			return
		}
		if rf != nil {
			return
		}
		if h.ip.IsValid() {
			t.Fatalf("parseHost(%q) = %s, which the reference does not read as an address", s, h.ip)
		}
		if !grantName.MatchString(h.name) || numberish.MatchString(h.name) || h.name != lower {
			t.Fatalf("parseHost(%q) = name %q", s, h.name)
		}
		if _, err := netip.ParseAddr(h.name); err == nil {
			t.Fatalf("parseHost(%q) = name %q, which is an address", s, h.name)
		}
	})
}
