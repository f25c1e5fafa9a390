package egress

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRefusedTargets is the SSRF suite for first requests. A canary server
// listens on 127.0.0.1 and every URL that could reach it uses its port, so
// a check that lets one through shows up as a hit. Grants cover every
// host, IP grants are allowed, and the resolver answers for the names:
// the refusals below come from the rules they name, not from a missing
// grant.
func TestRefusedTargets(t *testing.T) {
	canary := newServer(t, nil)
	P := itoa(canary.port)
	res := &fakeResolver{names: map[string][]string{
		"localhost":        {"127.0.0.1", "::1"},
		"internal.test":    {"10.0.0.5"},
		"mixed.test":       {"8.8.8.8", "127.0.0.1"},
		"mixed2.test":      {"127.0.0.1", "8.8.8.8"},
		"mapped.test":      {"::ffff:127.0.0.1"},
		"metadata.test":    {"169.254.169.254"},
		"meta6.test":       {"fd00:ec2::254"},
		"nat64.test":       {"64:ff9b::7f00:1"},
		"sixtofour.test":   {"2002:7f00:1::1"},
		"unspecified.test": {"0.0.0.0"},
		"api.test":         {"8.8.8.8"},
	}}
	granted := []string{
		"127.0.0.1:" + P, "[::1]:" + P, "0.0.0.0:" + P, "localhost:" + P,
		"internal.test:" + P, "mixed.test:" + P, "mixed2.test:" + P, "mapped.test:" + P,
		"metadata.test", "meta6.test", "nat64.test:" + P, "sixtofour.test:" + P, "unspecified.test:" + P,
		"api.test:" + P, "10.0.0.5", "172.16.3.4", "192.168.1.1", "[fc00::1]", "100.64.0.1",
		"[fe80::1]", "169.254.169.254", "[fd00:ec2::254]", "100.100.100.200", "192.0.0.192",
		"192.0.2.10", "240.0.0.1", "255.255.255.255", "224.0.0.1",
	}
	c := New(Policy{AllowIPGrants: true, Resolver: res, Timeout: 5 * time.Second})
	s := c.Session(grants(t, granted...))

	for _, tc := range []struct {
		url  string
		want error
	}{
		// Loopback, by name and by number in every form.
		{"http://localhost:" + P + "/", ErrForbiddenAddress},
		{"http://LOCALHOST:" + P + "/", ErrForbiddenAddress},
		{"http://127.0.0.1:" + P + "/", ErrForbiddenAddress},
		{"http://127.1:" + P + "/", ErrForbiddenAddress},
		{"http://0x7f.1:" + P + "/", ErrForbiddenAddress},
		{"http://0X7F.0.0.1:" + P + "/", ErrForbiddenAddress},
		{"http://0177.0.0.1:" + P + "/", ErrForbiddenAddress},
		{"http://2130706433:" + P + "/", ErrForbiddenAddress},
		{"http://0x7f000001:" + P + "/", ErrForbiddenAddress},
		{"http://017700000001:" + P + "/", ErrForbiddenAddress},
		{"http://127.0.0.1.:" + P + "/", ErrForbiddenAddress},
		{"http://%31%32%37.0.0.1:" + P + "/", ErrBadRequest},
		{"http://[::1]:" + P + "/", ErrForbiddenAddress},
		{"http://[::ffff:127.0.0.1]:" + P + "/", ErrForbiddenAddress},
		{"http://[::ffff:7f00:1]:" + P + "/", ErrForbiddenAddress},
		{"http://[64:ff9b::127.0.0.1]:" + P + "/", ErrForbiddenAddress},
		{"http://[::127.0.0.1]:" + P + "/", ErrForbiddenAddress},
		{"http://0.0.0.0:" + P + "/", ErrForbiddenAddress},
		{"http://0:" + P + "/", ErrForbiddenAddress},
		{"http://[::]:" + P + "/", ErrForbiddenAddress},
		// Private, shared, link-local, metadata and other special ranges.
		{"http://10.0.0.5/", ErrForbiddenAddress},
		{"http://10.5/", ErrForbiddenAddress},
		{"http://172.16.3.4/", ErrForbiddenAddress},
		{"http://192.168.1.1/", ErrForbiddenAddress},
		{"http://[fc00::1]/", ErrForbiddenAddress},
		{"http://100.64.0.1/", ErrForbiddenAddress},
		{"http://[fe80::1]/", ErrForbiddenAddress},
		{"http://169.254.169.254/latest/meta-data/", ErrForbiddenAddress},
		{"http://0xa9fea9fe/latest/meta-data/", ErrForbiddenAddress},
		{"http://[fd00:ec2::254]/", ErrForbiddenAddress},
		{"http://100.100.100.200/", ErrForbiddenAddress},
		{"http://192.0.0.192/", ErrForbiddenAddress},
		{"http://192.0.2.10/", ErrForbiddenAddress},
		{"http://240.0.0.1/", ErrForbiddenAddress},
		{"http://255.255.255.255/", ErrForbiddenAddress},
		{"http://224.0.0.1/", ErrForbiddenAddress},
		// Names that resolve to refused addresses.
		{"http://internal.test:" + P + "/", ErrForbiddenAddress},
		{"http://mixed.test:" + P + "/", ErrForbiddenAddress},
		{"http://mixed2.test:" + P + "/", ErrForbiddenAddress},
		{"http://mapped.test:" + P + "/", ErrForbiddenAddress},
		{"http://metadata.test/", ErrForbiddenAddress},
		{"http://meta6.test/", ErrForbiddenAddress},
		{"http://nat64.test:" + P + "/", ErrForbiddenAddress},
		{"http://sixtofour.test:" + P + "/", ErrForbiddenAddress},
		{"http://unspecified.test:" + P + "/", ErrForbiddenAddress},
		// Malformed hosts are refused, never resolved.
		{"http://1.2.3.4.5:" + P + "/", ErrBadRequest},
		{"http://256.0.0.1:" + P + "/", ErrBadRequest},
		{"http://08.0.0.1:" + P + "/", ErrBadRequest},
		{"http://0x:" + P + "/", ErrBadRequest},
		{"http://api.0x7f:" + P + "/", ErrBadRequest},
		{"http://99999999999:" + P + "/", ErrBadRequest},
		{"http://[fe80::1%25lo]:" + P + "/", ErrBadRequest},
		{"http://api_x.test:" + P + "/", ErrBadRequest},
		{"http://b\u00fccher.test/", ErrBadRequest},
		{"http://api.test:0" + P + "/", ErrBadRequest},
		// Schemes other than http and https, user information, relative URLs.
		{"file:///etc/passwd", ErrBadRequest},
		{"gopher://api.test:" + P + "/_GET", ErrBadRequest},
		{"ftp://api.test/", ErrBadRequest},
		{"dict://127.0.0.1:" + P + "/", ErrBadRequest},
		{"javascript:alert(1)", ErrBadRequest},
		{"http:api.test", ErrBadRequest},
		{"/relative", ErrBadRequest},
		{"//api.test:" + P + "/", ErrBadRequest},
		{"http://user:pass@api.test:" + P + "/", ErrBadRequest},
		{"http://api.test:" + P + "@127.0.0.1:" + P + "/", ErrBadRequest},
		{"http://api.test:" + P + "\\@127.0.0.1:" + P + "/", ErrBadRequest},
		// Not granted.
		{"http://other.test:" + P + "/", ErrNotGranted},
		{"http://api.test:" + itoa(canary.port+1) + "/", ErrNotGranted},
		{"https://api.test/", ErrNotGranted},
		{"http://8.8.8.8/", ErrNotGranted},
	} {
		t.Run(tc.url, func(t *testing.T) {
			_, err := s.Do(ctxT(t), Request{URL: tc.url})
			wantErr(t, err, tc.want)
		})
	}
	if n := canary.hits.Load(); n != 0 {
		t.Fatalf("the canary server was reached %d times", n)
	}
}

