package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/testguests"
)

// flowManifest is the flow guest's own pave.yaml with its owner replaced.
func flowManifest(t *testing.T, owner string) string {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("..", "testguests", "testdata", "flow", "pave.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Replace(string(text), "owner: testguests", "owner: "+owner, 1)
}

// ledgerManifest deploys examples/echo as an internal function: no routes.
const ledgerManifest = `name: ledger
owner: team-a
description: An internal function, reachable only through invoke.
`

type flowAnswer struct {
	Status  int    `json:"status"`
	Body    string `json:"body"`
	ID      string `json:"id"`
	Error   string `json:"error"`
	Message string `json:"message"`
}

func (n *node) flowCall(path, key, body string) flowAnswer {
	n.t.Helper()
	r := n.call("POST", path, key, []byte(body))
	if r.status != 200 {
		n.t.Fatalf("POST %s: %d %s", path, r.status, r.body)
	}
	var a flowAnswer
	if err := json.Unmarshal(r.body, &a); err != nil {
		n.t.Fatalf("POST %s: %s: %v", path, r.body, err)
	}
	return a
}

// TestInvokeCapability calls an internal function from a public one: the
// callee runs for the original caller and says who called it; an
// ungranted function is denied and audited; a granted one that is not
// deployed is not found; the internal function has no route of its own.
func TestInvokeCapability(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	n.deploy(ledgerManifest, testguests.Example(t, "echo"))
	n.deploy(flowManifest(t, "team-a"), testguests.Build(t, "flow"))
	key := n.key("ci", "flow")

	a := n.flowCall("/call?fn=ledger&path=/entries", key, `{"cents":250}`)
	if a.Error != "" || a.Status != 200 {
		t.Fatalf("invoke ledger: %+v", a)
	}
	var echoed struct {
		Received  json.RawMessage `json:"received"`
		Method    string          `json:"method"`
		Path      string          `json:"path"`
		Caller    string          `json:"caller"`
		RequestID string          `json:"request_id"`
	}
	if err := json.Unmarshal([]byte(a.Body), &echoed); err != nil {
		t.Fatalf("ledger answered %q: %v", a.Body, err)
	}
	if string(echoed.Received) != `{"cents":250}` || echoed.Method != "POST" || echoed.Path != "/entries" || echoed.Caller != "key:ci" || echoed.RequestID == "" {
		t.Errorf("the callee saw %+v", echoed)
	}
	if lines := n.logs.lines(map[string]any{"msg": "invocation", "function": "ledger", "route": "invoke from flow"}); len(lines) != 1 || lines[0]["parent_request_id"] == "" {
		t.Errorf("the callee's invocation log: %v", lines)
	}

	// What the callee is told about the call: set by the host, whatever
	// the caller or a client sends.
	a = n.flowCall("/call?fn=flow&path=/whoami", key, "")
	var who map[string]string
	if err := json.Unmarshal([]byte(a.Body), &who); err != nil {
		t.Fatalf("whoami answered %q", a.Body)
	}
	if who["invoked_by"] != "flow" || who["depth"] != "2" || who["caller"] != "key:ci" {
		t.Errorf("the callee was told %v", who)
	}
	r := n.call("GET", "/whoami", key, nil)
	if who := r.json(t); who["invoked_by"] != "" || who["depth"] != "1" {
		t.Errorf("a client's call was told %v", who)
	}

	if a := n.flowCall("/call?fn=billing", key, ""); a.Error != "denied" {
		t.Errorf("ungranted function: %+v", a)
	}
	if lines := n.logs.lines(map[string]any{"msg": "capability denied", "capability": "invoke", "function": "flow"}); len(lines) != 1 {
		t.Errorf("%d denials audited, want 1", len(lines))
	}
	if a := n.flowCall("/call?fn=unknown-fn", key, ""); a.Error != "not_found" {
		t.Errorf("granted but not deployed: %+v", a)
	}
	if a := n.flowCall("/call?fn=ledger&path=relative", key, ""); a.Error != "invalid" {
		t.Errorf("a path that is not one: %+v", a)
	}

	// The flow graph shows the edges the manifests declare.
	raw, err := n.admin.Graph(context.Background(), "json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Edges []struct{ From, To, Kind string } `json:"edges"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	edges := map[string]bool{}
	for _, e := range g.Edges {
		edges[e.From+" "+e.Kind+" "+e.To] = true
	}
	for _, want := range []string{"function:flow invoke function:ledger", "function:flow publish topic:orders.created", "route:POST /call route function:flow"} {
		if !edges[want] {
			t.Errorf("the graph lacks %s: %s", want, raw)
		}
	}
	if edges["function:ledger invoke function:flow"] {
		t.Error("the graph has an edge no manifest declares")
	}

	// The internal function answers no route, and a key cannot name it.
	for _, path := range []string{"/", "/entries", "/ledger"} {
		if r := n.call("POST", path, key, []byte(`{}`)); r.status != 404 {
			t.Errorf("POST %s reached something: %d %s", path, r.status, r.body)
		}
	}
}

// TestInvokeLoopStops lets a function that may call itself do so: the
// call depth cap ends the loop with call_depth_exceeded at the daemon's
// limit, and every level sees its own depth (1 for the client's call).
func TestInvokeLoopStops(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	n.deploy(flowManifest(t, "team-a"), testguests.Build(t, "flow"))
	key := n.key("ci", "flow")
	r := n.call("POST", "/loop?fn=flow", key, nil)
	if r.status != 200 {
		t.Fatalf("loop: %d %s", r.status, r.body)
	}
	type level struct {
		Depth  string          `json:"depth"`
		Status int             `json:"status"`
		Inner  json.RawMessage `json:"inner"`
	}
	body := r.body
	levels := 0
	for {
		var l level
		if err := json.Unmarshal(body, &l); err != nil {
			t.Fatalf("level %d: %s: %v", levels, body, err)
		}
		if want := []string{"1", "2", "3", "4", "5", "6", "7", "8"}; levels >= len(want) || l.Depth != want[levels] {
			t.Fatalf("level %d reports depth %q", levels, l.Depth)
		}
		levels++
		if l.Status != 200 {
			if l.Status != 508 || !strings.Contains(string(l.Inner), `"call_depth_exceeded"`) {
				t.Fatalf("the loop ended with %d %s", l.Status, l.Inner)
			}
			break
		}
		body = l.Inner
	}
	// Depths 1 (the client's call) to 8 run; the call that would run at 9
	// is refused.
	if levels != 8 {
		t.Errorf("%d levels ran, want 8 (depths 1 to the default cap of 8)", levels)
	}
}

// TestFanOutStopsAtTheCallCount lets a function call itself twice per
// level: within the depth cap that tree is 255 invocations; the count of
// invocations one request may cause stops it at the cap, the refused calls
// answer 508 call_count_exceeded and are recorded, and a tree under the
// cap runs whole.
func TestFanOutStopsAtTheCallCount(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	// A hundred nested calls on a busy test machine may take more than
	// the default 10 s.
	n.deploy(flowManifest(t, "team-a")+"limits:\n  timeout: 120s\n", testguests.Build(t, "flow"))
	key := n.key("ci", "flow")
	const maxCalls = 100 // the default of --max-calls-per-request
	type fanned struct {
		Ran     int            `json:"ran"`
		Refused map[string]int `json:"refused"`
	}
	invocations := func(outcome string) int {
		return len(n.logs.lines(map[string]any{"msg": "invocation", "function": "flow", "outcome": outcome}))
	}
	for _, tt := range []struct {
		name    string
		levels  int
		wantRan int
		capped  bool // some calls are refused with call_count_exceeded
	}{
		// 1 + 2 + ... + 32: under the cap.
		{"a tree under the cap", 5, 63, false},
		// 1 + 2 + ... + 128 = 255 within the depth cap of 8: the root and
		// 99 calls run, the calls after them are refused.
		{"fan-out 2 to the depth cap", 7, maxCalls, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ranBefore, refusedBefore := invocations("ok"), invocations("call_count_exceeded")
			r := n.call("POST", fmt.Sprintf("/fan?fn=flow&n=2&levels=%d", tt.levels), key, nil)
			if r.status != 200 {
				t.Fatalf("fan: %d %s", r.status, r.body)
			}
			var f fanned
			if err := json.Unmarshal(r.body, &f); err != nil {
				t.Fatal(err)
			}
			if f.Ran != tt.wantRan {
				t.Errorf("%d invocations ran, want %d (%s)", f.Ran, tt.wantRan, r.body)
			}
			if ran := invocations("ok") - ranBefore; ran != f.Ran || ran > maxCalls {
				t.Errorf("the log records %d invocations that ran, the tree %d; the cap is %d", ran, f.Ran, maxCalls)
			}
			refused := invocations("call_count_exceeded") - refusedBefore
			for code, c := range f.Refused {
				if code != "call_count_exceeded" {
					t.Errorf("%d calls refused with %s", c, code)
				}
			}
			if refused != f.Refused["call_count_exceeded"] {
				t.Errorf("the log records %d refusals, the tree saw %d", refused, f.Refused["call_count_exceeded"])
			}
			t.Logf("%s: %s", tt.name, r.body)
			if tt.capped != (refused > 0) {
				t.Errorf("%d calls refused with call_count_exceeded", refused)
			}
		})
	}
	if got := n.metric(t, "pave_refusals_total", `code="call_count_exceeded",reason="call_count"`); got <= 0 {
		t.Error("the refusals are not in the metrics")
	}
}

// TestPublishCapability publishes to a granted topic: the event is stored
// as a CloudEvent naming the function as its source. An ungranted topic is
// denied and audited.
func TestPublishCapability(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	n.deploy(flowManifest(t, "team-a"), testguests.Build(t, "flow"))
	key := n.key("ci", "flow")
	a := n.flowCall("/publish?topic=orders.created", key, `{"order":7}`)
	if a.Error != "" || a.ID == "" {
		t.Fatalf("publish: %+v", a)
	}
	ev, err := n.d.LastEvent(context.Background(), "orders.created")
	if err != nil {
		t.Fatal(err)
	}
	h := func(name string) string {
		if v := ev.Header[name]; len(v) == 1 {
			return v[0]
		}
		return ""
	}
	if string(ev.Data) != `{"order":7}` || h("ce-id") != a.ID || h("ce-source") != "/functions/flow" ||
		h("ce-specversion") != "1.0" || h("ce-type") != "orders.created" || h("content-type") != "application/json" {
		t.Errorf("stored event: %s %v", ev.Data, ev.Header)
	}
	for _, topic := range []string{"orders.deleted", "payroll", "orders.created.extra", ""} {
		if a := n.flowCall("/publish?topic="+topic, key, "x"); a.Error != "denied" && !(topic == "" && a.Error == "invalid") {
			t.Errorf("topic %q: %+v", topic, a)
		}
	}
	if lines := n.logs.lines(map[string]any{"msg": "capability denied", "capability": "publish"}); len(lines) != 3 {
		t.Errorf("%d denials audited, want 3", len(lines))
	}
}

// TestFlowGrantsAreCheckedAtDeploy refuses a module that imports the
// invoke or publish groups when the manifest does not grant them.
func TestFlowGrantsAreCheckedAtDeploy(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	wasm := testguests.Build(t, "flow")
	m := flowManifest(t, "team-a")
	for grant, line := range map[string]string{
		"invoke":  "  invoke: [flow, ledger, unknown-fn]\n",
		"publish": "  publish: [orders.created]\n",
	} {
		_, err := n.tryDeploy(strings.Replace(m, line, "", 1), wasm)
		if err == nil || !strings.Contains(err.Error(), `"`+grant+`" capability is not granted`) {
			t.Errorf("without %s: %v", grant, err)
		}
	}
}
