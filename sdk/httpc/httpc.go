// Package httpc sends HTTP requests from a function to the hosts its
// manifest grants, through the host's pave_http_v1 capability.
//
// The package is named httpc, for HTTP client, rather than http so that a
// function can import it beside net/http (for http.StatusOK, say) without
// renaming either. It does not use net/http itself: that would add
// megabytes to every module, and the host makes the connection anyway.
// Request, Response and Header are small types of its own; Header has the
// shape of the SDK's pave.Header, so one converts to the other.
//
// Hosts are granted in pave.yaml:
//
//	capabilities:
//	  http: [api.example.com, "*.example.org:8443"]
//
// A name without a port allows the default port of the URL's scheme only;
// "*.example.org" matches the names under example.org, not example.org
// itself. A request is then one call:
//
//	resp, err := httpc.Get("https://api.example.com/v1/rates")
//
// The host checks every request, and every redirect it follows, against
// the grants, and refuses addresses that are not public unicast ones
// (loopback, private, link-local, the cloud metadata services, ...) unless
// the operator opened them; refusals are ErrDenied. Per invocation it
// allows a bounded number of requests, redirects included, and bounded
// request and response bodies; going over is ErrLimit. docs/ABI.md lists
// the limits and docs/SECURITY.md the refused addresses.
//
// A response with any status is a response, not an error: check
// Response.Status. Each call waits for the whole response, and calls are
// made one at a time, even from several goroutines.
//
// Calls belong in the handler: during package initialisation no
// invocation may be running, and then they fail with ErrDenied. A module
// that uses this package imports pave_http_v1, which the host links only
// for a function whose manifest grants at least one host: deploying it
// without a grant is refused.
//
// Errors never contain the URL's user information, path or query, nor
// header values or bodies: only the method and the URL's host, and the
// host's reason.
//
// Outside WebAssembly, such as under go test, every request fails with
// ErrUnavailable.
package httpc

import (
	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/sdk/internal/hostcall"
)

// Errors of the requests. The error a request returns wraps one of them,
// so errors.Is matches it, and carries the host's reason.
var (
	// ErrInvalid: the request is malformed: no absolute http or https URL,
	// an invalid method or header field, or larger than the host reads.
	ErrInvalid = kinds[abi.ErrCodeInvalid]
	// ErrDenied: the manifest does not grant the URL's host and port, the
	// host resolves to an address that is not allowed, or a redirect was
	// refused for either reason or for going on too long.
	ErrDenied = kinds[abi.ErrCodeDenied]
	// ErrLimit: the invocation has used up its requests or capability
	// calls, or a body or the headers are over the host's limits.
	ErrLimit = kinds[abi.ErrCodeLimit]
	// ErrUnavailable: the remote host could not be reached, timed out or
	// did not answer valid HTTP, or the function is not running in pave;
	// retrying later may help.
	ErrUnavailable = kinds[abi.ErrCodeUnavailable]
)

var kinds = hostcall.NewKinds("httpc", abi.ErrCodeInvalid, abi.ErrCodeDenied, abi.ErrCodeLimit, abi.ErrCodeUnavailable)

// Request is an outbound HTTP request.
type Request struct {
	// Method is the HTTP method; "" means GET.
	Method string
	// URL is an absolute http or https URL whose host the manifest
	// grants. It must not contain user information.
	URL string
	// Header holds the request header fields. Names must be HTTP tokens
	// and values must not contain CR, LF or NUL. The host drops
	// hop-by-hop fields and sets Host and Content-Length itself.
	Header Header
	// Body is the request body.
	Body []byte
}

// Response is the final response to a Request, after redirects.
type Response struct {
	// Status is the HTTP status code, 100 to 599.
	Status int
	// Header holds the response header fields, with names in canonical
	// form (Content-Type).
	Header Header
	// Body is the whole response body; nil if it is empty.
	Body []byte
}

// fetch sends an encoded abi.Outbound to the host and returns the encoded
// abi.Response. Tests replace it with a fake host.
var fetch = func(op hostcall.Op, req []byte) ([]byte, error) {
	return hostcall.Call(op, kinds, func() int32 { return hostFetch(req) })
}

// Do sends r and returns the response. It fails only if no response
// arrived; a response with an error status is not an error.
func Do(r *Request) (*Response, error) {
	if r == nil {
		return nil, hostcall.Fail(hostcall.Op{Call: "httpc: request", IsURL: true}, kinds, abi.ErrCodeInvalid, "no request")
	}
	op := opOf(r)
	req, err := encode(op, r)
	if err != nil {
		return nil, err
	}
	res, err := fetch(op, req)
	if err != nil {
		return nil, err
	}
	return decode(op, res)
}

// Get sends a GET request for url.
func Get(url string) (*Response, error) {
	return Do(&Request{Method: "GET", URL: url})
}

// Post sends a POST request to url with body, sending contentType as the
// Content-Type header field unless it is empty.
func Post(url, contentType string, body []byte) (*Response, error) {
	r := &Request{Method: "POST", URL: url, Body: body}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return Do(r)
}

// method returns r's method with the default applied.
func (r *Request) method() string {
	if r.Method == "" {
		return "GET"
	}
	return r.Method
}

// encode returns the argument of fetch for r, refusing before the host
// does what the host would refuse as malformed.
func encode(op hostcall.Op, r *Request) ([]byte, error) {
	if r.URL == "" {
		return nil, hostcall.Fail(op, kinds, abi.ErrCodeInvalid, "the URL is empty")
	}
	return hostcall.EncodeOutbound(op, kinds, &abi.Outbound{Method: r.method(), URL: r.URL, Headers: r.Header, Body: r.Body})
}

// decode decodes the result of fetch.
func decode(op hostcall.Op, res []byte) (*Response, error) {
	r, err := hostcall.DecodeResponse(op, kinds, res)
	if err != nil {
		return nil, err
	}
	return &Response{Status: r.Status, Header: Header(r.Headers), Body: r.Body}, nil
}

// opOf names a request in errors by its method and its URL's host and
// port, never the user information, path or query, which may hold
// credentials.
func opOf(r *Request) hostcall.Op {
	op := hostcall.Op{Call: "httpc: request", Name: r.URL, IsURL: true}
	if m := r.method(); (&abi.Request{Method: m}).Validate() == nil && len(m) <= 32 {
		op.Call = "httpc: " + m
	}
	return op
}
