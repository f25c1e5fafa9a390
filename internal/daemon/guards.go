package daemon

import (
	"github.com/pave-dev/pave/internal/adminapi"
	"github.com/pave-dev/pave/internal/async"
	"github.com/pave-dev/pave/internal/gateway"
	"github.com/pave-dev/pave/internal/identity"
	"github.com/pave-dev/pave/internal/oidc"
	"github.com/pave-dev/pave/internal/registry"
	"github.com/pave-dev/pave/internal/runtime"
	"github.com/pave-dev/pave/internal/triggers"
)

// The subsystems' packages own the small interfaces they consume and do not
// import the packages that implement them only to check that they do: the
// wiring is where both sides meet, so the checks are here, and a method
// that drifts from its interface fails the build of the daemon.
var (
	_ gateway.Functions     = (*registry.Registry)(nil)
	_ gateway.Authenticator = (*identity.Keys)(nil)
	_ gateway.Engine        = (*runtime.Engine)(nil)
	_ gateway.UsageRecorder = (*registry.Usage)(nil)
	_ gateway.Queue         = (*async.Queue)(nil)
	_ gateway.TokenVerifier = (*oidc.Verifier)(nil)
	_ async.Runner          = (*gateway.Gateway)(nil)

	_ triggers.Functions = (*registry.Registry)(nil)
	_ triggers.Queue     = (*async.Queue)(nil)

	_ adminapi.Registry  = (*registry.Registry)(nil)
	_ adminapi.Preparer  = (*runtime.Engine)(nil)
	_ adminapi.Keys      = (*identity.Keys)(nil)
	_ adminapi.Invoker   = (*gateway.Gateway)(nil)
	_ adminapi.Usage     = (*registry.Usage)(nil)
	_ adminapi.AdminAuth = (*identity.Admin)(nil)
)
