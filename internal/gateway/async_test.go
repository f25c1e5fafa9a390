package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/async"
	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/runtime"
)

// fakeQueue keeps submissions and answers Get from them.
type fakeQueue struct {
	mu   sync.Mutex
	subs []async.Submission
}

func (q *fakeQueue) Submit(_ context.Context, s async.Submission) (async.Call, bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.subs = append(q.subs, s)
	return async.Call{ID: strings.Repeat("a", 31) + string(rune('0'+len(q.subs))), State: async.Queued, Caller: s.Caller, Function: s.Function}, false, nil
}

func (q *fakeQueue) Get(_ context.Context, id string) (async.Call, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, s := range q.subs {
		if id == strings.Repeat("a", 31)+string(rune('0'+i+1)) {
			return async.Call{ID: id, State: async.Succeeded, Caller: s.Caller, Function: s.Function, Digest: "secret-digest"}, nil
		}
	}
	return async.Call{}, async.ErrNotFound
}

func TestAsyncSubmit(t *testing.T) {
	f := newFixture(t)
	q := &fakeQueue{}
	f.g.deps.Queue = q
	req := request("POST", "/async/hello?x=1", tokGood, []byte("hi"))
	req.Header.Set("Idempotency-Key", "k1")
	req.Header.Set(limits.HeaderCallDepth, "5")
	req.Header.Set(HeaderCallID, "spoofed")
	req.Header.Set("Pave-Trigger", "topic orders.created")
	req.Header.Set("pave-schedule-tick", "2026-01-01T00:00:00Z")
	rec := f.serve(req)
	if rec.Code != http.StatusAccepted || !strings.HasPrefix(rec.Header().Get("Location"), "/async/calls/") {
		t.Fatalf("submit = %d %s", rec.Code, rec.Body)
	}
	if len(f.eng.requests()) != 0 {
		t.Error("the function ran before the call was queued")
	}
	s := q.subs[0]
	h := headerMap(s.Request.Headers)
	if s.Function != "hello" || s.Route != "POST /hello" || s.Caller != "key:good" || s.IdempotencyKey != "k1" ||
		s.Request.Path != "/hello" || s.Request.RawQuery != "x=1" || string(s.Request.Body) != "hi" || h[HeaderCallID] != nil || h["Pave-Trigger"] != nil || h["Pave-Schedule-Tick"] != nil {
		t.Errorf("submission %+v, headers %v", s, h)
	}

	// The caller reads its call; another key and no key do not.
	var id struct{ ID string }
	_ = json.Unmarshal(rec.Body.Bytes(), &id)
	if rec := f.serve(request("GET", "/async/calls/"+id.ID, tokGood, nil)); rec.Code != 200 || strings.Contains(rec.Body.String(), "secret-digest") {
		t.Errorf("caller reads %d %s", rec.Code, rec.Body)
	}
	if rec := f.serve(request("GET", "/async/calls/"+id.ID, tokOther, nil)); rec.Code != 404 {
		t.Errorf("another key reads %d", rec.Code)
	}
	if rec := f.serve(request("GET", "/async/calls/"+id.ID, "", nil)); rec.Code != 401 {
		t.Errorf("no key reads %d", rec.Code)
	}

	// Checks that need no function run before the 202.
	for _, tt := range []struct {
		name   string
		req    *http.Request
		status int
		code   apierror.Code
	}{
		{"no key", request("POST", "/async/hello", "", nil), 401, apierror.Unauthenticated},
		{"no route", request("POST", "/async/nowhere", tokGood, nil), 404, apierror.RouteNotFound},
		{"body over the route's limit", request("POST", "/async/hello", tokGood, make([]byte, helloMaxBody+1)), 413, apierror.BodyTooLarge},
		{"callback without a checker", withHeader(request("POST", "/async/hello", tokGood, nil), HeaderCallback, "https://example.com/"), 403, apierror.CallbackNotAllowed},
		{"idempotency key with a newline", withHeader(request("POST", "/async/hello", tokGood, nil), HeaderIdempotencyKey, "a\nb"), 400, apierror.BadRequest},
	} {
		rec := f.serve(tt.req)
		if rec.Code != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.name, rec.Code, rec.Body, tt.status)
			continue
		}
		errorDetail(t, rec, tt.code)
	}
	if len(q.subs) != 1 {
		t.Errorf("%d submissions, want the first only", len(q.subs))
	}
	// A key revoked since reads nothing.
	past := time.Now().Add(-time.Second)
	f.g.keys.(fakeKeys)[tokGood].RevokedAt = &past
	if rec := f.serve(request("GET", "/async/calls/"+id.ID, tokGood, nil)); rec.Code != 403 {
		t.Errorf("a revoked key reads %d", rec.Code)
	}
}