// TestRefusalMessages checks that refusals name the rule, and never quote
// the URL's path or query.
func TestRefusalMessages(t *testing.T) {
	secret := secretText()
	res := &fakeResolver{names: map[string][]string{"internal.test": {"10.0.0.5"}}}
	c := New(Policy{Resolver: res, AllowIPGrants: true})
	s := c.Session(grants(t, "internal.test", "10.0.0.5"))
	for _, tc := range []struct{ url, want string }{
		{"http://10.0.0.5/?key=" + secret, "egress: address 10.0.0.5 is private"},
		{"http://169.254.169.254/" + secret, "egress: address 169.254.169.254 is a cloud metadata address"},
		{"http://[64:ff9b::a9fe:a9fe]/" + secret, "egress: address 64:ff9b::a9fe:a9fe embeds 169.254.169.254, which is a cloud metadata address"},
		{"http://internal.test/" + secret, "egress: host internal.test: address 10.0.0.5 is private"},
		{"http://other.test/?" + secret, "egress: other.test port 80 is not granted"},
		{"gopher://x/" + secret, "egress: scheme gopher is not allowed; use http or https"},
		{"http://" + secret + ":" + secret + "@internal.test/", "egress: user information in URLs is not allowed"},
	} {
		_, err := s.Do(ctxT(t), Request{URL: tc.url})
		if err == nil || err.Error() != tc.want {
			t.Errorf("Do(%q) = %v, want %q", tc.url, err, tc.want)
		}
	}
}

