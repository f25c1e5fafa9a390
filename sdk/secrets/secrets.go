// Package secrets reads the secrets a function's manifest grants it.
//
// A secret is granted by name in pave.yaml:
//
//	capabilities:
//	  secrets: [STRIPE_KEY]
//
// and read during an invocation, where it is needed:
//
//	key, err := secrets.Get("STRIPE_KEY")
//
// Get reads the latest version from the host on every call; the value is
// not cached by the SDK, and each read is audited by the host (the name and
// version, never the value). Call it from the handler: during package
// initialisation no invocation may be running, and then it fails with
// ErrDenied.
//
// A module that uses this package imports pave_secrets_v1, which the host
// links only for a function whose manifest grants at least one secret:
// deploying it without a grant is refused.
//
// A value is a plain string once read: keep it out of log lines, errors,
// panics and responses. Get's own errors never contain a value.
//
// Outside WebAssembly, such as under go test, every call fails with
// ErrUnavailable.
package secrets

import (
	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/sdk/internal/hostcall"
)

// Errors of Get. The error Get returns wraps one of them, so errors.Is
// matches it, and carries the host's reason.
var (
	// ErrInvalid: the name is malformed (empty or longer than the host
	// accepts).
	ErrInvalid = kinds[abi.ErrCodeInvalid]
	// ErrDenied: the manifest does not grant the secret.
	ErrDenied = kinds[abi.ErrCodeDenied]
	// ErrNotFound: the secret is granted but has not been set.
	ErrNotFound = kinds[abi.ErrCodeNotFound]
	// ErrLimit: the invocation made more capability calls than the host
	// allows.
	ErrLimit = kinds[abi.ErrCodeLimit]
	// ErrUnavailable: the host could not read the secret, or the function
	// is not running in pave; retrying later may help.
	ErrUnavailable = kinds[abi.ErrCodeUnavailable]
)

var kinds = hostcall.NewKinds("secrets", abi.ErrCodeInvalid, abi.ErrCodeDenied, abi.ErrCodeNotFound, abi.ErrCodeLimit, abi.ErrCodeUnavailable)

// Get returns the latest value of the secret name, which the manifest must
// grant. The error never contains the value.
func Get(name string) (string, error) {
	op := hostcall.Op{Call: "secrets: get", Name: name}
	if err := hostcall.CheckName(op, kinds, "secret name", name); err != nil {
		return "", err
	}
	b, err := hostcall.Call(op, kinds, func() int32 { return hostGet(name) })
	if err != nil {
		return "", err
	}
	v := string(b)
	clear(b) // leave one copy of the value in memory, not two
	return v, nil
}
