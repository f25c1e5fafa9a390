package egress

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestCheckAddr(t *testing.T) {
	pfx := netip.MustParsePrefix
	private := Policy{AllowPrivate: true}
	for _, tc := range []struct {
		addr   string
		policy Policy
		why    string // "" when allowed
	}{
		// Public addresses.
		{"8.8.8.8", Policy{}, ""},
		{"1.1.1.1", Policy{}, ""},
		{"93.184.215.14", Policy{}, ""},
		{"::ffff:8.8.8.8", Policy{}, ""},
		{"2606:4700:4700::1111", Policy{}, ""},
		{"2a00:1450:4001:81c::200e", Policy{}, ""},
		{"64:ff9b::808:808", Policy{}, ""}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", Policy{}, ""},  // 6to4 of 8.8.8.8
		{"::ffff:0:808:808", Policy{}, ""}, // IPv4-translated 8.8.8.8
		{"100.63.255.255", Policy{}, ""},   // just below 100.64/10
		{"100.128.0.0", Policy{}, ""},      // just above
		{"172.32.0.1", Policy{}, ""},       // just above 172.16/12
		{"172.15.255.255", Policy{}, ""},   // just below
		{"223.255.255.255", Policy{}, ""},  // just below multicast
		{"1.0.0.0", Policy{}, ""},          // just above 0/8
		{"126.255.255.255", Policy{}, ""},  // just below loopback
		{"128.0.0.0", Policy{}, ""},        // just above
		{"169.253.255.255", Policy{}, ""},  // just below link-local
		{"198.17.255.255", Policy{}, ""},   // just below benchmarking
		{"198.20.0.0", Policy{}, ""},       // just above
		{"2001:200::1", Policy{}, ""},      // just above 2001::/23
		{"2001:db9::1", Policy{}, ""},      // just above documentation
		{"3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Policy{}, ""},

		// Loopback and unspecified.
		{"127.0.0.1", Policy{}, "is loopback"},
		{"127.255.255.254", Policy{}, "is loopback"},
		{"::1", Policy{}, "is loopback"},
		{"::ffff:127.0.0.1", Policy{}, "is loopback"},
		{"0.0.0.0", Policy{}, "is unspecified"},
		{"0.1.2.3", Policy{}, "is unspecified"},
		{"::", Policy{}, "is unspecified"},
		{"::ffff:0.0.0.0", Policy{}, "is unspecified"},
		// Private, shared and site-local.
		{"10.0.0.5", Policy{}, "is private"},
		{"172.16.0.1", Policy{}, "is private"},
		{"172.31.255.255", Policy{}, "is private"},
		{"192.168.1.1", Policy{}, "is private"},
		{"fc00::1", Policy{}, "is private"},
		{"fdff:ffff::1", Policy{}, "is private"},
		{"100.64.0.1", Policy{}, "is shared address space (CGNAT)"},
		{"100.127.255.255", Policy{}, "is shared address space (CGNAT)"},
		{"fec0::1", Policy{}, "is site-local"},
		// Link-local and metadata.
		{"169.254.0.1", Policy{}, "is link-local"},
		{"fe80::1", Policy{}, "is link-local"},
		{"fe80::1%eth0", Policy{}, "is link-local"},
		{"febf::1", Policy{}, "is link-local"},
		{"169.254.169.254", Policy{}, "is a cloud metadata address"},
		{"::ffff:169.254.169.254", Policy{}, "is a cloud metadata address"},
		{"169.254.170.2", Policy{}, "is a cloud metadata address"},
		{"fd00:ec2::254", Policy{}, "is a cloud metadata address"},
		{"fd20:ce::254", Policy{}, "is a cloud metadata address"},
		{"100.100.100.200", Policy{}, "is a cloud metadata address"},
		{"192.0.0.192", Policy{}, "is a cloud metadata address"},
		{"168.63.129.16", Policy{}, "is a cloud metadata address"},
		// Multicast, broadcast, reserved, documentation, benchmarking.
		{"224.0.0.1", Policy{}, "is multicast"},
		{"239.255.255.250", Policy{}, "is multicast"},
		{"ff02::1", Policy{}, "is multicast"},
		{"255.255.255.255", Policy{}, "is broadcast"},
		{"240.0.0.1", Policy{}, "is reserved"},
		{"255.255.255.254", Policy{}, "is reserved"},
		{"192.0.0.1", Policy{}, "is reserved"},
		{"192.88.99.1", Policy{}, "is reserved"},
		{"192.0.2.1", Policy{}, "is documentation"},
		{"198.51.100.1", Policy{}, "is documentation"},
		{"203.0.113.1", Policy{}, "is documentation"},
		{"2001:db8::1", Policy{}, "is documentation"},
		{"3fff::1", Policy{}, "is documentation"},
		{"198.18.0.1", Policy{}, "is benchmarking"},
		{"198.19.255.255", Policy{}, "is benchmarking"},
		{"2001::1", Policy{}, "is reserved"}, // Teredo
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", Policy{}, "is reserved"},
		{"100::1", Policy{}, "is reserved"},
		{"64:ff9b:1::1", Policy{}, "is reserved"},
		{"5f00::1", Policy{}, "is reserved"},
		// IPv6 outside the global unicast space, and forms embedding IPv4.
		{"::7f00:1", Policy{}, "is not a global unicast address"}, // IPv4-compatible
		{"::8.8.8.8", Policy{}, "is not a global unicast address"},
		{"4000::1", Policy{}, "is not a global unicast address"},
		{"64:ff9b::7f00:1", Policy{}, "embeds 127.0.0.1, which is loopback"},
		{"64:ff9b::a00:5", Policy{}, "embeds 10.0.0.5, which is private"},
		{"64:ff9b::a9fe:a9fe", Policy{}, "embeds 169.254.169.254, which is a cloud metadata address"},
		{"2002:7f00:1::1", Policy{}, "embeds 127.0.0.1, which is loopback"},
		{"2002:a9fe:a9fe::", Policy{}, "embeds 169.254.169.254, which is a cloud metadata address"},
		{"2002:c0a8:101:1::1", Policy{}, "embeds 192.168.1.1, which is private"},
		{"::ffff:0:7f00:1", Policy{}, "embeds 127.0.0.1, which is loopback"},
		{"::ffff:0:0:0", Policy{}, "embeds 0.0.0.0, which is unspecified"},

		// AllowPrivate opens the private-use ranges only.
		{"10.0.0.5", private, ""},
		{"192.168.1.1", private, ""},
		{"fc00::1", private, ""},
		{"100.64.0.1", private, ""},
		{"64:ff9b::a00:5", private, ""},
		{"127.0.0.1", private, "is loopback"},
		{"169.254.169.254", private, "is a cloud metadata address"},
		{"100.100.100.200", private, "is a cloud metadata address"},
		{"fd00:ec2::254", private, "is a cloud metadata address"},
		{"fe80::1", private, "is link-local"},
		{"0.0.0.0", private, "is unspecified"},
		{"192.0.2.1", private, "is documentation"},

		// AllowedNets opens what it names, except never-ranges.
		{"127.0.0.1", Policy{AllowedNets: []netip.Prefix{pfx("127.0.0.0/8")}}, ""},
		{"::ffff:127.0.0.1", Policy{AllowedNets: []netip.Prefix{pfx("127.0.0.1/32")}}, ""},
		{"127.0.0.2", Policy{AllowedNets: []netip.Prefix{pfx("127.0.0.1/32")}}, "is loopback"},
		{"10.1.2.3", Policy{AllowedNets: []netip.Prefix{pfx("::ffff:10.0.0.0/104")}}, ""},
		{"10.1.2.3", Policy{AllowedNets: []netip.Prefix{pfx("10.1.2.99/24")}}, ""}, // not masked
		{"169.254.169.254", Policy{AllowedNets: []netip.Prefix{pfx("169.254.169.254/32")}}, ""},
		{"::1", Policy{AllowedNets: []netip.Prefix{pfx("127.0.0.0/8")}}, "is loopback"},
		{"0.0.0.0", Policy{AllowedNets: []netip.Prefix{pfx("0.0.0.0/0")}}, "is unspecified"},
		{"::", Policy{AllowedNets: []netip.Prefix{pfx("::/0")}}, "is unspecified"},
		{"224.0.0.1", Policy{AllowedNets: []netip.Prefix{pfx("0.0.0.0/0")}}, "is multicast"},
		{"ff02::1", Policy{AllowedNets: []netip.Prefix{pfx("::/0")}}, "is multicast"},
		{"255.255.255.255", Policy{AllowedNets: []netip.Prefix{pfx("0.0.0.0/0")}}, "is broadcast"},
		{"64:ff9b::e000:1", Policy{AllowedNets: []netip.Prefix{pfx("0.0.0.0/0")}}, "embeds 224.0.0.1, which is multicast"},
		{"10.0.0.5", Policy{AllowedNets: []netip.Prefix{{}}}, "is private"},
	} {
		a := netip.MustParseAddr(tc.addr)
		err := CheckAddr(a, tc.policy)
		if tc.why == "" {
			if err != nil {
				t.Errorf("CheckAddr(%s, %+v) = %v, want allowed", tc.addr, tc.policy, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("CheckAddr(%s, %+v) allowed, want %q", tc.addr, tc.policy, tc.why)
			continue
		}
		want := "egress: address " + a.WithZone("").Unmap().String() + " " + tc.why
		if !errors.Is(err, ErrForbiddenAddress) || err.Error() != want {
			t.Errorf("CheckAddr(%s) = %q, want %q", tc.addr, err, want)
		}
	}
	if err := CheckAddr(netip.Addr{}, Policy{AllowedNets: []netip.Prefix{pfx("0.0.0.0/0")}}); !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("the zero address: %v", err)
	}
}

// TestSpecialsOrder: every single-address entry comes before any range
// that holds it, so that it decides.
func TestSpecialsOrder(t *testing.T) {
	for i, s := range specials {
		for _, earlier := range specials[:i] {
			if earlier.prefix.Bits() < s.prefix.Bits() && earlier.prefix.Contains(s.prefix.Addr()) && earlier.class != classNever {
				t.Errorf("%s (%s) is shadowed by %s (%s)", s.prefix, s.what, earlier.prefix, earlier.what)
			}
		}
		if s.prefix != s.prefix.Masked() {
			t.Errorf("%s is not masked", s.prefix)
		}
		if strings.TrimSpace(s.what) == "" {
			t.Errorf("%s has no description", s.prefix)
		}
	}
}