// TestAllowedNetsCannotOpenUnspecified: on Linux a connection to 0.0.0.0
// reaches the host itself, so not even an operator's 0.0.0.0/0 opens it.
func TestAllowedNetsCannotOpenUnspecified(t *testing.T) {
	canary := newServer(t, nil)
	P := itoa(canary.port)
	c := New(Policy{AllowIPGrants: true, AllowedNets: []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0"),
	}})
	s := c.Session(grants(t, "0.0.0.0:"+P, "[::]:"+P, "127.0.0.1:"+P))
	for _, u := range []string{"http://0.0.0.0:" + P + "/", "http://0:" + P + "/", "http://[::]:" + P + "/", "http://[::ffff:0.0.0.0]:" + P + "/"} {
		_, err := s.Do(ctxT(t), Request{URL: u})
		wantErr(t, err, ErrForbiddenAddress)
	}
	if n := canary.hits.Load(); n != 0 {
		t.Fatalf("the canary server was reached %d times", n)
	}
	// The same policy does open loopback, so the refusals above are the
	// unspecified rule's.
	if _, err := s.Do(ctxT(t), Request{URL: "http://127.0.0.1:" + P + "/"}); err != nil {
		t.Fatal(err)
	}
}

// TestDNSRebinding: the name answers with an allowed address the first
// time and a loopback address after. The connection goes to the address
// that was checked, and a later connection checks the new answer.
func TestDNSRebinding(t *testing.T) {
	// The allowed server on 127.0.0.2 stands for a public host; the
	// refused one on 127.0.0.1, same port, for an internal service.
	good := startServer(t, listenOn(t, "127.0.0.2:0"), func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Connection", "close")
		w.Write([]byte("public"))
	})
	P := itoa(good.port)
	bad := startServer(t, listenOn(t, "127.0.0.1:"+P), nil)

	res := &fakeResolver{fn: func(_ string, call int) []string {
		if call == 1 {
			return []string{"127.0.0.2"}
		}
		return []string{"127.0.0.1"}
	}}
	c := New(Policy{Resolver: res, AllowedNets: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}})
	var dialled []string
	dial := c.dial
	c.dial = func(ctx context.Context, network, address string) (net.Conn, error) {
		dialled = append(dialled, address)
		return dial(ctx, network, address)
	}
	s := c.Session(grants(t, "rebind.test:"+P))

	resp, err := s.Do(ctxT(t), Request{URL: "http://rebind.test:" + P + "/"})
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Body) != "public" {
		t.Fatalf("body %q, want the allowed server's", resp.Body)
	}
	// The server closed the connection, so this one dials again.
	_, err = s.Do(ctxT(t), Request{URL: "http://rebind.test:" + P + "/"})
	wantErr(t, err, ErrForbiddenAddress)

	if n := bad.hits.Load(); n != 0 {
		t.Fatalf("the rebound address was reached %d times", n)
	}
	if n := res.count("rebind.test"); n != 2 {
		t.Fatalf("%d lookups, want 2 (one per dial)", n)
	}
	if want := []string{"127.0.0.2:" + P}; strings.Join(dialled, ",") != strings.Join(want, ",") {
		t.Fatalf("dialled %v, want %v", dialled, want)
	}
}

