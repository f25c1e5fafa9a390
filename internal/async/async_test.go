package async

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/store"
)

// fakeRunner answers attempts from a script per function: each call takes
// the next outcome, and the last one repeats.
type fakeRunner struct {
	mu     sync.Mutex
	script map[string][]Outcome
	runs   map[string]int // by job id
	delay  time.Duration  // each run takes this long
	// allowances are the allowances each job's attempts were given.
	allowances map[string][]int
}

func (f *fakeRunner) RunJob(_ context.Context, j *Job) Outcome {
	time.Sleep(f.delay)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs[j.ID]++
	if f.allowances == nil {
		f.allowances = map[string][]int{}
	}
	f.allowances[j.ID] = append(f.allowances[j.ID], j.Allowance)
	s := f.script[j.Function]
	out := s[0]
	if len(s) > 1 {
		f.script[j.Function] = s[1:]
	}
	return out
}

func (f *fakeRunner) runsOf(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.runs[id]
}

type policies map[string]Policy

func (p policies) RetryPolicy(fn string) (Policy, bool) { v, ok := p[fn]; return v, ok }

type recordedCallbacks struct {
	mu    sync.Mutex
	fail  bool
	sent  [][]byte
	tries int
}

func (r *recordedCallbacks) Send(_ context.Context, fn, url string, body []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tries++
	if r.fail {
		return errors.New("connection refused")
	}
	r.sent = append(r.sent, body)
	return nil
}

var (
	ok200  = Outcome{Response: &abi.Response{Status: 200, Body: []byte("done")}}
	trap   = Outcome{Code: apierror.FunctionFailed, Message: "the function failed"}
	answer = func(status int) Outcome { return Outcome{Response: &abi.Response{Status: status}} }
)

type harness struct {
	q      *Queue
	runner *fakeRunner
	cbs    *recordedCallbacks
	dead   chan Failure
}

// newHarness runs a queue whose functions answer from script; each of
// tweaks changes the queue before its worker starts.
func newHarness(t *testing.T, script map[string][]Outcome, tweaks ...func(*Queue)) *harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := store.Open(ctx, store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	jobs, err := n.Stream(ctx, JobsConfig())
	if err != nil {
		t.Fatal(err)
	}
	dead, err := n.Stream(ctx, DeadConfig())
	if err != nil {
		t.Fatal(err)
	}
	calls, err := n.ExpiringKV(ctx, CallsBucket, CallRetention)
	if err != nil {
		t.Fatal(err)
	}
	retries, err := n.ExpiringKV(ctx, RetriesBucket, CallRetention)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{runner: &fakeRunner{script: script, runs: map[string]int{}}, cbs: &recordedCallbacks{}, dead: make(chan Failure, 16)}
	pol := policies{}
	for fn := range script {
		pol[fn] = Policy{Retries: 2, Backoff: 10 * time.Millisecond}
	}
	h.q = New(Deps{
		Jobs: jobs, Dead: dead, Calls: calls, Retries: retries, IDs: NewIDs([]byte("a test key of thirty-two bytes..")),
		Policies: pol, Callbacks: h.cbs,
		OnDead: func(_ *Job, f Failure) { h.dead <- f },
	}, Config{Workers: 4, AckWait: time.Second})
	h.q.callbackPause = 10 * time.Millisecond
	for _, tweak := range tweaks {
		tweak(h.q)
	}
	wctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.q.Run(wctx, h.runner) }()
	t.Cleanup(func() { stop(); <-done })
	return h
}

func submission(fn, body string) Submission {
	return Submission{Function: fn, Route: "POST /" + fn, Caller: "key:ci", Request: abi.Request{Method: "POST", Path: "/" + fn, Body: []byte(body)}}
}

