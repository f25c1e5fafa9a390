// Package gateway serves the functions' HTTP routes and runs every call of
// a function, whichever way it comes: a route, a queued job, a trigger,
// another function's invoke, the operator's invoke. For a route it matches
// the request, authenticates and authorises the caller, reads the body
// under its limit and checks it against the route's contract. Every call,
// from any way in, goes through admit and run (admit.go), the one place
// that takes it through the call depth, the call count, the rate limits,
// the concurrency slots and the budget, in that order, before the function
// runs on clean state (a pooled instance restored from its snapshot, or a
// fresh instance when the snapshot cannot vouch for the module; see
// package runtime). The outcome is the function's response or one
// sanitized JSON error, and each invocation produces one structured log
// line and one invocation record.
//
// Handlers return errors; serveHTTP is the one place that turns them into a
// status, an error code and a log line (see package apierror).
package gateway

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/async"
	"github.com/pave-dev/pave/internal/capability"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/contract"
	"github.com/pave-dev/pave/internal/hostapi"
	"github.com/pave-dev/pave/internal/identity"
	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/observe"
	"github.com/pave-dev/pave/internal/registry"
	"github.com/pave-dev/pave/internal/runtime"
	"github.com/pave-dev/pave/internal/webhook"
)

// Functions is the view of the registry the gateway needs.
type Functions interface {
	Get(name string) (*registry.Function, bool)
	List() []*registry.Function
	Blob(ctx context.Context, digest string) ([]byte, error)
}

// Authenticator finds the API key a bearer token belongs to.
type Authenticator interface {
	Authenticate(token string) (*identity.Key, error)
}

// Engine runs modules.
type Engine interface {
	Load(ctx context.Context, digest string, fetch func(context.Context) ([]byte, error)) (*runtime.Module, error)
	Invoke(ctx context.Context, m *runtime.Module, lim runtime.Limits, req *abi.Request) (*runtime.Result, error)
}

// UsageRecorder is told about every invocation.
type UsageRecorder interface {
	Mark(function string, t time.Time)
}

// Observer is told about every call the gateway answers, refusals
// included: the invocation history and the metrics.
type Observer interface {
	Observe(observe.Record)
}

// Deps are the subsystems the gateway consults.
type Deps struct {
	Functions Functions
	Keys      Authenticator
	Engine    Engine
	Usage     UsageRecorder
	Log       *slog.Logger

	// Tokens verifies JWTs; nil refuses every route with auth: jwt.
	Tokens TokenVerifier
	// WebhookSecrets reads webhook routes' secrets; nil fails those routes
	// closed.
	WebhookSecrets WebhookSecrets
	// Replays, if set, is the store of webhook deliveries shared with the
	// other nodes, so that a delivery is accepted once across all of them;
	// nil remembers deliveries on this node only.
	Replays webhook.SharedReplays
	// Budgets are operators' budget overrides; nil means none.
	Budgets BudgetOverrides
	// Limiter, Owners and Ledger hold the rate limits, the per-owner
	// concurrency and the budgets' spending. The daemon owns them so that
	// it can persist the spending; nil ones are made here.
	Limiter *limits.Limiter
	Owners  *limits.OwnerSlots
	Ledger  *limits.Ledger
	// Nodes, if set, splits each function's limits.concurrency across the
	// live nodes, as the Limiter and Owners given split theirs; nil keeps
	// the limits of a node alone.
	Nodes *limits.Nodes
	// Defenses are the daemon-wide defaults.
	Defenses config.Defenses
	// Capabilities serves the functions' granted capabilities; nil denies
	// every capability call.
	Capabilities CapabilityBroker
	// Redaction hides the values of the stored secrets in everything
	// functions produce; nil hides nothing.
	Redaction Redaction
	// Observer receives a record of every answered call; nil keeps none.
	Observer Observer
	// Queue takes asynchronous calls; nil refuses them.
	Queue Queue
	// Callbacks checks callback URLs; nil refuses every callback.
	Callbacks CallbackChecker
	// Topics takes events published over HTTP; nil refuses them.
	Topics Topics
}