// TestDialerControlRechecks: the dialer refuses a refused address even
// when called directly, past every earlier check.
func TestDialerControlRechecks(t *testing.T) {
	canary := newServer(t, nil)
	c := New(Policy{})
	_, err := c.dial(ctxT(t), "tcp", canary.Listener.Addr().String())
	wantErr(t, err, ErrForbiddenAddress)
	if n := canary.hits.Load(); n != 0 {
		t.Fatalf("the canary server was reached %d times", n)
	}
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:80", false},
		{"[::1]:80", false},
		{"[::ffff:127.0.0.1]:80", false},
		{"169.254.169.254:80", false},
		{"[fe80::1%lo]:80", false},
		{"0.0.0.0:80", false},
		{"not an address", false},
		{"8.8.8.8:443", true},
		{"[2606:4700:4700::1111]:443", true},
	} {
		err := c.control("tcp", tc.addr, nil)
		if (err == nil) != tc.ok {
			t.Errorf("control(%q) = %v, want ok %v", tc.addr, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("control(%q) = %v, not ErrForbiddenAddress", tc.addr, err)
		}
	}
}

// TestRedirects checks each hop of a redirect like a first request.
func TestRedirects(t *testing.T) {
	other := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("other referer=" + r.Header.Get("Referer")))
	})
	var to string
	origin := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hop" {
			n := len(r.URL.Query().Get("n"))
			if n == 0 {
				w.Write([]byte("done"))
				return
			}
			http.Redirect(w, r, "/hop?n="+strings.Repeat("x", n-1), http.StatusFound)
			return
		}
		http.Redirect(w, r, to, http.StatusFound)
	})
	A, B := itoa(origin.port), itoa(other.port)
	res := &fakeResolver{names: map[string][]string{
		"a.test":         {"127.0.0.1"},
		"b.test":         {"127.0.0.1"},
		"ungranted.test": {"127.0.0.1"},
		"private.test":   {"10.0.0.5"},
		"meta.test":      {"169.254.169.254"},
	}}
	policy := Policy{Resolver: res, AllowedNets: []netip.Prefix{loopback4}}
	c := New(policy)
	g := grants(t, "a.test:"+A, "b.test:"+B, "private.test:"+B, "meta.test")

	for _, tc := range []struct {
		name, location string
		want           []error
	}{
		{"to a host not granted", "http://ungranted.test:" + B + "/", []error{ErrRedirect, ErrNotGranted}},
		{"to a granted host on another port", "http://a.test:" + B + "/", []error{ErrRedirect, ErrNotGranted}},
		{"to a loopback IP", "http://127.0.0.1:" + B + "/", []error{ErrRedirect, ErrNotGranted}},
		{"to metadata by number", "http://169.254.169.254/latest/meta-data/", []error{ErrRedirect, ErrForbiddenAddress}},
		{"to metadata by name", "http://meta.test/latest/meta-data/", []error{ErrRedirect, ErrForbiddenAddress}},
		{"to a granted name resolving to a private address", "http://private.test:" + B + "/", []error{ErrRedirect, ErrForbiddenAddress}},
		{"to file", "file:///etc/passwd", []error{ErrRedirect, ErrBadRequest}},
		{"to gopher", "gopher://b.test:" + B + "/", []error{ErrRedirect, ErrBadRequest}},
		{"to user information", "http://u:p@b.test:" + B + "/", []error{ErrRedirect, ErrBadRequest}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			to = tc.location
			_, err := c.Session(g).Do(ctxT(t), Request{URL: "http://a.test:" + A + "/start"})
			wantErr(t, err, tc.want...)
		})
	}
	if n := other.hits.Load(); n != 0 {
		t.Fatalf("a refused redirect reached the other server %d times", n)
	}

	t.Run("to a granted host", func(t *testing.T) {
		secret := secretText()
		to = "http://b.test:" + B + "/"
		s := c.Session(g)
		resp, err := s.Do(ctxT(t), Request{URL: "http://a.test:" + A + "/start?key=" + secret})
		if err != nil {
			t.Fatal(err)
		}
		if string(resp.Body) != "other referer=" {
			t.Fatalf("body %q: the next host must not learn the previous URL", resp.Body)
		}
		if s.Used() != 2 {
			t.Fatalf("used %d requests, want 2", s.Used())
		}
	})
	t.Run("at most five", func(t *testing.T) {
		s := c.Session(g)
		if _, err := s.Do(ctxT(t), Request{URL: "http://a.test:" + A + "/hop?n=xxxxx"}); err != nil {
			t.Fatalf("five redirects: %v", err)
		}
		before := origin.hits.Load()
		_, err := s.Do(ctxT(t), Request{URL: "http://a.test:" + A + "/hop?n=xxxxxx"})
		wantErr(t, err, ErrRedirect)
		if n := origin.hits.Load() - before; n != 6 {
			t.Fatalf("%d requests for six redirects, want 6", n)
		}
	})
	t.Run("redirects count against the budget", func(t *testing.T) {
		p := policy
		p.MaxRequests = 3
		s := New(p).Session(g)
		_, err := s.Do(ctxT(t), Request{URL: "http://a.test:" + A + "/hop?n=xxx"})
		wantErr(t, err, ErrRedirect, ErrTooManyRequests)
	})
}

