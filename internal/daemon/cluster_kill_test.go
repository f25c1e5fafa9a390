package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/testguests"
)

// clusterLoad is what a load on two nodes had accepted and refused.
type clusterLoad struct {
	mu        sync.Mutex
	calls     []accepted // asynchronous calls answered 202
	refused   int        // submits answered 503
	deploys   []string   // functions whose deploy was acknowledged
	keys      []string   // key secrets whose creation was acknowledged
	secrets   []string   // secrets whose write was acknowledged
	writes503 int        // writes refused with 503
	reads     int        // synchronous reads answered 200
	bad       []string   // answers that are neither: a 500, another error
	// lastWrite is when a write was last acknowledged.
	lastWrite time.Time
}

func (l *clusterLoad) fail(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.bad) < 20 {
		l.bad = append(l.bad, fmt.Sprintf(format, args...))
	}
}

// run sends, until stop is closed, asynchronous calls to the jobs guest
// from four clients, deploys, key creations and secret writes from one,
// and reads of the hello function from one, alternating between nodes.
func (l *clusterLoad) run(nodes []*node, jobsKey, helloKey, digest, prefix string, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stopped(); i++ {
				n := nodes[(w+i)%len(nodes)]
				token := fmt.Sprintf("%s-%d-%d", prefix, w, i)
				c := &child{gateway: n.d.GatewayURL()}
				status, _, body, err := c.post("/async/work?ms=20&id="+token, auth(jobsKey), "")
				switch {
				case err != nil:
					l.fail("submit %s: %v", token, err)
				case status == http.StatusAccepted:
					id := string(body)
					if i := strings.Index(id, `"id":"`); i >= 0 && len(id) >= i+6+32 {
						id = id[i+6 : i+6+32]
					}
					l.mu.Lock()
					l.calls = append(l.calls, accepted{id: id, token: token})
					l.mu.Unlock()
				case status == http.StatusServiceUnavailable:
					l.mu.Lock()
					l.refused++
					l.mu.Unlock()
					time.Sleep(20 * time.Millisecond)
				default:
					l.fail("submit %s: %d %s", token, status, body)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		ctx := context.Background()
		for i := 0; !stopped(); i++ {
			n := nodes[i%len(nodes)]
			name := fmt.Sprintf("%s-%d", prefix, i)
			var err error
			switch i % 3 {
			case 0:
				_, err = n.admin.Deploy(ctx, client.DeployRequest{Manifest: fmt.Sprintf("name: %s\nowner: team-load\nroutes:\n  - method: GET\n    path: /%s\n", name, name), ManifestFile: "pave.yaml", Digest: digest})
			case 1:
				var k *client.CreateKeyResponse
				if k, err = n.admin.CreateKey(ctx, client.CreateKeyRequest{Name: name, Functions: []string{"hello"}}); err == nil {
					l.mu.Lock()
					l.keys = append(l.keys, k.Secret)
					l.mu.Unlock()
				}
			case 2:
				_, err = n.admin.SetSecret(ctx, strings.ToUpper(strings.ReplaceAll(name, "-", "_")), []byte(name))
			}
			var ce *client.Error
			switch {
			case err == nil:
				l.mu.Lock()
				l.lastWrite = time.Now()
				switch i % 3 {
				case 0:
					l.deploys = append(l.deploys, name)
				case 2:
					l.secrets = append(l.secrets, strings.ToUpper(strings.ReplaceAll(name, "-", "_")))
				}
				l.mu.Unlock()
			case errors.As(err, &ce) && ce.Status == http.StatusServiceUnavailable:
				l.mu.Lock()
				l.writes503++
				l.mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			default:
				l.fail("write %s: %v", name, err)
			}
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stopped(); i++ {
			n := nodes[i%len(nodes)]
			c := &child{gateway: n.d.GatewayURL()}
			req, _ := http.NewRequest("GET", c.gateway+"/hello", nil)
			req.Header.Set("Authorization", "Bearer "+helloKey)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				l.fail("read: %v", err)
				continue
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				l.fail("read through node %d: %d", i%len(nodes)+1, resp.StatusCode)
				continue
			}
			l.mu.Lock()
			l.reads++
			l.mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return &wg
}

// soakOnly skips a test that takes about a minute under the race
// detector, unless make soak runs it (it sets envSoakCycles).
func soakOnly(t *testing.T) {
	t.Helper()
	if os.Getenv(envSoakCycles) == "" {
		t.Skip("a minute or more under -race; make soak runs it (" + envSoakCycles + " set)")
	}
}

// paveConnections counts the clients named pave on srv: the daemons'
// connections.
func paveConnections(t *testing.T, srv *server.Server) int {
	t.Helper()
	cz, err := srv.Connz(&server.ConnzOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range cz.Conns {
		if c.Name == "pave" {
			n++
		}
	}
	return n
}

// TestClusterNATSNodeKilled runs two nodes with --replicas 3 on a
// three-server NATS cluster, each given the three servers' URLs, and
// stops one server under a load of asynchronous calls, deploys, key and
// secret writes and reads: first one that no node is connected to, then,
// on a new cluster, one that a node is connected to. Every call answered
// 202 reaches a final state and runs no more often than its record counts
// attempts; every acknowledged write is read through both nodes
// afterwards; reads are answered throughout, and a refused submit or write
// is a 503, never a 500.
func TestClusterNATSNodeKilled(t *testing.T) {
	soakOnly(t)
	t.Parallel()
	for _, tc := range []struct {
		name      string
		connected bool // kill a server a node is connected to
	}{
		{"a server no node is connected to", false},
		{"a server a node is connected to", true},
	} {
		t.Run(tc.name, func(t *testing.T) { natsNodeKilled(t, tc.connected) })
	}
}

func natsNodeKilled(t *testing.T, connected bool) {
	began := time.Now()
	c := startCluster(t)
	urls := c.url(0) + "," + c.url(1) + "," + c.url(2)
	nodes := c.startNodes(t, 2, func(cfg *config.Config) {
		cfg.NATSURL, cfg.Replicas = urls, 3
		cfg.Async.AckWait = 2 * time.Second
	})
	t.Logf("cluster and two daemons up in %s", time.Since(began).Round(time.Millisecond))
	victim := -1
	for i, srv := range c.servers {
		if (paveConnections(t, srv) > 0) == connected {
			victim = i
			break
		}
	}
	if victim < 0 {
		t.Fatalf("no server with connected=%v", connected)
	}
	what := fmt.Sprintf("server n%d stopped (%d pave connections)", victim+1, map[bool]int{false: 0, true: 1}[connected])
	killedUnderLoad(t, began, nodes, what, func() { c.servers[victim].Shutdown() })
}

// TestClusterNATSProcessKilled is TestClusterNATSNodeKilled with the
// servers in processes of their own, and the server killed with SIGKILL,
// as a machine's crash or the kernel's out-of-memory killer would: no
// shutdown, nothing flushed that was not synced. Node 1 is given only the
// victim's URL and finds the others from the cluster, as a node given one
// server of a cluster does.
func TestClusterNATSProcessKilled(t *testing.T) {
	soakOnly(t)
	t.Parallel()
	began := time.Now()
	c := startChildCluster(t)
	nodes := startNodesOn(t, 2, func(i int) string { return c.urls[i] }, func(cfg *config.Config) {
		cfg.Replicas = 3
		cfg.Async.AckWait = 2 * time.Second
	})
	t.Logf("three nats-server processes and two daemons up in %s", time.Since(began).Round(time.Millisecond))
	killedUnderLoad(t, began, nodes, "nats-server process 1 (node 1's only URL) killed with SIGKILL", func() { c.kill(0) })
}

// killedUnderLoad runs the load of clusterLoad on nodes, calls kill a
// second into it, and checks what TestClusterNATSNodeKilled promises.
func killedUnderLoad(t *testing.T, began time.Time, nodes []*node, what string, kill func()) {
	t.Cleanup(func() {
		if t.Failed() {
			for i, n := range nodes {
				t.Logf("node %d logged:\n%s", i+1, n.errorLines())
			}
		}
	})
	deployFresh(t, nodes[0], jobsManifest("team-a", ""), testguests.Build(t, "jobs"))
	deployFresh(t, nodes[0], helloManifest(t), helloModule(t))
	jobsKey, helloKey := nodes[0].key("ci", "jobs"), nodes[0].key("reader", "hello")
	for i, n := range nodes {
		n.await(fmt.Sprintf("hello on node %d", i+1), "GET", "/hello", helloKey, func(r response) bool { return r.status == 200 })
		n.await(fmt.Sprintf("jobs on node %d", i+1), "GET", "/count?key=none", jobsKey, func(r response) bool { return r.status == 200 })
	}
	t.Logf("deployed and served on both nodes at %s", time.Since(began).Round(time.Millisecond))
	digest, err := nodes[0].admin.PutBlob(context.Background(), helloModule(t))
	if err != nil {
		t.Fatal(err)
	}

	load := &clusterLoad{}
	stop := make(chan struct{})
	wg := load.run(nodes, jobsKey, helloKey, digest, "w", stop)
	time.Sleep(time.Second)
	load.mu.Lock()
	before := len(load.calls)
	load.mu.Unlock()
	killed := time.Now()
	kill()
	// The load goes on until a write and a submit have been acknowledged
	// after the kill on both nodes' behalf, or 30 seconds.
	recovered := time.Duration(0)
	for time.Since(killed) < 30*time.Second {
		time.Sleep(50 * time.Millisecond)
		load.mu.Lock()
		ok := load.lastWrite.After(killed) && len(load.calls) > before+20
		load.mu.Unlock()
		if ok && healthy(nodes) {
			recovered = time.Since(killed)
			break
		}
	}
	time.Sleep(time.Second) // a second of load on the two servers left
	close(stop)
	wg.Wait()
	if recovered == 0 {
		t.Errorf("30 s after the kill, the nodes had not acknowledged a write and 20 submits and answered health")
	}

	load.mu.Lock()
	defer load.mu.Unlock()
	t.Logf("load stopped at %s", time.Since(began).Round(time.Millisecond))
	for _, b := range load.bad {
		t.Errorf("during the outage: %s", b)
	}
	// Every accepted call reaches a final state and ran at most as often
	// as it was attempted.
	dead, twice, _ := checkRanAtLeastOnce(t, nodes[1], jobsKey, load.calls)
	t.Logf("calls checked at %s", time.Since(began).Round(time.Millisecond))
	// Every acknowledged write is read through both nodes; how long the
	// last took to arrive is reported.
	stopped := time.Now()
	ctx := context.Background()
	for i, n := range nodes {
		for _, name := range load.deploys {
			withinAMinute(t, fmt.Sprintf("deploy %s on node %d", name, i+1), func() bool {
				f, err := n.admin.GetFunction(ctx, name)
				return err == nil && f != nil
			})
		}
		for j, key := range load.keys {
			withinAMinute(t, fmt.Sprintf("key %d of %d on node %d", j+1, len(load.keys), i+1), func() bool {
				return n.call("GET", "/hello", key, nil).status == 200
			})
		}
		withinAMinute(t, fmt.Sprintf("%d secrets on node %d", len(load.secrets), i+1), func() bool {
			list, err := n.admin.ListSecrets(ctx)
			if err != nil {
				return false
			}
			have := map[string]bool{}
			for _, s := range list {
				have[s.Name] = true
			}
			for _, name := range load.secrets {
				if !have[name] {
					return false
				}
			}
			return true
		})
	}
	visible := time.Since(stopped)
	t.Logf("%s after %d calls accepted; recovered in %s; %d calls accepted (%d dead, %d ran twice), %d submits refused with 503; %d deploys, %d keys, %d secrets acknowledged, %d writes refused with 503; %d reads answered; every write read on both nodes %s after the load stopped; %s in all",
		what, before, recovered.Round(time.Millisecond), len(load.calls), dead, twice, load.refused,
		len(load.deploys), len(load.keys), len(load.secrets), load.writes503, load.reads, visible.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

// withinAMinute fails the test unless ok holds within a minute.
func withinAMinute(t *testing.T, what string, ok func() bool) {
	t.Helper()
	began := time.Now()
	deadline := began.Add(time.Minute)
	defer func() {
		if took := time.Since(began); took > time.Second {
			t.Logf("%s: read after %s", what, took.Round(time.Millisecond))
		}
	}()
	for !ok() {
		if time.Now().After(deadline) {
			t.Errorf("%s: not within a minute", what)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// deployFresh deploys through n right after the module's upload, again
// when the deploy is refused with blob_not_found: on a replicated store,
// the read that checks the upload may be answered by a server that has not
// applied it yet (see OPERATIONS.md), which the test reports.
func deployFresh(t *testing.T, n *node, manifest string, module []byte) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		_, err := n.tryDeploy(manifest, module)
		var ce *client.Error
		if err == nil {
			return
		}
		if !errors.As(err, &ce) || ce.Code != "blob_not_found" || attempt == 10 {
			t.Fatalf("deploy: %v\nthe node logged: %s", err, n.errorLines())
		}
		t.Logf("deploy right after its upload, attempt %d: %v", attempt, err)
		time.Sleep(100 * time.Millisecond)
	}
}

// checkRanAtLeastOnce waits, through n, for each accepted call to the jobs
// guest to be final, and fails the test for one that did not succeed or
// ran more often than its record counts attempts (or never). It returns
// how many were dead, ran twice, and were attempted more than once.
func checkRanAtLeastOnce(t *testing.T, n *node, jobsKey string, calls []accepted) (dead, twice, retried int) {
	t.Helper()
	for _, call := range calls {
		rec := n.finalCall(call.id)
		runs, _ := n.runs(jobsKey, "work."+call.token)
		switch {
		case rec.State == "dead":
			dead++
		case rec.State != "succeeded":
			t.Errorf("call %s: final state %s", call.token, rec.State)
		case runs < 1 || runs > rec.Attempts:
			t.Errorf("call %s ran %d times in %d recorded attempts", call.token, runs, rec.Attempts)
		}
		if runs > 1 {
			twice++
		}
		if rec.Attempts > 1 {
			retried++
		}
	}
	return dead, twice, retried
}

// errorLines returns the lines n logged at level ERROR or WARN.
func (n *node) errorLines() string {
	var out []string
	for _, l := range strings.Split(n.logs.String(), "\n") {
		if strings.Contains(l, `"level":"ERROR"`) || strings.Contains(l, `"level":"WARN"`) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// healthy reports whether every node's /v1/health answers 200.
func healthy(nodes []*node) bool {
	for _, n := range nodes {
		if n.admin.Health(context.Background()) != nil {
			return false
		}
	}
	return true
}

// TestClusterPaveNodeKilled runs two nodes on a three-server NATS cluster,
// node A in a child process, submits asynchronous calls through A and
// kills A with SIGKILL while they run: node B's worker takes over what A
// held after the ack wait, and every call answered 202 reaches a final
// state, run no more often than its record counts attempts.
func TestClusterPaveNodeKilled(t *testing.T) {
	soakOnly(t)
	t.Parallel()
	began := time.Now()
	c := startCluster(t)
	keys := clusterKeys(t)
	aDir := t.TempDir()
	a := startChild(t, aDir, envChildNATS+"="+c.url(0), envChildKeyDir+"="+keys, envChildReplicas+"=3")
	b := startWith(t, func(cfg *config.Config) {
		withKeys(c.url(1), keys)(cfg)
		cfg.Replicas = 3
		cfg.Async.AckWait = childAckWait
	})
	aCfg := config.Default()
	aCfg.DataDir = aDir
	token, err := os.ReadFile(aCfg.AdminTokenFile())
	if err != nil {
		t.Fatal(err)
	}
	b.admin = client.New(b.d.AdminURL(), strings.TrimSpace(string(token)))
	t.Logf("cluster and two daemons up in %s", time.Since(began).Round(time.Millisecond))
	deployFresh(t, b, jobsManifest("team-a", ""), testguests.Build(t, "jobs"))
	jobsKey := b.key("ci", "jobs")
	deadline := time.Now().Add(15 * time.Second)
	for {
		status, _, _, err := a.post("/work?id=probe", auth(jobsKey), "")
		if err == nil && status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deploy did not reach node A: %d %v", status, err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	var (
		mu    sync.Mutex
		calls []accepted
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				token := fmt.Sprintf("k-%d-%d", w, i)
				status, _, body, err := a.post("/async/work?ms=200&id="+token, auth(jobsKey), "")
				if err != nil {
					return // A died under it
				}
				if status != http.StatusAccepted {
					t.Errorf("submit %s: %d %s", token, status, body)
					return
				}
				id := string(body)
				if i := strings.Index(id, `"id":"`); i >= 0 && len(id) >= i+6+32 {
					id = id[i+6 : i+6+32]
				}
				mu.Lock()
				calls = append(calls, accepted{id: id, token: token})
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Second)
	a.kill(t)
	killed := time.Now()
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	if len(calls) == 0 {
		t.Fatal("no call accepted before the kill")
	}
	dead, twice, interrupted := checkRanAtLeastOnce(t, b, jobsKey, calls)
	t.Logf("node A killed after %d calls accepted; all final %s after the kill (ack wait %s): %d dead, %d attempted more than once, %d ran twice; %s in all",
		len(calls), time.Since(killed).Round(time.Millisecond), childAckWait, dead, interrupted, twice, time.Since(began).Round(time.Millisecond))
}
