package egress

import (
	"net/netip"
)

// class says who may open a range of addresses.
type class int

const (
	// classNever ranges are refused whatever the policy: no connection
	// should go there (on Linux a connection to 0.0.0.0 reaches the host
	// itself).
	classNever class = iota
	// classPrivate ranges are opened by Policy.AllowPrivate.
	classPrivate
	// classForbidden ranges are opened only by Policy.AllowedNets.
	classForbidden
)

type special struct {
	prefix netip.Prefix
	class  class
	what   string
}

// specials are the refused ranges, from the IANA IPv4 and IPv6
// special-purpose address registries and the cloud providers' metadata
// services. The first match decides, so single addresses come before the
// ranges that hold them.
var specials = func() []special {
	var s []special
	add := func(c class, what string, prefixes ...string) {
		for _, p := range prefixes {
			s = append(s, special{netip.MustParsePrefix(p), c, what})
		}
	}
	add(classNever, "unspecified", "0.0.0.0/8", "::/128")
	add(classNever, "broadcast", "255.255.255.255/32")
	add(classNever, "multicast", "224.0.0.0/4", "ff00::/8")
	add(classForbidden, "a cloud metadata address",
		"169.254.169.254/32", // AWS, GCP, Azure, OpenStack and most others
		"169.254.170.2/32",   // AWS container credentials
		"100.100.100.200/32", // Alibaba Cloud
		"192.0.0.192/32",     // Oracle Cloud
		"168.63.129.16/32",   // Azure WireServer, a public address
		"fd00:ec2::/64",      // AWS over IPv6 (fd00:ec2::254 and its services)
		"fd20:ce::254/128",   // Google Cloud over IPv6
	)
	add(classForbidden, "loopback", "127.0.0.0/8", "::1/128")
	add(classForbidden, "link-local", "169.254.0.0/16", "fe80::/10")
	add(classPrivate, "private", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
	add(classPrivate, "shared address space (CGNAT)", "100.64.0.0/10")
	add(classPrivate, "site-local", "fec0::/10")
	add(classForbidden, "documentation", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",
		"2001:db8::/32", "3fff::/20")
	add(classForbidden, "benchmarking", "198.18.0.0/15")
	add(classForbidden, "reserved",
		"192.0.0.0/24",   // IETF protocol assignments
		"192.88.99.0/24", // former 6to4 relay anycast
		"240.0.0.0/4",    // future use
		"64:ff9b:1::/48", // local-use NAT64, whose translator is on the operator's network
		"100::/64",       // discard-only
		"2001::/23",      // IETF protocol assignments, Teredo among them
		"5f00::/16",      // SRv6 segment identifiers
	)
	return s
}()

// Prefixes of IPv6 addresses that carry an IPv4 address, which is checked
// in their place.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")    // RFC 6052, well-known NAT64 prefix
	sixToFour = netip.MustParsePrefix("2002::/16")       // RFC 3056, 6to4
	siit      = netip.MustParsePrefix("::ffff:0:0:0/96") // RFC 2765, IPv4-translated
	global6   = netip.MustParsePrefix("2000::/3")        // the IPv6 global unicast space
)

// CheckAddr reports whether the policy allows connections to a, and why
// not: the error wraps ErrForbiddenAddress and says which range refused
// it, as in "address 10.0.0.5 is private".
//
// IPv4-mapped addresses are checked as IPv4, a zone is ignored, and an IPv6
// address that embeds an IPv4 one (IPv4-translated, NAT64 64:ff9b::/96,
// 6to4 2002::/16) is allowed only if the embedded address is. Apart from
// those, IPv6 addresses outside 2000::/3 are refused as not global.
//
// p.AllowedNets opens any range except the unspecified, broadcast and
// multicast addresses; p.AllowPrivate opens the private-use ranges
// (10/8, 172.16/12, 192.168/16, fc00::/7, 100.64/10, fec0::/10) but not
// the metadata addresses inside them. Only AllowPrivate and AllowedNets of
// p are consulted.
func CheckAddr(a netip.Addr, p Policy) error {
	if err := checkAddr(a, p); err != nil {
		return err
	}
	return nil
}

func checkAddr(a netip.Addr, p Policy) *refusal {
	if !a.IsValid() {
		return refuse(ErrForbiddenAddress, "invalid address")
	}
	a = a.WithZone("").Unmap()
	if why := refusedBecause(a, p); why != "" {
		return refuse(ErrForbiddenAddress, "address %s %s", a, why)
	}
	return nil
}

// refusedBecause returns why p refuses a, an address without zone that is
// not IPv4-mapped, as in "is private"; or "" if p allows it.
func refusedBecause(a netip.Addr, p Policy) string {
	var (
		match special
		found bool
	)
	for _, s := range specials {
		if s.prefix.Contains(a) {
			match, found = s, true
			break
		}
	}
	if found && match.class == classNever {
		return "is " + match.what
	}
	if allowedNet(a, p.AllowedNets) {
		return ""
	}
	if found {
		if match.class == classPrivate && p.AllowPrivate {
			return ""
		}
		return "is " + match.what
	}
	if a.Is4() {
		return ""
	}
	if v4, ok := embeddedIPv4(a); ok {
		if why := refusedBecause(v4, p); why != "" {
			return "embeds " + v4.String() + ", which " + why
		}
		return ""
	}
	if !global6.Contains(a) {
		return "is not a global unicast address"
	}
	return ""
}

// allowedNet reports whether one of nets holds a. IPv4 prefixes written
// in their IPv4-mapped IPv6 form count as IPv4.
func allowedNet(a netip.Addr, nets []netip.Prefix) bool {
	for _, n := range nets {
		if n = normalizePrefix(n); n.IsValid() && n.Contains(a) {
			return true
		}
	}
	return false
}

// normalizePrefix masks n and turns an IPv4-mapped prefix into IPv4.
func normalizePrefix(n netip.Prefix) netip.Prefix {
	if !n.IsValid() {
		return n
	}
	if n.Addr().Is4In6() {
		if n.Bits() < 96 {
			return netip.Prefix{}
		}
		n = netip.PrefixFrom(n.Addr().Unmap(), n.Bits()-96)
	}
	return n.Masked()
}

// embeddedIPv4 returns the IPv4 address an IPv6 address carries.
func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	b := a.As16()
	switch {
	case nat64.Contains(a), siit.Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}
