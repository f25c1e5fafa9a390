package daemon_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/audit"
	"github.com/pave-dev/pave/internal/cli"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/daemon"
	"github.com/pave-dev/pave/internal/members"
	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/secrets"
	"github.com/pave-dev/pave/internal/testguests"
)

// newKeyLine returns a new 32-byte key in base64, as key files hold it.
func newKeyLine(t testing.TB) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func writeKey(t testing.TB, path, line string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func masterID(t *testing.T, line string) string {
	t.Helper()
	k, err := secrets.ParseMasterKey(line)
	if err != nil {
		t.Fatal(err)
	}
	return k.ID()
}

func auditID(t *testing.T, line string) string {
	t.Helper()
	id, err := audit.KeyID(secret.Value(line))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// keyDir is a node's directory of key files, outside its data directory,
// holding a copy of the cluster's keys.
func keyDir(t testing.TB, master, auditKey string) string {
	t.Helper()
	dir := t.TempDir()
	writeKey(t, filepath.Join(dir, "master.key"), master)
	writeKey(t, filepath.Join(dir, "audit.key"), auditKey)
	return dir
}

// withKeys points a node on url at the key files in dir.
func withKeys(url, dir string) func(*config.Config) {
	return func(c *config.Config) {
		c.NATSURL = url
		c.MasterKeyFile = filepath.Join(dir, "master.key")
		c.Observability.AuditKeyFile = filepath.Join(dir, "audit.key")
	}
}

// readSecret awaits GUEST_SECRET reading want through n's gateway.
func (n *node) readSecret(key, want string) {
	n.t.Helper()
	n.await("GUEST_SECRET reading "+want, "GET", "/secret?name=GUEST_SECRET", key, func(r response) bool {
		return r.status == 200 && strings.Contains(string(r.body), `"value":"`+want+`"`)
	})
}

// startErr starts a daemon that is expected to refuse, with the
// configuration start uses on dataDir and configure applied, and returns
// its error (failing the test if it starts).
func startErr(t *testing.T, dataDir string, configure func(*config.Config)) error {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = dataDir
	cfg.GatewayAddr, cfg.AdminAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.CacheDir = sharedCache
	configure(&cfg)
	d, err := daemon.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = d.Start(ctx)
	if err == nil {
		d.Shutdown(ctx)
		t.Fatal("the daemon started")
	}
	return err
}

// TestOneKeySetAcrossNodes runs three nodes on one external NATS server,
// each with its own copy of one master key and one audit key: a secret set
// through one node is read on the others and set again through another;
// a rotation through the third, with the new key given to every node
// first, is followed by the other two, which read and set secrets under
// the new key, and every node restarts on it; the shared audit log
// verifies on every node.
func TestOneKeySetAcrossNodes(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	url := srv.ClientURL()
	master, auditKey := newKeyLine(t), newKeyLine(t)
	dirs := []string{keyDir(t, master, auditKey), keyDir(t, master, auditKey), keyDir(t, master, auditKey)}
	nodes := make([]*node, 3)
	nodes[0] = startWith(t, withKeys(url, dirs[0]))
	token, err := os.ReadFile(nodes[0].cfg.AdminTokenFile())
	if err != nil {
		t.Fatal(err)
	}
	adminOf := func(n *node) { n.admin = client.New(n.d.AdminURL(), strings.TrimSpace(string(token))) }
	for i := 1; i < 3; i++ {
		nodes[i] = startWith(t, withKeys(url, dirs[i]))
		adminOf(nodes[i])
	}
	a, b, c := nodes[0], nodes[1], nodes[2]
	ctx := context.Background()

	if _, err := a.admin.SetSecret(ctx, "GUEST_SECRET", []byte("value-one")); err != nil {
		t.Fatal(err)
	}
	// The route hands the caller the secret, unredacted, so that the test
	// sees which value each node reads.
	m := strings.Replace(capabilitiesManifest(t, "capabilities", "team-a"),
		"    path: /secret\n", "    path: /secret\n    unredacted: the test reads the value\n", 1)
	a.deploy(m, testguests.Build(t, "capabilities"))
	key := a.key("ci", "capabilities")
	b.readSecret(key, "value-one")
	if _, err := b.admin.SetSecret(ctx, "GUEST_SECRET", []byte("value-two")); err != nil {
		t.Fatalf("setting the secret again through node B: %v", err)
	}
	for _, n := range nodes {
		n.readSecret(key, "value-two")
	}

	// The rotation: the new key first goes to every node.
	next := newKeyLine(t)
	for _, d := range dirs {
		writeKey(t, filepath.Join(d, "master.key.next"), next)
	}
	rot, err := c.admin.RotateMaster(ctx)
	if err != nil {
		t.Fatalf("rotating through node C: %v", err)
	}
	if rot.OldKeyID != masterID(t, master) || rot.NewKeyID != masterID(t, next) || rot.Rewrapped != 2 {
		t.Fatalf("rotation: %+v, want %s to %s, 2 versions", rot, masterID(t, master), masterID(t, next))
	}
	for i, d := range dirs {
		eventually(t, "node "+string(rune('A'+i))+"'s key file replaced by the new key", func() string {
			got, _ := os.ReadFile(filepath.Join(d, "master.key"))
			if strings.TrimSpace(string(got)) != next {
				return "master.key still holds the old key"
			}
			if _, err := os.Stat(filepath.Join(d, "master.key.next")); err == nil {
				return "master.key.next is still there"
			}
			return ""
		})
	}
	for _, n := range nodes {
		n.readSecret(key, "value-two")
	}
	if _, err := a.admin.SetSecret(ctx, "GUEST_SECRET", []byte("value-three")); err != nil {
		t.Fatalf("setting the secret through node A after the rotation: %v", err)
	}
	for i, n := range nodes {
		n.readSecret(key, "value-three")
		n.stop()
		nodes[i] = startWith(t, withKeys(url, dirs[i]))
		adminOf(nodes[i])
		nodes[i].readSecret(key, "value-three")
	}
	list, err := nodes[1].admin.ListSecrets(ctx)
	if err != nil || len(list) != 1 || len(list[0].Versions) != 3 {
		t.Fatalf("secrets after the restarts: %+v, %v", list, err)
	}

	// Every node appended to the one audit log; it verifies on each.
	for i, n := range nodes {
		rep, err := n.admin.AuditVerify(ctx)
		if err != nil || !rep.OK || rep.Events == 0 {
			t.Errorf("audit verify on node %c: %+v, %v", 'A'+i, rep, err)
		}
	}
}

// TestNodeWithOtherKeysRefusesToStart starts a node on a store whose
// records use other keys, or with no key at all: it refuses, naming both
// key ids, and makes no key of its own.
func TestNodeWithOtherKeysRefusesToStart(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	url := srv.ClientURL()
	master, auditKey := newKeyLine(t), newKeyLine(t)
	first := startWith(t, withKeys(url, keyDir(t, master, auditKey)))
	if _, err := first.admin.SetSecret(context.Background(), "S1", []byte("value")); err != nil {
		t.Fatal(err)
	}
	otherMaster, otherAudit := newKeyLine(t), newKeyLine(t)
	for _, tc := range []struct {
		name  string
		keys  func(dir string)
		want  []string
		files []string // files that must not be created
	}{
		{"another master key", func(dir string) {
			writeKey(t, filepath.Join(dir, "master.key"), otherMaster)
			writeKey(t, filepath.Join(dir, "audit.key"), auditKey)
		}, []string{masterID(t, master), masterID(t, otherMaster)}, nil},
		{"another audit key", func(dir string) {
			writeKey(t, filepath.Join(dir, "master.key"), master)
			writeKey(t, filepath.Join(dir, "audit.key"), otherAudit)
		}, []string{auditID(t, auditKey), auditID(t, otherAudit)}, nil},
		{"no master key", func(dir string) {
			writeKey(t, filepath.Join(dir, "audit.key"), auditKey)
		}, []string{masterID(t, master), "no master key file"}, []string{"master.key"}},
		{"no audit key", func(dir string) {
			writeKey(t, filepath.Join(dir, "master.key"), master)
		}, []string{auditID(t, auditKey), "no audit key file"}, []string{"audit.key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.keys(dir)
			err := startErr(t, t.TempDir(), withKeys(url, dir))
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			for _, f := range tc.files {
				if _, err := os.Stat(filepath.Join(dir, f)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("the node made %s (stat: %v)", f, err)
				}
			}
		})
	}
}

// TestNodeWithoutTheNewKeyFailsClosed rotates through node A while node B
// does not hold the new key (taken away after B's heartbeat said it held
// it, which a rotation trusts): B refuses to set secrets and cannot read the
// re-wrapped one (an error, never another value), and refuses to restart,
// naming both ids, until its next key file is given; then it starts on
// the new key.
func TestNodeWithoutTheNewKeyFailsClosed(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	url := srv.ClientURL()
	master, auditKey := newKeyLine(t), newKeyLine(t)
	dirA, dirB := keyDir(t, master, auditKey), keyDir(t, master, auditKey)
	a := startWith(t, withKeys(url, dirA))
	b := startWith(t, withKeys(url, dirB))
	token, err := os.ReadFile(a.cfg.AdminTokenFile())
	if err != nil {
		t.Fatal(err)
	}
	b.admin = client.New(b.d.AdminURL(), strings.TrimSpace(string(token)))
	ctx := context.Background()
	if _, err := a.admin.SetSecret(ctx, "GUEST_SECRET", []byte("value-one")); err != nil {
		t.Fatal(err)
	}
	m := strings.Replace(capabilitiesManifest(t, "capabilities", "team-a"),
		"    path: /secret\n", "    path: /secret\n    unredacted: the test reads the value\n", 1)
	a.deploy(m, testguests.Build(t, "capabilities"))
	key := a.key("ci", "capabilities")
	b.readSecret(key, "value-one")

	// Without the new key on this node, a shared store refuses to rotate.
	var ce *client.Error
	if _, err := a.admin.RotateMaster(ctx); !errors.As(err, &ce) || ce.Status != 409 || !strings.Contains(ce.Message, "master.key.next") {
		t.Fatalf("rotation without the new key: %v, want 409 naming master.key.next", err)
	}
	// B is given the new key and says so in its heartbeat, which the
	// rotation trusts; the key is taken away again before B's next one.
	next := newKeyLine(t)
	oldID, newID := masterID(t, master), masterID(t, next)
	writeKey(t, filepath.Join(dirA, "master.key.next"), next)
	writeKey(t, filepath.Join(dirB, "master.key.next"), next)
	idB, err := members.NodeID(b.cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	var beat time.Time
	eventually(t, "node B's heartbeat listing the new key", func() string {
		nodes, err := a.admin.ListNodes(ctx)
		for _, n := range nodes {
			if n.ID == idB && n.NextMasterKeyID == newID {
				beat = n.Heartbeat
				return ""
			}
		}
		return "nodes " + toJSON(nodes) + toJSON(err)
	})
	eventually(t, "node B's next heartbeat", func() string {
		nodes, err := a.admin.ListNodes(ctx)
		for _, n := range nodes {
			if n.ID == idB && n.Heartbeat.After(beat) {
				return ""
			}
		}
		return "nodes " + toJSON(nodes) + toJSON(err)
	})
	if err := os.Remove(filepath.Join(dirB, "master.key.next")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.admin.RotateMaster(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "node B refusing to set a secret", func() string {
		_, err := b.admin.SetSecret(ctx, "GUEST_SECRET", []byte("value-two"))
		if !errors.As(err, &ce) || ce.Status != 409 || !strings.Contains(ce.Message, oldID) || !strings.Contains(ce.Message, newID) {
			return "got " + toJSON(err)
		}
		return ""
	})
	b.await("node B failing to read the re-wrapped secret", "GET", "/secret?name=GUEST_SECRET", key, func(r response) bool {
		return r.status == 200 && strings.Contains(string(r.body), `"error":"unavailable"`)
	})
	b.stop()

	if err := startErr(t, t.TempDir(), withKeys(url, dirB)); !strings.Contains(err.Error(), oldID) || !strings.Contains(err.Error(), newID) {
		t.Fatalf("node B's refusal does not name both keys: %v", err)
	}

	// The way back: give B the new key beside its old one.
	writeKey(t, filepath.Join(dirB, "master.key.next"), next)
	b = startWith(t, withKeys(url, dirB))
	b.admin = client.New(b.d.AdminURL(), strings.TrimSpace(string(token)))
	b.readSecret(key, "value-one")
	if _, err := b.admin.SetSecret(ctx, "GUEST_SECRET", []byte("value-two")); err != nil {
		t.Fatal(err)
	}
	a.readSecret(key, "value-two")
	if got, _ := os.ReadFile(filepath.Join(dirB, "master.key")); strings.TrimSpace(string(got)) != next {
		t.Error("node B's master.key does not hold the new key after its restart")
	}
}

// TestRotationWaitsForEveryNodeToHoldTheNextKey gives the next master key
// to node A only: a rotation through A is refused with 409, naming node B
// and changing nothing, while the nodes' heartbeats (pave nodes) list the
// ids of the keys each holds, never a key. Once B is given the key too,
// the same rotation goes through and both nodes seal with the new key.
func TestRotationWaitsForEveryNodeToHoldTheNextKey(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	url := srv.ClientURL()
	master, auditKey, next := newKeyLine(t), newKeyLine(t), newKeyLine(t)
	oldID, newID, auditKeyID := masterID(t, master), masterID(t, next), auditID(t, auditKey)
	dirA, dirB := keyDir(t, master, auditKey), keyDir(t, master, auditKey)
	a := startWith(t, withKeys(url, dirA))
	b := startWith(t, withKeys(url, dirB))
	b.admin = client.New(b.d.AdminURL(), strings.TrimSpace(string(mustRead(t, a.cfg.AdminTokenFile()))))
	idA, errA := members.NodeID(a.cfg.DataDir)
	idB, errB := members.NodeID(b.cfg.DataDir)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	ctx := context.Background()
	if _, err := a.admin.SetSecret(ctx, "S1", []byte("value-one")); err != nil {
		t.Fatal(err)
	}

	writeKey(t, filepath.Join(dirA, "master.key.next"), next)
	eventually(t, "the nodes' heartbeats listing their keys' ids", func() string {
		nodes, err := b.admin.ListNodes(ctx)
		want := map[string]string{idA: newID, idB: ""}
		for _, n := range nodes {
			if w, ok := want[n.ID]; ok && n.MasterKeyID == oldID && n.AuditKeyID == auditKeyID && n.NextMasterKeyID == w {
				delete(want, n.ID)
			}
		}
		if len(want) > 0 || err != nil {
			return "nodes " + toJSON(nodes) + toJSON(err)
		}
		return ""
	})
	var out bytes.Buffer
	getenv := func(k string) string {
		if k == config.EnvDataDir {
			return a.cfg.DataDir
		}
		return ""
	}
	if code := cli.Main([]string{"nodes"}, nil, &out, io.Discard, getenv); code != 0 {
		t.Fatalf("pave nodes: exit %d", code)
	}
	for _, k := range []string{master, auditKey, next} {
		if strings.Contains(out.String(), k) {
			t.Fatalf("pave nodes shows a key:\n%s", out.String())
		}
	}
	if !strings.Contains(out.String(), newID) || !strings.Contains(out.String(), auditKeyID) {
		t.Errorf("pave nodes does not show the key ids:\n%s", out.String())
	}

	_, err := a.admin.RotateMaster(ctx)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 409 || ce.Code != "conflict" ||
		!strings.Contains(ce.Message, idB) || !strings.Contains(ce.Message, newID) || strings.Contains(ce.Message, idA) {
		t.Fatalf("rotation with the new key on node A only: %v, want 409 conflict naming node B (%s) and key %s", err, idB, newID)
	}
	// Nothing changed: B still seals with the old key, A's files are as
	// they were.
	if _, err := b.admin.SetSecret(ctx, "S1", []byte("value-two")); err != nil {
		t.Fatalf("setting a secret through node B after the refusal: %v", err)
	}
	if got := strings.TrimSpace(string(mustRead(t, filepath.Join(dirA, "master.key")))); got != master {
		t.Fatal("node A's master.key changed")
	}

	// B is given the key; the rotation, run at once, waits for B's next
	// heartbeat to say so.
	writeKey(t, filepath.Join(dirB, "master.key.next"), next)
	rot, err := a.admin.RotateMaster(ctx)
	if err != nil {
		t.Fatalf("rotation with the new key on both nodes: %v", err)
	}
	if rot.OldKeyID != oldID || rot.NewKeyID != newID || rot.Rewrapped != 2 {
		t.Fatalf("rotation: %+v, want %s to %s, 2 versions", rot, oldID, newID)
	}
	for _, n := range []*node{a, b} {
		if _, err := n.admin.SetSecret(ctx, "S1", []byte("value-three")); err != nil {
			t.Fatalf("setting a secret after the rotation: %v", err)
		}
	}
	eventually(t, "node B's key file replaced by the new key", func() string {
		if got := strings.TrimSpace(string(mustRead(t, filepath.Join(dirB, "master.key")))); got != next {
			return "master.key still holds the old key"
		}
		return ""
	})
}
