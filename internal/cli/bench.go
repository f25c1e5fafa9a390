package cli

import (
	"context"
	"os"
	"path/filepath"
	"runtime/pprof"

	"github.com/pave-dev/pave/internal/bench"
)

var benchCommand = &command{
	name:    "bench",
	summary: "measure the gateway against a bare net/http handler",
	help: `
Builds examples/hello from the pave checkout in the working directory,
starts a throwaway daemon on loopback with it deployed, and drives it
through the gateway with an API key from concurrent keep-alive clients for
a fixed number of requests. In the same run the same clients drive a bare
Go net/http handler that returns the same bytes: the ceiling on this
machine right now. It prints requests/s and p50/p99/p99.9 latency for
the bare handler, for a daemon that instantiates every invocation afresh
and for one on the default snapshot path, with the isolation cost the
daemon measured and the ratios between them.

With --lifecycle it measures instead: deploy to first response for a new
module, daemon start on existing data and the first response after it,
and resident memory per idle deployed function (with --functions distinct
modules). It reports figures; it checks nothing. --cpuprofile writes a
profile of the whole run, for go tool pprof.`,
	run: runBench,
}

func runBench(ctx context.Context, inv *invocation, args []string) error {
	requests := inv.fs.Int("requests", 20000, "measured requests per target")
	warmup := inv.fs.Int("warmup", 1000, "unmeasured requests per target first")
	concurrency := inv.fs.Int("concurrency", 16, "concurrent clients")
	lifecycle := inv.fs.Bool("lifecycle", false, "measure deploy and restart latency and idle memory instead")
	functions := inv.fs.Int("functions", 20, "with --lifecycle: distinct functions deployed for the idle memory figure")
	cpuProfile := inv.fs.String("cpuprofile", "", "write a CPU profile of the whole run (client and daemons) to this file")
	if _, err := inv.parse(args, 0, 0); err != nil {
		return err
	}
	if *requests <= 0 || *concurrency <= 0 || *warmup < 0 {
		return inv.usageErrorf("--requests and --concurrency must be positive, --warmup not negative")
	}
	src, err := loadSource(filepath.Join(examplesDir, "hello"))
	if err != nil {
		return err
	}
	if err := src.build(ctx, inv.stderr); err != nil {
		return err
	}
	hello, err := os.ReadFile(src.wasm)
	if err != nil {
		return err
	}
	ctx, stop := signalContext(ctx)
	defer stop()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *lifecycle {
		_, err = bench.RunLifecycle(ctx, bench.LifecycleOptions{Hello: hello, Functions: *functions}, inv.stdout)
		return err
	}
	_, err = bench.Run(ctx, bench.Options{
		Requests:    *requests,
		Warmup:      *warmup,
		Concurrency: *concurrency,
		Hello:       hello,
		Body:        "Hello, world!\n",
	}, inv.stdout)
	return err
}
