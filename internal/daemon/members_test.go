package daemon_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/cli"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/members"
)

// TestNodesAreListedWhileTheyHeartbeat: two daemons sharing a store each
// list both, with their URLs, through the admin API and pave nodes; one
// that stops drops out of the list within the heartbeats' TTL, and comes
// back under the same id when it starts again on its data directory.
func TestNodesAreListedWhileTheyHeartbeat(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	external := func(c *config.Config) { c.NATSURL = srv.ClientURL() }
	a := startWith(t, external)
	b := startWith(t, external)
	token := strings.TrimSpace(string(mustRead(t, a.cfg.AdminTokenFile())))
	admin := client.New(a.d.AdminURL(), token)
	ctx := context.Background()

	// waitNodes waits until the list holds exactly the admin URLs want.
	waitNodes := func(within time.Duration, want ...string) []client.Node {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			nodes, err := admin.ListNodes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, n := range nodes {
				got = append(got, n.AdminURL)
			}
			if strings.Join(got, " ") == strings.Join(want, " ") || sameSet(got, want) {
				return nodes
			}
			if time.Now().After(deadline) {
				t.Fatalf("nodes %v, want %v", got, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	nodes := waitNodes(5*time.Second, a.d.AdminURL(), b.d.AdminURL())
	ids := map[string]string{}
	for _, n := range nodes {
		if n.Version == "" || n.StartedAt.IsZero() || time.Since(n.Heartbeat) > members.TTL || !strings.HasPrefix(n.GatewayURL, "http://") {
			t.Errorf("node record %+v", n)
		}
		ids[n.AdminURL] = n.ID
	}
	if len(ids) != 2 || ids[a.d.AdminURL()] == ids[b.d.AdminURL()] {
		t.Errorf("node ids %v: want two distinct", ids)
	}

	var stdout, stderr bytes.Buffer
	getenv := func(k string) string {
		if k == config.EnvDataDir {
			return a.cfg.DataDir
		}
		return ""
	}
	if code := cli.Main([]string{"nodes"}, nil, &stdout, &stderr, getenv); code != 0 {
		t.Fatalf("pave nodes: exit %d: %s", code, stderr.String())
	}
	for _, url := range []string{a.d.AdminURL(), b.d.AdminURL()} {
		if !strings.Contains(stdout.String(), url) {
			t.Errorf("pave nodes does not list %s:\n%s", url, stdout.String())
		}
	}

	// b stops: it drops out within the TTL.
	bDir := b.cfg.DataDir
	b.stop()
	waitNodes(members.TTL+2*members.Interval, a.d.AdminURL())

	// b starts again on its data directory: the same id.
	again := startWith(t, func(c *config.Config) { external(c); c.DataDir = bDir })
	nodes = waitNodes(5*time.Second, a.d.AdminURL(), again.d.AdminURL())
	for _, n := range nodes {
		if n.AdminURL == again.d.AdminURL() && n.ID != ids[b.d.AdminURL()] {
			t.Errorf("b restarted with id %s, want %s", n.ID, ids[b.d.AdminURL()])
		}
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		seen[s]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}
