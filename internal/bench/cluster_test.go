package bench

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/daemon"
	"github.com/pave-dev/pave/internal/testguests"
)

// envChild makes the test binary a child of RunCluster: a NATS server or
// a pave node, as its arguments say (NATSCommand or serve, as pave's).
// It does not start with PAVE_, which RunCluster keeps from its children.
const envChild = "BENCH_TEST_CHILD"

// envClusterTest runs TestRunCluster, which takes half a minute or more.
const envClusterTest = "PAVE_BENCH_CLUSTER_TEST"

func TestMain(m *testing.M) {
	if os.Getenv(envChild) == "1" {
		os.Exit(runChild(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// runChild does what pave does with args, for NATSCommand and serve.
func runChild(args []string) int {
	ctx, stop := signalContext()
	defer stop()
	var err error
	switch {
	case len(args) > 0 && args[0] == NATSCommand:
		var s NATSServer
		if s, err = ParseNATSServer(args[1:]); err == nil {
			err = ServeNATS(ctx, s, os.Stdout)
		}
	case len(args) > 0 && args[0] == "serve":
		var cfg config.Config
		if cfg, err = config.ParseServe(args[1:], os.Getenv, io.Discard); err == nil {
			err = daemon.Run(ctx, cfg, slog.New(slog.NewJSONHandler(os.Stderr, nil)))
		}
	default:
		err = errUnknownChild
	}
	if err != nil {
		slog.Error("bench child", "err", err)
		return 1
	}
	return 0
}

// TestRunCluster runs pave bench --nodes 3 with a few requests, its
// children being this test binary, and checks what it reports: the
// targets and processes of each phase, never a timing. It starts six
// processes and compiles hello on three nodes, which takes half a minute
// on two shared cores: set PAVE_BENCH_CLUSTER_TEST=1 to run it.
func TestRunCluster(t *testing.T) {
	if os.Getenv(envClusterTest) == "" {
		t.Skip("starts three NATS servers and three nodes in child processes; set " + envClusterTest + "=1 to run it")
	}
	t.Setenv(envChild, "1")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const requests = 40
	var out strings.Builder
	phases, err := RunCluster(ctx, ClusterOptions{
		Nodes: 3, Replicas: 3, Requests: requests, Warmup: 5, Concurrency: 4,
		Hello: testguests.Example(t, "hello"), Body: "Hello, world!\n", Executable: os.Args[0],
	}, &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	if len(phases) != 2 || phases[0].Nodes != 1 || phases[1].Nodes != 3 {
		t.Fatalf("phases %+v, want 1 node then 3", phases)
	}
	for _, p := range phases {
		var ids []string
		for _, r := range p.Targets {
			ids = append(ids, r.ID)
			if r.Requests != requests || r.Errors != 0 {
				t.Errorf("%s through %d nodes: %d requests, %d errors; want %d, 0", r.ID, p.Nodes, r.Requests, r.Errors, requests)
			}
			var names []string
			nats := 0
			for _, pc := range r.Processes {
				names = append(names, pc.Name)
				if pc.NATS {
					nats++
				}
			}
			if want := natsServers + p.Nodes; len(names) != want || nats != natsServers {
				t.Errorf("%s through %d nodes: processes %q, want %d of which %d NATS servers", r.ID, p.Nodes, names, want, natsServers)
			}
			// Every asynchronous call stores its job in the queue.
			if r.ID == idClusterAsync && (r.StreamWrites["pave_async"] < requests || r.Writes < r.StreamWrites["pave_async"]) {
				t.Errorf("async through %d nodes: %d messages stored, %v by stream, for %d calls", p.Nodes, r.Writes, r.StreamWrites, requests)
			}
		}
		if !slices.Equal(ids, []string{idClusterHello, idClusterAsync}) {
			t.Errorf("targets through %d nodes: %q", p.Nodes, ids)
		}
		if len(p.Idle) != natsServers+p.Nodes {
			t.Errorf("%d processes measured at rest through %d nodes", len(p.Idle), p.Nodes)
		}
	}
	for _, want := range []string{"pave CPU ms/req", "nats CPU ms/req", "async, 3 nodes:", "pave3", "nats3", "pave_async 1.000", "through 3 nodes over through 1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

func TestMetricValue(t *testing.T) {
	text := "# HELP pave_async_pending Jobs.\n# TYPE pave_async_pending gauge\npave_async_pending 12\npave_async_pending_other 3\n"
	if v, err := metricValue(text, "pave_async_pending"); err != nil || v != 12 {
		t.Errorf("pending: %v, %v", v, err)
	}
	if _, err := metricValue(text, "pave_functions"); err == nil {
		t.Error("a missing metric was found")
	}
	if _, err := metricValue("pave_async_pending -1\n", "pave_async_pending"); err == nil {
		t.Error("-1, the value of a failed read, was taken")
	}
}

func TestNATSServerArgs(t *testing.T) {
	s := NATSServer{Name: "nats2", StoreDir: "/tmp/x", ClusterPort: 6223, Routes: []int{6222, 6223, 6224}}
	got, err := ParseNATSServer(s.args())
	if err != nil || got.Name != s.Name || got.StoreDir != s.StoreDir || got.ClusterPort != s.ClusterPort || !slices.Equal(got.Routes, s.Routes) {
		t.Errorf("ParseNATSServer(%q) = %+v, %v", s.args(), got, err)
	}
	for _, args := range [][]string{{"--routes", "6222,x"}, {"--nosuch"}, {"--name", "a", "extra"}} {
		if _, err := ParseNATSServer(args); err == nil {
			t.Errorf("ParseNATSServer(%q) succeeded", args)
		}
	}
}

var errUnknownChild = errors.New("unknown child command")

// signalContext is cancelled by SIGTERM or SIGINT, as RunCluster ends
// its children.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
}
