//go:build pave_secrets

package main

import (
	"github.com/dop251/goja"

	"github.com/pave-dev/pave/sdk/secrets"
)

// env.secret(name) resolves to the latest value of a granted secret, read
// through sdk/secrets at the call: never during initialisation, so no
// value is in the snapshot. Built only for functions granted secrets: the
// engine then imports pave_secrets_v1.
var _ = func() bool {
	capabilities = append(capabilities, func(e *engine, env *goja.Object) {
		must(env.Set("secret", func(name string) goja.Value {
			return e.settle(func() (goja.Value, error) {
				v, err := secrets.Get(name)
				if err != nil {
					return nil, e.capabilityError("Error", err, secretErrors)
				}
				return e.vm.ToValue(v), nil
			})
		}))
	})
	return true
}()

// secretErrors are sdk/secrets' errors and the codes a rejection carries
// for them.
var secretErrors = []errorKind{
	{secrets.ErrInvalid, "invalid"}, {secrets.ErrDenied, "denied"}, {secrets.ErrNotFound, "not_found"},
	{secrets.ErrLimit, "limit"}, {secrets.ErrUnavailable, "unavailable"},
}
