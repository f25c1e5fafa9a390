package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/daemon"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/wasmbin"
)

// LifecycleOptions configure RunLifecycle.
type LifecycleOptions struct {
	// Hello is the examples/hello module.
	Hello []byte
	// Functions is how many distinct functions to deploy for the idle
	// memory figure. Each is hello with a global of its own, so each is
	// compiled and snapshotted on its own, as distinct functions are.
	Functions int
}

// Lifecycle is what RunLifecycle measured.
type Lifecycle struct {
	DeployToFirstResponse time.Duration // a module the daemon has never seen
	RestartToServing      time.Duration // Start of a daemon on existing data
	FirstResponseAfter    time.Duration // from Start returning to the first 200
	Functions             int
	// Resident memory per deployed function once all are idle, with as
	// many modules loaded as the daemon keeps (LoadedModules), and after
	// the daemon's idle unload; and what each loaded module adds.
	IdleBytesPerFunction     int64
	UnloadedBytesPerFunction int64
	LoadedModules            int
	BytesPerLoadedModule     int64
}

// RunLifecycle measures deploy and restart latency and idle memory per
// function, and writes a report to out.
func RunLifecycle(ctx context.Context, opts LifecycleOptions, out io.Writer) (*Lifecycle, error) {
	dir, err := os.MkdirTemp("", "pave-lifecycle-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	res := &Lifecycle{Functions: opts.Functions}

	n, err := startNode(ctx, dir, config.IsolationSnapshot, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	began := time.Now()
	key, err := n.deploy(ctx, "hello", "/hello", opts.Hello, manifest.DefaultConcurrency)
	if err == nil {
		err = n.firstResponse(ctx, "/hello", key)
	}
	if err != nil {
		n.stop(ctx)
		return nil, err
	}
	res.DeployToFirstResponse = time.Since(began)
	if err := n.stop(ctx); err != nil {
		return nil, err
	}

	began = time.Now()
	n, err = startNode(ctx, dir, config.IsolationSnapshot, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	res.RestartToServing = time.Since(began)
	began = time.Now()
	if err := n.firstResponse(ctx, "/hello", key); err != nil {
		n.stop(ctx)
		return nil, err
	}
	res.FirstResponseAfter = time.Since(began)
	n.stop(ctx)

	if opts.Functions > 0 {
		if err := idleMemory(ctx, filepath.Join(dir, "idle"), opts, res); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(out, "deploy to first response (new module):  %s\n", res.DeployToFirstResponse.Round(time.Millisecond))
	fmt.Fprintf(out, "restart: daemon start on existing data:  %s\n", res.RestartToServing.Round(time.Millisecond))
	fmt.Fprintf(out, "restart: then first response:            %s\n", res.FirstResponseAfter.Round(time.Microsecond))
	if opts.Functions > 0 {
		mib := func(b int64) float64 { return float64(b) / (1 << 20) }
		fmt.Fprintf(out, "memory per idle function (%d deployed, %d modules loaded): %.1f MiB resident\n", opts.Functions, res.LoadedModules, mib(res.IdleBytesPerFunction))
		fmt.Fprintf(out, "memory per idle function (%d deployed, all unloaded):     %.1f MiB resident\n", opts.Functions, mib(res.UnloadedBytesPerFunction))
		fmt.Fprintf(out, "memory per loaded module:                                  %.1f MiB resident\n", mib(res.BytesPerLoadedModule))
	}
	return res, nil
}

// idleMemory deploys opts.Functions distinct functions and calls each
// once, on a daemon with its default limit of loaded modules. Once the calls
// are over and the pools drained it waits idleSettle, as an idle daemon
// would, for transient memory (the store's caches of what the deploys
// wrote) to go, then measures the growth of resident memory per function;
// then again after unloading every module, as the daemon does after ten
// minutes without calls.
func idleMemory(ctx context.Context, dir string, opts LifecycleOptions, res *Lifecycle) error {
	n, err := startNode(ctx, dir, config.IsolationSnapshot, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer n.stop(ctx)
	before := settledRSS()
	keys := make([]string, opts.Functions)
	for i := range keys {
		module, err := variant(opts.Hello, i)
		if err != nil {
			return err
		}
		name := fmt.Sprintf("f%03d", i)
		if keys[i], err = n.deploy(ctx, name, "/"+name, module, manifest.DefaultConcurrency); err != nil {
			return err
		}
		if err := n.firstResponse(ctx, "/"+name, keys[i]); err != nil {
			return err
		}
	}
	n.d.SweepPools(ctx, 0)
	select {
	case <-time.After(idleSettle):
	case <-ctx.Done():
		return ctx.Err()
	}
	res.LoadedModules = n.d.LoadedModules()
	idle := settledRSS()
	n.d.UnloadModules(ctx, 0)
	unloaded := settledRSS()
	res.IdleBytesPerFunction = (idle - before) / int64(opts.Functions)
	res.UnloadedBytesPerFunction = (unloaded - before) / int64(opts.Functions)
	if res.LoadedModules > 0 {
		res.BytesPerLoadedModule = (idle - unloaded) / int64(res.LoadedModules)
	}
	return nil
}

// idleSettle is how long idleMemory lets the daemon sit idle before it
// measures.
const idleSettle = 30 * time.Second

// variant returns module with one more global, an immutable f64 holding i:
// a module of its own, compiled to machine code of its own. (A custom
// section would not do: the runtime drops them from the module it
// compiles, and wazero shares one compilation among identical modules.)
func variant(module []byte, i int) ([]byte, error) {
	m, err := wasmbin.Parse(module)
	if err != nil {
		return nil, err
	}
	global := binary.LittleEndian.AppendUint64([]byte{byte(wasmbin.F64), 0x00, 0x44}, math.Float64bits(float64(i)))
	global = append(global, 0x0b) // end
	for j, s := range m.Sections {
		if s.ID != wasmbin.SectionGlobal {
			continue
		}
		n, size := binary.Uvarint(s.Body) // LEB128, as wasm encodes counts
		if size <= 0 {
			return nil, fmt.Errorf("malformed global section")
		}
		body := binary.AppendUvarint(nil, n+1)
		body = append(body, s.Body[size:]...)
		m.Sections[j].Body = append(body, global...)
		return m.Bytes(), nil
	}
	return nil, fmt.Errorf("module has no global section")
}

// settledRSS returns resident memory after a garbage collection that
// returns freed memory to the operating system.
func settledRSS() int64 {
	debug.FreeOSMemory()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		var ms goruntime.MemStats
		goruntime.ReadMemStats(&ms)
		return int64(ms.Sys)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// node is a daemon on a data directory, with an admin client.
type node struct {
	d     *daemon.Daemon
	admin *client.Client
}

// startNode runs a daemon on dir, on random loopback ports, logging to log.
func startNode(ctx context.Context, dir, isolation string, log *slog.Logger, issuers ...config.Issuer) (*node, error) {
	cfg := config.Default()
	cfg.DataDir, cfg.GatewayAddr, cfg.AdminAddr = dir, "127.0.0.1:0", "127.0.0.1:0"
	cfg.Isolation = isolation
	cfg.Defenses.Issuers = issuers
	d, err := daemon.New(cfg, log)
	if err != nil {
		return nil, err
	}
	if err := d.Start(ctx); err != nil {
		return nil, err
	}
	token, err := os.ReadFile(cfg.AdminTokenFile())
	if err != nil {
		d.Shutdown(ctx)
		return nil, err
	}
	return &node{d: d, admin: client.New(d.AdminURL(), strings.TrimSpace(string(token)))}, nil
}

func (n *node) stop(ctx context.Context) error { return n.d.Shutdown(context.WithoutCancel(ctx)) }

// deploy deploys module as function name on path with the given
// concurrency limit, and returns a key for it. The rate limits are set
// far above what one machine can send, so that they never refuse.
func (n *node) deploy(ctx context.Context, name, path string, module []byte, concurrency int) (string, error) {
	text := fmt.Sprintf("name: %s\nowner: bench\nroutes:\n  - method: GET\n    path: %s\nlimits:\n  concurrency: %d\n"+
		"rate_limit:\n  function: {rate: 1000000/s, burst: 1000000}\n  caller: {rate: 1000000/s, burst: 1000000}\n", name, path, concurrency)
	return n.deployText(ctx, name, text, module)
}

// deployText deploys module with the manifest text and returns a key for
// the function.
func (n *node) deployText(ctx context.Context, name, text string, module []byte) (string, error) {
	digest, err := n.admin.PutBlob(ctx, module)
	if err != nil {
		return "", err
	}
	if _, err := n.admin.Deploy(ctx, client.DeployRequest{Manifest: text, Digest: digest}); err != nil {
		return "", err
	}
	k, err := n.admin.CreateKey(ctx, client.CreateKeyRequest{Name: name, Functions: []string{name}})
	if err != nil {
		return "", err
	}
	return k.Secret, nil
}

// firstResponse calls path until it answers 200, for up to a minute.
func (n *node) firstResponse(ctx context.Context, path, key string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, n.d.GatewayURL()+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer 200 within a minute (last: %v)", path, err)
		}
		time.Sleep(time.Millisecond)
	}
}
