package store_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/pave-dev/pave/internal/store"
)

// startCluster runs three NATS servers with JetStream clustered on
// loopback until the test ends, and returns their client URLs.
func startCluster(t *testing.T) []string {
	t.Helper()
	var urls []string
	for _, srv := range startClusterServers(t) {
		urls = append(urls, srv.ClientURL())
	}
	return urls
}

// startClusterServers is startCluster returning the servers, named s1, s2
// and s3.
func startClusterServers(t *testing.T) []*server.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a NATS cluster; skipped with -short")
	}
	ports := make([]int, 3)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	var routes []*url.URL
	for _, p := range ports {
		routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	var servers []*server.Server
	for i, p := range ports {
		srv, err := server.NewServer(&server.Options{
			ServerName: fmt.Sprintf("s%d", i+1), Host: "127.0.0.1", Port: -1,
			JetStream: true, StoreDir: t.TempDir(),
			Cluster: server.ClusterOpts{Name: "store-test", Host: "127.0.0.1", Port: p},
			Routes:  routes, NoLog: true, NoSigs: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		srv.Start()
		t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
		if !srv.ReadyForConnections(10 * time.Second) {
			t.Fatal("nats server not ready")
		}
		servers = append(servers, srv)
	}
	return servers
}

// TestReadFromCluster reads a replicated stream through every server of
// a cluster, many times: the ephemeral consumer ReadFrom makes may live on
// another server than the one the client is connected to, and a read sent
// before that server's interest reached this one is answered "no
// responders".
func TestReadFromCluster(t *testing.T) {
	urls := startCluster(t)
	ctx := context.Background()
	var streams []*store.Stream
	for i, u := range urls {
		n, err := store.Open(ctx, store.Options{URL: u, Replicas: 3})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		s, err := n.Stream(ctx, store.StreamConfig{Name: "reads", Subjects: []string{"reads.>"}})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			for j := range 5 {
				if _, err := s.Publish(ctx, "reads.x", "", nil, []byte(fmt.Sprint(j))); err != nil {
					t.Fatal(err)
				}
			}
		}
		streams = append(streams, s)
	}
	failures := 0
	for round := range 100 {
		s := streams[round%len(streams)]
		got := 0
		err := s.ReadFrom(ctx, 1, func(store.Message) error { got++; return nil })
		if err != nil || got != 5 {
			failures++
			t.Errorf("round %d through %s: %d messages, %v", round, urls[round%len(urls)], got, err)
		}
	}
	t.Logf("%d failed reads in 100", failures)
}
