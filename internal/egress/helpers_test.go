package egress

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeResolver answers from a table, or from fn when set; it counts the
// lookups of each name.
type fakeResolver struct {
	names map[string][]string
	fn    func(name string, call int) []string

	mu    sync.Mutex
	calls map[string]int
}

func (r *fakeResolver) LookupNetIP(_ context.Context, _, name string) ([]netip.Addr, error) {
	r.mu.Lock()
	if r.calls == nil {
		r.calls = map[string]int{}
	}
	r.calls[name]++
	call := r.calls[name]
	r.mu.Unlock()
	var list []string
	if r.fn != nil {
		list = r.fn(name, call)
	} else {
		list = r.names[name]
	}
	if list == nil {
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	out := make([]netip.Addr, len(list))
	for i, s := range list {
		out[i] = netip.MustParseAddr(s)
	}
	return out, nil
}

func (r *fakeResolver) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[name]
}

// server is a test HTTP server that counts its requests.
type server struct {
	*httptest.Server
	hits atomic.Int64
	port int
}

// newServer starts a server on 127.0.0.1.
func newServer(t *testing.T, h http.HandlerFunc) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startServer(t, ln, h)
}

func startServer(t *testing.T, ln net.Listener, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	if h == nil {
		h = func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	s.Server.Listener.Close()
	s.Server.Listener = ln
	s.Start()
	t.Cleanup(s.Close)
	s.port = ln.Addr().(*net.TCPAddr).Port
	return s
}

// listenOn listens on addr or skips the test: some systems route only
// 127.0.0.1 of the loopback network.
func listenOn(t *testing.T, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	return ln
}

var loopback4 = netip.MustParsePrefix("127.0.0.1/32")

// grants parses grant texts.
func grants(t testing.TB, list ...string) []Grant {
	t.Helper()
	var out []Grant
	for _, s := range list {
		g, err := ParseGrant(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, g)
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

// secretText is a random string that must never show up in an error.
func secretText() string { return "s" + rand.Text() }

// wantErr fails unless err wraps every one of want.
func wantErr(t *testing.T, err error, want ...error) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", want)
	}
	for _, w := range want {
		if !errors.Is(err, w) {
			t.Fatalf("error %q does not wrap %q", err, w)
		}
	}
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustParseURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