// final waits for call id to reach a final state.
func (h *harness) final(t *testing.T, id string) Call {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := h.q.Get(context.Background(), id)
		if err == nil && c.State.Final() && (c.Callback == nil || c.Callback.Delivered || c.Callback.Attempts == callbackTries) {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("call %s not final: %+v, %v", id, c, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestOutcomes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string][]Outcome{
		"ok":        {ok200},
		"flaky":     {trap, trap, ok200},
		"broken":    {trap},
		"refuses":   {answer(422)},
		"erroring":  {answer(503)},
		"budget":    {{Code: apierror.BudgetExhausted, Message: "spent"}},
		"throttled": {{Code: apierror.RateLimited, RetryAfter: 20 * time.Millisecond}, {Code: apierror.RateLimited, RetryAfter: 20 * time.Millisecond}, ok200},
	})
	for _, tt := range []struct {
		fn       string
		state    State
		attempts int
		status   int
		code     string
	}{
		{"ok", Succeeded, 1, 200, ""},
		{"flaky", Succeeded, 3, 200, ""},
		{"broken", Dead, 3, 0, "function_failed"},
		{"refuses", Failed, 1, 422, ""},
		{"erroring", Dead, 3, 503, "function_failed"},
		{"budget", Dead, 1, 0, "budget_exhausted"},
		{"throttled", Succeeded, 1, 200, ""}, // deferrals are not attempts
	} {
		t.Run(tt.fn, func(t *testing.T) {
			c, existing, err := h.q.Submit(context.Background(), submission(tt.fn, "{}"))
			if err != nil || existing || c.State != Queued || !ValidID(c.ID) {
				t.Fatalf("submit = %+v, %v, %v", c, existing, err)
			}
			c = h.final(t, c.ID)
			if c.State != tt.state || c.Attempts != tt.attempts {
				t.Errorf("state %s after %d attempts, want %s after %d", c.State, c.Attempts, tt.state, tt.attempts)
			}
			if status := 0; c.Result != nil {
				status = c.Result.Status
				if status != tt.status {
					t.Errorf("result status %d, want %d", status, tt.status)
				}
			} else if tt.status != 0 {
				t.Errorf("no result, want status %d", tt.status)
			}
			if tt.code != "" && (c.Error == nil || c.Error.Code != tt.code) {
				t.Errorf("error %+v, want code %s", c.Error, tt.code)
			}
			dead, err := h.q.Dead(context.Background(), tt.fn, 0)
			if err != nil {
				t.Fatal(err)
			}
			if want := tt.state == Dead; (len(dead) == 1) != want || (want && (dead[0].Job.ID != c.ID || dead[0].Error.Code != tt.code || dead[0].Attempts != tt.attempts)) {
				t.Errorf("dead letters %+v, want one: %v", dead, want)
			}
		})
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string][]Outcome{"ok": {ok200}})
	ctx := context.Background()
	s := submission("ok", `{"order":1}`)
	s.IdempotencyKey = "order-1"
	first, existing, err := h.q.Submit(ctx, s)
	if err != nil || existing {
		t.Fatal(first, existing, err)
	}
	h.final(t, first.ID)
	again, existing, err := h.q.Submit(ctx, s)
	if err != nil || !existing || again.ID != first.ID || again.State != Succeeded {
		t.Errorf("repeat = %+v, existing %v, %v; want the first call, final", again, existing, err)
	}
	// Another caller's key names another call.
	other := s
	other.Caller = "key:someone-else"
	if c, existing, err := h.q.Submit(ctx, other); err != nil || existing || c.ID == first.ID {
		t.Errorf("another caller's key = %+v, %v, %v", c, existing, err)
	}
	// Anonymous callers do not share keys: each client's address is its
	// own scope.
	anon := s
	anon.Caller = ""
	ids := map[string]bool{}
	for _, scope := range []string{"ip:192.0.2.1", "ip:192.0.2.2"} {
		anon.IdempotencyScope = scope
		c, _, err := h.q.Submit(ctx, anon)
		if err != nil {
			t.Fatal(err)
		}
		ids[c.ID] = true
	}
	if len(ids) != 2 || ids[first.ID] {
		t.Errorf("two anonymous clients with one key got ids %v", ids)
	}
	changed := s
	changed.Request.Body = []byte(`{"order":2}`)
	if _, _, err := h.q.Submit(ctx, changed); !errors.Is(err, ErrIdempotencyReused) {
		t.Errorf("same key, other body: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := h.runner.runsOf(first.ID); n != 1 {
		t.Errorf("ran %d times, want once", n)
	}
}

// TestRedeliveredFinalJobDoesNotRunAgain plays a lost acknowledgement: the
// job of a finished call is delivered a second time.
func TestRedeliveredFinalJobDoesNotRunAgain(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string][]Outcome{"ok": {ok200}})
	ctx := context.Background()
	c, _, err := h.q.Submit(ctx, submission("ok", "x"))
	if err != nil {
		t.Fatal(err)
	}
	h.final(t, c.ID)
	j := Job{ID: c.ID, Function: "ok", Route: "POST /ok", Request: abi.Request{Method: "POST", Path: "/ok", Body: []byte("x")}}
	data, _ := json.Marshal(&j)
	if _, err := h.q.jobs.Publish(ctx, jobPrefix+"ok", "", nil, data); err != nil {
		t.Fatal(err)
	}
	// Wait for the queue to drain, then count.
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := h.q.jobs.Pending(ctx, WorkerName)
		if err == nil && n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("queue did not drain")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := h.runner.runsOf(c.ID); n != 1 {
		t.Errorf("ran %d times, want once", n)
	}
}