// Gateway is the function gateway, an http.Handler.
type Gateway struct {
	deps   Deps
	fns    Functions
	keys   Authenticator
	engine Engine
	usage  UsageRecorder
	log    *slog.Logger
	now    func() time.Time

	routes atomic.Pointer[router]
	replay *webhook.ReplayCache

	reloadMu sync.Mutex
	schemas  map[string]*contract.Schema // compiled schemas in use, by digest

	mu    sync.Mutex
	slots map[string]*slots // concurrency slots by function

	refusals sync.Map // apierror.Code to *atomic.Int64
}

// Replay protection keeps at most this many webhook delivery ids.
const maxReplayEntries = 1 << 20

// New returns a gateway serving the routes of d.Functions. Call Reload
// after every change of them.
func New(d Deps) *Gateway {
	if d.Limiter == nil {
		d.Limiter = limits.NewLimiter(time.Now)
	}
	if d.Owners == nil {
		d.Owners = limits.NewOwnerSlots(d.Defenses.OwnerConcurrency)
	}
	if d.Ledger == nil {
		d.Ledger = limits.NewLedger(time.Now, nil)
	}
	if d.Defenses.MaxCallDepth == 0 {
		d.Defenses.MaxCallDepth = limits.DefaultMaxCallDepth
	}
	if d.Defenses.MaxCalls == 0 {
		d.Defenses.MaxCalls = limits.DefaultMaxCalls
	}
	g := &Gateway{
		deps: d, fns: d.Functions, keys: d.Keys, engine: d.Engine, usage: d.Usage, log: d.Log, now: time.Now,
		slots:   make(map[string]*slots),
		schemas: make(map[string]*contract.Schema),
		replay:  webhook.NewReplayCache(24*time.Hour, maxReplayEntries),
	}
	if d.Replays != nil {
		g.replay.Share(d.Replays)
	}
	g.Reload()
	return g
}

// Reload rebuilds the route table from the registry, compiling each
// route's checks.
func (g *Gateway) Reload() {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := &router{}
	schemas := make(map[string]*contract.Schema)
	for _, f := range g.fns.List() {
		for _, rt := range f.Current().Routes {
			p := g.compilePolicy(ctx, f.Name, rt, schemas)
			if p.broken != nil {
				g.log.Error("route fails closed", "function", f.Name, "path", rt.Path, "err", p.broken)
			}
			if err := r.add(&target{Function: f.Name, Route: rt, policy: p, name: rt.Method + " " + rt.Path}); err != nil {
				g.log.Error("route skipped", "function", f.Name, "path", rt.Path, "err", err)
			}
		}
	}
	g.schemas = schemas
	g.routes.Store(r)
}

