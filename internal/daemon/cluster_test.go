package daemon_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/daemon"
	"github.com/pave-dev/pave/internal/store"
	"github.com/pave-dev/pave/internal/testguests"
)

// natsCluster is three NATS servers with JetStream, clustered on loopback,
// that run until the test ends.
type natsCluster struct {
	servers []*server.Server
}

// startCluster starts a three-server JetStream cluster on loopback and
// returns once JetStream has a meta leader that answers on every server.
func startCluster(t *testing.T) *natsCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a NATS cluster and daemons; skipped with -short")
	}
	const size = 3
	ports := clusterPorts(t, size)
	var routes []*url.URL
	for _, p := range ports {
		routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	c := &natsCluster{}
	for i := range size {
		srv, err := server.NewServer(&server.Options{
			ServerName: fmt.Sprintf("n%d", i+1),
			Host:       "127.0.0.1",
			Port:       -1,
			JetStream:  true,
			StoreDir:   t.TempDir(),
			MaxPayload: store.MaxPayload,
			Cluster:    server.ClusterOpts{Name: "pave-test", Host: "127.0.0.1", Port: ports[i]},
			Routes:     routes,
			NoLog:      true,
			NoSigs:     true,
		})
		if err != nil {
			t.Fatal(err)
		}
		srv.Start()
		c.servers = append(c.servers, srv)
	}
	t.Cleanup(func() {
		for _, srv := range c.servers {
			srv.Shutdown()
		}
		for _, srv := range c.servers {
			srv.WaitForShutdown()
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for _, srv := range c.servers {
		if !srv.ReadyForConnections(10 * time.Second) {
			t.Fatalf("nats server %s not ready", srv.Name())
		}
	}
	// JetStream answers once the servers have elected a meta leader.
	for _, srv := range c.servers {
		for !c.answers(srv) {
			if time.Now().After(deadline) {
				t.Fatalf("the nats cluster's JetStream did not answer on %s within 30s", srv.Name())
			}
			time.Sleep(25 * time.Millisecond)
		}
	}
	return c
}

// clusterPorts returns n free loopback ports for the cluster listeners of
// n NATS servers: every server routes to every other, so the ports are
// chosen before any server starts.
func clusterPorts(t *testing.T, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	return ports
}

// answers reports whether JetStream answers an account info request
// through srv.
func (c *natsCluster) answers(srv *server.Server) bool {
	return jetStreamAnswers(srv.ClientURL())
}

// jetStreamAnswers reports whether JetStream answers an account info
// request through the server at url.
func jetStreamAnswers(url string) bool {
	nc, err := nats.Connect(url)
	if err != nil {
		return false
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = js.AccountInfo(ctx)
	return err == nil
}

// url is the client URL of server i.
func (c *natsCluster) url(i int) string { return c.servers[i%len(c.servers)].ClientURL() }

// startNodes starts n daemons on the cluster, node i connected to server
// i (mod 3), each configured by configure as well, and gives every node an
// admin client with the first node's token.
func (c *natsCluster) startNodes(t *testing.T, n int, configure func(*config.Config)) []*node {
	t.Helper()
	return startNodesOn(t, n, c.url, configure)
}

// startNodesOn starts n daemons, node i connected to url(i), as
// startNodes does.
func startNodesOn(t *testing.T, n int, url func(int) string, configure func(*config.Config)) []*node {
	t.Helper()
	nodes := make([]*node, n)
	for i := range nodes {
		nodes[i] = startWith(t, func(cfg *config.Config) {
			cfg.NATSURL = url(i)
			if configure != nil {
				configure(cfg)
			}
		})
	}
	token, err := os.ReadFile(nodes[0].cfg.AdminTokenFile())
	if err != nil {
		t.Fatalf("the first node wrote no admin token: %v", err)
	}
	for _, nd := range nodes {
		nd.admin = client.New(nd.d.AdminURL(), strings.TrimSpace(string(token)))
	}
	return nodes
}

// TestCluster runs three daemons on a three-server NATS cluster, each on
// another server, and checks what must hold across them, one subtest
// after the other on the one cluster (starting it is most of the cost).
func TestCluster(t *testing.T) {
	t.Parallel()
	began := time.Now()
	c := startCluster(t)
	nodes := c.startNodes(t, 3, nil)
	t.Logf("cluster and three daemons up in %s", time.Since(began).Round(time.Millisecond))
	for _, sub := range []struct {
		name string
		run  func(*testing.T, *natsCluster, []*node)
	}{
		{"propagation", clusterPropagation},
		{"claims", func(t *testing.T, _ *natsCluster, nodes []*node) { claimRaces(t, nodes[0], nodes[1], 4) }},
		{"budget", clusterBudget},
		{"webhook replay", clusterWebhookReplay},
		{"rate", clusterRate},
		{"concurrency", clusterConcurrency},
		{"replicas", clusterReplicas}, // last: it changes every stream
	} {
		began := time.Now()
		ok := t.Run(sub.name, func(t *testing.T) {
			// Each subtest's nodes report to it.
			for _, n := range nodes {
				n.t = t
			}
			sub.run(t, c, nodes)
		})
		for _, n := range nodes {
			n.t = t
		}
		t.Logf("%s: %s", sub.name, time.Since(began).Round(time.Millisecond))
		if !ok {
			return
		}
	}
}

// clusterPropagation: a deploy and a key made through one node serve on
// the others.
func clusterPropagation(t *testing.T, _ *natsCluster, nodes []*node) {
	nodes[1].deploy(helloManifest(t), helloModule(t))
	key := nodes[2].key("shared", "hello")
	for i, n := range nodes {
		r := n.await(fmt.Sprintf("the deploy and the key reaching node %d", i+1), "GET", "/hello", key,
			func(r response) bool { return r.status == 200 })
		if string(r.body) != "Hello, world!\n" {
			t.Errorf("node %d: %d %q", i+1, r.status, r.body)
		}
	}
}

// helloManifest is the pave.yaml of the hello example.
func helloManifest(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testguests.ExampleDir(t, "hello"), "pave.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// helloModule is the module of the hello example.
func helloModule(t *testing.T) []byte { return testguests.Example(t, "hello") }

// claimRaces deploys, round after round, two functions of two owners that
// claim one route, then one topic, through nodes a and b at the same
// moment, and fails unless exactly one of each pair is deployed and the
// other refused with 409.
func claimRaces(t *testing.T, a, b *node, rounds int) {
	t.Helper()
	module := helloModule(t)
	if _, err := a.admin.PutBlob(context.Background(), module); err != nil {
		t.Fatal(err)
	}
	for round := range rounds {
		for _, kind := range []string{"route", "topic"} {
			errs := make([]error, 2)
			var wg sync.WaitGroup
			begin := make(chan struct{})
			for i, n := range []*node{a, b} {
				claim := fmt.Sprintf("routes:\n  - method: GET\n    path: /race/%d/{id}\n", round)
				if kind == "topic" {
					claim = fmt.Sprintf("routes:\n  - method: GET\n    path: /%s-%d-%d\ntriggers:\n  - topic: race.%d\n", kind, round, i, round)
				}
				text := fmt.Sprintf("name: %s-%d-%d\nowner: team-%d\n%s", kind, round, i, i, claim)
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-begin
					_, errs[i] = n.tryDeploy(text, module)
				}()
			}
			close(begin)
			wg.Wait()
			won := 0
			for _, err := range errs {
				var ce *client.Error
				switch {
				case err == nil:
					won++
				case errors.As(err, &ce) && ce.Status == 409:
				default:
					t.Fatalf("round %d, %s: %v", round, kind, err)
				}
			}
			if won != 1 {
				t.Fatalf("round %d, %s: %d deploys won (%v), want exactly 1", round, kind, won, errs)
			}
		}
	}
}

// clusterBudget calls a function with a budget of 100 invocations a
// day 600 times, round-robin through three nodes: the nodes lease slices
// of the budget from one counter, so 100 calls pass in all, not 100 per
// node.
func clusterBudget(t *testing.T, _ *natsCluster, nodes []*node) {
	nodes[0].deploy("name: metered\nowner: team-test\nroutes:\n  - method: GET\n    path: /metered\nbudget:\n  invocations: 100\n", helloModule(t))
	key := nodes[0].key("ci", "metered")
	// Each node's first call waits for the deploy and the key to reach
	// it; it counts.
	passed := make([]int, len(nodes))
	for i, n := range nodes {
		n.await(fmt.Sprintf("the deploy and the key reaching node %d", i+1), "GET", "/metered", key, func(r response) bool { return r.status == 200 })
		passed[i]++
	}
	began := time.Now()
	for i := range 600 - len(nodes) {
		r := nodes[i%len(nodes)].call("GET", "/metered", key, nil)
		switch {
		case r.status == 200:
			passed[i%len(nodes)]++
		case r.status == 429 && r.errorCode(t) == "budget_exhausted":
		default:
			t.Fatalf("call %d: %d %s", i, r.status, r.body)
		}
	}
	total := passed[0] + passed[1] + passed[2]
	t.Logf("600 calls round-robin in %s: %d passed (%v by node)", time.Since(began).Round(time.Millisecond), total, passed)
	if total != 100 {
		t.Errorf("%d of 600 calls passed a budget of 100 through three nodes (by node %v), want 100", total, passed)
	}
}

// clusterReplicas starts a node with --replicas 3 on the cluster whose
// streams and buckets have one replica: it raises every one to three and
// says so, and serves; --replicas 4 is refused, the cluster having three
// servers.
func clusterReplicas(t *testing.T, c *natsCluster, nodes []*node) {
	before := c.streamReplicas(t)
	if len(before) < 10 {
		t.Fatalf("streams after the nodes' start: %v", before)
	}
	for name, r := range before {
		if r != 1 {
			t.Errorf("stream %s has %d replicas by default, want 1", name, r)
		}
	}
	began := time.Now()
	raiser := startWith(t, func(cfg *config.Config) { cfg.NATSURL = c.url(1); cfg.Replicas = 3 })
	t.Logf("a start that raises %d streams to three replicas: %s", len(before), time.Since(began).Round(time.Millisecond))
	after := c.streamReplicas(t)
	for name, r := range after {
		if r != 3 {
			t.Errorf("stream %s has %d replicas after a start with --replicas 3", name, r)
		}
	}
	// Replicated buckets and object stores are read from their leader:
	// a direct get, which any replica answers, may miss a write.
	for _, cfg := range c.streams(t) {
		if (strings.HasPrefix(cfg.Name, "KV_") || strings.HasPrefix(cfg.Name, "OBJ_")) && cfg.AllowDirect {
			t.Errorf("stream %s with %d replicas allows direct gets", cfg.Name, cfg.Replicas)
		}
	}
	for name := range before {
		if len(raiser.logs.lines(map[string]any{"msg": "changing the replicas of a stream", "stream": name})) != 1 {
			t.Errorf("no log line for raising the replicas of %s", name)
		}
	}
	r := raiser.await("the function after the raise", "GET", "/hello", "", func(r response) bool { return r.status != 503 })
	if r.status != 401 {
		t.Errorf("the function after the raise, without a key: %d %s, want 401", r.status, r.body)
	}
	raiser.stop()

	began = time.Now()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.GatewayAddr, cfg.AdminAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.NATSURL, cfg.Replicas = c.url(2), 4
	d, err := daemon.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = d.Start(ctx)
	if err == nil {
		d.Shutdown(ctx)
		t.Fatal("a node with --replicas 4 on a cluster of three started")
	}
	if !strings.Contains(err.Error(), "--replicas 4 needs a NATS cluster of at least 4 JetStream servers") {
		t.Errorf("start with --replicas 4: %v", err)
	}
	t.Logf("a start refused for --replicas 4: %s", time.Since(began).Round(time.Millisecond))
}

// clusterWebhookReplay sends each webhook delivery to three nodes at
// once: exactly one node accepts it, the others refuse it as replayed.
func clusterWebhookReplay(t *testing.T, _ *natsCluster, nodes []*node) {
	secretFile := filepath.Join(t.TempDir(), "github.secret")
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	secret := hex.EncodeToString(raw)
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	nodes[0].deploy("name: hooks\nowner: team-shop\nroutes:\n  - method: POST\n    path: /hooks/github\n    auth: webhook\n    webhook: {scheme: github, secret_file: "+secretFile+"}\n",
		testguests.Example(t, "echo"))
	for i, n := range nodes {
		n.await(fmt.Sprintf("the deploy reaching node %d", i+1), "POST", "/hooks/github", "", func(r response) bool { return r.status == 401 })
	}
	for round := range 10 {
		// Another body each round: an unsigned delivery id does not make
		// the same content a new delivery.
		body := fmt.Appendf(nil, `{"action":"opened","round":%d}`, round)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		signature := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		hook := map[string]string{"X-GitHub-Delivery": fmt.Sprintf("delivery-%d", round), "X-Hub-Signature-256": signature, "Content-Type": "application/json"}
		answers := make([]response, len(nodes))
		var wg sync.WaitGroup
		for i, n := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = n.send("POST", "/hooks/github", hook, body)
			}()
		}
		wg.Wait()
		accepted := 0
		for _, r := range answers {
			switch {
			case r.status == 200:
				accepted++
			case r.status == 401 && r.errorCode(t) == "replayed":
			default:
				t.Fatalf("round %d: %d %s", round, r.status, r.body)
			}
		}
		if accepted != 1 {
			t.Fatalf("round %d: the delivery was accepted by %d of three nodes, want 1", round, accepted)
		}
	}
}

// TestClaimsOneExternalNATS races colliding deploys through two nodes on
// one external server.
func TestClaimsOneExternalNATS(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	a := startWith(t, func(c *config.Config) { c.NATSURL = srv.ClientURL() })
	b := startWith(t, func(c *config.Config) { c.NATSURL = srv.ClientURL() })
	token, err := os.ReadFile(a.cfg.AdminTokenFile())
	if err != nil {
		t.Fatal(err)
	}
	b.admin = client.New(b.d.AdminURL(), strings.TrimSpace(string(token)))
	claimRaces(t, a, b, 3)
}

// streamReplicas returns the replicas of every stream on the cluster, by
// name.
func (c *natsCluster) streamReplicas(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, cfg := range c.streams(t) {
		out[cfg.Name] = cfg.Replicas
	}
	return out
}

// streams returns the configuration of every stream of the cluster.
func (c *natsCluster) streams(t *testing.T) []jetstream.StreamConfig {
	t.Helper()
	nc, err := nats.Connect(c.url(0))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []jetstream.StreamConfig
	list := js.ListStreams(ctx)
	for info := range list.Info() {
		out = append(out, info.Config)
	}
	if err := list.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