func TestTooManyRequests(t *testing.T) {
	srv := newServer(t, nil)
	P := itoa(srv.port)
	c := New(Policy{MaxRequests: 3, AllowIPGrants: true, AllowedNets: []netip.Prefix{loopback4}})
	s := c.Session(grants(t, "127.0.0.1:"+P))
	for i := range 3 {
		if _, err := s.Do(ctxT(t), Request{URL: "http://127.0.0.1:" + P + "/"}); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	_, err := s.Do(ctxT(t), Request{URL: "http://127.0.0.1:" + P + "/"})
	wantErr(t, err, ErrTooManyRequests)
	if n := srv.hits.Load(); n != 3 {
		t.Fatalf("server saw %d requests, want 3", n)
	}
	// A new invocation has a new budget, and concurrent requests cannot
	// overspend it.
	s = c.Session(grants(t, "127.0.0.1:"+P))
	var wg sync.WaitGroup
	var ok, refused atomic.Int64
	for range 10 {
		wg.Go(func() {
			_, err := s.Do(ctxT(t), Request{URL: "http://127.0.0.1:" + P + "/"})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrTooManyRequests):
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 3 || refused.Load() != 7 || s.Used() != 3 {
		t.Fatalf("%d made, %d refused, %d used; want 3, 7, 3", ok.Load(), refused.Load(), s.Used())
	}
}

func TestBodyLimits(t *testing.T) {
	const limit = 1000
	marker := secretText()
	body := func(n int) []byte { return []byte(marker + strings.Repeat("x", n-len(marker))) }
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/exact":
			w.Write(body(limit))
		case "/over":
			w.Write(body(limit + 1))
		case "/chunked":
			w.Write(body(limit / 2))
			w.(http.Flusher).Flush()
			w.Write(body(limit))
		case "/headers":
			for i := range MaxResponseHeaders + 1 {
				w.Header().Set("X-H"+itoa(i), "v")
			}
		case "/bigheader":
			w.Header().Set("X-Big", strings.Repeat("v", MaxResponseHeaderBytes+1))
		case "/echo":
			w.Write([]byte(itoa(int(r.ContentLength))))
		}
	})
	P := itoa(srv.port)
	c := New(Policy{MaxResponseBytes: limit, MaxRequestBytes: limit, AllowIPGrants: true, AllowedNets: []netip.Prefix{loopback4}})
	s := c.Session(grants(t, "127.0.0.1:"+P))
	base := "http://127.0.0.1:" + P

	resp, err := s.Do(ctxT(t), Request{URL: base + "/exact"})
	if err != nil || len(resp.Body) != limit {
		t.Fatalf("a body of exactly the limit: %v", err)
	}
	for _, path := range []string{"/over", "/chunked", "/headers", "/bigheader"} {
		_, err := s.Do(ctxT(t), Request{URL: base + path})
		wantErr(t, err, ErrTooLarge)
		if strings.Contains(err.Error(), marker) {
			t.Fatalf("%s: the error quotes the response: %v", path, err)
		}
	}

	resp, err = s.Do(ctxT(t), Request{Method: "POST", URL: base + "/echo", Body: body(limit)})
	if err != nil || string(resp.Body) != itoa(limit) {
		t.Fatalf("a request body of exactly the limit: %v", err)
	}
	before := srv.hits.Load()
	_, err = s.Do(ctxT(t), Request{Method: "POST", URL: base + "/echo", Body: body(limit + 1)})
	wantErr(t, err, ErrTooLarge)
	if srv.hits.Load() != before {
		t.Fatal("a request body over the limit was sent")
	}
}