// TestCopyOfAFinishedCallLeavesItsRecord: a job delivered for the first
// time whose call is already final (a copy the duplicate window missed)
// neither runs nor changes the record, whether or not its function is
// still deployed.
func TestCopyOfAFinishedCallLeavesItsRecord(t *testing.T) {
	t.Parallel()
	for _, fn := range []string{"ok", "gone"} {
		t.Run(fn, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, map[string][]Outcome{"ok": {ok200}})
			ctx := context.Background()
			j := Job{ID: h.q.ids.Random(), Function: fn, Route: "POST /" + fn, Request: abi.Request{Method: "POST", Path: "/" + fn}}
			c := newCall(&j)
			c.State, c.Attempts, c.Result = Succeeded, 1, &Result{Status: 200}
			if err := h.q.put(ctx, &c); err != nil {
				t.Fatal(err)
			}
			data, _ := json.Marshal(&j)
			if _, err := h.q.jobs.Publish(ctx, jobSubject(j.ID), "", nil, data); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				n, err := h.q.jobs.Pending(ctx, WorkerName)
				if err == nil && n == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("queue did not drain")
				}
				time.Sleep(10 * time.Millisecond)
			}
			got, err := h.q.Get(ctx, j.ID)
			if err != nil || got.State != Succeeded || got.Attempts != 1 || h.runner.runsOf(j.ID) != 0 {
				t.Errorf("record %+v, %v, ran %d times; want it succeeded after one attempt, not run again", got, err, h.runner.runsOf(j.ID))
			}
			select {
			case f := <-h.dead:
				t.Errorf("dead-lettered: %+v", f)
			default:
			}
		})
	}
}

func TestRedrive(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string][]Outcome{"broken": {trap, trap, trap, ok200}})
	ctx := context.Background()
	c, _, err := h.q.Submit(ctx, submission("broken", "x"))
	if err != nil {
		t.Fatal(err)
	}
	if c = h.final(t, c.ID); c.State != Dead {
		t.Fatalf("state %s, want dead", c.State)
	}
	if f := <-h.dead; f.Code != "function_failed" {
		t.Errorf("OnDead told %+v", f)
	}
	dead, err := h.q.Dead(ctx, "broken", 0)
	if err != nil || len(dead) != 1 {
		t.Fatal(dead, err)
	}
	if _, err := h.q.Redrive(ctx, "other", []uint64{dead[0].Sequence}); !errors.Is(err, ErrNotDead) {
		t.Errorf("re-driving another function's job: %v", err)
	}
	if n, err := h.q.Redrive(ctx, "broken", []uint64{dead[0].Sequence}); n != 1 || err != nil {
		t.Fatalf("redrive = %d, %v", n, err)
	}
	if c = h.final(t, c.ID); c.State != Succeeded || c.Attempts != 1 {
		t.Errorf("after redrive: %s after %d attempts", c.State, c.Attempts)
	}
	if dead, err := h.q.Dead(ctx, "broken", 0); err != nil || len(dead) != 0 {
		t.Errorf("dead letters after redrive: %v, %v", dead, err)
	}
}

func TestTriggerJobAnswered4xxIsDeadLettered(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string][]Outcome{"consumer": {answer(400)}})
	s := submission("consumer", "not an order")
	s.Trigger, s.Route, s.ID = "topic:orders.created", "topic orders.created", h.q.ids.Derive("event", "e1")
	c, _, err := h.q.Submit(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if c = h.final(t, c.ID); c.State != Dead || c.Attempts != 1 || !strings.Contains(c.Error.Message, "400") {
		t.Errorf("a refused event: %+v", c)
	}
}

