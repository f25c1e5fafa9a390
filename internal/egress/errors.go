package egress

import (
	"errors"
	"fmt"
)

// Errors returned by Session.Do and CheckAddr. They are wrapped with detail
// that is safe to show the function; test for them with errors.Is.
var (
	// ErrNotGranted: the URL's host and port match none of the grants.
	ErrNotGranted = errors.New("egress: host not granted")
	// ErrForbiddenAddress: the host is, or resolves to, an address the
	// policy does not allow.
	ErrForbiddenAddress = errors.New("egress: address not allowed")
	// ErrTooManyRequests: the invocation has used all its requests.
	ErrTooManyRequests = errors.New("egress: too many requests")
	// ErrTooLarge: a request or response body, or their headers, exceed
	// the limits.
	ErrTooLarge = errors.New("egress: too large")
	// ErrBadRequest: the request is malformed or uses something the client
	// never does (another scheme, user information in the URL...).
	ErrBadRequest = errors.New("egress: bad request")
	// ErrRedirect: a redirect was refused. The error also wraps the
	// reason when one of the other checks refused the redirect's target.
	ErrRedirect = errors.New("egress: redirect refused")
	// ErrTimeout: the request did not complete within its timeout or the
	// invocation's deadline.
	ErrTimeout = errors.New("egress: timed out")
	// ErrUpstream: the host could not be resolved or reached, the TLS
	// handshake failed, or the server's response was not valid HTTP.
	ErrUpstream = errors.New("egress: upstream request failed")
	// ErrInvalidGrant: ParseGrant refused a grant.
	ErrInvalidGrant = errors.New("egress: invalid grant")
)

// refusal is the error type of this package. Its text is only msg, which
// is written to be safe for the function to see; kinds are the sentinel
// errors it matches and cause, if any, the underlying error, kept for
// errors.Is and errors.As but never printed.
type refusal struct {
	kinds []error
	msg   string
	cause error
}

func (e *refusal) Error() string { return "egress: " + e.msg }

func (e *refusal) Unwrap() []error {
	if e.cause == nil {
		return e.kinds
	}
	return append(append([]error(nil), e.kinds...), e.cause)
}

func refuse(kind error, format string, args ...any) *refusal {
	return &refusal{kinds: []error{kind}, msg: fmt.Sprintf(format, args...)}
}

// redirected marks e as the refusal of a redirect.
func redirected(e *refusal) *refusal {
	for _, k := range e.kinds {
		if k == ErrRedirect {
			return e
		}
	}
	return &refusal{
		kinds: append([]error{ErrRedirect}, e.kinds...),
		msg:   "redirect refused: " + e.msg,
		cause: e.cause,
	}
}