// Refusals returns how many requests were refused, by error code.
func (g *Gateway) Refusals() map[apierror.Code]int64 {
	out := map[apierror.Code]int64{}
	g.refusals.Range(func(k, v any) bool {
		out[k.(apierror.Code)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

func (g *Gateway) countRefusal(code apierror.Code) {
	v, ok := g.refusals.Load(code)
	if !ok {
		v, _ = g.refusals.LoadOrStore(code, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := g.now()
	inv := &invocation{requestID: apierror.NewRequestID(), start: start, source: remoteAddr(r)}
	w.Header().Set("X-Request-Id", inv.requestID)
	if err := g.serveHTTP(w, r, inv); err != nil {
		apierror.Write(w, g.refused(inv, err), inv.requestID)
	}
	g.logInvocation(r.Context(), inv)
}

// invocation collects what the log line reports about one request.
type invocation struct {
	requestID string
	start     time.Time
	function  string
	version   int
	route     string
	caller    string
	source    netip.Addr // the client's address; invalid for calls from functions or the operator
	depth     int        // call depth: 1 for a call from outside
	parent    string     // the calling invocation's request id, for a call from a function
	status    int
	code      apierror.Code
	cause     error
	digest    string
	memory    uint64
	logs      []hostapi.LogLine
	dropped   int // log lines over the limit
	caps      map[string]capability.Count
	isolation time.Duration
	redactor  Redactor // hides stored secrets in the cause, if set
	// unredacted: the route opted out of redacting the function's own
	// secrets in its responses (other secrets, log lines and the cause are
	// redacted still).
	unredacted bool
	// calls are the invocations left to the tree this one belongs to.
	calls *limits.CallTree
}

// Paths the gateway serves itself, under prefixes no route may use.
const (
	asyncPrefix  = "/async"
	callsPrefix  = "/async/calls/"
	eventsPrefix = "/events/"
)

func (g *Gateway) serveHTTP(w http.ResponseWriter, r *http.Request, inv *invocation) error {
	path := r.URL.EscapedPath()
	switch {
	case strings.HasPrefix(path, eventsPrefix):
		return g.servePublish(w, r, inv, path[len(eventsPrefix):])
	case strings.HasPrefix(path, callsPrefix):
		return g.serveCall(w, r, inv, path[len(callsPrefix):])
	case strings.HasPrefix(path, asyncPrefix+"/"):
		return g.serveAsync(w, r, inv, path[len(asyncPrefix):])
	}
	return g.serveSync(w, r, inv, path)
}

// serveSync answers a request for a function's route with the function's
// response.
func (g *Gateway) serveSync(w http.ResponseWriter, r *http.Request, inv *invocation, path string) error {
	t, params, err := g.match(r, inv, path)
	if err != nil {
		return err
	}
	a, err := g.identify(w, r, inv, t)
	if err != nil {
		return err
	}
	// The concurrency slots are taken before the body is read, so that
	// requests over a limit cost neither memory nor a read.
	c, err := g.admit(inv, a)
	if err != nil {
		return err
	}
	defer c.done()
	req, err := g.readRequest(w, r, inv, t, params, c.f.Current().Limits.MaxBody, r.URL.Path)
	if err != nil {
		return err
	}
	resp, err := c.run(r.Context(), req)
	if err != nil {
		return err
	}
	writeResponse(w, resp)
	inv.status = resp.Status
	return nil
}

// serveAsync answers a request for a function's route under /async with
// 202 once the call is queued. Nothing runs now: the job takes the
// invocation, the slots and the budget when it runs.
func (g *Gateway) serveAsync(w http.ResponseWriter, r *http.Request, inv *invocation, path string) error {
	t, params, err := g.match(r, inv, path)
	if err != nil {
		return err
	}
	inv.route = "async " + inv.route
	a, err := g.identify(w, r, inv, t)
	if err != nil {
		return err
	}
	a.queueOnly = true
	c, err := g.admit(inv, a)
	if err != nil {
		return err
	}
	// The job must fit in one queue message.
	maxBody := min(c.f.Current().Limits.MaxBody, async.MaxBody)
	req, err := g.readRequest(w, r, inv, t, params, maxBody, strings.TrimPrefix(r.URL.Path, asyncPrefix))
	if err != nil {
		return err
	}
	return g.submit(w, r, inv, t, c.f, req)
}

// match finds the route of a request.
func (g *Gateway) match(r *http.Request, inv *invocation, path string) (*target, []abi.Param, error) {
	t, params, found, methodOK := g.routes.Load().match(r.Method, path)
	if !found {
		return nil, nil, apierror.New(apierror.RouteNotFound, "no route for this path")
	}
	if !methodOK {
		return nil, nil, apierror.New(apierror.MethodNotAllowed, "this method is not allowed on this path")
	}
	inv.function, inv.route = t.Function, t.name
	inv.unredacted = t.Route.Unredacted != ""
	return t, params, nil
}

// identify runs the steps of a route that need no body: the route's
// prepared checks, the call depth its header gives and the identities
// that need no body. It returns the call's admission.
func (g *Gateway) identify(w http.ResponseWriter, r *http.Request, inv *invocation, t *target) (admission, error) {
	if t.policy.broken != nil {
		return admission{}, apierror.Wrap(t.policy.broken, apierror.IdentityUnavailable, "this route cannot check its requests right now")
	}
	depth, err := g.checkCallDepth(r)
	if err != nil {
		return admission{}, err
	}
	inv.depth = depth
	// Identities that need no body are checked before anything is read.
	switch t.Route.Auth {
	case manifest.AuthAPIKey:
		inv.caller, err = g.authenticateKey(r, t)
	case manifest.AuthJWT:
		inv.caller, err = g.authenticateJWT(r, t)
	}
	if err != nil {
		return admission{}, err
	}
	// Anonymous callers are limited by address. A webhook sender is
	// identified only once its body is verified, so every delivery to a
	// route shares one caller bucket.
	rateCaller := inv.caller
	switch t.Route.Auth {
	case "":
		rateCaller = publicCaller(r)
	case manifest.AuthWebhook:
		rateCaller = "webhook " + t.Route.Method + " " + t.Route.Path
	}
	return admission{function: t.Function, rateCaller: rateCaller, rateHeaders: w.Header()}, nil
}

// readRequest runs the steps of a route that need the body, read under
// maxBody: the webhook signature and the input contract. It returns the
// request for the function, of path urlPath.
func (g *Gateway) readRequest(w http.ResponseWriter, r *http.Request, inv *invocation, t *target, params []abi.Param, maxBody int64, urlPath string) (*abi.Request, error) {
	body, err := readBody(w, r, maxBody)
	if err != nil {
		return nil, err
	}
	if t.Route.Auth == manifest.AuthWebhook {
		if inv.caller, err = g.verifyWebhook(r, t, body); err != nil {
			return nil, err
		}
	}
	if err := g.checkInput(r, t, body); err != nil {
		return nil, err
	}
	req := &abi.Request{
		Method:    r.Method,
		Path:      urlPath,
		Route:     t.Route.Path,
		Params:    params,
		RawQuery:  r.URL.RawQuery,
		Headers:   guestHeaders(r.Header, t.Route.Auth, inv.depth),
		Body:      body,
		Caller:    inv.caller,
		RequestID: inv.requestID,
	}
	if err := req.Validate(); err != nil {
		return nil, apierror.Wrap(err, apierror.BadRequest, "the request cannot be passed to a function: too many or malformed headers, or parameters")
	}
	return req, nil
}

// quarantined refuses calls of a function an operator disabled.
func quarantined(f *registry.Function) error {
	if f.Quarantine == nil {
		return nil
	}
	return apierror.New(apierror.FunctionQuarantined, "this function is disabled by an operator")
}

func concurrencyLimited() error {
	return &apierror.Error{Code: apierror.ConcurrencyLimited, Message: "the function is at its concurrency limit; retry later", RetryAfter: 1}
}

// Call runs function on req: the admin API's invoke, which shares
// everything after authentication with the gateway. The operator is fully
// trusted: the call meets the function's and its owner's concurrency, and
// no rate limit or budget.
func (g *Gateway) Call(ctx context.Context, function string, req *abi.Request) (*abi.Response, error) {
	inv := &invocation{requestID: req.RequestID, start: g.now(), function: function, caller: req.Caller, route: "admin invoke", depth: 1}
	resp, err := g.operatorCall(ctx, function, req, inv)
	if err != nil {
		g.refused(inv, err)
	} else {
		inv.status = resp.Status
	}
	g.logInvocation(ctx, inv)
	return resp, err
}

func (g *Gateway) operatorCall(ctx context.Context, function string, req *abi.Request, inv *invocation) (*abi.Response, error) {
	if err := g.operatorRoute(function, req); err != nil {
		return nil, err
	}
	c, err := g.admit(inv, admission{function: function, noRate: true, noBudget: true})
	if err != nil {
		return nil, err
	}
	defer c.done()
	return c.run(ctx, req)
}

// operatorRoute gives an operator's call the route of function that the
// router matches for its method and path, with the path's parameters, as
// the gateway's own requests get theirs; req.Path is then the decoded path.
// An empty method or path is that of the function's first route. A
// function without routes, run by its triggers only, gets the request as
// it is: POST / unless it says otherwise.
func (g *Gateway) operatorRoute(function string, req *abi.Request) error {
	f, ok := g.fns.Get(function)
	if !ok {
		return apierror.New(apierror.FunctionNotFound, "function %q is not deployed", function)
	}
	routes := f.Current().Routes
	if len(routes) == 0 {
		req.Method = cmp.Or(req.Method, http.MethodPost)
		req.Path = cmp.Or(req.Path, "/")
		return validateCall(req)
	}
	req.Method = cmp.Or(req.Method, routes[0].Method)
	escaped := cmp.Or(req.Path, routes[0].Path)
	if err := validateCall(req); err != nil {
		return err
	}
	t, params, found, methodOK := g.routes.Load().match(req.Method, escaped)
	switch {
	case !found:
		return apierror.New(apierror.RouteNotFound, "no route of function %q has this path (its routes: %s)", function, routeList(routes))
	case !methodOK:
		return apierror.New(apierror.MethodNotAllowed, "no route of function %q has this method on this path (its routes: %s)", function, routeList(routes))
	case t.Function != function:
		return apierror.New(apierror.RouteNotFound, "this method and path go to function %q, not %q (its routes: %s)", t.Function, function, routeList(routes))
	}
	path, err := url.PathUnescape(escaped)
	if err != nil {
		return apierror.Wrap(err, apierror.BadRequest, "path is not a valid URL path")
	}
	req.Path, req.Route, req.Params = path, t.Route.Path, params
	return nil
}

// validateCall refuses an operator's request that cannot be passed to a
// function.
func validateCall(req *abi.Request) error {
	if err := req.Validate(); err != nil {
		return apierror.Wrap(err, apierror.BadRequest, "invalid invocation: %s", err.Error())
	}
	return nil
}

// routeList lists routes for a message: "GET /a, POST /b".
func routeList(routes []manifest.Route) string {
	names := make([]string, len(routes))
	for i, rt := range routes {
		names[i] = rt.Method + " " + rt.Path
	}
	return strings.Join(names, ", ")
}

// load returns the compiled module of v.
func (g *Gateway) load(ctx context.Context, v *registry.Version) (*runtime.Module, error) {
	mod, err := g.engine.Load(ctx, v.Digest, func(ctx context.Context) ([]byte, error) {
		return g.fns.Blob(ctx, v.Digest)
	})
	if err != nil {
		return nil, apierror.Wrap(err, apierror.Unavailable, "the function cannot be loaded right now")
	}
	return mod, nil
}

// call runs the active version of f on req, for run: admit has let the
// call through.
func (g *Gateway) call(ctx context.Context, f *registry.Function, req *abi.Request, inv *invocation) (*abi.Response, error) {
	function := f.Name
	v := f.Current()
	inv.version, inv.digest = v.Number, v.Digest
	if int64(len(req.Body)) > v.Limits.MaxBody {
		return nil, apierror.New(apierror.BodyTooLarge, "request body is larger than this function's limit of %d bytes", v.Limits.MaxBody)
	}
	mod, err := g.load(ctx, v)
	if err != nil {
		return nil, err
	}
	g.usage.Mark(function, g.now())
	ctx, session := g.withCapabilities(ctx, f, inv)
	lim := runtime.Limits{Timeout: v.Limits.Timeout, Memory: v.Limits.Memory, Concurrency: v.Limits.Concurrency}
	res, err := g.engine.Invoke(ctx, mod, lim, req)
	if errors.Is(err, runtime.ErrUnloaded) {
		// Unloaded, to make room for another, between Load and Invoke and
		// before the guest saw the request: load it again, once.
		if mod, err = g.load(ctx, v); err != nil {
			return nil, err
		}
		if res, err = g.engine.Invoke(ctx, mod, lim, req); errors.Is(err, runtime.ErrUnloaded) {
			return nil, apierror.Wrap(err, apierror.Unavailable, "the function cannot be loaded right now")
		}
	}
	g.redact(v.Capabilities, session, res, inv)
	if session != nil {
		inv.caps = session.Counts()
	}
	if res != nil {
		inv.memory = res.MemoryBytes
		inv.isolation = res.Isolation
		inv.logs, inv.dropped = res.Logs, res.DroppedLogs
		g.logGuest(ctx, inv, res.Logs)
	}
	if err != nil {
		return nil, guestFailure(err)
	}
	if res.Response.Status < 200 {
		// An informational status would be followed by a 200 the function
		// never chose; treat it as the malformed response it is.
		return nil, apierror.New(apierror.FunctionFailed, "the function failed")
	}
	return res.Response, nil
}

// guestFailure maps a runtime failure to the error the caller sees. The
// cause (trap message, exit code) goes to the log only.
func guestFailure(err error) error {
	var gerr *runtime.GuestError
	if !errors.As(err, &gerr) {
		return apierror.Wrap(err, apierror.Internal, "internal error")
	}
	switch gerr.Failure {
	case runtime.FailTimeout:
		return apierror.Wrap(err, apierror.FunctionTimeout, "the function did not finish within its timeout")
	case runtime.FailOutOfMemory:
		return apierror.Wrap(err, apierror.FunctionOutOfMem, "the function exceeded its memory limit")
	case runtime.FailCanceled:
		return apierror.Wrap(err, apierror.Unavailable, "the request was cancelled")
	}
	return apierror.Wrap(err, apierror.FunctionFailed, "the function failed")
}

// slots is a function's concurrency limit.
type slots struct {
	limit int
	ch    chan struct{}
}

// acquire takes one of function's limit slots without waiting.
func (g *Gateway) acquire(function string, limit int) (release func(), ok bool) {
	limit = g.deps.Nodes.Split(limit)
	g.mu.Lock()
	s := g.slots[function]
	if s == nil || s.limit != limit {
		// A redeploy changed the limit: in-flight calls release into the
		// old channel, new calls use the new one.
		s = &slots{limit: limit, ch: make(chan struct{}, limit)}
		g.slots[function] = s
	}
	g.mu.Unlock()
	select {
	case s.ch <- struct{}{}:
		return func() { <-s.ch }, true
	default:
		return nil, false
	}
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, apierror.New(apierror.BodyTooLarge, "request body is larger than this function's limit of %d bytes", limit)
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, apierror.New(apierror.BodyTooLarge, "request body is larger than this function's limit of %d bytes", limit)
		}
		return nil, apierror.Wrap(err, apierror.BadRequest, "the request body could not be read")
	}
	return body, nil
}

// hopByHop are connection-level headers that never cross the gateway.
var hopByHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true,
	"Transfer-Encoding": true, "Upgrade": true,
}

// guestHeaders copies the request headers a function may see. The
// credential that authenticated the call is pave's, not the function's, so
// it is removed: third-party code inside a function never sees an API key
// or a bearer token meant for the gateway. On public and webhook routes the
// Authorization header is the function's own business and passes, unless
// it carries a pave credential, which never does. Headers named Pave-*
// are the platform's to set (the call depth, the calling function, the
// call id, the trigger and the schedule tick): whatever a client sends
// under those names is dropped, so a function can trust them.
func guestHeaders(h http.Header, auth string, depth int) []abi.Header {
	out := make([]abi.Header, 0, len(h)+1)
	// Headers named in Connection are hop-by-hop too (RFC 9110, 7.6.1).
	nominated := map[string]bool{}
	for _, v := range h.Values("Connection") {
		for _, name := range strings.Split(v, ",") {
			nominated[http.CanonicalHeaderKey(strings.TrimSpace(name))] = true
		}
	}
	bearer := auth == manifest.AuthAPIKey || auth == manifest.AuthJWT
	for name, values := range h {
		if hopByHop[name] || nominated[name] || reservedRequest(name) {
			continue
		}
		for _, v := range values {
			if name == "Authorization" && (bearer || identity.ContainsCredential(v)) {
				continue
			}
			out = append(out, abi.Header{Name: name, Value: v})
		}
	}
	return append(out, abi.Header{Name: limits.HeaderCallDepth, Value: strconv.Itoa(depth)})
}

// reservedRequest reports whether a request header is the platform's to
// set: every Pave-* name (canonical form).
func reservedRequest(name string) bool { return strings.HasPrefix(name, "Pave-") }

// reservedResponse are headers the gateway owns.
var reservedResponse = map[string]bool{
	"Content-Length": true, "X-Request-Id": true, "Server": true, "Date": true,
}

func writeResponse(w http.ResponseWriter, resp *abi.Response) {
	h := w.Header()
	// A header's first value takes a one-element slice of values, which
	// Add would allocate for each header: these share one array.
	values := make([]string, 0, len(resp.Headers)+2)
	add := func(name, v string) {
		if old, ok := h[name]; ok {
			h[name] = append(old, v)
			return
		}
		values = append(values, v)
		h[name] = values[len(values)-1 : len(values) : len(values)]
	}
	for _, hd := range resp.Headers {
		name := http.CanonicalHeaderKey(hd.Name)
		if hopByHop[name] || reservedResponse[name] {
			continue
		}
		add(name, hd.Value)
	}
	if h.Get("X-Content-Type-Options") == "" {
		delete(h, "X-Content-Type-Options")
		add("X-Content-Type-Options", "nosniff")
	}
	delete(h, "Content-Length")
	add("Content-Length", strconv.Itoa(len(resp.Body)))
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

func (g *Gateway) logInvocation(ctx context.Context, inv *invocation) {
	level := slog.LevelInfo
	outcome := "ok"
	if inv.code != "" {
		outcome = string(inv.code)
		if inv.status >= 500 {
			level = slog.LevelWarn
		}
	}
	// The log line and the record give the same duration.
	ms := float64(g.now().Sub(inv.start).Microseconds()) / 1000
	attrs := []slog.Attr{
		slog.String("request_id", inv.requestID),
		slog.String("function", inv.function),
		slog.Int("version", inv.version),
		slog.String("route", inv.route),
		slog.String("caller", inv.caller),
		slog.Int("status", inv.status),
		slog.Float64("duration_ms", ms),
		slog.Uint64("memory_bytes", inv.memory),
		slog.Float64("isolation_us", float64(inv.isolation.Nanoseconds())/1000),
		slog.String("outcome", outcome),
	}
	if inv.parent != "" {
		attrs = append(attrs, slog.String("parent_request_id", inv.parent))
	}
	if inv.cause != nil {
		cause := inv.cause.Error()
		if inv.redactor != nil {
			cause = inv.redactor.String(cause)
		}
		attrs = append(attrs, slog.String("cause", cause))
	}
	g.logAttrs(ctx, level, "invocation", attrs)
	if g.deps.Observer != nil {
		g.deps.Observer.Observe(record(inv, ms))
	}
}

// logAttrs logs as g.log.LogAttrs does, but without the caller's program
// counter, which Logger finds with runtime.Callers on every line: a
// microsecond or more per invocation, for a source location the daemon's
// handlers never print (none sets AddSource).
func (g *Gateway) logAttrs(ctx context.Context, level slog.Level, msg string, attrs []slog.Attr) {
	if !g.log.Enabled(ctx, level) {
		return
	}
	r := slog.NewRecord(time.Now(), level, msg, 0)
	r.AddAttrs(attrs...)
	_ = g.log.Handler().Handle(ctx, r)
}

// addrString is a's text, or "" if a is not set.
func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// record is what the history and the metrics keep of inv, which took
// durationMS.
func record(inv *invocation, durationMS float64) observe.Record {
	r := observe.Record{
		Time: inv.start, RequestID: inv.requestID, Parent: inv.parent,
		Function: inv.function, Version: inv.version, Digest: inv.digest,
		Route: inv.route, Caller: inv.caller, Source: addrString(inv.source), Status: inv.status, Code: string(inv.code),
		DurationMS:  durationMS,
		MemoryBytes: inv.memory, DroppedLogs: inv.dropped,
	}
	if len(inv.caps) > 0 {
		r.Capabilities = make(map[string]observe.CapabilityCount, len(inv.caps))
		for c, n := range inv.caps {
			r.Capabilities[c] = observe.CapabilityCount{Calls: n.Calls, Denials: n.Denials, Failures: n.Failures}
		}
	}
	for _, l := range inv.logs {
		r.Logs = append(r.Logs, observe.LogLine{Level: l.Level.String(), Msg: l.Msg})
	}
	return r
}

func (g *Gateway) logGuest(ctx context.Context, inv *invocation, lines []hostapi.LogLine) {
	for _, l := range lines {
		g.logAttrs(ctx, l.Level, l.Msg, []slog.Attr{
			slog.String("source", "guest"),
			slog.String("request_id", inv.requestID),
			slog.String("function", inv.function)})
	}
}
