package daemon_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/testguests"
)

// TestQuarantine disables a function: its route, the operator's invoke and
// a call from another function are all refused, it keeps its versions, and
// restoring it brings everything back. Both changes are audited.
func TestQuarantine(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	ctx := context.Background()
	n.deploy(ledgerManifest, testguests.Example(t, "echo"))
	n.deploy(flowManifest(t, "team-a"), testguests.Build(t, "flow"))
	n.deploy(manifestFor("hello", route("GET", "/hello"), ""), testguests.Example(t, "hello"))
	key := n.key("ci", "flow", "hello")

	f, err := n.admin.Quarantine(ctx, "hello", "suspected of leaking data")
	if err != nil || f.Quarantine == nil || f.Quarantine.Reason != "suspected of leaking data" {
		t.Fatalf("quarantine = %+v, %v", f, err)
	}
	if r := n.call("GET", "/hello", key, nil); r.status != 403 || r.errorCode(t) != "function_quarantined" {
		t.Errorf("a quarantined route: %d %s", r.status, r.body)
	}
	if _, err := n.admin.Invoke(ctx, "hello", client.InvokeRequest{Method: "GET", Path: "/hello"}); !isCode(err, "function_quarantined") {
		t.Errorf("the operator's invoke: %v", err)
	}
	if _, err := n.admin.Quarantine(ctx, "ledger", "internal, but disabled too"); err != nil {
		t.Fatal(err)
	}
	if a := n.flowCall("/call?fn=ledger&path=/x", key, `{}`); a.Status != 403 || !containsCode(a.Body, "function_quarantined") {
		t.Errorf("a call from another function: %+v", a)
	}
	if _, err := n.admin.Quarantine(ctx, "hello", "again"); !isCode(err, "conflict") {
		t.Errorf("quarantining twice: %v", err)
	}
	if _, err := n.admin.Quarantine(ctx, "hello", ""); !isCode(err, "bad_request") {
		t.Errorf("no reason: %v", err)
	}

	if _, err := n.admin.Restore(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	if r := n.call("GET", "/hello", key, nil); r.status != 200 {
		t.Errorf("after restore: %d %s", r.status, r.body)
	}
	if _, err := n.admin.Restore(ctx, "hello"); !isCode(err, "conflict") {
		t.Errorf("restoring twice: %v", err)
	}
	if lines := n.logs.lines(map[string]any{"msg": "admin action", "action": "function.quarantine"}); len(lines) != 2 {
		t.Errorf("%d quarantines audited, want 2", len(lines))
	}
	if lines := n.logs.lines(map[string]any{"msg": "admin action", "action": "function.restore"}); len(lines) != 1 {
		t.Errorf("%d restores audited, want 1", len(lines))
	}
}

// TestAutoQuarantine runs the opt-in policy: a function that has not run
// for the configured time is quarantined by it, one that ran is not.
func TestAutoQuarantine(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	ctx := context.Background()
	n.deploy(manifestFor("hello", route("GET", "/hello"), ""), testguests.Example(t, "hello"))
	deployed := n.deploy(manifestFor("echo", route("POST", "/echo"), ""), testguests.Example(t, "echo")).UpdatedAt
	key := n.key("ci", "hello", "echo")
	if got := n.d.QuarantineUnused(ctx, time.Now(), time.Hour); len(got) != 0 {
		t.Errorf("freshly deployed functions quarantined: %v", got)
	}
	// hello runs at least 3 s after echo was deployed, echo never. A
	// policy halfway between when hello ran and when echo was deployed
	// quarantines echo only, however long the steps take.
	time.Sleep(3 * time.Second)
	ran := time.Now()
	if r := n.call("GET", "/hello", key, nil); r.status != 200 {
		t.Fatal(r.status)
	}
	now := time.Now()
	after := now.Sub(ran) + ran.Sub(deployed)/2
	got := n.d.QuarantineUnused(ctx, now, after)
	if !slices.Equal(got, []string{"echo"}) {
		t.Errorf("quarantined %v, want [echo]", got)
	}
	f, err := n.admin.GetFunction(ctx, "echo")
	if err != nil || f.Quarantine == nil || f.Quarantine.By != "policy:auto-quarantine" {
		t.Errorf("echo: %+v, %v", f, err)
	}
}

// isCode reports whether err is an admin API error with code.
func isCode(err error, code string) bool {
	var e *client.Error
	return errors.As(err, &e) && e.Code == code
}

// containsCode reports whether body is pave's error shape with code.
func containsCode(body, code string) bool {
	var e client.ErrorBody
	return json.Unmarshal([]byte(body), &e) == nil && e.Error.Code == code
}
