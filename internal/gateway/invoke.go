package gateway

import (
	"context"
	"net/http"
	"sort"
	"strconv"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/capability"
	"github.com/pave-dev/pave/internal/identity"
	"github.com/pave-dev/pave/internal/limits"
)

// HeaderInvokedBy names, on a call from another function, the function
// that made it. The gateway sets it; one sent by a client never reaches a
// function.
const HeaderInvokedBy = "Pave-Invoked-By"

var _ capability.Invoker = (*Gateway)(nil)

// InvokeFunction runs function for another function's invoke capability
// (package capability has checked the grant). The call goes through admit
// like every call: it joins the caller's call tree, and the callee's rate
// limit counts it in a bucket for calls from that function. It runs for
// the original caller, whose identity it carries, and answers every
// outcome as the response an HTTP caller would get, refusals included.
func (g *Gateway) InvokeFunction(ctx context.Context, from capability.Origin, function string, req *abi.Request) (*abi.Response, error) {
	inv := &invocation{
		requestID: apierror.NewRequestID(), start: g.now(), function: function,
		route: "invoke from " + from.Function, caller: from.Caller, depth: from.Depth, parent: from.RequestID,
	}
	resp, err := g.invokeFunction(ctx, from, function, req, inv)
	switch {
	case err == nil:
		inv.status = resp.Status
	case apierror.CodeOf(err) == apierror.FunctionNotFound:
		g.refused(inv, err)
		err = capability.ErrFunctionNotFound
	default:
		resp, err = errorResponse(g.refused(inv, err), inv.requestID), nil
	}
	g.logInvocation(ctx, inv)
	return resp, err
}

func (g *Gateway) invokeFunction(ctx context.Context, from capability.Origin, function string, req *abi.Request, inv *invocation) (*abi.Response, error) {
	c, err := g.admit(inv, admission{function: function, calls: from.Calls, rateCaller: "function:" + from.Function})
	if err != nil {
		return nil, err
	}
	defer c.done()
	callee := &abi.Request{
		Method:    req.Method,
		Path:      req.Path,
		RawQuery:  req.RawQuery,
		Headers:   calleeHeaders(req.Headers, from),
		Body:      req.Body,
		Caller:    from.Caller,
		RequestID: inv.requestID,
	}
	if err := callee.Validate(); err != nil {
		return nil, apierror.Wrap(err, apierror.BadRequest, "the request cannot be passed to a function: too many or malformed headers")
	}
	if !canonicalPath(callee.Path) {
		return nil, apierror.New(apierror.BadRequest, "the path must have no empty, '.' or '..' segments, control characters, backslashes or invalid UTF-8")
	}
	if _, err := abi.ParseQuery(callee.RawQuery); err != nil {
		return nil, apierror.Wrap(err, apierror.BadRequest, "%s", ambiguousQuery(err))
	}
	return c.run(ctx, callee)
}

// calleeHeaders are the headers a callee sees: the caller's, less
// hop-by-hop headers, pave credentials and the headers the gateway owns,
// which it sets.
func calleeHeaders(in []abi.Header, from capability.Origin) []abi.Header {
	out := make([]abi.Header, 0, len(in)+2)
	for _, h := range in {
		name := http.CanonicalHeaderKey(h.Name)
		if hopByHop[name] || reservedRequest(name) ||
			(name == "Authorization" && identity.ContainsCredential(h.Value)) {
			continue
		}
		out = append(out, h)
	}
	return append(out,
		abi.Header{Name: limits.HeaderCallDepth, Value: strconv.Itoa(from.Depth)},
		abi.Header{Name: HeaderInvokedBy, Value: from.Function})
}

// errorResponse is the response an HTTP caller would get for e.
func errorResponse(e *apierror.Error, requestID string) *abi.Response {
	h := http.Header{}
	apierror.SetHeaders(h, e)
	h.Set("X-Request-Id", requestID)
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	sort.Strings(names)
	resp := &abi.Response{Status: e.Code.Status(), Body: apierror.Encode(e, requestID)}
	for _, name := range names {
		for _, v := range h[name] {
			resp.Headers = append(resp.Headers, abi.Header{Name: name, Value: v})
		}
	}
	return resp
}
