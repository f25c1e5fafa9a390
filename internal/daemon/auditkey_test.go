package daemon_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/members"
)

// TestAuditKeyRotation rotates the audit key of one node: the rotation is
// the audit record that names both keys, the key files move (the old key
// kept for the records it sealed), the log verifies before and after a
// restart, and records after the rotation are sealed with the new key.
func TestAuditKeyRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	n := start(t, dir)
	n.setSecret(t, "BEFORE")
	path := n.cfg.AuditKeyPath()
	oldLine := strings.TrimSpace(string(mustRead(t, path)))
	oldID := auditID(t, oldLine)

	rot, err := n.admin.RotateAuditKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rot.OldKeyID != oldID || rot.NewKeyID == "" || rot.NewKeyID == oldID {
		t.Fatalf("rotation: %+v, old key %s", rot, oldID)
	}
	if got := auditID(t, strings.TrimSpace(string(mustRead(t, path)))); got != rot.NewKeyID {
		t.Errorf("%s holds audit key %s after the rotation, want %s", path, got, rot.NewKeyID)
	}
	if kept := strings.TrimSpace(string(mustRead(t, path+"."+oldID))); kept != oldLine {
		t.Errorf("%s.%s does not hold the old key", path, oldID)
	}
	if _, err := os.Stat(path + ".next"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s.next is still there: %v", path, err)
	}
	if id, err := n.d.RecordedAuditKeyID(ctx); err != nil || id != rot.NewKeyID {
		t.Errorf("the store records audit key %q (%v), want %s", id, err, rot.NewKeyID)
	}
	n.setSecret(t, "AFTER")

	verify := func(n *node, what string) {
		t.Helper()
		rep, err := n.admin.AuditVerify(ctx)
		if err != nil || !rep.OK || rep.Rotations != 1 || rep.KeyID != rot.NewKeyID {
			t.Fatalf("verify %s: %+v %+v %v", what, rep, rep.Problem, err)
		}
	}
	verify(n, "after the rotation")
	var rotation *client.AuditEvent
	for _, e := range n.auditEvents(t) {
		if e.Action == "audit.rotate_key" {
			rotation = &e
		}
	}
	if rotation == nil || rotation.Actor != "admin" || rotation.Outcome != "ok" ||
		rotation.Details["from"] != oldID || rotation.Details["to"] != rot.NewKeyID || rotation.Details["request_id"] == "" {
		t.Fatalf("the rotation's audit record: %+v", rotation)
	}

	n.stop()
	again := start(t, dir)
	verify(again, "after a restart")
	again.setSecret(t, "AFTER_RESTART")
	verify(again, "after a restart and a write")
}

// TestAuditKeyRotationAcrossNodes rotates the audit key of two nodes on
// one external NATS server: refused, changing nothing, while the next key
// is missing on the node asked or on the other; once both hold it, the
// rotation through one is followed by the other at its next write, whose
// files move too, and the log verifies on both.
func TestAuditKeyRotationAcrossNodes(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	url := srv.ClientURL()
	master, auditKey, next := newKeyLine(t), newKeyLine(t), newKeyLine(t)
	oldID, newID := auditID(t, auditKey), auditID(t, next)
	dirA, dirB := keyDir(t, master, auditKey), keyDir(t, master, auditKey)
	a := startWith(t, withKeys(url, dirA))
	b := startWith(t, withKeys(url, dirB))
	b.admin = client.New(b.d.AdminURL(), strings.TrimSpace(string(mustRead(t, a.cfg.AdminTokenFile()))))
	idB, err := members.NodeID(b.cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a.setSecret(t, "S1")

	refused := func(what string, names ...string) {
		t.Helper()
		_, err := a.admin.RotateAuditKey(ctx)
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != 409 {
			t.Fatalf("%s: %v, want 409", what, err)
		}
		for _, name := range names {
			if !strings.Contains(ce.Message, name) {
				t.Errorf("%s: %q does not name %s", what, ce.Message, name)
			}
		}
		if got := auditID(t, strings.TrimSpace(string(mustRead(t, filepath.Join(dirA, "audit.key"))))); got != oldID {
			t.Fatalf("%s: node A's audit key changed", what)
		}
	}
	refused("no next key anywhere", "audit.key.next")
	writeKey(t, filepath.Join(dirA, "audit.key.next"), next)
	refused("the next key on node A only", idB, newID)

	writeKey(t, filepath.Join(dirB, "audit.key.next"), next)
	rot, err := a.admin.RotateAuditKey(ctx)
	if err != nil || rot.OldKeyID != oldID || rot.NewKeyID != newID {
		t.Fatalf("rotation with the next key on both nodes: %+v %v", rot, err)
	}
	// B follows at its next write, and moves its files.
	b.setSecret(t, "S2")
	for _, dir := range []string{dirA, dirB} {
		if got := auditID(t, strings.TrimSpace(string(mustRead(t, filepath.Join(dir, "audit.key"))))); got != newID {
			t.Errorf("%s: audit.key holds %s, want %s", dir, got, newID)
		}
		if got := strings.TrimSpace(string(mustRead(t, filepath.Join(dir, "audit.key."+oldID)))); got != auditKey {
			t.Errorf("%s: the old key is not kept", dir)
		}
	}
	for name, n := range map[string]*node{"A": a, "B": b} {
		if id, err := n.d.RecordedAuditKeyID(ctx); err != nil || id != newID {
			t.Errorf("node %s reads audit key %q (%v) recorded in the store, want %s", name, id, err, newID)
		}
	}
	a.setSecret(t, "S3")
	for name, n := range map[string]*node{"A": a, "B": b} {
		rep, err := n.admin.AuditVerify(ctx)
		if err != nil || !rep.OK || rep.Rotations != 1 || rep.KeyID != newID {
			t.Errorf("verify through node %s: %+v %+v %v", name, rep, rep.Problem, err)
		}
	}
	eventually(t, "both nodes' heartbeats listing the new audit key", func() string {
		nodes, err := a.admin.ListNodes(ctx)
		held := 0
		for _, n := range nodes {
			if n.AuditKeyID == newID && n.NextAuditKeyID == "" {
				held++
			}
		}
		if err != nil || held != 2 {
			return toJSON(nodes) + toJSON(err)
		}
		return ""
	})
}
