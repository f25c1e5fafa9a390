//go:build pave_invoke

package main

import (
	"net/url"

	"github.com/dop251/goja"

	pave "github.com/pave-dev/pave/sdk"
	"github.com/pave-dev/pave/sdk/invoke"
)

// env.invoke(name, request, init) calls another function through
// sdk/invoke and resolves to its Response. Built only for functions
// granted invoke: the engine then imports pave_invoke_v1.
var _ = func() bool {
	capabilities = append(capabilities, func(e *engine, env *goja.Object) {
		must(env.Set("invoke", e.invoke))
	})
	return true
}()

// invokeErrors are sdk/invoke's errors and the codes a rejection carries
// for them.
var invokeErrors = []errorKind{
	{invoke.ErrInvalid, "invalid"}, {invoke.ErrDenied, "denied"}, {invoke.ErrNotFound, "not_found"},
	{invoke.ErrLimit, "limit"}, {invoke.ErrUnavailable, "unavailable"},
}

// invoke is env.invoke. The request is a path with an optional query
// ("/charge?dry=1", "/" by default) or a Request, of whose URL only the
// path and query are sent; init is fetch's. Every outcome of a call that
// reached the callee, 429 and 502 included, is a Response; a call the
// host refuses (a function not granted or not deployed) rejects.
func (e *engine) invoke(call goja.FunctionCall) goja.Value {
	return e.settle(func() (goja.Value, error) {
		name := call.Argument(0).String()
		r, err := e.newRequest(call.Argument(1), call.Argument(2), true)
		if err != nil {
			return nil, err
		}
		u, err := url.Parse(r.url)
		if err != nil {
			return nil, e.thrown(e.vm.NewTypeError("env.invoke: invalid path"))
		}
		resp, err := invoke.Call(name, &pave.Request{Method: r.method, Path: u.EscapedPath(), RawQuery: u.RawQuery, Header: r.header, Body: r.body})
		if err != nil {
			return nil, e.capabilityError("Error", err, invokeErrors)
		}
		return e.newResponse(resp.Status, resp.Header, resp.Body, "")
	})
}
