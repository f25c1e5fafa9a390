package daemon_test

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/members"
)

// rateDrive calls a rate-limited route as fast as it answers, round-robin
// through the nodes live holds at each call, for window, and counts what
// passes, in all and by second.
type rateDrive struct {
	mu     sync.Mutex
	live   []*node
	calls  int
	passed []int // by second since the start
	bad    []string
}

func (d *rateDrive) set(live ...*node) {
	d.mu.Lock()
	d.live = live
	d.mu.Unlock()
}

// run drives the calls until window has passed, on its own goroutine; the
// channel is closed when it is done.
func (d *rateDrive) run(key string, window time.Duration) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		began := time.Now()
		for time.Since(began) < window {
			d.mu.Lock()
			n := d.live[d.calls%len(d.live)]
			d.calls++
			d.mu.Unlock()
			req, _ := http.NewRequest("GET", n.d.GatewayURL()+"/rated", nil)
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := http.DefaultClient.Do(req)
			sec := int(time.Since(began) / time.Second)
			d.mu.Lock()
			switch {
			case err != nil:
				d.bad = append(d.bad, err.Error())
			case resp.StatusCode == 200:
				for len(d.passed) <= sec {
					d.passed = append(d.passed, 0)
				}
				d.passed[sec]++
			case resp.StatusCode != 429:
				d.bad = append(d.bad, resp.Status)
			}
			d.mu.Unlock()
			if err == nil {
				resp.Body.Close()
			}
		}
	}()
	return done
}

func (d *rateDrive) total() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, p := range d.passed {
		n += p
	}
	return n
}

// TestClusterRateWhileMembershipChanges measures what passes a rate limit
// of 10/s with a burst of 10, split across the live nodes, while the
// membership changes under calls made round-robin through the nodes as
// fast as they answer: a third node joining two, and then one of three
// stopping. It fails if more than the bounds OPERATIONS.md states pass,
// and logs the figures by second.
func TestClusterRateWhileMembershipChanges(t *testing.T) {
	soakOnly(t)
	t.Parallel()
	srv := startNATS(t)
	external := func(c *config.Config) { c.NATSURL = srv.ClientURL() }
	a := startWith(t, external)
	b := startWith(t, external)
	token := strings.TrimSpace(string(mustRead(t, a.cfg.AdminTokenFile())))
	b.admin = client.New(b.d.AdminURL(), token)
	awaitSplit(t, []*node{a, b})
	a.deploy("name: rated\nowner: team-test\nroutes:\n  - method: GET\n    path: /rated\nrate_limit:\n  function: {rate: 10/s, burst: 10}\n", helloModule(t))
	key := a.key("rated", "rated")
	for _, n := range []*node{a, b} {
		n.await("the deploy and the key", "GET", "/rated", key, func(r response) bool { return r.status == 200 })
	}
	time.Sleep(time.Second) // the buckets refill
	const rate, burst = 10, 10

	// A third node joins two: it counts three at once, the others count
	// it within a heartbeat interval of its first heartbeat.
	join := &rateDrive{}
	join.set(a, b)
	const joinWindow = 12 * time.Second
	began := time.Now()
	done := join.run(key, joinWindow)
	time.Sleep(2 * time.Second)
	c := startWith(t, external)
	c.admin = client.New(c.d.AdminURL(), token)
	c.await("the deploy and the key on node C", "GET", "/rated", key, func(r response) bool { return r.status == 200 || r.status == 429 })
	joined := time.Since(began)
	join.set(a, b, c)
	counted := time.Duration(0)
	for counted == 0 && time.Since(began) < joinWindow {
		if a.d.LiveNodes() == 3 && b.d.LiveNodes() == 3 {
			counted = time.Since(began)
		}
		time.Sleep(10 * time.Millisecond)
	}
	<-done
	elapsed := time.Since(began)
	stated := float64(max(burst, 3)+rate*elapsed.Seconds()) * (1 + 1.0/3)
	t.Logf("join: node C serving %s into %s, counted by A and B at %s; %d calls, %d passed (by second %v); limit alone %d, stated bound (1 + 1/3) × (max(B, N) + r × T) = %.0f",
		joined.Round(time.Millisecond), elapsed.Round(time.Millisecond), counted.Round(time.Millisecond), join.calls, join.total(), join.passed,
		burst+int(rate*elapsed.Seconds()), stated)
	if got := join.total(); float64(got) > stated {
		t.Errorf("join: %d passed, over the stated bound %.0f", got, stated)
	}
	for _, e := range join.bad {
		t.Errorf("join: %s", e)
	}

	// One node of three stops: the others count it until its record
	// expires and they next read the list.
	awaitSplit(t, []*node{a, b, c})
	time.Sleep(time.Second)
	leave := &rateDrive{}
	leave.set(a, b, c)
	const leaveWindow = members.TTL + members.Interval + 6*time.Second
	began = time.Now()
	done = leave.run(key, leaveWindow)
	time.Sleep(2 * time.Second)
	leave.set(a, b)
	c.stop()
	stopped := time.Since(began)
	counted = 0
	for counted == 0 && time.Since(began) < leaveWindow {
		if a.d.LiveNodes() == 2 && b.d.LiveNodes() == 2 {
			counted = time.Since(began)
		}
		time.Sleep(10 * time.Millisecond)
	}
	<-done
	elapsed = time.Since(began)
	limit := max(burst, 3) + rate*elapsed.Seconds()
	t.Logf("leave: node C stopped %s into %s, A and B counting two at %s; %d calls, %d passed (by second %v); stated bound max(B, N) + r × T = %.0f",
		stopped.Round(time.Millisecond), elapsed.Round(time.Millisecond), counted.Round(time.Millisecond), leave.calls, leave.total(), leave.passed, limit)
	if counted == 0 {
		t.Errorf("leave: A and B still counted three nodes %s after C stopped", (elapsed - stopped).Round(time.Millisecond))
	}
	if got := leave.total(); float64(got) > limit {
		t.Errorf("leave: %d passed, over the stated bound %.0f", got, limit)
	}
	for _, e := range slices.Compact(leave.bad) {
		t.Errorf("leave: %s", e)
	}
}
