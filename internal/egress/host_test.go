package egress

import (
	"errors"
	"testing"
)

func TestParseHost(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ip   string // the address read, if any
		name string // the name read, if any
	}{
		// IPv4 in every inet_aton form.
		{in: "127.0.0.1", ip: "127.0.0.1"},
		{in: "127.1", ip: "127.0.0.1"},
		{in: "127.0.1", ip: "127.0.0.1"},
		{in: "0x7f.1", ip: "127.0.0.1"},
		{in: "0X7F.0.0.1", ip: "127.0.0.1"},
		{in: "0177.0.0.1", ip: "127.0.0.1"},
		{in: "0177.1", ip: "127.0.0.1"},
		{in: "2130706433", ip: "127.0.0.1"},
		{in: "0x7f000001", ip: "127.0.0.1"},
		{in: "017700000001", ip: "127.0.0.1"},
		{in: "127.0.0.1.", ip: "127.0.0.1"},
		{in: "0", ip: "0.0.0.0"},
		{in: "00", ip: "0.0.0.0"},
		{in: "4294967295", ip: "255.255.255.255"},
		{in: "1.1.65535", ip: "1.1.255.255"},
		{in: "1.16777215", ip: "1.255.255.255"},
		{in: "0xa9.0376.0xa9fe", ip: "169.254.169.254"},
		// IPv6.
		{in: "::1", ip: "::1"},
		{in: "::ffff:127.0.0.1", ip: "127.0.0.1"},
		{in: "FD00:EC2::254", ip: "fd00:ec2::254"},
		// Names.
		{in: "example.com", name: "example.com"},
		{in: "EXAMPLE.Com.", name: "example.com"},
		{in: "localhost", name: "localhost"},
		{in: "1.example", name: "1.example"},
		{in: "0x7f.example", name: "0x7f.example"},
		{in: "123abc", name: "123abc"},
		{in: "0xg1", name: "0xg1"},
		{in: "xn--bcher-kva.example", name: "xn--bcher-kva.example"},
		// Malformed.
		{in: ""},
		{in: "."},
		{in: "1.2.3.4.5"},
		{in: "256.0.0.1"},
		{in: "1.256.0.1"},
		{in: "1.1.65536"},
		{in: "1.16777216"},
		{in: "4294967296"},
		{in: "99999999999999999999999"},
		{in: "08.0.0.1"},
		{in: "0x"},
		{in: "0x.1"},
		{in: "1..1"},
		{in: "1.2.3.4.."},
		{in: "example.1"},
		{in: "example.0x1"},
		{in: "-example.com"},
		{in: "example-.com"},
		{in: "ex_ample.com"},
		{in: "ex ample.com"},
		{in: "b\u00fccher.example"},
		{in: "example..com"},
		{in: "fe80::1%eth0"},
		{in: "1.2.3.4:80"},
		{in: ":::"},
	} {
		h, rf := parseHost(tc.in)
		switch {
		case tc.ip != "":
			if rf != nil || h.ip.String() != tc.ip || h.name != "" {
				t.Errorf("parseHost(%q) = %+v, %v; want address %s", tc.in, h, rf, tc.ip)
			}
		case tc.name != "":
			if rf != nil || h.name != tc.name || h.ip.IsValid() {
				t.Errorf("parseHost(%q) = %+v, %v; want name %s", tc.in, h, rf, tc.name)
			}
		default:
			if rf == nil || !errors.Is(rf, ErrBadRequest) {
				t.Errorf("parseHost(%q) = %+v, %v; want ErrBadRequest", tc.in, h, rf)
			}
		}
	}
}
