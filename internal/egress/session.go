package egress

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// Request is a function's outbound request.
type Request struct {
	// Method defaults to GET.
	Method string
	// URL is an absolute http or https URL.
	URL string
	// Header is sent as given, except for hop-by-hop headers, Host and
	// Content-Length.
	Header http.Header
	Body   []byte
}

// Response is the final response to a Request, after redirects.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Session is one invocation's use of the http capability: its grants and
// its budget of requests. It is safe for concurrent use.
type Session struct {
	c      *Client
	grants []Grant

	mu   sync.Mutex
	used int
}

// Session starts the requests of one invocation with the function's
// grants. Grants that ParseGrant would not return are ignored, and so are
// IP address grants unless the policy allows them.
func (c *Client) Session(grants []Grant) *Session {
	s := &Session{c: c}
	for _, g := range grants {
		if g.valid() && (c.policy.AllowIPGrants || !g.IsIP()) {
			s.grants = append(s.grants, g)
		}
	}
	return s
}

// Used returns how many requests the session has made, redirects
// included.
func (s *Session) Used() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used
}

// take spends one request of the budget.
func (s *Session) take() *refusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used >= s.c.policy.MaxRequests {
		return refuse(ErrTooManyRequests, "at most %d requests per invocation", s.c.policy.MaxRequests)
	}
	s.used++
	return nil
}

