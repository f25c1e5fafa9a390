package egress_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"

	"github.com/pave-dev/pave/internal/egress"
)

func Example() {
	// The function's manifest: capabilities: {http: [...]}.
	var grants []egress.Grant
	for _, s := range []string{"api.example.com", "*.example.org:8443"} {
		g, err := egress.ParseGrant(s)
		if err != nil {
			fmt.Println(err)
			return
		}
		grants = append(grants, g)
	}

	// One client per daemon, one session per invocation.
	client := egress.New(egress.Policy{})
	session := client.Session(grants)

	// None of these reach the network.
	for _, u := range []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://0x7f.1/admin",
		"http://[::ffff:10.0.0.1]/",
		"https://internal.example.net/",
		"https://hooks.example.org/",
		"file:///etc/passwd",
		"https://token:x@api.example.com/",
	} {
		_, err := session.Do(context.Background(), egress.Request{URL: u})
		fmt.Println(err)
	}
	// Output:
	// egress: address 169.254.169.254 is a cloud metadata address
	// egress: address 127.0.0.1 is loopback
	// egress: address 10.0.0.1 is private
	// egress: internal.example.net port 443 is not granted
	// egress: hooks.example.org port 443 is not granted
	// egress: scheme file is not allowed; use http or https
	// egress: user information in URLs is not allowed
}

// staticResolver resolves every name to one address.
type staticResolver netip.Addr

func (r staticResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return []netip.Addr{netip.Addr(r)}, nil
}

func ExampleSession_Do() {
	// A stand-in for api.example.com, on loopback.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s", r.Host)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)

	// Loopback is refused unless the operator opens it.
	client := egress.New(egress.Policy{
		AllowedNets: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Resolver:    staticResolver(netip.MustParseAddr("127.0.0.1")),
	})
	g, err := egress.ParseGrant("api.example.com:" + u.Port())
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := client.Session([]egress.Grant{g}).Do(context.Background(), egress.Request{
		Method: "GET",
		URL:    "http://api.example.com:" + u.Port() + "/",
		Header: http.Header{"Accept": {"text/plain"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Status, len(resp.Body) > 0)
	// Output: 200 true
}

func ExampleCheckAddr() {
	strict := egress.Policy{}
	lan := egress.Policy{AllowPrivate: true}
	for _, s := range []string{"8.8.8.8", "10.0.0.5", "169.254.169.254", "64:ff9b::7f00:1"} {
		a := netip.MustParseAddr(s)
		fmt.Printf("%s: %v / %v\n", s, egress.CheckAddr(a, strict), egress.CheckAddr(a, lan))
	}
	// Output:
	// 8.8.8.8: <nil> / <nil>
	// 10.0.0.5: egress: address 10.0.0.5 is private / <nil>
	// 169.254.169.254: egress: address 169.254.169.254 is a cloud metadata address / egress: address 169.254.169.254 is a cloud metadata address
	// 64:ff9b::7f00:1: egress: address 64:ff9b::7f00:1 embeds 127.0.0.1, which is loopback / egress: address 64:ff9b::7f00:1 embeds 127.0.0.1, which is loopback
}
