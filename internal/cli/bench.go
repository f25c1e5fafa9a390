package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/pave-dev/pave/internal/bench"
)

// benchGrantsDir holds the function the grants-used target calls, in a
// pave checkout.
var benchGrantsDir = filepath.Join("internal", "bench", "testdata", "grants")

var benchCommand = &command{
	name:    "bench",
	summary: "measure the gateway against a bare net/http handler",
	help: `
Builds examples/hello and the benchmark's grants function
(internal/bench/testdata/grants) from the pave checkout in the working
directory, starts throwaway daemons on loopback with them deployed, and
drives them through the gateway from concurrent keep-alive clients for a
fixed number of requests per target (each target stops after 10 s). In
the same run the same clients drive a bare Go net/http handler that
returns the same bytes: the ceiling on this machine right now. Every
response must have the target's status and body.

The targets, by id:
  bare            the bare net/http handler
  bare-fetch      the bare handler sending, in every call, the grants
                  function's request to its upstream: what that one
                  exchange costs, the floor under grants-used
  fresh           hello on a daemon that instantiates every call afresh
                  (a tenth of the requests)
  hello           hello on the default snapshot path
  grants-used     a function that reads a secret, calls a loopback upstream
                  through the http capability and reads a bucket
  grants-write    the same function writing to the bucket instead: writes
                  go at the disk's sync rate
  grants-unused   hello deployed with those three grants, never called
  hello-js        examples/hello-ts: hello in TypeScript, on the
                  JavaScript engine
  key, checked    hello on a POST route with a JSON body, behind an API key
                  only, and behind a JWT, a JSON Schema and a rate limit
  bare-1, hello-1, key-1, checked-1
                  the same with one client (a quarter of the requests)

It prints requests/s, p50/p99/p99.9 latency, the isolation cost the daemon
measured, each target's requests/s over the bare handler's and over
hello's with as many clients, and the figures the project has goals for.
Each target is measured in four rounds, each after a round of the bare
handler, and its ratios are over those rounds (over hello: its ratio over
bare over hello's), so that a drift of the machine's speed during the run
cancels out.

--only runs some targets. --cpuprofile writes a CPU profile, for go tool
pprof, of the whole run, or with --profile-target of that target's
measured requests only (client and daemon share the process). --json
writes the results as JSON; --compare reads such a file and prints a
WARNING for each ratio more than 20% below the recorded one (make bench
compares with internal/bench/testdata/recorded.json).

With --nodes N it measures a cluster instead: it starts three NATS servers
clustered on loopback (JetStream, fsync on every write) and one node on
them, started with --replicas (3 by default), each a child process of
this one; it drives hello (GET /hello) and an asynchronous call of hello
(POST /async/hello, answered 202 once stored, then run by the nodes'
workers) through that node, then starts N-1 more nodes and drives the
same round-robin through all N. For each target it prints requests/s,
p50/p99, and the processor time per request of the pave nodes and of the
NATS servers, summed and per process, read from /proc before and after
(for asynchronous calls, until every call has run), and the messages
stored in JetStream per request.

With --lifecycle it measures instead: deploy to first response for a new
module, daemon start on existing data and the first response after it,
and resident memory per idle deployed function (with --functions distinct
modules). It reports figures; it checks nothing.`,
	run: runBench,
}