func TestRequestHeaderLimits(t *testing.T) {
	c := New(Policy{Resolver: &fakeResolver{}})
	s := c.Session(grants(t, "api.test"))
	many := http.Header{}
	for i := range MaxHeaders + 1 {
		many.Set("X-H"+itoa(i), "v")
	}
	for _, tc := range []struct {
		name   string
		header http.Header
		want   error
	}{
		{"too many", many, ErrTooLarge},
		{"too big", http.Header{"X-Big": {strings.Repeat("v", MaxHeaderBytes)}}, ErrTooLarge},
		{"CRLF in a value", http.Header{"X-A": {"v\r\nX-Injected: 1"}}, ErrBadRequest},
		{"NUL in a value", http.Header{"X-A": {"v\x00"}}, ErrBadRequest},
		{"bad name", http.Header{"X A": {"v"}}, ErrBadRequest},
		{"empty name", http.Header{"": {"v"}}, ErrBadRequest},
		{"Host elsewhere", http.Header{"Host": {"internal.test"}}, ErrBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Do(ctxT(t), Request{URL: "http://api.test/", Header: tc.header})
			wantErr(t, err, tc.want)
		})
	}
	for _, m := range []string{"CONNECT", "TRACE", "GET /x", "G\x00T"} {
		_, err := s.Do(ctxT(t), Request{Method: m, URL: "http://api.test/"})
		wantErr(t, err, ErrBadRequest)
	}
	_, err := s.Do(ctxT(t), Request{URL: "http://api.test/" + strings.Repeat("a", MaxURLLength)})
	wantErr(t, err, ErrTooLarge)
}

// TestOutboundHeaders: the server sees the function's headers, minus the
// hop-by-hop ones, and nothing of pave's.
func TestOutboundHeaders(t *testing.T) {
	got := make(chan *http.Request, 1)
	srv := newServer(t, func(_ http.ResponseWriter, r *http.Request) { got <- r })
	P := itoa(srv.port)
	res := &fakeResolver{names: map[string][]string{"api.test": {"127.0.0.1"}}}
	c := New(Policy{Resolver: res, AllowedNets: []netip.Prefix{loopback4}})
	s := c.Session(grants(t, "api.test:"+P))
	token := secretText()

	_, err := s.Do(ctxT(t), Request{Method: "POST", URL: "http://API.test:" + P + "/x", Body: []byte("{}"), Header: http.Header{
		"Authorization":       {"Bearer " + token},
		"X-Keep":              {"1"},
		"connection":          {"X-Drop, keep-alive"},
		"X-Drop":              {"1"},
		"Keep-Alive":          {"timeout=5"},
		"Proxy-Authorization": {"Basic " + token},
		"Te":                  {"trailers"},
		"Upgrade":             {"websocket"},
		"Transfer-Encoding":   {"chunked"},
		"Content-Length":      {"99"},
		"Host":                {"api.test:" + P},
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.Header.Get("Authorization") != "Bearer "+token || r.Header.Get("X-Keep") != "1" {
		t.Errorf("the function's own headers were not sent: %v", r.Header)
	}
	for _, h := range []string{"X-Drop", "Keep-Alive", "Proxy-Authorization", "Upgrade", "Te"} {
		if _, ok := r.Header[h]; ok {
			t.Errorf("hop-by-hop header %s was sent", h)
		}
	}
	if r.Host != "api.test:"+P || r.ContentLength != 2 || len(r.TransferEncoding) != 0 {
		t.Errorf("Host %q, Content-Length %d, Transfer-Encoding %v", r.Host, r.ContentLength, r.TransferEncoding)
	}

	if _, err := s.Do(ctxT(t), Request{URL: "http://api.test:" + P + "/"}); err != nil {
		t.Fatal(err)
	}
	r = <-got
	for _, h := range []string{"Authorization", "Cookie", "Proxy-Authorization"} {
		if _, ok := r.Header[h]; ok {
			t.Errorf("%s sent without the function asking", h)
		}
	}
}

func TestTimeouts(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow-body" {
			w.Write([]byte("partial"))
			w.(http.Flusher).Flush()
		}
		<-r.Context().Done()
	})
	P := itoa(srv.port)
	policy := Policy{AllowIPGrants: true, AllowedNets: []netip.Prefix{loopback4}}
	g := grants(t, "127.0.0.1:"+P)
	url := "http://127.0.0.1:" + P

	t.Run("request timeout", func(t *testing.T) {
		p := policy
		p.Timeout = 50 * time.Millisecond
		for _, path := range []string{"/slow", "/slow-body"} {
			_, err := New(p).Session(g).Do(ctxT(t), Request{URL: url + path})
			wantErr(t, err, ErrTimeout, context.DeadlineExceeded)
		}
	})
	t.Run("invocation deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctxT(t), 50*time.Millisecond)
		defer cancel()
		_, err := New(policy).Session(g).Do(ctx, Request{URL: url + "/slow"})
		wantErr(t, err, ErrTimeout, context.DeadlineExceeded)
	})
	t.Run("invocation cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctxT(t))
		cancel()
		_, err := New(policy).Session(g).Do(ctx, Request{URL: url + "/slow"})
		wantErr(t, err, context.Canceled)
	})
}

