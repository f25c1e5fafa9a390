package capability

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/events"
	"github.com/pave-dev/pave/internal/hostapi"
	"github.com/pave-dev/pave/internal/limits"
)

// This file holds the capabilities that make one function's work flow into
// another's: invoke (call a named function and wait for its response) and
// publish (store an event on a topic). Both are edges a manifest declares;
// a call over any edge it does not declare is denied and audited.

// Origin is where a function-to-function call comes from.
type Origin struct {
	// Function is the calling function.
	Function string
	// Caller is the identity the calling invocation runs for; the callee
	// runs for it too.
	Caller string
	// RequestID is the calling invocation's request id.
	RequestID string
	// Depth is the callee's call depth: the caller's plus one.
	Depth int
	// Calls are the invocations left to the caller's tree, which the
	// callee joins.
	Calls *limits.CallTree
}

// Invoker runs a function on behalf of another; the gateway provides it,
// applying the callee's limits, budget and the call-depth cap. A refusal
// of the call is a response (with the status and error body an HTTP caller
// would see), not an error; the error is for a callee that is not deployed
// (ErrFunctionNotFound) or a failure of the host.
type Invoker interface {
	InvokeFunction(ctx context.Context, from Origin, function string, req *abi.Request) (*abi.Response, error)
}

// ErrFunctionNotFound is what an Invoker returns (errors.Is) for a callee
// that is not deployed.
var ErrFunctionNotFound = errors.New("no such function")

// Publisher stores events; *events.Topics provides it.
type Publisher interface {
	Publish(ctx context.Context, topic string, ev events.Event) (id string, err error)
}

var _ Publisher = (*events.Topics)(nil)

// SetInvoker enables the invoke capability through inv. It is the
// Broker's one dependency set after construction, because the Invoker (the
// gateway) is built on the Broker: call it once, before the first
// invocation.
func (b *Broker) SetInvoker(inv Invoker) { b.invoker = inv }

// Invoke implements hostapi.Capabilities: function must be granted, and
// the request is a path with an optional query.
func (s *Session) Invoke(ctx context.Context, function string, out *abi.Outbound) (*abi.Response, error) {
	if err := s.begin(); err != nil {
		return nil, err
	}
	if !slices.Contains(s.grants.Invoke, function) {
		return nil, s.deny(abi.CapabilityInvoke, fmt.Sprintf("function %q", truncate(function)))
	}
	req, err := calleeRequest(out)
	if err != nil {
		return nil, err
	}
	if s.b.invoker == nil {
		return nil, errors.New("no invoker")
	}
	s.use(abi.CapabilityInvoke, succeeded)
	from := Origin{Function: s.inv.Function, Caller: s.inv.Caller, RequestID: s.inv.RequestID, Depth: s.inv.Depth + 1, Calls: s.inv.Calls}
	resp, err := s.b.invoker.InvokeFunction(ctx, from, function, req)
	if errors.Is(err, ErrFunctionNotFound) {
		return nil, fmt.Errorf("%w: function %q is granted but not deployed", hostapi.ErrNotFound, function)
	}
	return resp, err
}

// calleeRequest turns the guest's request into the callee's, without the
// host's own fields (caller, request id, call depth), which the Invoker
// sets.
func calleeRequest(out *abi.Outbound) (*abi.Request, error) {
	path, query, _ := strings.Cut(out.URL, "?")
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "#\x00") || strings.Contains(query, "#") {
		return nil, fmt.Errorf("%w: the request URL of an invoke is a path such as /orders, with an optional ?query", hostapi.ErrInvalid)
	}
	method := out.Method
	if method == "" {
		method = "POST"
	}
	return &abi.Request{Method: method, Path: path, RawQuery: query, Headers: out.Headers, Body: out.Body}, nil
}

// Publish implements hostapi.Capabilities: topic must be granted.
func (s *Session) Publish(ctx context.Context, topic string, data []byte) (string, error) {
	if err := s.begin(); err != nil {
		return "", err
	}
	if !slices.Contains(s.grants.Publish, topic) {
		return "", s.deny(abi.CapabilityPublish, fmt.Sprintf("topic %q", truncate(topic)))
	}
	if len(data) > abi.MaxEventData {
		return "", fmt.Errorf("%w: event data is larger than %d bytes", hostapi.ErrLimit, abi.MaxEventData)
	}
	if s.b.publisher == nil {
		return "", errors.New("no event store")
	}
	// The event carries three quarters of what is left to this
	// invocation's tree (limits.CallTree.Hand):
	// the functions it runs may cause that many invocations, and this tree
	// that many fewer.
	allowance, ok := s.inv.Calls.Hand()
	if !ok {
		return "", fmt.Errorf("%w: the request has caused as many function invocations as it may; no event can be published for it", hostapi.ErrLimit)
	}
	s.use(abi.CapabilityPublish, succeeded)
	id, err := s.b.publisher.Publish(ctx, topic, events.Event{
		Source: "/functions/" + s.inv.Function, Data: data,
		Publisher: "function:" + s.inv.Function, Depth: s.inv.Depth, Allowance: allowance,
	})
	if err != nil {
		s.b.log.Error("publish failed", "function", s.inv.Function, "topic", topic, "err", err, "request_id", s.inv.RequestID)
		return "", err
	}
	s.b.log.Debug("event published", "function", s.inv.Function, "topic", topic, "event_id", id, "request_id", s.inv.RequestID)
	return id, nil
}