func TestCallbacks(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string][]Outcome{"ok": {ok200}})
	ctx := context.Background()
	s := submission("ok", "x")
	s.Callback = "https://hooks.example.com/done"
	c, _, err := h.q.Submit(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	c = h.final(t, c.ID)
	if !c.Callback.Delivered || c.Callback.Attempts != 1 {
		t.Fatalf("callback %+v", c.Callback)
	}
	h.cbs.mu.Lock()
	var sent Call
	err = json.Unmarshal(h.cbs.sent[0], &sent)
	h.cbs.mu.Unlock()
	if err != nil || sent.ID != c.ID || sent.State != Succeeded || string(sent.Result.Body) != "done" || sent.Callback != nil {
		t.Errorf("callback body %+v, %v", sent, err)
	}

	h.cbs.mu.Lock()
	h.cbs.fail = true
	h.cbs.mu.Unlock()
	c, _, err = h.q.Submit(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	c = h.final(t, c.ID)
	if c.State != Succeeded || c.Callback.Delivered || c.Callback.Attempts != callbackTries || c.Callback.Error == "" {
		t.Errorf("a failing callback: %+v %+v", c, c.Callback)
	}
}

func TestSubmitRefuses(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string][]Outcome{"ok": {ok200}})
	s := submission("ok", "")
	s.Request.Body = make([]byte, MaxBody+1)
	if _, _, err := h.q.Submit(context.Background(), s); !errors.Is(err, ErrTooLarge) {
		t.Errorf("body over the limit: %v", err)
	}
	for _, id := range []string{"", "../etc", strings.Repeat("g", 32), strings.Repeat("a", 33)} {
		if _, err := h.q.Get(context.Background(), id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) = %v", id, err)
		}
	}
}

func TestBackoff(t *testing.T) {
	for _, tt := range []struct {
		base time.Duration
		n    int
		want time.Duration
	}{
		{time.Second, 1, time.Second},
		{time.Second, 2, 2 * time.Second},
		{time.Second, 4, 8 * time.Second},
		{time.Minute, 10, MaxBackoff},
		{time.Second, 1000, MaxBackoff},
	} {
		if got := backoff(tt.base, tt.n); got != tt.want {
			t.Errorf("backoff(%v, %d) = %v, want %v", tt.base, tt.n, got, tt.want)
		}
	}
}

// TestCopiesOfAJobRunOnce queues two copies of one job, as a duplicate
// window lost to a restart would, and expects one run.
func TestCopiesOfAJobRunOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string][]Outcome{"ok": {ok200}})
	h.runner.mu.Lock()
	h.runner.delay = 300 * time.Millisecond
	h.runner.mu.Unlock()
	ctx := context.Background()
	j := Job{ID: h.q.ids.Random(), Function: "ok", Route: "POST /ok", Depth: 1, Request: abi.Request{Method: "POST", Path: "/ok"}}
	data, _ := json.Marshal(&j)
	for _, id := range []string{"copy-1", "copy-2"} {
		if _, err := h.q.jobs.Publish(ctx, jobPrefix+"ok", id, nil, data); err != nil {
			t.Fatal(err)
		}
	}
	if c := h.final(t, j.ID); c.State != Succeeded || c.Attempts != 1 {
		t.Errorf("call %+v", c)
	}
	time.Sleep(time.Second)
	if n := h.runner.runsOf(j.ID); n != 1 {
		t.Errorf("two copies ran %d times, want once", n)
	}
}

// TestInterruptedAttempts plays a daemon that died under a job: the
// record says running, from long ago.
func TestInterruptedAttempts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string][]Outcome{"ok": {ok200}})
	ctx := context.Background()
	for _, tt := range []struct {
		interrupted int
		state       State
	}{
		{0, Succeeded},
		{MaxInterruptions - 1, Dead},
	} {
		j := Job{ID: h.q.ids.Random(), Function: "ok", Route: "POST /ok", Depth: 1, Request: abi.Request{Method: "POST", Path: "/ok"}}
		c := newCall(&j)
		c.State, c.Attempts, c.Interrupted = Running, tt.interrupted+1, tt.interrupted
		rec, _ := json.Marshal(&c)
		rec = []byte(strings.Replace(string(rec), `"updated":"0001-01-01T00:00:00Z"`, `"updated":"2020-01-01T00:00:00Z"`, 1))
		if _, err := h.q.calls.Put(ctx, j.ID, rec); err != nil {
			t.Fatal(err)
		}
		data, _ := json.Marshal(&j)
		if _, err := h.q.jobs.Publish(ctx, jobPrefix+"ok", "", nil, data); err != nil {
			t.Fatal(err)
		}
		got := h.final(t, j.ID)
		if got.State != tt.state || got.Interrupted != tt.interrupted+1 {
			t.Errorf("after %d interruptions: %s with %d interrupted", tt.interrupted+1, got.State, got.Interrupted)
		}
		if tt.state == Dead && (got.Error == nil || got.Error.Code != "unavailable") {
			t.Errorf("given up with %+v", got.Error)
		}
		if want := map[State]int{Succeeded: 1, Dead: 0}[tt.state]; h.runner.runsOf(j.ID) != want {
			t.Errorf("ran %d times, want %d", h.runner.runsOf(j.ID), want)
		}
	}
}

