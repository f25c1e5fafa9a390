//go:build pave_http

package main

import (
	"strings"

	"github.com/dop251/goja"

	"github.com/pave-dev/pave/sdk/httpc"
)

// fetch(input, init) sends an outbound HTTP request through sdk/httpc and
// resolves to its Response. Built only for functions granted http: the
// engine then imports pave_http_v1.
var _ = func() bool {
	capabilities = append(capabilities, func(e *engine, env *goja.Object) {
		e.defineGlobal("fetch", e.fetchHTTP)
	})
	return true
}()

// httpErrors are sdk/httpc's errors and the codes a rejection carries for
// them.
var httpErrors = []errorKind{
	{httpc.ErrInvalid, "invalid"}, {httpc.ErrDenied, "denied"}, {httpc.ErrLimit, "limit"}, {httpc.ErrUnavailable, "unavailable"},
}

// fetchError is an error of httpc named as fetch's: "fetch: GET
// \"api.example.com\": ..." rather than "httpc: GET ...".
type fetchError struct{ err error }

func (f fetchError) Error() string { return "fetch: " + strings.TrimPrefix(f.err.Error(), "httpc: ") }
func (f fetchError) Unwrap() error { return f.err }

// fetchHTTP is fetch. A request the host refuses (a host not granted, an
// address that is not public, a limit) or that gets no response rejects
// with a TypeError, as a network error does in the web platform, whose
// message is httpc's: the method, the URL's host and the host's reason,
// never the URL's path or query, header values or bodies.
func (e *engine) fetchHTTP(call goja.FunctionCall) goja.Value {
	return e.settle(func() (goja.Value, error) {
		r, err := e.newRequest(call.Argument(0), call.Argument(1), false)
		if err != nil {
			return nil, err
		}
		resp, err := httpc.Do(&httpc.Request{Method: r.method, URL: r.url, Header: r.header, Body: r.body})
		if err != nil {
			return nil, e.capabilityError("TypeError", fetchError{err}, httpErrors)
		}
		return e.newResponse(resp.Status, resp.Header, resp.Body, r.url)
	})
}
