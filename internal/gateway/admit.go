package gateway

import (
	"context"
	"net/http"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/registry"
)

// Every call of a function goes through admit and then run, whichever way
// it comes: a route, an asynchronous submit and the job it queues, a
// trigger's job, another function's invoke, the operator's invoke. The
// order of the defences therefore lives here, once:
//
//	call depth → call count → function deployed, not quarantined, (a job:
//	its edge still declared) → rate limits → owner's slot → function's
//	slot → [the entry point's own steps] → budget → run → settle
//
// What differs between the ways in is said by an admission, field by
// field, and nowhere else:
//
//	                  call tree     rate limits           slots  budget  refusals that pass
//	route             new           caller, function      yes    yes     answered (429)
//	async submit      none (job)    caller, function      no     no      answered (429)
//	job of a submit   job's share   no (met at submit)    yes    yes     deferred
//	trigger's job     job's share   trigger, function     yes    yes     deferred
//	invoke            caller's      calling fn, function  yes    yes     answered (429)
//	operator invoke   new           no                    yes    no      answered (429)
//
// A route's HTTP steps (authentication before admit; the body, the webhook
// signature and the input contract after it) are the route's own, in
// serveSync and serveAsync.

// admission is what differs between the ways a call reaches a function.
type admission struct {
	// function is the function called.
	function string
	// calls is the tree the call joins and takes one invocation from: the
	// invoking function's. Nil starts a tree of allowance invocations (0:
	// a root's, --max-calls-per-request; a job's share otherwise).
	calls     *limits.CallTree
	allowance int
	// edge, when set, must hold for the function's active version: the
	// route or trigger a queued job came by, which a deploy may have
	// dropped since.
	edge func(*registry.Version) bool
	// rateCaller is the caller's bucket in the function's rate limit;
	// rateHeaders, when set, receives the policy that applied.
	rateCaller  string
	rateHeaders http.Header
	// noRate skips the rate limits: the operator's invoke, and a job
	// submitted over HTTP, which met them when it was submitted.
	noRate bool
	// noBudget skips the budgets: the operator's invoke (the operator is
	// fully trusted; SECURITY.md, known limitation 8).
	noBudget bool
	// queueOnly admits a call that is only queued (an asynchronous
	// submit): it takes no invocation, slot or budget now; its job does
	// when it runs.
	queueOnly bool
	// wait makes a refusal that passes with time (a rate or concurrency
	// limit) a deferral the caller waits out, not a failure: a queued job.
	wait bool
}

// admitted is a call admit let through. It holds the call's slots until
// done.
type admitted struct {
	g       *Gateway
	f       *registry.Function
	inv     *invocation
	budget  bool
	queued  bool
	release []func()
	slots   [2]func() // release's array: the owner's slot and the function's
}

// admit takes a call of a.function, at depth inv.depth, through the
// defences every way in shares, up to and including the concurrency
// slots. The caller ends it with done.
func (g *Gateway) admit(inv *invocation, a admission) (*admitted, error) {
	if max := g.deps.Defenses.MaxCallDepth; inv.depth > max {
		return nil, callDepthExceeded(max, nil)
	}
	if !a.queueOnly {
		if err := g.takeCall(inv, a); err != nil {
			return nil, err
		}
	}
	f, ok := g.fns.Get(a.function)
	if !ok {
		return nil, apierror.New(apierror.FunctionNotFound, "function %q is not deployed", a.function)
	}
	if err := quarantined(f); err != nil {
		return nil, err
	}
	v := f.Current()
	if a.edge != nil && !a.edge(v) {
		return nil, apierror.New(apierror.EdgeNotAllowed, "the function no longer has the route or trigger this call came by")
	}
	if !a.noRate {
		h := a.rateHeaders
		if h == nil {
			h = http.Header{}
		}
		if err := g.rateLimit(h, f, a.rateCaller); err != nil {
			return nil, a.passing(err)
		}
	}
	c := &admitted{g: g, f: f, inv: inv, budget: !a.noBudget, queued: a.queueOnly}
	c.release = c.slots[:0]
	if a.queueOnly {
		return c, nil
	}
	releaseOwner, err := g.acquireOwner(f.Owner)
	if err != nil {
		return nil, a.passing(err)
	}
	c.release = append(c.release, releaseOwner)
	release, ok := g.acquire(f.Name, v.Limits.Concurrency)
	if !ok {
		c.done()
		return nil, a.passing(concurrencyLimited())
	}
	c.release = append(c.release, release)
	return c, nil
}

// takeCall takes the call's invocation from the tree it joins, or from a
// tree it starts.
func (g *Gateway) takeCall(inv *invocation, a admission) error {
	if a.calls == nil {
		t, err := g.callTree(a.allowance)
		inv.calls = t
		return err
	}
	if !a.calls.Take() {
		return g.callCountExceeded()
	}
	inv.calls = a.calls
	return nil
}

// callDepthExceeded is the refusal of a call nested deeper than max.
func callDepthExceeded(max int, cause error) error {
	return apierror.Wrap(cause, apierror.CallDepthExceeded, "function calls are nested deeper than %d; a call loop is likely", max)
}

// deferred is a refusal that passes with time, of an admission that waits
// for it: the caller tries again after its Retry-After.
type deferred struct{ err *apierror.Error }

func (d *deferred) Error() string { return d.err.Error() }
func (d *deferred) Unwrap() error { return d.err }

// passing is err as a refusal that passes with time: deferred if a waits.
func (a admission) passing(err error) error {
	if !a.wait {
		return err
	}
	return &deferred{err: apierror.From(err)}
}

// run takes the call's budget reservation, runs the function on req and
// settles the reservation with the time the call took. A queued
// admission does not run.
func (c *admitted) run(ctx context.Context, req *abi.Request) (*abi.Response, error) {
	if c.queued {
		return nil, apierror.New(apierror.Internal, "internal error")
	}
	var reservation *limits.Reservation
	if c.budget {
		var err error
		if reservation, err = c.g.reserveBudget(c.f, int64(len(req.Body))); err != nil {
			return nil, err
		}
	}
	start := c.g.now()
	resp, err := c.g.call(ctx, c.f, req, c.inv)
	reservation.Settle(c.g.now().Sub(start))
	return resp, err
}

// done releases the call's slots.
func (c *admitted) done() {
	for i := len(c.release) - 1; i >= 0; i-- {
		c.release[i]()
	}
	c.release = nil
}

// refused records err as inv's outcome, counts the refusal and returns it
// as the error the caller sees.
func (g *Gateway) refused(inv *invocation, err error) *apierror.Error {
	e := apierror.From(err)
	inv.status, inv.code, inv.cause = e.Code.Status(), e.Code, e.Cause
	g.countRefusal(e.Code)
	return e
}
