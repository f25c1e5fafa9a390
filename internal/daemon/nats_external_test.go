package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/daemon"
	"github.com/pave-dev/pave/internal/testguests"
)

// startWith is start with a fresh data directory and configure applied to
// the configuration. The admin client uses the token file the daemon wrote;
// when it wrote none (it found a token already stored), n.admin is nil and
// the caller supplies a client.
func startWith(t testing.TB, configure func(*config.Config)) *node {
	t.Helper()
	logs := &syncBuffer{}
	n := startLogged(t, configure, slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n.logs = logs
	return n
}

// startLogged is startWith with the daemon's log going to h; n.logs is
// nil.
func startLogged(t testing.TB, configure func(*config.Config), h slog.Handler) *node {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.GatewayAddr = "127.0.0.1:0"
	cfg.AdminAddr = "127.0.0.1:0"
	cfg.ShutdownTimeout = 10 * time.Second
	cfg.CacheDir = sharedCache
	cfg.CompileBeforeServing = true // as start does
	configure(&cfg)
	if cfg.NATSURL != "" && cfg.MasterKeyFile == "" && cfg.Observability.AuditKeyFile == "" && cfg.MasterKey == "" {
		withKeys(cfg.NATSURL, clusterKeys(t))(&cfg)
	}
	d, err := daemon.New(cfg, slog.New(h))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	n := &node{t: t, d: d, cfg: cfg}
	t.Cleanup(n.stop)
	token, err := os.ReadFile(cfg.AdminTokenFile())
	switch {
	case err == nil:
		n.admin = client.New(d.AdminURL(), strings.TrimSpace(string(token)))
	case !errors.Is(err, fs.ErrNotExist):
		t.Fatal(err)
	}
	return n
}

// testKeys are the key sets of the tests running, by top-level test name.
var testKeys sync.Map // string -> [2]string{master, audit}

// clusterKeys returns a new directory holding a copy of the test's one
// master key and one audit key, made at its first call: the nodes a test
// starts on an external store share a key set, as an operator gives a
// cluster its keys, each node its own copy. A test that configures key
// files itself gets none.
func clusterKeys(t testing.TB) string {
	t.Helper()
	name, _, _ := strings.Cut(t.Name(), "/")
	keys, _ := testKeys.LoadOrStore(name, [2]string{newKeyLine(t), newKeyLine(t)})
	k := keys.([2]string)
	return keyDir(t, k[0], k[1])
}

// startNATS runs a NATS server with JetStream on a random loopback port
// until the test ends (after the daemons registered later have stopped).
func startNATS(t *testing.T) *server.Server {
	t.Helper()
	srv, err := server.NewServer(&server.Options{
		Host:      "127.0.0.1",
		Port:      -1,
		JetStream: true,
		StoreDir:  t.TempDir(),
		NoLog:     true,
		NoSigs:    true,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	return srv
}

// await calls n's gateway until check accepts the response or the
// propagation deadline passes, and returns the last response.
func (n *node) await(what, method, path, key string, check func(response) bool) response {
	n.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		r := n.call(method, path, key, nil)
		if check(r) {
			return r
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("%s: last answer %d %s", what, r.status, r.body)
		}
		<-tick.C
	}
}

// TestTwoDaemonsOneExternalNATS runs two nodes on one external NATS server:
// what is deployed, keyed and revoked through one node's admin API takes
// effect on the other node's gateway.
func TestTwoDaemonsOneExternalNATS(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	external := func(c *config.Config) { c.NATSURL = srv.ClientURL() }
	a := startWith(t, func(c *config.Config) {
		external(c)
		// The keys in the data directory, where the first node makes them.
		c.MasterKeyFile = filepath.Join(c.DataDir, "master.key")
		c.Observability.AuditKeyFile = filepath.Join(c.DataDir, "audit.key")
	})
	if a.admin == nil {
		t.Fatal("the first node wrote no admin token")
	}
	// The first node made the keys, and says the others need a copy.
	for _, msg := range []string{"created the secrets master key", "created the audit key"} {
		if recs := a.logs.lines(map[string]any{"msg": msg, "level": "WARN"}); len(recs) != 1 || !strings.Contains(fmt.Sprint(recs[0]["other_nodes"]), "every other node") {
			t.Errorf("the first node does not say the others need a copy of its keys (%s):\n%s", msg, a.logs.String())
		}
	}
	copies := t.TempDir()
	for _, f := range []string{"master.key", "audit.key"} {
		b, err := os.ReadFile(filepath.Join(a.cfg.DataDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(copies, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b := startWith(t, func(c *config.Config) {
		external(c)
		c.MasterKeyFile = filepath.Join(copies, "master.key")
		c.Observability.AuditKeyFile = filepath.Join(copies, "audit.key")
	})
	if _, err := os.Stat(b.cfg.AdminTokenFile()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the second node wrote an admin token file (stat: %v); the token is the first node's", err)
	}
	tokenA, err := os.ReadFile(a.cfg.AdminTokenFile())
	if err != nil {
		t.Fatal(err)
	}
	b.admin = client.New(b.d.AdminURL(), strings.TrimSpace(string(tokenA)))

	for _, n := range []*node{a, b} {
		if recs := n.logs.lines(map[string]any{"msg": "pave is serving", "embedded_nats": false}); len(recs) != 1 {
			t.Errorf("node does not report an external NATS server:\n%s", n.logs.String())
		}
		if _, err := os.Stat(filepath.Join(n.cfg.DataDir, "jetstream")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a node on an external server keeps a JetStream store in %s (stat: %v)", n.cfg.DataDir, err)
		}
	}

	manifest, err := os.ReadFile(filepath.Join(testguests.ExampleDir(t, "hello"), "pave.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a.deploy(string(manifest), testguests.Example(t, "hello"))
	key := a.key("shared", "hello")

	r := b.await("the deploy and the key reaching node B", "GET", "/hello", key, func(r response) bool { return r.status == 200 })
	if string(r.body) != "Hello, world!\n" {
		t.Fatalf("node B: %d %q, want 200 %q", r.status, r.body, "Hello, world!\n")
	}
	if r := b.call("GET", "/hello?name=b", key, nil); r.status != 200 || string(r.body) != "Hello, b!\n" {
		t.Errorf("node B with a query: %d %q", r.status, r.body)
	}

	// Node B's admin API answers to node A's token and sees A's deploy.
	fns, err := b.admin.ListFunctions(context.Background())
	if err != nil {
		t.Fatalf("node B's admin API with node A's token: %v", err)
	}
	if len(fns) != 1 || fns[0].Name != "hello" {
		t.Fatalf("node B lists %+v, want hello", fns)
	}

	if err := a.admin.RevokeKey(context.Background(), "shared"); err != nil {
		t.Fatal(err)
	}
	r = b.await("the revocation reaching node B", "GET", "/hello", key, func(r response) bool { return r.status != 200 })
	if r.status != 403 || r.errorCode(t) != "forbidden" {
		t.Fatalf("revoked key on node B: %d %s, want 403 forbidden", r.status, r.body)
	}

	if err := b.admin.RemoveFunction(context.Background(), "hello"); err != nil {
		t.Fatal(err)
	}
	r = a.await("the removal reaching node A", "GET", "/hello", "", func(r response) bool { return r.status == 404 })
	if code := r.errorCode(t); code != "route_not_found" {
		t.Fatalf("removed function on node A: %s, want route_not_found", code)
	}
}
