// Package invoke calls other functions from a function, through the host's
// pave_invoke_v1 capability, and waits for their responses.
//
// The functions a function may call are named in its pave.yaml:
//
//	capabilities:
//	  invoke: [billing]
//
// and a call is one line in the handler:
//
//	resp, err := invoke.Call("billing", &pave.Request{Method: "POST", Path: "/charge", Body: order})
//
// A function with no routes is internal: nothing outside pave can reach
// it, and other functions reach it only through this package.
//
// The callee runs for the same caller as the calling invocation (its
// Request.Caller is the same), sees the header Pave-Invoked-By naming the
// calling function and Pave-Call-Depth one more than the caller's (a call
// from outside pave is depth 1), and
// meets its own limits: rate, concurrency, budget, timeout, and the daemon's
// cap on call depth, which stops call loops. Every outcome of a call that
// reached the host is a Response, as an HTTP caller would get it: check
// Response.Status. A refusal of the call (429 when the callee is at a
// limit, 508 when calls nest too deep, 502 and 504 when it fails) comes
// with pave's JSON error body. Call returns an error only when no response
// exists: the callee is not granted (ErrDenied) or not deployed
// (ErrNotFound), the request is malformed (ErrInvalid), or the host failed.
//
// Calls belong in the handler: during package initialisation no
// invocation runs, and they fail with ErrDenied. A module that uses this
// package imports pave_invoke_v1, which the host links only for a function
// whose manifest grants at least one function: deploying it without a
// grant is refused.
//
// Outside WebAssembly, such as under go test, every call fails with
// ErrUnavailable.
package invoke

import (
	"strings"

	"github.com/pave-dev/pave/abi"
	pave "github.com/pave-dev/pave/sdk"
	"github.com/pave-dev/pave/sdk/internal/hostcall"
)

// Errors of Call. The error Call returns wraps one of them, so errors.Is
// matches it, and carries the host's reason.
var (
	// ErrInvalid: the request is malformed: a path that does not start
	// with '/', an invalid method or header field, or larger than the
	// host reads.
	ErrInvalid = kinds[abi.ErrCodeInvalid]
	// ErrDenied: the manifest does not grant the function.
	ErrDenied = kinds[abi.ErrCodeDenied]
	// ErrNotFound: the function is granted but not deployed.
	ErrNotFound = kinds[abi.ErrCodeNotFound]
	// ErrLimit: the invocation made more capability calls than the host
	// allows.
	ErrLimit = kinds[abi.ErrCodeLimit]
	// ErrUnavailable: the host failed, or the function is not running in
	// pave; retrying later may help.
	ErrUnavailable = kinds[abi.ErrCodeUnavailable]
)

var kinds = hostcall.NewKinds("invoke", abi.ErrCodeInvalid, abi.ErrCodeDenied, abi.ErrCodeNotFound, abi.ErrCodeLimit, abi.ErrCodeUnavailable)

// call passes the function name and an encoded abi.Outbound to the host
// and returns the encoded abi.Response. Tests replace it with a fake host.
var call = func(op hostcall.Op, function string, req []byte) ([]byte, error) {
	return hostcall.Call(op, kinds, func() int32 { return hostCall(function, req) })
}

// Call runs function on req and returns its response. Of req, the method
// (default POST), path (default "/"), query, header fields and body are
// sent; the caller and request id are the host's to set.
func Call(function string, req *pave.Request) (*pave.Response, error) {
	op := hostcall.Op{Call: "invoke: call", Name: function}
	if err := hostcall.CheckName(op, kinds, "function name", function); err != nil {
		return nil, err
	}
	if req == nil {
		req = &pave.Request{}
	}
	method, path := req.Method, req.Path
	if method == "" {
		method = "POST"
	}
	if path == "" {
		path = "/"
	}
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?#") {
		return nil, hostcall.Fail(op, kinds, abi.ErrCodeInvalid, "the path must start with '/' and hold no '?' or '#': put the query in RawQuery")
	}
	url := path
	if req.RawQuery != "" {
		url += "?" + req.RawQuery
	}
	b, err := hostcall.EncodeOutbound(op, kinds, &abi.Outbound{Method: method, URL: url, Headers: req.Header, Body: req.Body})
	if err != nil {
		return nil, err
	}
	res, err := call(op, function, b)
	if err != nil {
		return nil, err
	}
	r, err := hostcall.DecodeResponse(op, kinds, res)
	if err != nil {
		return nil, err
	}
	return &pave.Response{Status: r.Status, Header: pave.Header(r.Headers), Body: r.Body}, nil
}
