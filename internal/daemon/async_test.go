package daemon_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/testguests"
)

// jobsManifest deploys the jobs guest for owner, with extra appended (more
// top-level sections such as triggers).
func jobsManifest(owner, extra string) string {
	return `name: jobs
owner: ` + owner + `
description: Counts its runs.
capabilities:
  kv:
    runs: write
  publish: [jobs.echo]
routes:
  - method: POST
    path: /work
  - method: GET
    path: /count
async:
  retries: 2
  backoff: 20ms
` + extra
}

// auth is the header of an API key.
func auth(key string) map[string]string { return map[string]string{"Authorization": "Bearer " + key} }

// submit posts an asynchronous call and returns its id, failing unless it
// was accepted.
func (n *node) submit(path string, headers map[string]string, body string) (string, response) {
	n.t.Helper()
	r := n.send("POST", "/async"+path, headers, []byte(body))
	if r.status != http.StatusAccepted {
		n.t.Fatalf("POST /async%s = %d %s, want 202", path, r.status, r.body)
	}
	id, _ := r.json(n.t)["id"].(string)
	if loc := r.header.Get("Location"); loc != "/async/calls/"+id || len(id) != 32 {
		n.t.Fatalf("202 with id %q and Location %q", id, loc)
	}
	return id, r
}

