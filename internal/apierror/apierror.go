// Package apierror is the catalogue of errors pave returns to clients, and the
// one place that turns an error into an HTTP response.
//
// Handlers in the gateway and the admin API return errors instead of writing
// them. An *Error carries a stable Code from the catalogue below, the HTTP
// status, a message safe to show to any caller, and, separately, the internal
// cause that only goes to the log. Anything that is not an *Error becomes
// "internal" with a generic message: a Go error string, a file path or a stack
// trace never reaches a client (SAS-10).
package apierror

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
)

// Code is a stable, machine-readable error name. Codes are part of the API:
// never rename one; add new ones.
type Code string

// The catalogue.
const (
	BadRequest         Code = "bad_request"
	InvalidManifest    Code = "invalid_manifest"
	InvalidModule      Code = "invalid_module"
	Unauthenticated    Code = "unauthenticated"
	Forbidden          Code = "forbidden"
	NotFound           Code = "not_found"
	RouteNotFound      Code = "route_not_found"
	FunctionNotFound   Code = "function_not_found"
	KeyNotFound        Code = "key_not_found"
	UserNotFound       Code = "user_not_found"
	BlobNotFound       Code = "blob_not_found"
	MethodNotAllowed   Code = "method_not_allowed"
	Conflict           Code = "conflict"
	BodyTooLarge       Code = "body_too_large"
	ConcurrencyLimited Code = "concurrency_limited"
	FunctionTimeout    Code = "function_timeout"
	FunctionFailed     Code = "function_failed"
	FunctionOutOfMem   Code = "function_out_of_memory"
	Unavailable        Code = "unavailable"
	Internal           Code = "internal"

	// Refusals of the gateway's defences.
	InvalidToken         Code = "invalid_token"          // a JWT that fails verification
	InvalidSignature     Code = "invalid_signature"      // a webhook delivery that fails verification
	Replayed             Code = "replayed"               // a webhook delivery seen before
	InsufficientScope    Code = "insufficient_scope"     // an identity without what the route requires
	SourceNotAllowed     Code = "source_not_allowed"     // an API key used from outside its networks
	InvalidInput         Code = "invalid_input"          // a body or query that breaks the route's contract
	UnsupportedMediaType Code = "unsupported_media_type" // a body that is not JSON on a route with a body schema
	RateLimited          Code = "rate_limited"
	OwnerBusy            Code = "owner_concurrency_limited"
	BudgetExhausted      Code = "budget_exhausted"
	CallDepthExceeded    Code = "call_depth_exceeded"
	CallCountExceeded    Code = "call_count_exceeded"  // a request, event or tick caused more invocations than --max-calls-per-request
	IdentityUnavailable  Code = "identity_unavailable" // issuer keys or webhook secrets cannot be read: fail closed
	FunctionQuarantined  Code = "function_quarantined" // an operator disabled the function
	PostureRefused       Code = "posture_refused"      // a deploy with findings at or above --deploy-fail-on
	PolicyRefused        Code = "policy_refused"       // a deploy that violates the organisation's policies
	InvalidPolicy        Code = "invalid_policy"       // policy rules that do not compile
	EdgeNotAllowed       Code = "edge_not_allowed"     // a job over a route or trigger the function no longer has
	IdempotencyReused    Code = "idempotency_key_reused"
	InvalidEvent         Code = "invalid_event"        // not a CloudEvent, or event data that breaks a trigger's schema
	CallbackNotAllowed   Code = "callback_not_allowed" // a callback URL outside the function's callback grants
)

