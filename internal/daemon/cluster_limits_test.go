package daemon_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/testguests"
)

// awaitSplit waits until every node counts all of nodes as live, so that
// each splits its rate and concurrency limits across them.
func awaitSplit(t *testing.T, nodes []*node) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for i, n := range nodes {
		for n.d.LiveNodes() != len(nodes) {
			if time.Now().After(deadline) {
				t.Fatalf("node %d counts %d live nodes, want %d", i+1, n.d.LiveNodes(), len(nodes))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// clusterRate calls a function limited to 10/s with a burst of 10 as fast
// as it answers, round-robin through three nodes for two seconds: each
// node admits a third of the rate and of the burst, so at most
// max(burst, nodes) + rate × seconds pass in all (OPERATIONS.md), where
// counting per node let three times that through.
func clusterRate(t *testing.T, _ *natsCluster, nodes []*node) {
	awaitSplit(t, nodes)
	nodes[0].deploy("name: rated\nowner: team-test\nroutes:\n  - method: GET\n    path: /rated\nrate_limit:\n  function: {rate: 10/s, burst: 10}\n", helloModule(t))
	key := nodes[0].key("rated", "rated")
	for i, n := range nodes {
		n.await(fmt.Sprintf("the deploy and the key reaching node %d", i+1), "GET", "/rated", key, func(r response) bool { return r.status == 200 })
	}
	// The buckets refill from the calls that waited for the deploy.
	time.Sleep(time.Second)
	const rate, burst, window = 10, 10, 2 * time.Second
	passed := make([]int, len(nodes))
	calls := 0
	began := time.Now()
	for ; time.Since(began) < window; calls++ {
		i := calls % len(nodes)
		r := nodes[i].call("GET", "/rated", key, nil)
		switch {
		case r.status == 200:
			passed[i]++
		case r.status == 429 && r.errorCode(t) == "rate_limited":
		default:
			t.Fatalf("call %d: %d %s", calls, r.status, r.body)
		}
	}
	elapsed := time.Since(began)
	total := 0
	for _, p := range passed {
		total += p
	}
	bound := max(burst, len(nodes)) + int(rate*elapsed.Seconds())
	t.Logf("%d calls round-robin in %s: %d passed (%v by node), bound %d, limit alone %d",
		calls, elapsed.Round(time.Millisecond), total, passed, bound, burst+int(rate*elapsed.Seconds()))
	if total > bound {
		t.Errorf("%d calls passed a rate of 10/s, burst 10, through three nodes in %s (by node %v), over the bound %d", total, elapsed.Round(time.Millisecond), passed, bound)
	}
	if calls < 3*total {
		t.Logf("only %d calls made: the rate was hardly exceeded", calls)
	}
}

// clusterConcurrency sends six calls that each hold a slot for a second
// and a half to every node at once, to a function whose limits.concurrency
// is 6: each node admits its share, 2, and refuses the rest, so 6 run in
// all where counting per node ran 18.
func clusterConcurrency(t *testing.T, _ *natsCluster, nodes []*node) {
	awaitSplit(t, nodes)
	const limit, perNode = 6, 6
	nodes[0].deploy(fmt.Sprintf("name: held\nowner: team-test\nroutes:\n  - method: GET\n    path: /held\nlimits:\n  concurrency: %d\n", limit), testguests.Build(t, "slow"))
	key := nodes[0].key("held", "held")
	for i, n := range nodes {
		n.await(fmt.Sprintf("the deploy and the key reaching node %d", i+1), "GET", "/held?ms=0", key, func(r response) bool { return r.status == 200 })
	}
	ran := make([]int, len(nodes))
	var mu sync.Mutex
	var wg sync.WaitGroup
	begin := make(chan struct{})
	for i, n := range nodes {
		for range perNode {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-begin
				r := n.call("GET", "/held?ms=1500", key, nil)
				switch {
				case r.status == 200:
					mu.Lock()
					ran[i]++
					mu.Unlock()
				case r.status == 429 && r.errorCode(t) == "concurrency_limited":
				default:
					t.Errorf("node %d: %d %s", i+1, r.status, r.body)
				}
			}()
		}
	}
	close(begin)
	wg.Wait()
	total := ran[0] + ran[1] + ran[2]
	t.Logf("%d calls at once, %d to each node: %d ran (%v by node), limit %d", perNode*len(nodes), perNode, total, ran, limit)
	if total > max(limit, len(nodes)) {
		t.Errorf("%d calls ran at once through three nodes (by node %v), over the limit of %d", total, ran, limit)
	}
}
