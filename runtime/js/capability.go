//go:build pave_secrets || pave_kv || pave_http || pave_invoke || pave_publish

package main

import "errors"

// errorKind pairs a capability package's sentinel error with the code a
// rejection carries for it.
type errorKind struct {
	err  error
	code string
}

// capabilityError is the error that rejects a capability's promise when
// the SDK call failed with err: an Error (TypeError for fetch, as the web
// platform has it) whose message is err's, which the SDK writes to hold
// no secret value, URL path or query, header value or body, and whose code
// is that of the first of kinds err matches: "invalid", "denied",
// "not_found", "conflict", "limit" or "unavailable".
func (e *engine) capabilityError(class string, err error, kinds []errorKind) error {
	code := "unavailable"
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			code = k.code
			break
		}
	}
	return e.thrown(e.newError(class, err.Error(), code))
}
