package daemon_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/daemon"
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
	// An attacker with the store tries to delete the quarantine: the
	// stream refuses.
	if err := n.d.DeleteAuditRecord(ctx, events[3].Seq); err == nil {
		t.Fatal("an audit record was deleted")
	}
	if rep, err := n.admin.AuditVerify(ctx); err != nil || !rep.OK {
		t.Errorf("after the refused delete: %+v, %v", rep, err)
	}
}

// TestRefusedDeploysAreAudited has deploys refused for each reason a
// deploy can be refused, and finds every refusal in the audit log with
// its error code as the reason, and none of the client's raw input.
func TestRefusedDeploysAreAudited(t *testing.T) {
	t.Parallel()
	osv := osvEverything(t)
	n := startWith(t, func(c *config.Config) {
		c.Observability.OSVFile = osv
		c.Observability.DeployFailOn = "high"
	})
	ctx := context.Background()
	ok := reactorModule(nil, nil) // no Go build information: posture has only an info finding
	n.deploy(manifestFor("first", route("GET", "/first"), ""), ok)
	const canary = "canary-7f3a"
	unknownDigest := "sha256:" + strings.Repeat("0", 64)
	refusals := []struct {
		name         string
		deploy       func() error
		code, target string
	}{
		{"invalid manifest", func() error {
			_, err := n.tryDeploy("name: x\nowner: o\nroutes: []\n"+canary+": 1\n", ok)
			return err
		}, "invalid_manifest", ""},
		{"invalid module", func() error {
			_, err := n.tryDeploy(manifestFor("huge", route("GET", "/huge"), ""), reactorModule(nil, nil, []byte{0x70, 0x00, 0x80, 0x80, 0x80, 0x08}))
			return err
		}, "invalid_module", "function:huge"},
		{"posture", func() error {
			_, err := n.tryDeploy(manifestFor("vulnerable", route("GET", "/vulnerable"), ""), testguests.Build(t, "counter"))
			return err
		}, "posture_refused", "function:vulnerable"},
		{"route collision", func() error {
			_, err := n.tryDeploy(manifestFor("clash", route("GET", "/first"), ""), ok)
			return err
		}, "conflict", "function:clash"},
		{"malformed digest", func() error {
			_, err := n.admin.Deploy(ctx, client.DeployRequest{Manifest: manifestFor("digest", "", ""), Digest: "sha256:" + canary})
			return err
		}, "bad_request", "function:digest"},
		{"module never uploaded", func() error {
			_, err := n.admin.Deploy(ctx, client.DeployRequest{Manifest: manifestFor("missing", "", ""), Digest: unknownDigest})
			return err
		}, "blob_not_found", "function:missing"},
		{"not JSON", func() error {
			req, _ := http.NewRequest("POST", n.d.AdminURL()+"/v1/functions", strings.NewReader("{"+canary))
			token, _ := os.ReadFile(n.cfg.AdminTokenFile())
			req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != 400 {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return &client.Error{Code: "bad_request"}
		}, "bad_request", ""},
	}
	for _, r := range refusals {
		if err := r.deploy(); !isCode(err, r.code) {
			t.Fatalf("%s: %v, want %s", r.name, err, r.code)
		}
	}

	var refused []client.AuditEvent
	deadline := time.Now().Add(10 * time.Second)
	for len(refused) < len(refusals) && time.Now().Before(deadline) {
		refused = nil
		for _, e := range n.auditEvents(t) {
			for _, v := range append([]string{e.Target}, slices.Collect(maps.Values(e.Details))...) {
				if strings.Contains(v, canary) {
					t.Errorf("event %d holds the client's input: %+v", e.Seq, e)
				}
			}
			if e.Action == "function.deploy" && e.Outcome != "ok" {
				refused = append(refused, e)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(refused) != len(refusals) {
		t.Fatalf("%d refused deploys audited, want %d: %+v", len(refused), len(refusals), refused)
	}
	for i, r := range refusals {
		e := refused[i]
		if e.Actor != "admin" || e.Outcome != "denied" || e.Target != r.target || e.Details["reason"] != r.code || e.Source != "127.0.0.1" {
			t.Errorf("%s: audited as %+v, want target %q and reason %s", r.name, e, r.target, r.code)
		}
	}
	if d := refused[5].Details["digest"]; d != unknownDigest {
		t.Errorf("a refused deploy of a well-formed digest audited digest %q", d)
	}
	if d, ok := refused[4].Details["digest"]; ok {
		t.Errorf("a malformed digest was audited: %q", d)
	}
}

// forgeAuditRecord makes the record an attacker with write access to the
// store, but without the audit key, appends after the stored record last:
// the next number, chained to last's hash and hashed as docs describe,
// with a MAC it cannot compute.
func forgeAuditRecord(t *testing.T, last []byte) []byte {
	t.Helper()
	var prev struct {
		Seq  uint64 `json:"seq"`
		Hash string `json:"hash"`
		Key  string `json:"key"`
	}
	if err := json.Unmarshal(last, &prev); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"v":2,"seq":%d,"kind":"event","time":"%s","prev":"%s","actor":"admin","action":"key.revoke",`+
		`"target":"key:attacker-planted","source":"127.0.0.1","outcome":"ok","details":{},"key":"%s","mac":"%x"}`,
		prev.Seq+1, time.Now().UTC().Format(time.RFC3339Nano), prev.Hash, prev.Key, sha256.Sum256([]byte("no key")))
	sum := sha256.Sum256([]byte("pave audit record v1\n" + body))
	return fmt.Appendf(nil, `%s,"hash":"%x"}`, body[:len(body)-1], sum)
}

// A record appended to the audit stream by someone without the audit key,
// while the daemon runs or while it is stopped, is named by verify; the
// daemon stops sealing the log and says so in its log, its metrics and
// its posture report.
func TestAuditForgeryDetected(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, live := range []bool{true, false} {
		t.Run(map[bool]string{true: "live", false: "offline"}[live], func(t *testing.T) {
			dir := t.TempDir()
			n := start(t, dir)
			n.setSecret(t, "FIRST")
			if err := n.d.SealAudit(ctx); err != nil {
				t.Fatal(err)
			}
			n.setSecret(t, "SECOND")
			forged := func(last []byte) []byte { return forgeAuditRecord(t, last) }
			var seq uint64
			var err error
			if live {
				if seq, err = n.d.AppendAuditRecord(ctx, forged); err != nil {
					t.Fatal(err)
				}
				n.setSecret(t, "THIRD") // the daemon's next append finds the forgery
			} else {
				n.stop()
				if seq, err = daemon.AppendAuditRecordOffline(ctx, dir, forged); err != nil {
					t.Fatal(err)
				}
				n = start(t, dir)
			}
			rep, err := n.admin.AuditVerify(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK || rep.Problem == nil || rep.Problem.Kind != "forged" || rep.Problem.Seq != seq {
				t.Fatalf("verify after a forged append at %d: %+v %+v", seq, rep, rep.Problem)
			}
			if err := n.d.SealAudit(ctx); err == nil {
				t.Fatal("the daemon sealed over the forged record")
			}
			if got := n.metric(t, "pave_audit_tampered", ""); got != 1 {
				t.Errorf("pave_audit_tampered = %v, want 1", got)
			}
			if lines := n.logs.lines(map[string]any{"level": "ERROR"}); !containsMessage(lines, "the audit log was tampered with") {
				t.Errorf("no error in the log: %v", lines)
			}
			b, err := n.admin.Posture(ctx, "json")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), "PAVE-AUDIT-TAMPERED") {
				t.Errorf("posture report without PAVE-AUDIT-TAMPERED: %s", b)
			}
		})
	}
}

// setSecret stores a secret: an audited action.
func (n *node) setSecret(t *testing.T, name string) {
	t.Helper()
	if _, err := n.admin.SetSecret(context.Background(), name, []byte("value of "+name)); err != nil {
		t.Fatal(err)
	}
}

func containsMessage(lines []map[string]any, prefix string) bool {
	for _, l := range lines {
		if msg, _ := l["msg"].(string); strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}
