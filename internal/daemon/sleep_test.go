package daemon_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/testguests"
)

// margin is how long after its deadline a call may still take to answer.
const margin = 1500 * time.Millisecond

// invocationLog waits for the invocation log line of requestID.
func (n *node) invocationLog(requestID string) map[string]any {
	n.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if recs := n.logs.lines(map[string]any{"msg": "invocation", "request_id": requestID}); len(recs) == 1 {
			return recs[0]
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("no invocation log line for %s in\n%s", requestID, n.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSleepingGuestEndsAtItsTimeout calls guests that sleep past their
// timeout, a reactor built with the SDK and a WASI command: each answers
// 504 at its timeout, and its record says so. Sleeps within the timeout
// still answer.
func TestSleepingGuestEndsAtItsTimeout(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	n.deploy(manifestFor("slow", route("GET", "/slow"), "  timeout: 1s\n"), testguests.Build(t, "slow"))
	n.deploy(manifestFor("sleeper", route("POST", "/sleep"), "  timeout: 1s\n"), testguests.Build(t, "cmd-sleep"))
	key := n.key("k", "slow", "sleeper")
	tests := []struct {
		name, method, path, body string
		function                 string
		status                   int
		outcome                  string
	}{
		{"reactor sleeps past its timeout", "GET", "/slow?ms=15000", "", "slow", 504, "function_timeout"},
		{"reactor sleeps within its timeout", "GET", "/slow?ms=50", "", "slow", 200, "ok"},
		{"command sleeps past its timeout", "POST", "/sleep", "15000", "sleeper", 504, "function_timeout"},
		{"command sleeps within its timeout", "POST", "/sleep", "50", "sleeper", 200, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			began := time.Now()
			r := n.call(tt.method, tt.path, key, []byte(tt.body))
			took := time.Since(began)
			if r.status != tt.status {
				t.Fatalf("%d %s after %s, want %d", r.status, r.body, took, tt.status)
			}
			if tt.status != 200 {
				if code := r.errorCode(t); code != tt.outcome {
					t.Errorf("code %s, want %s", code, tt.outcome)
				}
			}
			if took > time.Second+margin {
				t.Errorf("answered after %s, for a timeout of 1s", took)
			}
			rec := n.invocationLog(r.header.Get("X-Request-Id"))
			if rec["function"] != tt.function || rec["outcome"] != tt.outcome || rec["status"] != float64(tt.status) {
				t.Errorf("record %v, want outcome %s and status %d", rec, tt.outcome, tt.status)
			}
		})
	}
}

// TestSleepersFreeTheirSlots fills a function's concurrency with calls
// that sleep far past their timeout: the slots are free again at the
// deadline. A sleeper whose client went away frees its slot at once.
func TestSleepersFreeTheirSlots(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	n.deploy(manifestFor("slow", route("GET", "/slow"), "  timeout: 2s\n  concurrency: 2\n"), testguests.Build(t, "slow"))
	n.deploy(manifestFor("patient", route("GET", "/patient"), "  timeout: 30s\n  concurrency: 1\n"), testguests.Build(t, "slow"))
	key := n.key("k", "slow", "patient")

	t.Run("at the deadline", func(t *testing.T) {
		results := make(chan response, 2)
		for range 2 {
			go func() {
				for {
					// A probe below may hold a slot for a moment.
					if r := n.send("GET", "/slow?ms=15000", auth(key), nil); r.status != 429 {
						results <- r
						return
					}
				}
			}()
		}
		// Both slots are taken: a third call is refused.
		if !poll(time.Second, func() bool { return n.call("GET", "/slow?ms=0", key, nil).status == 429 }) {
			t.Fatal("the sleepers never held both slots")
		}
		held := time.Now()
		// Right after the deadline the slots are free, whenever the
		// sleepers' answers reach their clients.
		time.Sleep(time.Until(held.Add(2*time.Second + 200*time.Millisecond)))
		if !poll(margin, func() bool { return n.call("GET", "/slow?ms=0", key, nil).status == 200 }) {
			t.Errorf("slots still held %s after the sleepers' deadline", time.Since(held)-2*time.Second)
		}
		for range 2 {
			if r := <-results; r.status != 504 || r.errorCode(t) != "function_timeout" {
				t.Errorf("sleeper: %d %s", r.status, r.body)
			}
		}
	})

	t.Run("when the client goes away", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, "GET", n.d.GatewayURL()+"/patient?ms=15000", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("the sleeper answered %d before its client left", resp.StatusCode)
		}
		gone := time.Now()
		if !poll(margin, func() bool { return n.call("GET", "/patient?ms=0", key, nil).status == 200 }) {
			t.Errorf("slot still held %s after the client went away", time.Since(gone))
		}
	})
}