func withHeader(r *http.Request, name, value string) *http.Request {
	r.Header[name] = []string{value}
	return r
}

func TestRunJob(t *testing.T) {
	f := newFixture(t)
	hello, _ := f.fns.Get("hello")
	hello.Versions[0].Triggers = []manifest.Trigger{{Topic: "orders.created"}}
	ctx := context.Background()
	job := func(route, trigger string, depth int) *async.Job {
		return &async.Job{ID: strings.Repeat("b", 32), Function: "hello", Route: route, Trigger: trigger, Caller: "key:good", Depth: depth,
			Request: abi.Request{Method: "POST", Path: "/hello", RequestID: "submit-1", Headers: []abi.Header{{Name: HeaderCallID, Value: "spoofed"}}}}
	}
	out := f.g.RunJob(ctx, job("POST /hello", "", 1))
	if out.Response == nil || out.Response.Status != 200 {
		t.Fatalf("a job over a route it has: %+v", out)
	}
	got := f.eng.lastRequest(t)
	if h := headerMap(got.Headers); len(h[HeaderCallID]) != 1 || h[HeaderCallID][0] != strings.Repeat("b", 32) || h[limits.HeaderCallDepth][0] != "1" {
		t.Errorf("the function saw headers %v", h)
	}
	if line := invocationLog(t, f.logs, got.RequestID); line["route"] != "async POST /hello" || line["parent_request_id"] != "submit-1" {
		t.Errorf("log line %v", line)
	}
	if out := f.g.RunJob(ctx, job("topic orders.created", "topic:orders.created", 2)); out.Response == nil {
		t.Errorf("a job over a trigger it has: %+v", out)
	}
	for _, tt := range []struct {
		name string
		job  *async.Job
		code apierror.Code
	}{
		{"a route it no longer has", job("POST /gone", "", 1), apierror.EdgeNotAllowed},
		{"a trigger it no longer has", job("topic orders.paid", "topic:orders.paid", 1), apierror.EdgeNotAllowed},
		{"too deep", job("topic orders.created", "topic:orders.created", limits.DefaultMaxCallDepth+1), apierror.CallDepthExceeded},
		{"a function gone", &async.Job{Function: "nope", Route: "POST /x", Depth: 1}, apierror.FunctionNotFound},
	} {
		out := f.g.RunJob(ctx, tt.job)
		if out.Response != nil || out.Code != tt.code || out.RetryAfter != 0 {
			t.Errorf("%s: %+v, want %s", tt.name, out, tt.code)
		}
	}

	// A busy function delays the job instead of failing it.
	release, started := make(chan struct{}), make(chan struct{})
	f.eng.handle = func(context.Context, *abi.Request) (*runtime.Result, error) {
		close(started)
		<-release
		return okResult("ok"), nil
	}
	slow := &async.Job{ID: strings.Repeat("c", 32), Function: "slow", Route: "GET /slow", Depth: 1, Request: abi.Request{Method: "GET", Path: "/slow"}}
	done := make(chan struct{})
	go func() { defer close(done); f.g.RunJob(ctx, slow) }()
	<-started
	if out := f.g.RunJob(ctx, slow); out.Code != apierror.ConcurrencyLimited || out.RetryAfter <= 0 {
		t.Errorf("at the concurrency limit: %+v", out)
	}
	close(release)
	<-done
}
