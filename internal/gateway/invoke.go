package gateway

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strconv"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/capability"
	"github.com/pave-dev/pave/internal/hostapi"
	"github.com/pave-dev/pave/internal/identity"
	"github.com/pave-dev/pave/internal/limits"
)

// HeaderInvokedBy names, on a call from another function, the function
// that made it. The gateway sets it; one sent by a client never reaches a
// function.
const HeaderInvokedBy = "Pave-Invoked-By"

var _ capability.Invoker = (*Gateway)(nil)

// InvokeFunction runs function for another function's invoke capability
// (package capability has checked the grant). The call meets the callee's
// defences that apply without a route: the call-depth cap, the call
// count of the tree the caller belongs to, the callee's
// rate limit for calls from that function, its owner's and its own
// concurrency, and its budget. It runs for the original caller, whose
// identity it carries, and answers every outcome as the response an HTTP
// caller would get, refusals included.
func (g *Gateway) InvokeFunction(ctx context.Context, from capability.Origin, function string, req *abi.Request) (*abi.Response, error) {
	inv := &invocation{
		requestID: NewRequestID(), start: g.now(), function: function,
		route: "invoke from " + from.Function, caller: from.Caller, depth: from.Depth, parent: from.RequestID,
	}
	resp, err := g.invokeFunction(ctx, from, function, req, inv)
	switch {
	case errors.Is(err, capability.ErrFunctionNotFound):
		inv.status, inv.code = http.StatusNotFound, apierror.FunctionNotFound
		g.logInvocation(ctx, inv)
		return nil, err
	case err != nil:
		e := apierror.From(err)
		inv.status, inv.code, inv.cause = e.Code.Status(), e.Code, e.Cause
		g.countRefusal(e.Code)
		resp = errorResponse(e, inv.requestID)
	default:
		inv.status = resp.Status
	}
	g.logInvocation(ctx, inv)
	return resp, nil
}

func (g *Gateway) invokeFunction(ctx context.Context, from capability.Origin, function string, req *abi.Request, inv *invocation) (*abi.Response, error) {
	if max := g.deps.Defenses.MaxCallDepth; from.Depth > max {
		return nil, apierror.New(apierror.CallDepthExceeded, "function calls are nested deeper than %d; a call loop is likely", max)
	}
	if !from.Calls.Take() {
		return nil, g.callCountExceeded()
	}
	inv.calls = from.Calls
	f, ok := g.fns.Get(function)
	if !ok {
		return nil, capability.ErrFunctionNotFound
	}
	if err := g.rateLimit(http.Header{}, f, "function:"+from.Function); err != nil {
		return nil, err
	}
	releaseOwner, err := g.acquireOwner(f.Owner)
	if err != nil {
		return nil, err
	}
	defer releaseOwner()
	v := f.Current()
	release, ok := g.acquire(function, v.Limits.Concurrency)
	if !ok {
		return nil, concurrencyLimited()
	}
	defer release()

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
	reservation, err := g.reserveBudget(f, int64(len(req.Body)))
	if err != nil {
		return nil, err
	}
	// The caller's capabilities stay with the caller: the callee has only
	// its own grants.
	ctx = hostapi.WithCapabilities(ctx, nil)
	start := g.now()
	resp, err := g.call(ctx, f, callee, inv)
	reservation.Settle(g.now().Sub(start))
	return resp, err
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