// finalCall waits for call id to reach a final state, read by the admin.
func (n *node) finalCall(id string) *client.Call {
	n.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := n.admin.Call(context.Background(), id)
		if err == nil && (c.State == "succeeded" || c.State == "failed" || c.State == "dead") {
			return c
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("call %s is not final after a minute: %+v, %v", id, c, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runs is what the jobs guest counted under key, and the call id of its
// last run.
func (n *node) runs(apiKey, key string) (int, string) {
	n.t.Helper()
	var v struct {
		Count  string `json:"count"`
		CallID string `json:"call_id"`
	}
	// A read that fails (a 502 from the guest, a 503 while the store
	// recovers from an outage) is tried again for up to 30 seconds.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r := n.call("GET", "/count?key="+key, apiKey, nil)
		if r.status == 200 && json.Unmarshal(r.body, &v) == nil {
			break
		}
		if r.status < 500 || time.Now().After(deadline) {
			n.t.Fatalf("count %s: %d %s", key, r.status, r.body)
		}
	}
	c, _ := strconv.Atoi(v.Count)
	return c, v.CallID
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func TestAsyncCalls(t *testing.T) {
	t.Parallel()
	type hook struct {
		header http.Header
		body   []byte
	}
	hooks := make(chan hook, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hooks <- hook{r.Header.Clone(), b}
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	n := startWith(t, func(c *config.Config) { c.Defenses.EgressAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	ctx := context.Background()
	secret := randomHex(t, 32)
	if _, err := n.admin.SetSecret(ctx, "JOBS_CALLBACK", []byte(secret)); err != nil {
		t.Fatal(err)
	}
	n.deploy(jobsManifest("team-a", fmt.Sprintf("  callbacks: [\"localhost:%d\"]\n  callback_secret: JOBS_CALLBACK\n", port)), testguests.Build(t, "jobs"))
	key, other := n.key("ci", "jobs"), n.key("other", "jobs")

	t.Run("accepted, run once, read by its caller only", func(t *testing.T) {
		id, _ := n.submit("/work?id=a", auth(key), `{"x":1}`)
		c := n.finalCall(id)
		if c.State != "succeeded" || c.Attempts != 1 || c.Result == nil || c.Result.Status != 200 || !strings.Contains(string(c.Result.Body), `"count":1`) {
			t.Fatalf("call %+v, result %+v", c, c.Result)
		}
		if c.Caller != "key:ci" || c.Route != "POST /work" || c.Function != "jobs" {
			t.Errorf("call names %s %s %s", c.Caller, c.Route, c.Function)
		}
		if r := n.call("GET", "/async/calls/"+id, key, nil); r.status != 200 || r.json(t)["state"] != "succeeded" {
			t.Errorf("the caller reads %d %s", r.status, r.body)
		}
		if r := n.call("GET", "/async/calls/"+id, other, nil); r.status != 404 || r.errorCode(t) != "not_found" {
			t.Errorf("another key reads %d %s", r.status, r.body)
		}
		if r := n.call("GET", "/async/calls/"+id, "", nil); r.status != 401 {
			t.Errorf("no key reads %d %s", r.status, r.body)
		}
		if r := n.call("GET", "/async/calls/"+strings.Repeat("0", 32), key, nil); r.status != 404 {
			t.Errorf("an unknown call reads %d", r.status)
		}
		if r := n.send("POST", "/async/work?id=b", nil, nil); r.status != 401 || r.errorCode(t) != "unauthenticated" {
			t.Errorf("an async call without a key: %d %s", r.status, r.body)
		}
	})

	t.Run("idempotency key", func(t *testing.T) {
		h := auth(key)
		h["Idempotency-Key"] = "order-42"
		first, _ := n.submit("/work?id=idem", h, `{"order":42}`)
		n.finalCall(first)
		again, r := n.submit("/work?id=idem", h, `{"order":42}`)
		if again != first || r.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("a repeat got %s (replayed %q), want %s", again, r.header.Get("Idempotent-Replayed"), first)
		}
		if r := n.send("POST", "/async/work?id=idem", h, []byte(`{"order":43}`)); r.status != 422 || r.errorCode(t) != "idempotency_key_reused" {
			t.Errorf("the key with another body: %d %s", r.status, r.body)
		}
		time.Sleep(200 * time.Millisecond)
		if runs, _ := n.runs(key, "work.idem"); runs != 1 {
			t.Errorf("work.idem ran %d times, want 1", runs)
		}
	})

	t.Run("retries, then the dead-letter stream, then redrive", func(t *testing.T) {
		id, _ := n.submit("/work?id=f&fail=always", auth(key), "")
		c := n.finalCall(id)
		if c.State != "dead" || c.Attempts != 3 || c.Error == nil || c.Error.Code != "function_failed" {
			t.Fatalf("a failing call: %+v %+v", c, c.Error)
		}
		if runs, _ := n.runs(key, "work.f"); runs != 3 {
			t.Errorf("ran %d times, want 3 (2 retries)", runs)
		}
		if v := n.metric(t, "pave_async_dead_lettered_total", ""); v != 1 {
			t.Errorf("pave_async_dead_lettered_total = %v, want 1", v)
		}
		if v := n.metric(t, "pave_async_pending", ""); v != 0 {
			t.Errorf("pave_async_pending = %v with nothing queued", v)
		}
		// Each retry came when due: the sweep queued none again.
		if v := n.metric(t, "pave_async_overdue_requeued_total", ""); v != 0 {
			t.Errorf("pave_async_overdue_requeued_total = %v, want 0", v)
		}
		dead, err := n.admin.DeadLetters(ctx, "jobs", 0)
		if err != nil || len(dead) != 1 || dead[0].Job.ID != id || dead[0].Attempts != 3 || dead[0].Error.Code != "function_failed" {
			t.Fatalf("dead letters %+v, %v", dead, err)
		}
		if _, err := n.admin.Redrive(ctx, "jobs", client.RedriveRequest{Sequences: []uint64{dead[0].Sequence}}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for runs, _ := n.runs(key, "work.f"); runs < 6; runs, _ = n.runs(key, "work.f") {
			if time.Now().After(deadline) {
				t.Fatalf("after a redrive work.f ran %d times in all, want 6", runs)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if c := n.finalCall(id); c.State != "dead" || c.Attempts != 3 {
			t.Errorf("after the redrive: %+v", c)
		}
	})

	t.Run("signed callback", func(t *testing.T) {
		h := auth(key)
		h["Pave-Callback-Url"] = fmt.Sprintf("http://localhost:%d/done", port)
		id, _ := n.submit("/work?id=cb", h, "")
		var got hook
		select {
		case got = <-hooks:
		case <-time.After(30 * time.Second):
			t.Fatal("no callback")
		}
		sig := got.header.Get("Pave-Signature")
		ts, mac, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",v1=")
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(ts + "."))
		m.Write(got.body)
		if want := hex.EncodeToString(m.Sum(nil)); mac != want {
			t.Errorf("signature %q does not verify", sig)
		}
		var c client.Call
		if err := json.Unmarshal(got.body, &c); err != nil || c.ID != id || c.State != "succeeded" || got.header.Get("Pave-Call-Id") != id {
			t.Errorf("callback body %s, %v", got.body, err)
		}
		// The record notes the delivery once the receiver has answered.
		deadline := time.Now().Add(10 * time.Second)
		for c := n.finalCall(id); c.Callback == nil || !c.Callback.Delivered || c.Callback.Attempts != 1; c = n.finalCall(id) {
			if time.Now().After(deadline) {
				t.Fatalf("callback state %+v", c.Callback)
			}
			time.Sleep(20 * time.Millisecond)
		}
		h["Pave-Callback-Url"] = "http://localhost:1/elsewhere"
		if r := n.send("POST", "/async/work?id=cb2", h, nil); r.status != 403 || r.errorCode(t) != "callback_not_allowed" {
			t.Errorf("a callback to a port not granted: %d %s", r.status, r.body)
		}
	})
}

// publish sends a binary-mode CloudEvent to topic with key.
func (n *node) publish(topic, key, id, data string) response {
	n.t.Helper()
	h := auth(key)
	h["Ce-Specversion"], h["Ce-Id"], h["Ce-Source"], h["Ce-Type"] = "1.0", id, "/shop", "order.created"
	h["Content-Type"] = "application/json"
	return n.send("POST", "/events/"+topic, h, []byte(data))
}

// eventRuns waits until the jobs guest has run event id at least once and
// its call is final, and returns the runs and the call.
func (n *node) eventRuns(key, id string) (int, *client.Call) {
	n.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		runs, callID := n.runs(key, "event."+id)
		if runs > 0 && callID != "" {
			return runs, n.finalCall(callID)
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("event %s was not delivered within a minute", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// deadCodes waits for function's dead letters to reach want entries and
// returns their codes by call id... keyed by the job's route.
func (n *node) awaitDead(function string, want int) []client.DeadLetter {
	n.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		dead, err := n.admin.DeadLetters(context.Background(), function, 0)
		if err == nil && len(dead) >= want {
			return dead
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("%d dead letters for %s after a minute, want %d: %v", len(dead), function, want, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTopicTriggers(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	ctx := context.Background()
	n.deploy(jobsManifest("team-a", `triggers:
  - topic: orders.created
    schema: {"type": "object", "required": ["order"]}
  - topic: jobs.echo
`), testguests.Build(t, "jobs"))
	n.deploy(flowManifest(t, "team-a"), testguests.Build(t, "flow"))
	key := n.key("ci", "jobs", "flow")
	shop, err := n.admin.CreateKey(ctx, client.CreateKeyRequest{Name: "shop", Functions: []string{"jobs"}, Scopes: []string{"publish:orders.created", "publish:jobs.echo"}})
	if err != nil {
		t.Fatal(err)
	}

	// Delivered once, whichever mode, however often it is published.
	for i := 0; i < 3; i++ {
		if r := n.publish("orders.created", shop.Secret, "e1", `{"order":1}`); r.status != 202 || r.json(t)["id"] != "e1" {
			t.Fatalf("publish = %d %s", r.status, r.body)
		}
	}
	structured := auth(shop.Secret)
	structured["Content-Type"] = "application/cloudevents+json"
	if r := n.send("POST", "/events/orders.created", structured, []byte(`{"specversion":"1.0","id":"e2","source":"/shop","type":"order.paid","data":{"order":2}}`)); r.status != 202 {
		t.Fatalf("structured publish = %d %s", r.status, r.body)
	}
	for _, id := range []string{"e1", "e2"} {
		runs, c := n.eventRuns(key, id)
		if runs != 1 || c.State != "succeeded" || c.Route != "topic orders.created" || c.Caller != "key:shop" {
			t.Errorf("event %s: %d runs, call %+v", id, runs, c)
		}
		if body := string(c.Result.Body); !strings.Contains(body, `"trigger":"topic orders.created"`) || !strings.Contains(body, `"source":"/shop"`) || !strings.Contains(body, `"depth":"1"`) {
			t.Errorf("event %s seen as %s", id, body)
		}
	}

	// A function's publish reaches the trigger, as the function.
	r := n.flowCall("/publish?topic=orders.created", key, `{"order":3}`)
	if r.ID == "" {
		t.Fatalf("flow publish: %+v", r)
	}
	if runs, c := n.eventRuns(key, r.ID); runs != 1 || c.Caller != "function:flow" || !strings.Contains(string(c.Result.Body), `"depth":"2"`) {
		t.Errorf("a function's event: %d runs, %+v", runs, c)
	}

	// Refusals at the door.
	for _, tt := range []struct {
		name, key, topic string
		status           int
		code             string
	}{
		{"no key", "", "orders.created", 401, "unauthenticated"},
		{"no publish scope", key, "orders.created", 403, "insufficient_scope"},
		{"another topic", shop.Secret, "orders.paid", 403, "insufficient_scope"},
		{"bad topic", shop.Secret, "Orders", 404, "route_not_found"},
	} {
		if r := n.publish(tt.topic, tt.key, "x", `{}`); r.status != tt.status || r.errorCode(t) != tt.code {
			t.Errorf("%s: %d %s", tt.name, r.status, r.body)
		}
	}
	if r := n.send("POST", "/events/orders.created", auth(shop.Secret), []byte(`{"order":1}`)); r.status != 400 || r.errorCode(t) != "invalid_event" {
		t.Errorf("not a CloudEvent: %d %s", r.status, r.body)
	}

	// Poison events end in the dead-letter stream and block nothing.
	n.publish("orders.created", shop.Secret, "bad-schema", `{"no_order":true}`)
	n.publish("orders.created", shop.Secret, "poison", `{"order":4,"poison":true}`)
	n.publish("orders.created", shop.Secret, "after", `{"order":5}`)
	if runs, c := n.eventRuns(key, "after"); runs != 1 || c.State != "succeeded" {
		t.Errorf("the event after the poison: %d runs, %+v", runs, c)
	}
	// A loop through a topic stops at the depth cap.
	n.publish("jobs.echo", shop.Secret, "loop", `{"echo":true}`)
	codes := map[string]bool{}
	for _, d := range n.awaitDead("jobs", 3) {
		codes[d.Error.Code] = true
	}
	for _, want := range []string{"invalid_event", "function_failed", "call_depth_exceeded"} {
		if !codes[want] {
			t.Errorf("dead letters have codes %v, want %s among them", codes, want)
		}
	}
	if runs, _ := n.runs(key, "event.bad-schema"); runs != 0 {
		t.Errorf("an event breaking the schema ran %d times", runs)
	}
	if runs, _ := n.runs(key, "event.poison"); runs != 3 {
		t.Errorf("the poison event ran %d times, want 3 (2 retries)", runs)
	}

	// A topic has one owner.
	other := `name: spy
owner: team-b
description: Another owner's function.
capabilities:
  kv:
    runs: write
  publish: [spy.out]
triggers:
  - topic: orders.created
`
	if _, err := n.tryDeploy(other, testguests.Build(t, "jobs")); err == nil || !strings.Contains(err.Error(), "topic") {
		t.Errorf("another owner's trigger on the topic: %v", err)
	}

	// Removing the trigger stops deliveries.
	n.deploy(jobsManifest("team-a", "triggers:\n  - topic: jobs.echo\n"), testguests.Build(t, "jobs"))
	if !poll(10*time.Second, func() bool {
		names, err := n.d.EventConsumers(context.Background())
		jobs := 0
		for _, name := range names {
			if strings.HasPrefix(name, "trigger-jobs-") {
				jobs++
			}
		}
		return err == nil && jobs == 1 // jobs.echo's
	}) {
		t.Fatal("the removed trigger's consumer is still there")
	}
	n.publish("orders.created", shop.Secret, "unsubscribed", `{"order":6}`)
	time.Sleep(time.Second)
	if runs, _ := n.runs(key, "event.unsubscribed"); runs != 0 {
		t.Errorf("an event after its trigger was removed ran %d times", runs)
	}
}

// TestScheduleRunsOncePerTickAcrossARestart waits for a real tick of an
// every-minute schedule, restarts the daemon inside the same minute, and
// expects the tick to have run once.
//
// It waits up to a minute and a half, mostly asleep, so it runs with the
// soak test (make soak); the suite checks the same with a fake clock
// (TestScheduleRestartInsideATick in internal/triggers).
func TestScheduleRunsOncePerTickAcrossARestart(t *testing.T) {
	t.Parallel()
	if os.Getenv(envSoakCycles) == "" {
		t.Skip("waits for the next minute: run by make soak")
	}
	dir := t.TempDir()
	n := start(t, dir)
	n.deploy(jobsManifest("team-a", "triggers:\n  - schedule: \"* * * * *\"\n    timezone: UTC\n"), testguests.Build(t, "jobs"))
	key := n.key("ci", "jobs")
	tick := time.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	counter := "tick." + strconv.FormatInt(tick.Unix(), 10)
	deadline := tick.Add(30 * time.Second)
	for {
		if runs, _ := n.runs(key, counter); runs > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tick of %s did not run within 30s of it", tick.Format(time.TimeOnly))
		}
		time.Sleep(50 * time.Millisecond)
	}
	n.stop()
	if time.Since(tick) > 40*time.Second {
		t.Skip("the restart would not fall inside the tick's minute on this slow machine")
	}
	n = start(t, dir)
	time.Sleep(2 * time.Second)
	runs, callID := n.runs(key, counter)
	if runs != 1 {
		t.Errorf("the tick of %s ran %d times across a restart inside it", tick.Format(time.TimeOnly), runs)
	}
	if c := n.finalCall(callID); c.State != "succeeded" || c.Route != "schedule * * * * *" || c.Caller != "schedule" {
		t.Errorf("the tick's call: %+v", c)
	}
}

// TestEventFanOutStopsAtTheCallCount: a function whose trigger publishes
// every event it gets twice on its own topic makes a tree of 255 jobs
// within the depth cap. Each event carries a share of what its request
// has left, so the whole tree, across the queue, runs at most the
// allowance of the client's event.
func TestEventFanOutStopsAtTheCallCount(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	ctx := context.Background()
	n.deploy(jobsManifest("team-a", `triggers:
  - topic: jobs.echo
`), testguests.Build(t, "jobs"))
	shop, err := n.admin.CreateKey(ctx, client.CreateKeyRequest{Name: "shop", Functions: []string{"jobs"}, Scopes: []string{"publish:jobs.echo"}})
	if err != nil {
		t.Fatal(err)
	}
	if r := n.publish("jobs.echo", shop.Secret, "fan", `{"fan":true}`); r.status != 202 {
		t.Fatalf("publish = %d %s", r.status, r.body)
	}
	const maxCalls = 100 // the default of --max-calls-per-request
	runs := func() int {
		return len(n.logs.lines(map[string]any{"msg": "invocation", "function": "jobs", "route": "topic jobs.echo"}))
	}
	// Wait until the tree has stopped growing.
	last, quiet := -1, time.Now()
	for deadline := time.Now().Add(60 * time.Second); time.Since(quiet) < 2*time.Second; {
		if now := runs(); now != last {
			last, quiet = now, time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tree still grows after a minute: %d runs", last)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ok := len(n.logs.lines(map[string]any{"msg": "invocation", "function": "jobs", "route": "topic jobs.echo", "outcome": "ok"}))
	t.Logf("%d invocations, %d ran", last, ok)
	if last > maxCalls || ok < 10 {
		t.Errorf("the event's tree made %d invocations, %d of them ran; want at most %d", last, ok, maxCalls)
	}
}
