// The bound this test checks is a few seconds, which the race detector,
// slowing the servers' elections and every request, would stretch: the
// test is left out of race builds and make check runs it without the
// detector, as it does the daemon's TestClusterWatchesResumeAfterServerStops.

//go:build !race

package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/store"
)

// TestWatchResumesWhenAnotherServerStops watches a bucket replicated on a
// three-server cluster through a connection to s1, with the watch's
// consumer on another server, and stops that server: no reconnection
// tells the watch, and the client would notice the consumer gone only
// after missing two of its heartbeats, 10 to 20 s later. A change made
// after the stop reaches the watch within the steady checks' bound.
func TestWatchResumesWhenAnotherServerStops(t *testing.T) {
	t.Parallel()
	servers := startClusterServers(t)
	ctx := context.Background()
	n, err := store.Open(ctx, store.Options{URL: servers[0].ClientURL(), Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	kv, err := n.KV(ctx, "watched")
	if err != nil {
		t.Fatal(err)
	}
	// A second client, to see where the watch's consumer lives and to
	// write through a server that stays.
	_, _, stream := clientOf(t, servers[0].ClientURL(), "KV_watched")

	got := make(chan string, 16)
	host := ""
	for attempt := 0; host == "" || host == servers[0].Name(); attempt++ {
		if attempt == 20 {
			t.Skipf("the watch's consumer was placed on %s, the connected server, 20 times", host)
		}
		wctx, cancel := context.WithCancel(ctx)
		if err := kv.Watch(wctx, func(e store.Entry) { got <- e.Key }, func() {}); err != nil {
			t.Fatal(err)
		}
		host = ""
		for deadline := time.Now().Add(5 * time.Second); host == "" && time.Now().Before(deadline); {
			for info := range stream.ListConsumers(ctx).Info() {
				if info.Cluster != nil {
					host = info.Cluster.Leader
				}
			}
			if host == "" {
				time.Sleep(50 * time.Millisecond)
			}
		}
		if host == servers[0].Name() || host == "" {
			cancel()
			// Wait for the consumer to go before watching again.
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				names := 0
				for range stream.ListConsumers(ctx).Info() {
					names++
				}
				if names == 0 {
					break
				}
			}
			continue
		}
		t.Cleanup(cancel)
	}
	for _, srv := range servers {
		if srv.Name() == host {
			srv.Shutdown()
			srv.WaitForShutdown()
		}
	}
	t.Logf("stopped %s, which held the watch's consumer", host)

	// The stream elects a leader among the two left; write once it has.
	var put time.Time
	for deadline := time.Now().Add(30 * time.Second); ; {
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := kv.Put(wctx, "after", []byte("x"))
		cancel()
		if err == nil {
			put = time.Now()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write acknowledged within 30 s of the stop: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case key := <-got:
		took := time.Since(put)
		t.Logf("%s reached the watch %s after its write", key, took.Round(time.Millisecond))
		if key != "after" {
			t.Fatalf("the watch saw %q", key)
		}
	case <-time.After(8 * time.Second):
		t.Fatalf("a write through %s did not reach the watch within 8 s", servers[0].Name())
	}
}
