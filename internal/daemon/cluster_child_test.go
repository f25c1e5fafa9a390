package daemon_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/bench"
)

// envNATSChild, set to the arguments of pave's bench NATS server, makes
// the test binary run that server (bench.ServeNATS) instead of the tests:
// a NATS server in a process of its own, which a test can kill with
// SIGKILL.
const envNATSChild = "PAVE_TEST_NATS_CHILD"

// runNATSChild runs the server args describes until SIGTERM and exits.
func runNATSChild(args string) {
	s, err := bench.ParseNATSServer(strings.Fields(args))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := bench.ServeNATS(ctx, s, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// childCluster is three NATS servers with JetStream, clustered on
// loopback, each in a child process running the test binary.
type childCluster struct {
	urls  []string
	procs []*exec.Cmd
}

// startChildCluster starts a childCluster and returns once every server
// accepts connections and JetStream answers through each.
func startChildCluster(t *testing.T) *childCluster {
	t.Helper()
	const size = 3
	ports := clusterPorts(t, size)
	routes := make([]string, size)
	for i, p := range ports {
		routes[i] = strconv.Itoa(p)
	}
	// The stores are made before the cleanup that stops the servers is
	// registered, so that cleanups, which run last first, remove them
	// once the servers have stopped writing to them.
	stores := make([]string, size)
	for i := range stores {
		stores[i] = t.TempDir()
	}
	c := &childCluster{}
	t.Cleanup(func() {
		for _, p := range c.procs {
			p.Process.Signal(syscall.SIGTERM)
		}
		for _, p := range c.procs {
			p.Wait()
		}
	})
	for i := range size {
		args := fmt.Sprintf("--name n%d --store %s --cluster-port %d --routes %s", i+1, stores[i], ports[i], strings.Join(routes, ","))
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envNATSChild+"="+args)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		c.procs = append(c.procs, cmd)
		ready := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "ready" {
					ready <- f[1]
				}
			}
		}()
		select {
		case u := <-ready:
			c.urls = append(c.urls, u)
		case <-time.After(time.Minute):
			t.Fatalf("nats-server process %d did not start within a minute", i+1)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, u := range c.urls {
		for !jetStreamAnswers(u) {
			if time.Now().After(deadline) {
				t.Fatalf("the nats cluster's JetStream did not answer on %s within 30s", u)
			}
			time.Sleep(25 * time.Millisecond)
		}
	}
	return c
}

// kill kills server i with SIGKILL and waits for its process to end.
func (c *childCluster) kill(i int) {
	c.procs[i].Process.Kill()
	c.procs[i].Wait()
}