// TestProxyEnvironmentIgnored: with every proxy variable pointing at a
// server, requests still go straight to the host.
func TestProxyEnvironmentIgnored(t *testing.T) {
	proxy := newServer(t, nil)
	target := newServer(t, nil)
	for _, v := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"} {
		t.Setenv(v, proxy.URL)
	}
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")
	P := itoa(target.port)
	res := &fakeResolver{names: map[string][]string{"api.test": {"127.0.0.1"}}}
	c := New(Policy{Resolver: res, AllowedNets: []netip.Prefix{loopback4}})
	if c.transport.Proxy != nil {
		t.Fatal("the transport has a proxy function")
	}
	if _, err := c.Session(grants(t, "api.test:"+P)).Do(ctxT(t), Request{URL: "http://api.test:" + P + "/"}); err != nil {
		t.Fatal(err)
	}
	if proxy.hits.Load() != 0 || target.hits.Load() != 1 {
		t.Fatalf("proxy saw %d requests, target %d", proxy.hits.Load(), target.hits.Load())
	}
}

// TestUpstreamErrorsAreOpaque: what a broken server sends never shows up
// in the error.
func TestUpstreamErrorsAreOpaque(t *testing.T) {
	marker := secretText()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			conn.Read(buf)
			conn.Write([]byte("NOT-HTTP " + marker + "\r\n\r\n"))
			conn.Close()
		}
	}()
	P := itoa(ln.Addr().(*net.TCPAddr).Port)
	c := New(Policy{AllowIPGrants: true, AllowedNets: []netip.Prefix{loopback4}})
	_, err = c.Session(grants(t, "127.0.0.1:"+P)).Do(ctxT(t), Request{URL: "http://127.0.0.1:" + P + "/"})
	wantErr(t, err, ErrUpstream)
	if strings.Contains(err.Error(), marker) {
		t.Fatalf("the error quotes the server: %v", err)
	}
}

