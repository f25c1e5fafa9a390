package daemon_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/testguests"
)

func (n *node) auditEvents(t *testing.T) []client.AuditEvent {
	t.Helper()
	var out []client.AuditEvent
	if err := n.admin.AuditEvents(context.Background(), "", func(e client.AuditEvent) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAuditLog performs administrative actions and provokes security
// refusals, finds each in the audit log with its actor, target and
// outcome and no secret, verifies the chain, then deletes a record from
// the store and sees verification name it.
func TestAuditLog(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	ctx := context.Background()
	n.deploy(capabilitiesManifest(t, "capabilities", "team-a"), testguests.Build(t, "capabilities"))
	key := n.key("ci", "capabilities")
	if _, err := n.admin.SetSecret(ctx, "GUEST_SECRET", []byte("audit-canary-value")); err != nil {
		t.Fatal(err)
	}
	if _, err := n.admin.Quarantine(ctx, "capabilities", "checking the audit log"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.admin.Restore(ctx, "capabilities"); err != nil {
		t.Fatal(err)
	}
	if r := n.call("GET", "/secret", "pave_k_"+strings.Repeat("b", 52), nil); r.status != 401 {
		t.Fatalf("a wrong key: %d", r.status)
	}
	if a := n.capCall("GET", "/secret?name=OTHER", key, ""); a.Error != "denied" {
		t.Fatalf("an ungranted secret: %+v", a)
	}

	want := []struct{ actor, action, target, outcome string }{
		{"admin", "function.deploy", "function:capabilities", "ok"},
		{"admin", "key.create", "key:ci", "ok"},
		{"admin", "secret.set", "secret:GUEST_SECRET", "ok"},
		{"admin", "function.quarantine", "function:capabilities", "ok"},
		{"admin", "function.restore", "function:capabilities", "ok"},
		{"anonymous", "auth.denied", "function:capabilities", "denied"},
		{"function:capabilities", "capability.denied", `secrets "OTHER"`, "denied"},
	}
	var events []client.AuditEvent
	deadline := time.Now().Add(10 * time.Second)
	for {
		events = nil
		for _, e := range n.auditEvents(t) {
			if e.Action != "audit.dropped" {
				events = append(events, e)
			}
		}
		if len(events) >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // refusals are recorded in the background
	}
	if len(events) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(events), len(want), events)
	}
	for i, w := range want {
		e := events[i]
		if e.Actor != w.actor || e.Action != w.action || e.Target != w.target || e.Outcome != w.outcome || e.Seq == 0 || e.Time.IsZero() {
			t.Errorf("event %d: %+v, want %+v", i, e, w)
		}
	}
	if events[0].Source != "127.0.0.1" || events[5].Source != "127.0.0.1" {
		t.Errorf("sources: %q, %q", events[0].Source, events[5].Source)
	}
	if events[3].Details["reason"] != "checking the audit log" {
		t.Errorf("quarantine details: %v", events[3].Details)
	}
	for _, e := range events {
		for _, v := range e.Details {
			if strings.Contains(v, "audit-canary-value") || strings.Contains(v, key) {
				t.Errorf("event %d holds a secret: %v", e.Seq, e.Details)
			}
		}
	}

	rep, err := n.admin.AuditVerify(ctx)
	if err != nil || !rep.OK || rep.Events != len(want) {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
	// An attacker with the store deletes the quarantine.
	if err := n.d.DeleteAuditRecord(ctx, events[3].Seq); err != nil {
		t.Fatal(err)
	}
	rep, err = n.admin.AuditVerify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || rep.Problem == nil || rep.Problem.Seq != events[3].Seq || rep.Problem.Kind != "missing" {
		t.Errorf("after deleting record %d: %+v %+v", events[3].Seq, rep, rep.Problem)
	}
}