func runBench(ctx context.Context, inv *invocation, args []string) error {
	requests := inv.fs.Int("requests", 20000, "measured requests per target")
	warmup := inv.fs.Int("warmup", 1000, "unmeasured requests per target first")
	concurrency := inv.fs.Int("concurrency", 16, "concurrent clients")
	only := inv.fs.String("only", "", "comma-separated ids of the targets to run (default all)")
	profileTarget := inv.fs.String("profile-target", "", "with --cpuprofile: profile only this target's measured requests")
	jsonFile := inv.fs.String("json", "", "write the results as JSON to this file")
	compare := inv.fs.String("compare", "", "warn of ratios more than 20% below those recorded in this JSON file")
	lifecycle := inv.fs.Bool("lifecycle", false, "measure deploy and restart latency and idle memory instead")
	functions := inv.fs.Int("functions", 20, "with --lifecycle: distinct functions deployed for the idle memory figure")
	cpuProfile := inv.fs.String("cpuprofile", "", "write a CPU profile of the run (client and daemons) to this file")
	nodes := inv.fs.Int("nodes", 0, "measure through 1 node, then round-robin through this many, of a 3-server NATS cluster, in child processes")
	replicas := inv.fs.Int("replicas", 3, "with --nodes: the nodes' --replicas")
	if _, err := inv.parse(args, 0, 0); err != nil {
		return err
	}
	if *requests <= 0 || *concurrency <= 0 || *warmup < 0 {
		return inv.usageErrorf("--requests and --concurrency must be positive, --warmup not negative")
	}
	targets := splitList(*only)
	replicasSet := false
	inv.fs.Visit(func(f *flag.Flag) { replicasSet = replicasSet || f.Name == "replicas" })
	if replicasSet && *nodes == 0 {
		return inv.usageErrorf("--replicas needs --nodes")
	}
	if *nodes != 0 {
		if *nodes < 1 || *replicas < 1 || *replicas > 3 {
			return inv.usageErrorf("--nodes must be positive and --replicas 1 to 3")
		}
		if *lifecycle || len(targets) > 0 || *profileTarget != "" || *jsonFile != "" || *compare != "" || *cpuProfile != "" {
			return inv.usageErrorf("--lifecycle, --only, --profile-target, --json, --compare and --cpuprofile do not apply to --nodes")
		}
		return runBenchCluster(ctx, inv, bench.ClusterOptions{
			Nodes: *nodes, Replicas: *replicas, Requests: *requests, Warmup: *warmup, Concurrency: *concurrency,
		})
	}
	if *lifecycle && (len(targets) > 0 || *profileTarget != "" || *jsonFile != "" || *compare != "") {
		return inv.usageErrorf("--only, --profile-target, --json and --compare do not apply to --lifecycle")
	}
	if *profileTarget != "" && *cpuProfile == "" {
		return inv.usageErrorf("--profile-target needs --cpuprofile")
	}
	if err := bench.CheckSelection(targets, *profileTarget); err != nil {
		return inv.usageErrorf("%v", err)
	}
	var recorded *bench.Record
	if *compare != "" {
		rec, err := bench.ReadRecord(*compare)
		if err != nil {
			return err
		}
		recorded = &rec
	}
	hello, err := buildExample(ctx, inv, filepath.Join(examplesDir, "hello"))
	if err != nil {
		return err
	}
	ctx, stop := signalContext(ctx)
	defer stop()
	opts := bench.Options{
		Requests:      *requests,
		Warmup:        *warmup,
		Concurrency:   *concurrency,
		Hello:         hello,
		Body:          "Hello, world!\n",
		Only:          targets,
		ProfileTarget: *profileTarget,
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if *profileTarget != "" {
			opts.Profile = f
		} else {
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
	}
	if *lifecycle {
		_, err = bench.RunLifecycle(ctx, bench.LifecycleOptions{Hello: hello, Functions: *functions}, inv.stdout)
		return err
	}
	if opts.Grants, err = buildExample(ctx, inv, benchGrantsDir); err != nil {
		return err
	}
	if opts.HelloJS, err = buildExample(ctx, inv, filepath.Join(examplesDir, "hello-ts")); err != nil {
		return err
	}
	results, err := bench.Run(ctx, opts, inv.stdout)
	if err != nil {
		return err
	}
	rec := bench.NewRecord(opts, results, time.Now())
	if *jsonFile != "" {
		if err := bench.WriteRecord(*jsonFile, rec); err != nil {
			return err
		}
	}
	if recorded != nil {
		warnings := bench.Compare(*recorded, rec)
		if len(warnings) == 0 {
			fmt.Fprintf(inv.stdout, "\nno ratio is more than 20%% below those recorded in %s\n", *compare)
		} else {
			fmt.Fprintf(inv.stdout, "\n%s\n", strings.Join(warnings, "\n"))
		}
	}
	return nil
}

// buildExample builds the function in dir of the pave checkout and
// returns its module.
func buildExample(ctx context.Context, inv *invocation, dir string) ([]byte, error) {
	src, err := loadSource(dir)
	if err != nil {
		return nil, err
	}
	if err := src.build(ctx, inv.stderr); err != nil {
		return nil, err
	}
	return os.ReadFile(src.wasm)
}

// runBenchCluster runs pave bench --nodes: this executable is run again
// as the NATS servers and the nodes.
func runBenchCluster(ctx context.Context, inv *invocation, opts bench.ClusterOptions) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	hello, err := buildExample(ctx, inv, filepath.Join(examplesDir, "hello"))
	if err != nil {
		return err
	}
	ctx, stop := signalContext(ctx)
	defer stop()
	opts.Executable, opts.Hello, opts.Body = exe, hello, "Hello, world!\n"
	_, err = bench.RunCluster(ctx, opts, inv.stdout)
	return err
}

// benchNATSCommand runs one NATS server of pave bench --nodes in a child
// process. It is hidden: it is not a way to run NATS.
var benchNATSCommand = &command{
	name:    bench.NATSCommand,
	summary: "run one NATS server of the cluster pave bench --nodes measures",
	run: func(ctx context.Context, inv *invocation, args []string) error {
		s, err := bench.ParseNATSServer(args)
		if err != nil {
			return inv.usageErrorf("%v", err)
		}
		ctx, stop := signalContext(ctx)
		defer stop()
		return bench.ServeNATS(ctx, s, inv.stdout)
	},
}
