package gateway

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/async"
	"github.com/pave-dev/pave/internal/capability"
	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/registry"
	"github.com/pave-dev/pave/internal/runtime"
)

// The ways into a function went through copies of the admission steps
// that disagreed. These tests pin the stricter reading admit now applies
// to every way in.

// TestOperatorInvokeTakesAnOwnerSlot: the operator's invoke took the
// function's concurrency slot only; it takes the owner's too, as every
// other call does (it still skips rate limits and budgets).
func TestOperatorInvokeTakesAnOwnerSlot(t *testing.T) {
	fns := &fakeFunctions{fns: map[string]*registry.Function{}}
	fns.put(testFunction("a1", manifest.DefaultLimits(), public("GET", "/a1")))
	fns.put(testFunction("a2", manifest.DefaultLimits(), public("GET", "/a2")))
	f := newDefended(t, fns, fakeKeys{}, func(d *Deps) { d.Defenses.OwnerConcurrency = 1 })
	release, started := make(chan struct{}), make(chan struct{})
	f.eng.handle = func(ctx context.Context, req *abi.Request) (*runtime.Result, error) {
		if req.Route == "/a1" {
			close(started)
			<-release
		}
		return okResult("ok"), nil
	}
	done := make(chan struct{})
	go func() { defer close(done); f.serve(request("GET", "/a1", "", nil)) }()
	<-started
	ctx := context.Background()
	if _, err := f.g.Call(ctx, "a2", &abi.Request{Method: "GET", Path: "/a2", Caller: "admin"}); apierror.CodeOf(err) != apierror.OwnerBusy {
		t.Errorf("operator invoke with the owner saturated: %v, want %s", err, apierror.OwnerBusy)
	}
	close(release)
	<-done
	if _, err := f.g.Call(ctx, "a2", &abi.Request{Method: "GET", Path: "/a2", Caller: "admin"}); err != nil {
		t.Errorf("operator invoke once the owner's call ended: %v", err)
	}
	if n := f.g.Refusals()[apierror.OwnerBusy]; n != 1 {
		t.Errorf("%d owner refusals counted, want the operator's", n)
	}
}

// TestOperatorInvokeSkipsRateAndBudget: what the operator's invoke skips
// it skips on purpose, and only that.
func TestOperatorInvokeSkipsRateAndBudget(t *testing.T) {
	fn := testFunction("hello", manifest.DefaultLimits(), public("GET", "/hello"))
	fn.Versions[0].Budget = &limits.Budget{Window: "day", Invocations: 1}
	fn.Versions[0].RateLimit.Function = &limits.Rate{PerSecond: 0.001, Burst: 1}
	f := newDefended(t, oneFunction(fn), fakeKeys{}, nil)
	if rec := f.serve(request("GET", "/hello", "", nil)); rec.Code != 200 {
		t.Fatalf("first call: %d %s", rec.Code, rec.Body)
	}
	errorDetail(t, f.serve(request("GET", "/hello", "", nil)), apierror.RateLimited)
	for range 3 {
		if _, err := f.g.Call(context.Background(), "hello", &abi.Request{Method: "GET", Path: "/hello", Caller: "admin"}); err != nil {
			t.Errorf("operator invoke past the rate limit and the budget: %v", err)
		}
	}
}

