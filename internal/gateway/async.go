package gateway

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/async"
	"github.com/pave-dev/pave/internal/identity"
	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/registry"
)

// Queue is the queue of asynchronous calls.
type Queue interface {
	Submit(ctx context.Context, s async.Submission) (c async.Call, existing bool, err error)
	Get(ctx context.Context, id string) (async.Call, error)
}

// CallbackChecker says whether a function may send its results to a
// callback URL.
type CallbackChecker interface {
	CheckCallback(f *registry.Function, url string) error
}

// Headers of asynchronous calls.
const (
	// HeaderCallback names the URL a call's result is sent to.
	HeaderCallback = "Pave-Callback-Url"
	// HeaderIdempotencyKey makes a repeated submit return the first call.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderCallID tells a function run from the queue its call's id: the
	// same on every attempt, so the function can make its side effects
	// idempotent. A callback carries it too.
	HeaderCallID = async.HeaderCallID
)

// accepted is the body of a 202.
type accepted struct {
	ID        string      `json:"id"`
	State     async.State `json:"state"`
	StatusURL string      `json:"status_url"`
}

// submit queues req for f and answers 202 with the call's id.
func (g *Gateway) submit(w http.ResponseWriter, r *http.Request, inv *invocation, t *target, f *registry.Function, req *abi.Request) error {
	if g.deps.Queue == nil {
		return apierror.New(apierror.Unavailable, "asynchronous calls are not served here")
	}
	key := r.Header.Get(HeaderIdempotencyKey)
	if len(key) > async.MaxIdempotencyKey || !printable(key) {
		return apierror.New(apierror.BadRequest, "Idempotency-Key must be at most %d printable ASCII characters", async.MaxIdempotencyKey)
	}
	callback := r.Header.Get(HeaderCallback)
	if callback != "" {
		if g.deps.Callbacks == nil {
			return apierror.New(apierror.CallbackNotAllowed, "callbacks are not served here")
		}
		if err := g.deps.Callbacks.CheckCallback(f, callback); err != nil {
			return apierror.Wrap(err, apierror.CallbackNotAllowed, "the callback URL is not one this function may send results to; see async.callbacks in its manifest")
		}
	}
	req.Headers = withoutHeader(req.Headers, HeaderCallback)
	scope := inv.caller
	if scope == "" {
		scope = publicCaller(r)
	}
	c, existing, err := g.deps.Queue.Submit(r.Context(), async.Submission{
		IdempotencyKey:   key,
		IdempotencyScope: scope,
		Function:         f.Name,
		Route:            t.Route.Method + " " + t.Route.Path,
		Caller:           inv.caller,
		Source:           addrString(inv.source),
		Depth:            inv.depth,
		Callback:         callback,
		Request:          *req,
	})
	switch {
	case errors.Is(err, async.ErrIdempotencyReused):
		return apierror.Wrap(err, apierror.IdempotencyReused, "this Idempotency-Key was used with a different request")
	case errors.Is(err, async.ErrTooLarge):
		return apierror.Wrap(err, apierror.BodyTooLarge, "an asynchronous request body may be at most %d bytes", async.MaxBody)
	case err != nil:
		return apierror.Wrap(err, apierror.Unavailable, "the call cannot be queued right now")
	}
	h := w.Header()
	h.Set("Location", callsPrefix+c.ID)
	if existing {
		h.Set("Idempotent-Replayed", "true")
	}
	inv.status = http.StatusAccepted
	return writeJSON(w, http.StatusAccepted, accepted{ID: c.ID, State: c.State, StatusURL: callsPrefix + c.ID})
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func withoutHeader(hs []abi.Header, name string) []abi.Header {
	out := hs[:0]
	for _, h := range hs {
		if !strings.EqualFold(h.Name, name) {
			out = append(out, h)
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return apierror.Wrap(err, apierror.Internal, "internal error")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
	return nil
}

// serveCall answers GET /async/calls/ID with the call's record, to the
// identity that made the call. A call made on a route without an identity
// (public or webhook) is readable by whoever holds its id, an unguessable
// 128-bit number. Any other caller is told there is no such call.
func (g *Gateway) serveCall(w http.ResponseWriter, r *http.Request, inv *invocation, id string) error {
	inv.route = "async call status"
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return apierror.New(apierror.MethodNotAllowed, "read a call with GET")
	}
	if g.deps.Queue == nil {
		return apierror.New(apierror.Unavailable, "asynchronous calls are not served here")
	}
	notFound := apierror.New(apierror.NotFound, "no such call")
	c, err := g.deps.Queue.Get(r.Context(), id)
	switch {
	case errors.Is(err, async.ErrNotFound):
		return notFound
	case err != nil:
		return apierror.Wrap(err, apierror.Unavailable, "the call cannot be read right now")
	}
	inv.function = c.Function
	caller, err := g.callerOf(r, c.Caller, c.Function)
	if err != nil {
		return err
	}
	if caller != c.Caller {
		inv.caller = caller
		return notFound
	}
	inv.caller = caller
	inv.status = http.StatusOK
	c.Digest = ""
	return writeJSON(w, http.StatusOK, c)
}

// callerOf authenticates r the way owner's call of function was.
func (g *Gateway) callerOf(r *http.Request, owner, function string) (string, error) {
	token, err := bearer(r)
	if err != nil {
		return "", err
	}
	switch {
	case strings.HasPrefix(owner, "key:"):
		key, err := g.keys.Authenticate(token)
		if err != nil {
			return "", apierror.Wrap(err, apierror.Unauthenticated, "a valid API key is required: send Authorization: Bearer <key>")
		}
		// The key must still be good, from where it is used, for the
		// function the call was made to.
		switch err := key.Authorize(function, nil, remoteAddr(r), g.now()); {
		case errors.Is(err, identity.ErrNotAllowed):
			// A key for other functions: not the caller, so no such call.
			return "", apierror.New(apierror.NotFound, "no such call")
		case err != nil:
			return "", apierror.Wrap(err, apierror.Forbidden, "this API key may not be used: revoked, expired or from outside its networks")
		}
		return key.Caller(), nil
	case strings.HasPrefix(owner, "jwt:"):
		if token == "" || g.deps.Tokens == nil {
			return "", apierror.New(apierror.Unauthenticated, "a bearer token is required: send Authorization: Bearer <JWT>")
		}
		claims, err := g.deps.Tokens.Verify(r.Context(), token)
		if err != nil {
			return "", apierror.Wrap(err, apierror.InvalidToken, "the bearer token is not valid: %s", tokenProblem(err))
		}
		return claims.Caller(), nil
	}
	return owner, nil
}

// RunJob runs a queued job: the worker's way into the gateway. The job
// goes through admit like every call, with its own admission: the
// function must still have the route or the trigger the job came by (a
// job over an edge the manifests no longer declare is refused and
// audited); the call count starts from the share the job was given; a
// trigger's jobs meet the function's rate limit, while an HTTP call met
// the caller's when it was submitted; and a refusal by a rate or
// concurrency limit delays the job rather than failing it.
func (g *Gateway) RunJob(ctx context.Context, j *async.Job) async.Outcome {
	inv := &invocation{
		requestID: apierror.NewRequestID(), start: g.now(), function: j.Function, route: jobRoute(j),
		caller: j.Caller, depth: j.Depth, parent: j.Request.RequestID,
	}
	if a, err := netip.ParseAddr(j.Source); err == nil {
		inv.source = a
	}
	resp, err := g.runJob(ctx, j, inv)
	var out async.Outcome
	if err != nil {
		e := g.refused(inv, err)
		out = async.Outcome{Code: e.Code, Message: e.Message}
		if d := (*deferred)(nil); errors.As(err, &d) {
			out.RetryAfter = time.Duration(e.RetryAfter) * time.Second
		}
	} else {
		inv.status = resp.Status
		out.Response = resp
	}
	if inv.calls != nil {
		out.CallsLeft = cmp.Or(inv.calls.Left(), -1)
	}
	g.logInvocation(ctx, inv)
	return out
}

func jobRoute(j *async.Job) string {
	if j.Trigger != "" {
		return j.Route
	}
	return "async " + j.Route
}

func (g *Gateway) runJob(ctx context.Context, j *async.Job, inv *invocation) (*abi.Response, error) {
	a := admission{
		function: j.Function, allowance: j.Allowance, wait: true,
		edge: func(v *registry.Version) bool { return hasEdge(v, j) },
		// An HTTP call met its caller's rate limit when it was submitted.
		noRate: j.Trigger == "", rateCaller: "trigger " + j.Trigger,
	}
	c, err := g.admit(inv, a)
	if err != nil {
		return nil, err
	}
	defer c.done()
	req := j.Request
	req.RequestID = inv.requestID
	req.Headers = append(withoutHeader(withoutHeader(withoutHeader(req.Headers, limits.HeaderCallDepth), HeaderInvokedBy), HeaderCallID),
		abi.Header{Name: limits.HeaderCallDepth, Value: strconv.Itoa(j.Depth)},
		abi.Header{Name: HeaderCallID, Value: j.ID})
	return c.run(ctx, &req)
}

// hasEdge reports whether v still declares the route or trigger j came by.
func hasEdge(v *registry.Version, j *async.Job) bool {
	if j.Trigger != "" {
		_, ok := v.Trigger(j.Trigger)
		return ok
	}
	for _, rt := range v.Routes {
		if rt.Method+" "+rt.Path == j.Route {
			return true
		}
	}
	return false
}
