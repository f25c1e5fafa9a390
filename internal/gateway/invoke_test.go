package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/capability"
	"github.com/pave-dev/pave/internal/hostapi"
	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/runtime"
)

// stubCaps stands for the caller's capabilities in the context of a host
// call.
type stubCaps struct{ hostapi.Capabilities }

func TestInvokeFunction(t *testing.T) {
	f := newFixture(t)
	var sawCaps bool
	f.eng.handle = func(ctx context.Context, req *abi.Request) (*runtime.Result, error) {
		// A callee with no grants must not see the caller's
		// capabilities in its context.
		sawCaps = hostapi.CapabilitiesFrom(ctx) != nil
		return okResult("ok"), nil
	}
	ctx := hostapi.WithCapabilities(context.Background(), stubCaps{})
	from := capability.Origin{Function: "orders", Caller: "key:ci", RequestID: "parent-1", Depth: 2}
	req := &abi.Request{Method: "POST", Path: "/x", RawQuery: "a=1", Body: []byte("body"), Headers: []abi.Header{
		{Name: "X-Order", Value: "7"},
		{Name: "pave-invoked-by", Value: "spoofed"},
		{Name: limits.HeaderCallDepth, Value: "0"},
		{Name: "Connection", Value: "close"},
		{Name: "Authorization", Value: "Bearer pave_k_stolen"},
	}}
	resp, err := f.g.InvokeFunction(ctx, from, "hello", req)
	if err != nil || resp.Status != 200 {
		t.Fatalf("InvokeFunction = %+v, %v", resp, err)
	}
	if sawCaps {
		t.Error("the callee ran with the caller's capabilities")
	}
	got := f.eng.lastRequest(t)
	if got.Caller != "key:ci" || got.RequestID == "" || got.RequestID == "parent-1" || got.Path != "/x" || got.RawQuery != "a=1" || string(got.Body) != "body" {
		t.Errorf("callee request %+v", got)
	}
	h := headerMap(got.Headers)
	if h["X-Order"][0] != "7" || len(h["Pave-Invoked-By"]) != 1 || h["Pave-Invoked-By"][0] != "orders" ||
		len(h[limits.HeaderCallDepth]) != 1 || h[limits.HeaderCallDepth][0] != "2" || h["Connection"] != nil || h["Authorization"] != nil {
		t.Errorf("callee headers %v", h)
	}
	line := invocationLog(t, f.logs, got.RequestID)
	if line["route"] != "invoke from orders" || line["parent_request_id"] != "parent-1" || line["caller"] != "key:ci" {
		t.Errorf("log line %v", line)
	}
}

func TestInvokeFunctionRefusals(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.g.InvokeFunction(ctx, capability.Origin{Function: "a", Depth: 1}, "nope", &abi.Request{Method: "POST", Path: "/"}); !errors.Is(err, capability.ErrFunctionNotFound) {
		t.Errorf("unknown function: %v", err)
	}
	resp, err := f.g.InvokeFunction(ctx, capability.Origin{Function: "a", Depth: limits.DefaultMaxCallDepth + 1}, "hello", &abi.Request{Method: "POST", Path: "/"})
	if err != nil {
		t.Fatal(err)
	}
	var body apierror.Body
	if resp.Status != 508 || json.Unmarshal(resp.Body, &body) != nil || body.Error.Code != apierror.CallDepthExceeded || body.Error.RequestID == "" {
		t.Errorf("too deep: %d %s", resp.Status, resp.Body)
	}
	if headerMap(resp.Headers)["Content-Type"][0] != "application/json" {
		t.Errorf("headers %v", resp.Headers)
	}

	// A query the gateway would refuse from outside is refused from a
	// function too: no callee receives one that parsers read differently.
	f.eng.handle = nil
	before := len(f.eng.requests())
	for _, q := range []string{"limit=abc;x=1", "limit=abc%ZZ", "limit=%FF"} {
		resp, err := f.g.InvokeFunction(ctx, capability.Origin{Function: "a", Depth: 1}, "hello", &abi.Request{Method: "GET", Path: "/", RawQuery: q})
		if err != nil || resp.Status != 400 || json.Unmarshal(resp.Body, &body) != nil || body.Error.Code != apierror.BadRequest {
			t.Errorf("query %q: %+v, %v", q, resp, err)
		}
	}
	// Nor a path the router would not match from outside.
	for _, path := range []string{"/files/../private", "/a//b", "/a/./b", "/a/", "/a\\b", "/a\xffb", "/a\nb"} {
		resp, err := f.g.InvokeFunction(ctx, capability.Origin{Function: "a", Depth: 1}, "hello", &abi.Request{Method: "GET", Path: path})
		if err != nil || resp.Status != 400 || json.Unmarshal(resp.Body, &body) != nil || body.Error.Code != apierror.BadRequest {
			t.Errorf("path %q: %+v, %v", path, resp, err)
		}
	}
	if len(f.eng.requests()) != before {
		t.Error("a callee received an ambiguous query or a path that is not canonical")
	}

	// The callee's concurrency limit holds for calls from functions too.
	release := make(chan struct{})
	started := make(chan struct{})
	f.eng.handle = func(context.Context, *abi.Request) (*runtime.Result, error) {
		close(started)
		<-release
		return okResult("ok"), nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = f.g.InvokeFunction(ctx, capability.Origin{Function: "a", Depth: 1}, "slow", &abi.Request{Method: "GET", Path: "/slow"})
	}()
	<-started
	resp, err = f.g.InvokeFunction(ctx, capability.Origin{Function: "a", Depth: 1}, "slow", &abi.Request{Method: "GET", Path: "/slow"})
	if err != nil || resp.Status != 429 || headerMap(resp.Headers)["Retry-After"] == nil {
		t.Errorf("over the callee's concurrency: %+v, %v", resp, err)
	}
	close(release)
	<-done
	if refused := f.g.Refusals(); refused[apierror.ConcurrencyLimited] != 1 || refused[apierror.CallDepthExceeded] != 1 || refused[apierror.BadRequest] != 10 {
		t.Errorf("refusals counted: %v", refused)
	}
}
