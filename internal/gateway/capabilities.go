package gateway

import (
	"context"

	"github.com/pave-dev/pave/internal/capability"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/hostapi"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/registry"
	"github.com/pave-dev/pave/internal/runtime"
)

// CapabilityBroker gives invocations the capabilities their manifests
// grant, and the means to keep granted secrets out of what leaves them.
type CapabilityBroker interface {
	Session(inv capability.Invocation, grants manifest.Capabilities) *capability.Session
	// Redactor hides the values of the secrets granted to a function (and
	// of those it read); nil when there is nothing to hide.
	Redactor(ctx context.Context, grants manifest.Capabilities, read []config.Secret) capability.Redactor
}

// Redactor replaces secret values with "[REDACTED]".
type Redactor = capability.Redactor

var _ CapabilityBroker = (*capability.Broker)(nil)

func hasGrants(c manifest.Capabilities) bool {
	return len(c.Secrets)+len(c.KV)+len(c.HTTP)+len(c.Invoke)+len(c.Publish) > 0
}

// withCapabilities binds an invocation's capabilities to ctx.
func (g *Gateway) withCapabilities(ctx context.Context, f *registry.Function, inv *invocation) (context.Context, *capability.Session) {
	grants := f.Current().Capabilities
	if g.deps.Capabilities == nil || !hasGrants(grants) {
		return ctx, nil
	}
	s := g.deps.Capabilities.Session(capability.Invocation{
		Function: f.Name, Owner: f.Owner, RequestID: inv.requestID, Caller: inv.caller, Depth: inv.depth,
	}, grants)
	return hostapi.WithCapabilities(ctx, s), s
}

// redact hides granted secrets in everything the invocation produced: its
// log lines, its response's headers and body (unless its route opted out),
// and the failure's cause.
func (g *Gateway) redact(ctx context.Context, grants manifest.Capabilities, s *capability.Session, res *runtime.Result, inv *invocation) {
	if g.deps.Capabilities == nil || len(grants.Secrets) == 0 {
		return
	}
	var read []config.Secret
	if s != nil {
		read = s.SecretsRead()
	}
	r := g.deps.Capabilities.Redactor(ctx, grants, read)
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
	if resp := res.Response; resp != nil && !inv.unredacted {
		resp.Body = r.Bytes(resp.Body)
		for i := range resp.Headers {
			resp.Headers[i].Value = r.String(resp.Headers[i].Value)
		}
	}
}