// poll calls ok until it reports true or d has passed.
func poll(d time.Duration, ok func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if ok() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestInvokeEndsAtTheCallersDeadline has a function with a short timeout
// invoke one that sleeps and has a long timeout: the caller answers at its
// own deadline, and the callee's record shows it stopped there too.
func TestInvokeEndsAtTheCallersDeadline(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	n.deploy(manifestFor("slow", "", "  timeout: 30s\n"), testguests.Build(t, "slow"))
	m := strings.Replace(flowManifest(t, "team-test"), "invoke: [", "invoke: [slow, ", 1) + "limits:\n  timeout: 1s\n"
	n.deploy(m, testguests.Build(t, "flow"))
	key := n.key("k", "flow")

	began := time.Now()
	r := n.call("POST", "/call?fn=slow&path=/slow&query=ms%3D15000", key, nil)
	took := time.Since(began)
	if r.status != 504 || r.errorCode(t) != "function_timeout" {
		t.Fatalf("%d %s after %s, want 504 function_timeout", r.status, r.body, took)
	}
	if took > time.Second+margin {
		t.Errorf("the caller answered after %s, for a timeout of 1s", took)
	}
	recs := n.logs.lines(map[string]any{"msg": "invocation", "function": "slow", "route": "invoke from flow"})
	if len(recs) != 1 || recs[0]["outcome"] != "function_timeout" {
		t.Fatalf("callee records: %v", recs)
	}
	if ms, _ := recs[0]["duration_ms"].(float64); time.Duration(ms)*time.Millisecond > time.Second+margin {
		t.Errorf("the callee ran %vms, past its caller's deadline of 1s", ms)
	}

	// A callee that answers in time still does.
	r = n.call("POST", "/call?fn=slow&path=/slow&query=ms%3D20", key, nil)
	var a flowAnswer
	if r.status != 200 || json.Unmarshal(r.body, &a) != nil || a.Status != 200 || a.Body != "done\n" {
		t.Fatalf("short sleep through invoke: %d %s", r.status, r.body)
	}
}

// TestShutdownDoesNotWaitForSleepers stops a daemon while an asynchronous
// call sleeps far past the shutdown's grace: the sleep ends with the
// worker, and the call is queued again for the next start.
func TestShutdownDoesNotWaitForSleepers(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	n.deploy(manifestFor("slow", route("POST", "/slow"), "  timeout: 30s\n"), testguests.Build(t, "slow"))
	key := n.key("k", "slow")
	id, _ := n.submit("/slow?ms=15000", auth(key), "")
	if !poll(10*time.Second, func() bool {
		c, err := n.admin.Call(context.Background(), id)
		return err == nil && c.State == "running"
	}) {
		t.Fatal("the call never started")
	}
	time.Sleep(100 * time.Millisecond) // into the sleep
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n.closed = true
	err := n.d.Shutdown(ctx)
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("shutdown took %s with a sleeper running", took)
	}
	if err != nil {
		t.Errorf("shutdown: %v", err)
	}
}
