package egress

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// Defaults and fixed limits.
const (
	DefaultMaxRequests      = 16
	DefaultTimeout          = 10 * time.Second
	DefaultMaxResponseBytes = 1 << 20
	DefaultMaxRequestBytes  = 1 << 20

	// MaxRedirects is how many redirects one request follows.
	MaxRedirects = 5
	// MaxHeaders and MaxHeaderBytes bound a function's request headers:
	// the number of values, and the sum of the names' and values' lengths.
	MaxHeaders     = 64
	MaxHeaderBytes = 16 << 10
	// MaxResponseHeaders and MaxResponseHeaderBytes bound a response's
	// headers in the same way.
	MaxResponseHeaders     = 256
	MaxResponseHeaderBytes = 64 << 10
	// MaxURLLength bounds the URL of a request.
	MaxURLLength = 8 << 10

	// maxDialAttempts is how many of a name's addresses are tried in turn.
	maxDialAttempts = 4
)

// Resolver looks up the addresses of a name; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Policy is the operator's daemon-wide configuration of outbound HTTP.
// The zero value is the strictest policy with the default limits.
type Policy struct {
	// AllowPrivate opens the private-use ranges (see CheckAddr).
	AllowPrivate bool
	// AllowedNets opens these prefixes, whatever range they are in,
	// except the unspecified, broadcast and multicast addresses.
	AllowedNets []netip.Prefix
	// AllowIPGrants makes grants of IP addresses count; without it only
	// grants of names do.
	AllowIPGrants bool
	// Resolver resolves names; nil means net.DefaultResolver.
	Resolver Resolver

	// MaxRequests is how many requests, redirects included, one session
	// (one invocation) may make. 0 means DefaultMaxRequests.
	MaxRequests int
	// Timeout bounds each request, from the first connection to the last
	// byte of the response body, redirects included. The invocation's
	// context bounds it too. 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxResponseBytes and MaxRequestBytes bound the bodies. 0 means
	// the defaults.
	MaxResponseBytes, MaxRequestBytes int64
}

// withDefaults fills in the zero or negative limits and copies
// AllowedNets in normal form.
func (p Policy) withDefaults() Policy {
	if p.Resolver == nil {
		p.Resolver = net.DefaultResolver
	}
	if p.MaxRequests <= 0 {
		p.MaxRequests = DefaultMaxRequests
	}
	if p.Timeout <= 0 {
		p.Timeout = DefaultTimeout
	}
	if p.MaxResponseBytes <= 0 {
		p.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if p.MaxRequestBytes <= 0 {
		p.MaxRequestBytes = DefaultMaxRequestBytes
	}
	var nets []netip.Prefix
	for _, n := range p.AllowedNets {
		if n = normalizePrefix(n); n.IsValid() {
			nets = append(nets, n)
		}
	}
	p.AllowedNets = nets
	return p
}

// Client makes the outbound requests of all functions. Make one per
// daemon: it holds the pool of connections. It is safe for concurrent
// use.
type Client struct {
	policy    Policy
	transport *http.Transport
	// dial connects to a checked address; the net.Dialer's in production.
	dial func(ctx context.Context, network, address string) (net.Conn, error)
}

// New returns a client that applies p.
func New(p Policy) *Client {
	p = p.withDefaults()
	c := &Client{policy: p}
	d := &net.Dialer{Timeout: p.Timeout, KeepAlive: 30 * time.Second, Control: c.control}
	c.dial = d.DialContext
	c.transport = &http.Transport{
		// Never a proxy, whatever the environment says: a proxy would
		// make the connections this package checks.
		Proxy:       nil,
		DialContext: c.dialContext,
		// The system roots; no client certificate, no way to skip
		// verification.
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: p.Timeout,
		ForceAttemptHTTP2:   true,
		// Enough idle connections per host for a function's default
		// concurrency (32): with fewer, a busy function's calls to one
		// upstream dial and tear down a connection each, which on
		// loopback cost more than the request.
		MaxIdleConns:           256,
		MaxIdleConnsPerHost:    32,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: MaxResponseHeaderBytes,
	}
	return c
}

// CloseIdleConnections closes the pooled connections that are not in use.
func (c *Client) CloseIdleConnections() { c.transport.CloseIdleConnections() }

// dialContext is the transport's only way to the network. It resolves the
// host itself, refuses the connection if any of the host's addresses is
// refused, and connects only to those checked addresses.
func (c *Client) dialContext(ctx context.Context, _, address string) (net.Conn, error) {
	hostPart, portPart, err := net.SplitHostPort(address)
	if err != nil {
		return nil, refuse(ErrBadRequest, "malformed address")
	}
	port, ok := parsePort(portPart)
	if !ok {
		return nil, refuse(ErrBadRequest, "invalid port")
	}
	h, rf := parseHost(hostPart)
	if rf != nil {
		return nil, rf
	}
	addrs, err := c.addresses(ctx, h)
	if err != nil {
		return nil, err
	}
	var last error
	for i, a := range addrs {
		if i == maxDialAttempts || ctx.Err() != nil {
			break
		}
		conn, err := c.dial(ctx, "tcp", netip.AddrPortFrom(a, uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		last = err
	}
	if last == nil {
		last = ctx.Err()
	}
	return nil, last
}

// addresses returns the checked addresses of h: the address itself, or
// every address the name resolves to, all of which must be allowed.
func (c *Client) addresses(ctx context.Context, h host) ([]netip.Addr, error) {
	if h.ip.IsValid() {
		if rf := checkAddr(h.ip, c.policy); rf != nil {
			return nil, rf
		}
		return []netip.Addr{h.ip}, nil
	}
	addrs, err := c.policy.Resolver.LookupNetIP(ctx, "ip", h.name)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &refusal{kinds: []error{ErrUpstream}, msg: "cannot resolve host " + h.name, cause: err}
	}
	if len(addrs) == 0 {
		return nil, refuse(ErrUpstream, "host %s has no addresses", h.name)
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if rf := checkAddr(a, c.policy); rf != nil {
			rf.msg = "host " + h.name + ": " + rf.msg
			return nil, rf
		}
		out = append(out, a.Unmap())
	}
	return out, nil
}

// control runs after the socket is made and before it connects: a last
// check that the address about to be connected to is one the policy
// allows, whatever route led to it.
func (c *Client) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return refuse(ErrForbiddenAddress, "cannot check the socket address")
	}
	if rf := checkAddr(ap.Addr(), c.policy); rf != nil {
		return rf
	}
	return nil
}
