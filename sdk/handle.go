package pave

import (
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/pave-dev/pave/abi"
)

// Handler handles one invocation. It returns the response, or an error to
// fail the invocation. A nil response with a nil error is 204 No Content.
type Handler func(*Request) (*Response, error)

// handler is the function's handler, set once by Handle during package
// initialization.
var handler Handler

// Handle registers h as the function's handler. It must be called exactly
// once, from an init function: main is never called in a reactor module.
func Handle(h Handler) {
	if h == nil {
		panic("pave: Handle called with a nil handler")
	}
	if handler != nil {
		panic("pave: Handle called twice; a function has exactly one handler")
	}
	handler = h
}

var errNoHandler = errors.New("pave: no handler registered; call pave.Handle from an init function")

// Call runs the registered handler on req as an invocation by the host
// does: req is encoded and decoded as by the host, a panic in the handler
// is recovered, and the response is validated and encoded as it would be for
// the host. It is meant for unit tests of handlers run with go test.
//
// An empty Method defaults to "GET" and an empty Path to "/". The error is
// non-nil exactly when the host would answer 502 Bad Gateway; a handler's
// own error is wrapped, so errors.Is finds it. Call is safe for concurrent
// use if the handler is.
func Call(req *Request) (*Response, error) {
	var ar *abi.Request
	if req == nil {
		ar = new(abi.Request)
	} else {
		ar = req.toABI()
	}
	if ar.Method == "" {
		ar.Method = "GET"
	}
	if ar.Path == "" {
		ar.Path = "/"
	}
	if err := ar.Validate(); err != nil {
		return nil, fmt.Errorf("pave: invalid request: %w", err)
	}
	wire, err := invoke(abi.AppendRequest(nil, ar))
	if err != nil {
		return nil, err
	}
	resp, err := abi.DecodeResponse(wire)
	if err != nil {
		return nil, fmt.Errorf("pave: decoding response: %w", err)
	}
	return &Response{Status: resp.Status, Header: Header(resp.Headers), Body: resp.Body}, nil
}

// invoke is one invocation, from the encoded request to the encoded
// response. The host's call of handle and Call both go through it.
func invoke(wire []byte) ([]byte, error) {
	if handler == nil {
		return nil, errNoHandler
	}
	ar, err := abi.DecodeRequest(wire)
	if err != nil {
		return nil, fmt.Errorf("pave: decoding request: %w", err)
	}
	resp, err := run(handler, newRequest(ar))
	if err != nil {
		return nil, err
	}
	out := resp.toABI()
	if err := out.Validate(); err != nil {
		return nil, fmt.Errorf("pave: invalid response: %w", err)
	}
	return abi.AppendResponse(nil, out), nil
}

// run calls h, turning a returned error or a panic into an error.
func run(h Handler, req *Request) (resp *Response, err error) {
	defer func() {
		if v := recover(); v != nil {
			resp, err = nil, &panicError{value: v, site: panicSite()}
		}
	}()
	resp, err = h(req)
	if err != nil {
		return nil, fmt.Errorf("pave: handler failed: %w", err)
	}
	return resp, nil
}

// panicError is a recovered panic of a handler.
type panicError struct {
	value any
	site  string // file:line of the panic
}

func (e *panicError) Error() string {
	return fmt.Sprintf("pave: handler panicked at %s: %v", e.site, e.value)
}

// Unwrap returns the panic value if it is an error, such as a
// runtime.Error.
func (e *panicError) Unwrap() error {
	err, _ := e.value.(error)
	return err
}

// panicSite returns the file and line of the panic being recovered. It must
// be called by the deferred function that recovers.
func panicSite() string {
	var pcs [32]uintptr
	// Skip runtime.Callers, panicSite and the deferred function; what
	// follows is the runtime's panic machinery and then the panicking
	// function.
	n := runtime.Callers(3, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if f.Function != "" && !strings.HasPrefix(f.Function, "runtime.") {
			return fmt.Sprintf("%s:%d", f.File, f.Line)
		}
		if !more {
			return "unknown location"
		}
	}
}
