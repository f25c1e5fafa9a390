// Package secret holds Value, the one type for a value that must never
// appear in output: the admin token, the master key, a webhook's signing
// secret, a function's secret as the host hands it to a guest.
//
// It is a leaf: it imports only the standard library, so that any package
// that handles a secret (an HMAC verifier, the audit log, the secrets
// store) can use the type without importing what defines where the value
// came from. The store of named secrets is package secrets.
package secret

import (
	"fmt"
	"io"
)

// Redacted is what every formatting of a Value prints, and what redactors
// write in place of a secret found in text.
const Redacted = "[REDACTED]"

// Value is a string that must not appear in output or logs. Every way of
// formatting it prints Redacted; Reveal returns the value for the one place
// that needs it, such as an Authorization header or an HMAC key.
type Value string

// Reveal returns the secret value.
func (v Value) Reveal() string { return string(v) }

// String returns Redacted.
func (Value) String() string { return Redacted }

// GoString returns Redacted, so that %#v hides the value too.
func (Value) GoString() string { return Redacted }

// Format writes Redacted for every verb and flag.
func (Value) Format(f fmt.State, _ rune) { io.WriteString(f, Redacted) }

// MarshalText returns Redacted, which keeps the value out of JSON and of
// structured logs.
func (Value) MarshalText() ([]byte, error) { return []byte(Redacted), nil }