// statuses maps each code to its HTTP status.
var statuses = map[Code]int{
	BadRequest:         http.StatusBadRequest,
	InvalidManifest:    http.StatusBadRequest,
	InvalidModule:      http.StatusBadRequest,
	Unauthenticated:    http.StatusUnauthorized,
	Forbidden:          http.StatusForbidden,
	NotFound:           http.StatusNotFound,
	RouteNotFound:      http.StatusNotFound,
	FunctionNotFound:   http.StatusNotFound,
	KeyNotFound:        http.StatusNotFound,
	UserNotFound:       http.StatusNotFound,
	BlobNotFound:       http.StatusNotFound,
	MethodNotAllowed:   http.StatusMethodNotAllowed,
	Conflict:           http.StatusConflict,
	BodyTooLarge:       http.StatusRequestEntityTooLarge,
	ConcurrencyLimited: http.StatusTooManyRequests,
	FunctionTimeout:    http.StatusGatewayTimeout,
	FunctionFailed:     http.StatusBadGateway,
	FunctionOutOfMem:   http.StatusBadGateway,
	Unavailable:        http.StatusServiceUnavailable,
	Internal:           http.StatusInternalServerError,

	InvalidToken:         http.StatusUnauthorized,
	InvalidSignature:     http.StatusUnauthorized,
	Replayed:             http.StatusUnauthorized,
	InsufficientScope:    http.StatusForbidden,
	SourceNotAllowed:     http.StatusForbidden,
	InvalidInput:         http.StatusBadRequest,
	UnsupportedMediaType: http.StatusUnsupportedMediaType,
	RateLimited:          http.StatusTooManyRequests,
	OwnerBusy:            http.StatusTooManyRequests,
	BudgetExhausted:      http.StatusTooManyRequests,
	CallDepthExceeded:    http.StatusLoopDetected,
	CallCountExceeded:    http.StatusLoopDetected, // not 429: the same request would cause as many again; a fan-out, like a loop, is the functions'
	FunctionQuarantined:  http.StatusForbidden,
	PostureRefused:       http.StatusUnprocessableEntity,
	PolicyRefused:        http.StatusUnprocessableEntity,
	InvalidPolicy:        http.StatusBadRequest,
	EdgeNotAllowed:       http.StatusForbidden,
	IdempotencyReused:    http.StatusUnprocessableEntity,
	InvalidEvent:         http.StatusBadRequest,
	CallbackNotAllowed:   http.StatusForbidden,
	IdentityUnavailable:  http.StatusServiceUnavailable,
}

// Codes returns every code of the catalogue, sorted: what clients may
// see, and what docs/OPERATIONS.md's table of errors lists (a test checks
// both that every declared code is here and that the table matches).
func Codes() []Code {
	codes := slices.Collect(maps.Keys(statuses))
	slices.Sort(codes)
	return codes
}

// Status is the HTTP status of c (500 for an unknown code).
func (c Code) Status() int {
	if s, ok := statuses[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error is an error with a code from the catalogue.
type Error struct {
	Code Code
	// Message is shown to the client: it must not contain secrets, tokens,
	// request contents, paths or internal error text.
	Message string
	// Cause is logged, never sent.
	Cause error
	// RetryAfter, when positive, is sent as a Retry-After header (seconds).
	RetryAfter int
	// Violations, for InvalidInput, locate what broke the contract. Like
	// Message, they never hold the offending values.
	Violations []Violation
}

// Violation is one place where input broke a route's contract.
type Violation struct {
	// In is "body" or "query".
	In string `json:"in"`
	// Pointer is the JSON pointer of the offending value ("/items/3").
	Pointer string `json:"pointer"`
	// Reason says which rule it broke.
	Reason string `json:"reason"`
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Cause }

// New returns an *Error with a client-safe message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error whose cause is logged but not shown.
func Wrap(cause error, code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Cause: cause}
}

// From returns err as an *Error, turning an outage of the store into
// Unavailable, retryable after a second, and anything else unknown into
// Internal with a generic message.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if IsOutage(err) {
		return &Error{Code: Unavailable, Message: "the store cannot be reached right now; retry later", Cause: err, RetryAfter: 1}
	}
	return &Error{Code: Internal, Message: "internal error", Cause: err}
}

// outage is what an error of an unreachable dependency reports, such as
// package store's ErrUnavailable, without this package importing it.
type outage interface{ Unavailable() bool }

// IsOutage reports whether err, or an error it wraps, says a dependency
// the request needs (the store) could not be reached.
func IsOutage(err error) bool {
	var o outage
	return errors.As(err, &o) && o.Unavailable()
}

// CodeOf is From(err).Code, and "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	return From(err).Code
}