func TestGrantedHosts(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(r.Host)) })
	P := itoa(srv.port)
	res := &fakeResolver{names: map[string][]string{
		"api.test":           {"127.0.0.1"},
		"a.svc.test":         {"127.0.0.1"},
		"a.b.svc.test":       {"127.0.0.1"},
		"svc.test":           {"127.0.0.1"},
		"evilsvc.test":       {"127.0.0.1"},
		"svc.test.evil.test": {"127.0.0.1"},
	}}
	policy := Policy{Resolver: res, AllowedNets: []netip.Prefix{loopback4}}
	g := grants(t, "api.test:"+P, "*.svc.test:"+P, "127.0.0.1:"+P, "nx.test:"+P)

	for _, tc := range []struct {
		name   string
		policy func(*Policy)
		url    string
		want   error
	}{
		{"granted name", nil, "http://api.test:" + P + "/", nil},
		{"granted name, trailing dot", nil, "http://api.test.:" + P + "/", nil},
		{"wildcard, one label", nil, "http://a.svc.test:" + P + "/", nil},
		{"wildcard, two labels", nil, "http://a.b.svc.test:" + P + "/", nil},
		{"wildcard does not match its base", nil, "http://svc.test:" + P + "/", ErrNotGranted},
		{"wildcard is label-aligned", nil, "http://evilsvc.test:" + P + "/", ErrNotGranted},
		{"wildcard is a suffix", nil, "http://svc.test.evil.test:" + P + "/", ErrNotGranted},
		{"other port", nil, "http://api.test:" + itoa(srv.port+1) + "/", ErrNotGranted},
		{"default port", nil, "http://api.test/", ErrNotGranted},
		{"name that does not resolve", nil, "http://nx.test:" + P + "/", ErrUpstream},
		{"IP grants off", nil, "http://127.0.0.1:" + P + "/", ErrNotGranted},
		{"IP grant", func(p *Policy) { p.AllowIPGrants = true }, "http://127.0.0.1:" + P + "/", nil},
		{"IP grant, other spelling", func(p *Policy) { p.AllowIPGrants = true }, "http://127.1:" + P + "/", nil},
		{"IP grant, mapped", func(p *Policy) { p.AllowIPGrants = true }, "http://[::ffff:127.0.0.1]:" + P + "/", nil},
		{"loopback not allowed", func(p *Policy) { p.AllowedNets = nil }, "http://api.test:" + P + "/", ErrForbiddenAddress},
		{"private does not open loopback", func(p *Policy) { p.AllowedNets, p.AllowPrivate = nil, true }, "http://api.test:" + P + "/", ErrForbiddenAddress},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := policy
			if tc.policy != nil {
				tc.policy(&p)
			}
			resp, err := New(p).Session(g).Do(ctxT(t), Request{URL: tc.url})
			if tc.want != nil {
				wantErr(t, err, tc.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != http.StatusOK {
				t.Fatalf("status %d", resp.Status)
			}
		})
	}
}

// TestTargetPorts checks the default ports without a network.
func TestTargetPorts(t *testing.T) {
	s := New(Policy{}).Session(grants(t, "api.example.com", "hooks.example.org:8443"))
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://api.example.com/", true},
		{"https://api.example.com/", true},
		{"http://api.example.com:80/", true},
		{"https://api.example.com:443/", true},
		{"HTTPS://API.EXAMPLE.COM/", true},
		{"http://api.example.com:443/", false},
		{"https://api.example.com:80/", false},
		{"http://api.example.com:8080/", false},
		{"https://hooks.example.org:8443/", true},
		{"http://hooks.example.org:8443/", true},
		{"https://hooks.example.org/", false},
		{"https://x.api.example.com/", false},
	} {
		u := mustParseURL(t, tc.url)
		_, rf := s.target(u)
		if (rf == nil) != tc.ok {
			t.Errorf("%s: %v, want ok %v", tc.url, rf, tc.ok)
		}
	}
}

func TestSessionIgnoresInvalidGrants(t *testing.T) {
	s := New(Policy{}).Session([]Grant{
		{Host: "com", Wildcard: true},
		{Host: "API.example.com"},
		{Host: "", Wildcard: true},
		{Host: "api.example.com", Port: 70000},
		{Host: "10.0.0.1"},
	})
	if len(s.grants) != 0 {
		t.Fatalf("kept %v", s.grants)
	}
	for _, u := range []string{"https://example.com/", "https://api.example.com/"} {
		_, rf := s.target(mustParseURL(t, u))
		if rf == nil || !errors.Is(rf, ErrNotGranted) {
			t.Errorf("%s: %v", u, rf)
		}
	}
}