// TestRetriesShareTheAllowance: a retry starts from what the attempts
// before it left of the job's allowance of invocations, not from the
// whole of it again.
func TestRetriesShareTheAllowance(t *testing.T) {
	t.Parallel()
	failLeaving := func(left int) Outcome { o := trap; o.CallsLeft = left; return o }
	h := newHarness(t, map[string][]Outcome{"spender": {failLeaving(40), failLeaving(-1), ok200}})
	s := submission("spender", "{}")
	s.Allowance = 100
	c, _, err := h.q.Submit(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	h.final(t, c.ID)
	h.runner.mu.Lock()
	got := fmt.Sprint(h.runner.allowances[c.ID])
	h.runner.mu.Unlock()
	if got != "[100 40 -1]" {
		t.Errorf("the attempts were given %s, want [100 40 -1]", got)
	}
}

// TestRecent: the calls changed last come first, as many as asked, and a
// scan that stops short says so.
func TestRecent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string][]Outcome{"ok": {ok200, ok200, ok200}})
	ctx := context.Background()
	var ids []string
	for i := range 3 {
		c, _, err := h.q.Submit(ctx, submission("ok", fmt.Sprintf(`{"n":%d}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		h.final(t, c.ID)
		ids = append(ids, c.ID)
		time.Sleep(5 * time.Millisecond) // distinct update times
	}
	calls, more, err := h.q.Recent(ctx, 2, 100)
	if err != nil || more || len(calls) != 2 || calls[0].ID != ids[2] || calls[1].ID != ids[1] {
		t.Errorf("Recent(2, 100) = %v, more %v, %v; want the last two, newest first", callIDs(calls), more, err)
	}
	if calls, more, err := h.q.Recent(ctx, 10, 2); err != nil || !more || len(calls) != 2 {
		t.Errorf("Recent(10, 2) = %v, more %v, %v; want two, and more", callIDs(calls), more, err)
	}
}

func callIDs(calls []Call) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.ID)
	}
	return out
}

// TestQueuedCallIsReadFromItsJob: a submit writes the job and no record;
// until a worker claims the job, Get and a repeated submit read the job.
func TestQueuedCallIsReadFromItsJob(t *testing.T) {
	t.Parallel()
	bq := newBenchQueue(t)
	q, ctx := bq.q, context.Background()
	c, existing, err := q.Submit(ctx, submission("ok", `{"n":1}`))
	if err != nil || existing || c.State != Queued {
		t.Fatalf("Submit = %+v, %v, %v", c, existing, err)
	}
	if _, err := bq.calls.Get(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a record was written at submit: %v", err)
	}
	if got, err := q.Get(ctx, c.ID); err != nil || got.State != Queued || got.Function != "ok" || got.Digest != c.Digest || !got.Submitted.Equal(c.Submitted) {
		t.Errorf("Get(queued) = %+v, %v; want the queued call", got, err)
	}
	if _, err := q.Get(ctx, q.ids.Random()); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(unknown) = %v, want ErrNotFound", err)
	}

	keyed := submission("ok", `{"n":2}`)
	keyed.IdempotencyKey = "k1"
	first, _, err := q.Submit(ctx, keyed)
	if err != nil {
		t.Fatal(err)
	}
	if again, existing, err := q.Submit(ctx, keyed); err != nil || !existing || again.ID != first.ID || again.State != Queued {
		t.Errorf("repeated submit = %+v, %v, %v; want the queued call", again, existing, err)
	}
	other := keyed
	other.Request.Body = []byte(`{"n":3}`)
	if _, _, err := q.Submit(ctx, other); !errors.Is(err, ErrIdempotencyReused) {
		t.Errorf("submit with the key and another body = %v, want ErrIdempotencyReused", err)
	}

	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	runner := &fakeRunner{script: map[string][]Outcome{"ok": {ok200}}, runs: map[string]int{}}
	go func() { defer close(done); _ = q.Run(wctx, runner) }()
	defer func() { stop(); <-done }()
	h := &harness{q: q}
	for _, id := range []string{c.ID, first.ID} {
		if got := h.final(t, id); got.State != Succeeded || got.Attempts != 1 || runner.runsOf(id) != 1 {
			t.Errorf("call %s: %+v, run %d times; want succeeded once", id, got, runner.runsOf(id))
		}
	}
}
