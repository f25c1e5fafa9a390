package gateway

import (
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/limits"
)

// callTree returns the CallTree of an invocation that starts one: a root
// (allowance 0: a request from outside, an event a client published, a
// scheduled tick, an asynchronous call submitted from outside) gets
// --max-calls-per-request invocations; a job run for an event a function
// published gets the share the event carried (-1: none is left). The
// invocation's own is taken from it.
func (g *Gateway) callTree(allowance int) (*limits.CallTree, error) {
	if allowance == 0 {
		allowance = g.deps.Defenses.MaxCalls
	}
	t := limits.NewCallTree(max(allowance, 0))
	if !t.Take() {
		return nil, g.callCountExceeded()
	}
	return t, nil
}

// callCountExceeded is the refusal of an invocation past the tree's
// allowance.
func (g *Gateway) callCountExceeded() error {
	return apierror.New(apierror.CallCountExceeded,
		"the request has caused as many function invocations as it may (%d, counting invoke calls and the functions its events ran); a fan-out or a loop is likely",
		g.deps.Defenses.MaxCalls)
}
