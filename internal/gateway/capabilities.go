package gateway

import (
	"context"

	"github.com/pave-dev/pave/internal/capability"
	"github.com/pave-dev/pave/internal/hostapi"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/registry"
	"github.com/pave-dev/pave/internal/runtime"
	"github.com/pave-dev/pave/internal/secret"
)

// CapabilityBroker gives invocations the capabilities their manifests
// grant.
type CapabilityBroker interface {
	Session(inv capability.Invocation, grants manifest.Capabilities) *capability.Session
}

// Redactor replaces secret values with "[REDACTED]".
type Redactor = capability.Redactor

// Redaction gives the Redactors that keep stored secrets out of what
// leaves an invocation.
type Redaction interface {
	// Redactor hides the value of every stored secret, and the values in
	// extra, but not the values of the secrets named in except; nil when
	// there is nothing to hide.
	Redactor(extra []secret.Value, except []string) Redactor
}

var _ CapabilityBroker = (*capability.Broker)(nil)

func hasGrants(c manifest.Capabilities) bool {
	return len(c.Secrets)+len(c.KV)+len(c.HTTP)+len(c.Invoke)+len(c.Publish) > 0
}

// withCapabilities binds an invocation's capabilities to ctx, and only
// its own: those of a function that invoked it stay with the caller.
func (g *Gateway) withCapabilities(ctx context.Context, f *registry.Function, inv *invocation) (context.Context, *capability.Session) {
	grants := f.Current().Capabilities
	if g.deps.Capabilities == nil || !hasGrants(grants) {
		if hostapi.CapabilitiesFrom(ctx) == nil {
			return ctx, nil // none to hide: a call from outside
		}
		return hostapi.WithCapabilities(ctx, nil), nil
	}
	s := g.deps.Capabilities.Session(capability.Invocation{
		Function: f.Name, Owner: f.Owner, RequestID: inv.requestID, Caller: inv.caller, Depth: inv.depth, Calls: inv.calls,
	}, grants)
	return hostapi.WithCapabilities(ctx, s), s
}

// redact hides the value of every stored secret (and of those the
// invocation read) in everything it produced, whichever way the value came
// to it (its grants, a bucket, an event, an invoke result): its log lines,
// its response's headers and body, and the failure's cause. This is the
// one place function output passes: HTTP responses, invoke results,
// asynchronous results and callbacks, and the records of all of them. A
// route that opted out keeps the values of the function's own secrets in
// its response, and no other.
func (g *Gateway) redact(grants manifest.Capabilities, s *capability.Session, res *runtime.Result, inv *invocation) {
	if g.deps.Redaction == nil {
		return
	}
	var read []secret.Value
	if s != nil {
		read = s.SecretsRead()
	}
	r := g.deps.Redaction.Redactor(read, nil)
	if r == nil {
		return
	}
	inv.redactor = r
	if res == nil {
		return
	}
	for i := range res.Logs {
		res.Logs[i].Msg = r.String(res.Logs[i].Msg)
	}
	resp := res.Response
	if resp == nil {
		return
	}
	if inv.unredacted {
		if r = g.deps.Redaction.Redactor(nil, grants.Secrets); r == nil {
			return
		}
	}
	resp.Body = r.Bytes(resp.Body)
	for i := range resp.Headers {
		resp.Headers[i].Value = r.String(resp.Headers[i].Value)
	}
}