// Do makes the request r, following redirects, and returns the final
// response with its whole body.
//
// The request, and each redirect, counts against the session's budget once
// it has passed the checks that need no network (URL, grant, headers,
// body size); one refused later, when its host's addresses are checked,
// has still cost a lookup and counts.
//
// Every refusal wraps one of the package's sentinel errors. An invocation
// that ends first makes Do return an error wrapping the context's error
// (and ErrTimeout for a deadline).
func (s *Session) Do(ctx context.Context, r Request) (*Response, error) {
	p := s.c.policy
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	if !validToken(method) {
		return nil, refuse(ErrBadRequest, "invalid method")
	}
	if strings.EqualFold(method, http.MethodConnect) || strings.EqualFold(method, "TRACE") {
		return nil, refuse(ErrBadRequest, "method %s is not allowed", method)
	}
	if int64(len(r.Body)) > p.MaxRequestBytes {
		return nil, refuse(ErrTooLarge, "request body exceeds %d bytes", p.MaxRequestBytes)
	}
	if len(r.URL) > MaxURLLength {
		return nil, refuse(ErrTooLarge, "URL exceeds %d bytes", MaxURLLength)
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		return nil, refuse(ErrBadRequest, "malformed URL")
	}
	h, rf := s.target(u)
	if rf != nil {
		return nil, rf
	}
	header, rf := outboundHeader(r.Header, u.Host, h)
	if rf != nil {
		return nil, rf
	}
	if rf := s.take(); rf != nil {
		return nil, rf
	}

	rctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	var body io.Reader
	if len(r.Body) > 0 {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(rctx, method, u.String(), body)
	if err != nil {
		return nil, refuse(ErrBadRequest, "malformed request")
	}
	req.Header = header
	referer := header.Values("Referer")
	redirects := 0
	hc := &http.Client{
		Transport: s.c.transport,
		CheckRedirect: func(next *http.Request, via []*http.Request) error {
			if len(via) > MaxRedirects {
				return refuse(ErrRedirect, "more than %d redirects", MaxRedirects)
			}
			if _, rf := s.target(next.URL); rf != nil {
				return redirected(rf)
			}
			next.Host = ""
			// The previous URL, query included, is no business of the
			// next host; keep only what the function sent.
			next.Header.Del("Referer")
			if len(referer) > 0 {
				next.Header["Referer"] = referer
			}
			if rf := s.take(); rf != nil {
				return redirected(rf)
			}
			redirects = len(via)
			return nil
		},
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, s.failure(err, ctx, rctx, redirects > 0)
	}
	defer resp.Body.Close()
	if n, size := headerSize(resp.Header); n > MaxResponseHeaders || size > MaxResponseHeaderBytes {
		return nil, refuse(ErrTooLarge, "response headers exceed %d values or %d bytes", MaxResponseHeaders, MaxResponseHeaderBytes)
	}
	if method != http.MethodHead && resp.ContentLength > p.MaxResponseBytes {
		return nil, refuse(ErrTooLarge, "response body exceeds %d bytes", p.MaxResponseBytes)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, p.MaxResponseBytes+1))
	if err != nil {
		return nil, s.failure(err, ctx, rctx, false)
	}
	if int64(len(b)) > p.MaxResponseBytes {
		return nil, refuse(ErrTooLarge, "response body exceeds %d bytes", p.MaxResponseBytes)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// target checks a request's or a redirect's URL: its scheme, user
// information, host and port, the address if the host is one, and the
// grants. It writes the host back into u in its one canonical form, which
// is also what the dialer reads.
func (s *Session) target(u *url.URL) (host, *refusal) {
	var defaultPort int
	switch u.Scheme {
	case "http":
		defaultPort = 80
	case "https":
		defaultPort = 443
	case "":
		return host{}, refuse(ErrBadRequest, "the URL must be absolute")
	default:
		return host{}, refuse(ErrBadRequest, "scheme %s is not allowed; use http or https", clip(u.Scheme))
	}
	if u.Opaque != "" || u.Host == "" {
		return host{}, refuse(ErrBadRequest, "URL has no host")
	}
	if u.User != nil {
		return host{}, refuse(ErrBadRequest, "user information in URLs is not allowed")
	}
	h, rf := parseHost(u.Hostname())
	if rf != nil {
		return host{}, rf
	}
	port, ps := defaultPort, u.Port()
	if ps != "" {
		var ok bool
		if port, ok = parsePort(ps); !ok {
			return host{}, refuse(ErrBadRequest, "invalid port")
		}
	}
	if h.ip.IsValid() {
		if rf := checkAddr(h.ip, s.c.policy); rf != nil {
			return host{}, rf
		}
	}
	granted := false
	for _, g := range s.grants {
		if g.matches(h, port, defaultPort) {
			granted = true
			break
		}
	}
	if !granted {
		return host{}, refuse(ErrNotGranted, "%s port %d is not granted", h, port)
	}
	u.Host = h.urlHost()
	if ps != "" {
		u.Host += ":" + strconv.Itoa(port)
	}
	return h, nil
}

// hopByHop are the headers that describe one connection rather than the
// request (RFC 9110, section 7.6.1), and Proxy-Authorization, which is
// for a proxy pave never uses.
var hopByHop = map[string]bool{
	"Connection":          true,
	"Proxy-Connection":    true,
	"Keep-Alive":          true,
	"Proxy-Authenticate":  true,
	"Proxy-Authorization": true,
	"Te":                  true,
	"Trailer":             true,
	"Transfer-Encoding":   true,
	"Upgrade":             true,
	// Set by the transport from the body.
	"Content-Length": true,
}

// outboundHeader returns the headers to send for a function's header in:
// valid names and values only, within the limits, without hop-by-hop
// headers or those named in Connection. A Host header must name the URL's
// host; the one sent is always the URL's. authority is the URL's host
// with any port.
func outboundHeader(in http.Header, authority string, h host) (http.Header, *refusal) {
	n, size := headerSize(in)
	if n > MaxHeaders || size > MaxHeaderBytes {
		return nil, refuse(ErrTooLarge, "request headers exceed %d values or %d bytes", MaxHeaders, MaxHeaderBytes)
	}
	drop := map[string]bool{}
	for k, vs := range in {
		if !validToken(k) {
			return nil, refuse(ErrBadRequest, "invalid header name")
		}
		for _, v := range vs {
			if !validHeaderValue(v) {
				return nil, refuse(ErrBadRequest, "invalid header value")
			}
		}
		if textproto.CanonicalMIMEHeaderKey(k) == "Connection" {
			for _, v := range vs {
				for t := range strings.SplitSeq(v, ",") {
					drop[textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(t))] = true
				}
			}
		}
	}
	out := http.Header{}
	for k, vs := range in {
		k = textproto.CanonicalMIMEHeaderKey(k)
		if k == "Host" {
			for _, v := range vs {
				if !strings.EqualFold(v, authority) && !strings.EqualFold(v, h.urlHost()) {
					return nil, refuse(ErrBadRequest, "the Host header does not match the URL")
				}
			}
			continue
		}
		if hopByHop[k] || drop[k] || len(vs) == 0 {
			continue
		}
		out[k] = append(out[k], vs...)
	}
	return out, nil
}

// headerSize returns the number of values of h and the sum of the lengths
// of its names and values.
func headerSize(h http.Header) (n, size int) {
	for k, vs := range h {
		for _, v := range vs {
			n++
			size += len(k) + len(v)
		}
		if len(vs) == 0 {
			size += len(k)
		}
	}
	return n, size
}

// validToken reports whether s is an HTTP token (RFC 9110, section 5.6.2).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || c <= ' ' || c == 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether v has no control characters other
// than horizontal tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// failure turns the error of a request into one that is safe for the
// function: a refusal of this package as it is, the end of the request's
// or the invocation's time as ErrTimeout, and anything else as ErrUpstream
// with a fixed description. Errors of the HTTP stack can quote what the
// server sent, so their text is never shown; they stay reachable through
// errors.As for the daemon's logs. ctx is the invocation's context, rctx
// the request's.
func (s *Session) failure(err error, ctx, rctx context.Context, afterRedirect bool) error {
	var rf *refusal
	if errors.As(err, &rf) {
		if afterRedirect && errors.Is(rf, ErrForbiddenAddress) {
			return redirected(rf)
		}
		return rf
	}
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return &refusal{kinds: []error{context.Canceled}, msg: "the invocation ended", cause: err}
	case ctx.Err() != nil:
		return &refusal{kinds: []error{ErrTimeout, context.DeadlineExceeded}, msg: "the invocation's deadline passed", cause: err}
	case rctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		return &refusal{kinds: []error{ErrTimeout, context.DeadlineExceeded},
			msg: "request timed out after " + s.c.policy.Timeout.String(), cause: err}
	case strings.Contains(err.Error(), "response headers exceeded"):
		return &refusal{kinds: []error{ErrTooLarge}, msg: "response headers exceed " + strconv.Itoa(MaxResponseHeaderBytes) + " bytes", cause: err}
	}
	var (
		certErr *tls.CertificateVerificationError
		alert   tls.AlertError
		record  tls.RecordHeaderError
		op      *net.OpError
	)
	msg := "request failed"
	switch {
	case errors.As(err, &certErr):
		msg = "the server's TLS certificate is not valid for the host"
	case errors.As(err, &alert), errors.As(err, &record),
		errors.As(err, &op) && op.Op == "remote error", // an alert from the server
		strings.Contains(err.Error(), "tls: "):
		msg = "TLS handshake failed"
	case errors.As(err, &op) && op.Op == "dial":
		msg = "cannot connect to the host"
	}
	return &refusal{kinds: []error{ErrUpstream}, msg: msg, cause: err}
}

// Check reports whether the session's grants and the policy allow a
// request to rawURL, without making it: for a URL given now and used
// later, such as a callback. The address a name resolves to is checked
// when the request is made.
func (s *Session) Check(rawURL string) error {
	if len(rawURL) > MaxURLLength {
		return refuse(ErrTooLarge, "URL exceeds %d bytes", MaxURLLength)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return refuse(ErrBadRequest, "malformed URL")
	}
	if _, rf := s.target(u); rf != nil {
		return rf
	}
	return nil
}