// TestQuarantineIsRefusedBeforeAnythingIsCharged: a function's invoke of
// a quarantined callee used to take the callee's rate token, slots and an
// invocation of its budget before the refusal; the callee is refused
// before anything is charged, as routes and jobs always were.
func TestQuarantineIsRefusedBeforeAnythingIsCharged(t *testing.T) {
	fn := testFunction("hello", manifest.DefaultLimits(), public("GET", "/hello"))
	fn.Versions[0].Budget = &limits.Budget{Window: "day", Invocations: 1}
	fns := oneFunction(fn)
	f := newDefended(t, fns, fakeKeys{}, nil)
	quarantined := *fn
	quarantined.Quarantine = &registry.Quarantine{At: time.Now(), By: "operator"}
	fns.put(&quarantined)
	ctx := context.Background()
	from := capability.Origin{Function: "a", Depth: 1}
	resp, err := f.g.InvokeFunction(ctx, from, "hello", &abi.Request{Method: "GET", Path: "/hello"})
	if err != nil || resp.Status != http.StatusForbidden {
		t.Fatalf("invoke of a quarantined function: %+v, %v", resp, err)
	}
	if _, err := f.g.Call(ctx, "hello", &abi.Request{Method: "GET", Path: "/hello"}); apierror.CodeOf(err) != apierror.FunctionQuarantined {
		t.Errorf("operator invoke of a quarantined function: %v", err)
	}
	fns.put(fn)
	if resp, err := f.g.InvokeFunction(ctx, from, "hello", &abi.Request{Method: "GET", Path: "/hello"}); err != nil || resp.Status != 200 {
		t.Errorf("the budget's one invocation was spent on a refusal: %d %s, %v", resp.Status, resp.Body, err)
	}
	if n := len(f.eng.requests()); n != 1 {
		t.Errorf("the function ran %d times, want 1", n)
	}
}

// TestEveryWayMeetsTheCallCount: a call tree's last invocation is spent
// whichever way the call comes.
func TestEveryWayMeetsTheCallCount(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tree := limits.NewCallTree(1)
	from := capability.Origin{Function: "a", Depth: 1, Calls: tree}
	if resp, _ := f.g.InvokeFunction(ctx, from, "hello", &abi.Request{Method: "GET", Path: "/hello"}); resp.Status != 200 {
		t.Fatalf("first invoke: %d", resp.Status)
	}
	if resp, _ := f.g.InvokeFunction(ctx, from, "hello", &abi.Request{Method: "GET", Path: "/hello"}); resp.Status != http.StatusLoopDetected {
		t.Errorf("invoke past the tree's allowance: %d", resp.Status)
	}
	job := &async.Job{ID: strings.Repeat("d", 32), Function: "hello", Route: "GET /hello", Depth: 2, Allowance: -1,
		Request: abi.Request{Method: "GET", Path: "/hello"}}
	if out := f.g.RunJob(ctx, job); out.Code != apierror.CallCountExceeded || out.RetryAfter != 0 {
		t.Errorf("job with nothing left: %+v", out)
	}
	if n := len(f.eng.requests()); n != 1 {
		t.Errorf("the function ran %d times, want 1", n)
	}
}

// TestJobsWaitOutWhatPasses: a job refused by a rate limit is deferred,
// while the same refusal of a route's caller is answered.
func TestJobsWaitOutWhatPasses(t *testing.T) {
	fn := testFunction("hello", manifest.DefaultLimits(), public("GET", "/hello"))
	fn.Versions[0].Triggers = []manifest.Trigger{{Topic: "orders.created"}}
	fn.Versions[0].RateLimit.Function = &limits.Rate{PerSecond: 0.001, Burst: 1}
	f := newDefended(t, oneFunction(fn), fakeKeys{}, nil)
	if rec := f.serve(request("GET", "/hello", "", nil)); rec.Code != 200 {
		t.Fatalf("first call: %d", rec.Code)
	}
	rec := f.serve(request("GET", "/hello", "", nil))
	errorDetail(t, rec, apierror.RateLimited)
	job := &async.Job{ID: strings.Repeat("e", 32), Function: "hello", Route: "topic orders.created", Trigger: "topic:orders.created", Depth: 1,
		Request: abi.Request{Method: "POST", Path: "/"}}
	if out := f.g.RunJob(context.Background(), job); out.Code != apierror.RateLimited || out.RetryAfter <= 0 {
		t.Errorf("a trigger's job over the rate limit: %+v, want a deferral", out)
	}
	// A job submitted over HTTP met the rate limits at submit.
	job = &async.Job{ID: strings.Repeat("f", 32), Function: "hello", Route: "GET /hello", Depth: 1,
		Request: abi.Request{Method: "GET", Path: "/hello"}}
	if out := f.g.RunJob(context.Background(), job); out.Response == nil || out.Response.Status != 200 {
		t.Errorf("a submitted job: %+v", out)
	}
}
