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
	// DeployToMachineCode is from the same deploy until the module runs as
	// machine code; the interpreter serves it until then.
	DeployToMachineCode time.Duration
	RestartToServing    time.Duration // Start of a daemon on existing data
	FirstResponseAfter  time.Duration // from Start returning to the first 200
	Functions           int
	// Memory per deployed function once all are idle, with as many
	// modules loaded as the daemon keeps (LoadedModules), and after the
	// daemon's idle unload; and what each loaded module adds, split into
	// its kinds. Memory is the resident set plus the pages of snapshot
	// images, which live in memory files the resident set counts only
	// where a mapping has read them.
	IdleBytesPerFunction     int64
	UnloadedBytesPerFunction int64
	LoadedModules            int
	BytesPerLoadedModule     int64
	PerLoadedModule          Memory

	// DeployProcessorTime is the processor time the process (client and
	// daemon) used from deploy to first response, on every core: unlike
	// the elapsed time, it hardly depends on what else the machine runs.
	DeployProcessorTime time.Duration
}

// Memory is what the process holds, by kind.
type Memory struct {
	// Code is resident anonymous executable memory: wazero's machine code.
	Code int64
	// Images is the pages of sealed snapshot images.
	Images int64
	// Heap is the Go heap in use: wazero's decoded modules, pave's own
	// structures.
	Heap int64
	// Other is the rest of the resident set (Go heap pages not in use,
	// stacks, the binary), without the pages of images, which Images
	// counts in full.
	Other int64
}

// Total is all the memory m counts.
func (m Memory) Total() int64 { return m.Code + m.Images + m.Heap + m.Other }

func (m Memory) sub(o Memory) Memory {
	return Memory{Code: m.Code - o.Code, Images: m.Images - o.Images, Heap: m.Heap - o.Heap, Other: m.Other - o.Other}
}

func (m Memory) div(n int64) Memory {
	return Memory{Code: m.Code / n, Images: m.Images / n, Heap: m.Heap / n, Other: m.Other / n}
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
	began, cpu := time.Now(), processorTime()
	key, err := n.deploy(ctx, "hello", "/hello", opts.Hello, manifest.DefaultConcurrency)
	if err == nil {
		err = n.firstResponse(ctx, "/hello", key)
	}
	if err != nil {
		n.stop(ctx)
		return nil, err
	}
	res.DeployToFirstResponse, res.DeployProcessorTime = time.Since(began), processorTime()-cpu
	if err := n.machineCode(ctx); err != nil {
		n.stop(ctx)
		return nil, err
	}
	res.DeployToMachineCode = time.Since(began)
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
	fmt.Fprintf(out, "deploy to first response (new module):  %s", res.DeployToFirstResponse.Round(time.Millisecond))
	if res.DeployProcessorTime > 0 {
		fmt.Fprintf(out, " (processor time %s)", res.DeployProcessorTime.Round(time.Millisecond))
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "deploy to machine code (same module):    %s\n", res.DeployToMachineCode.Round(time.Millisecond))
	fmt.Fprintf(out, "restart: daemon start on existing data:  %s\n", res.RestartToServing.Round(time.Millisecond))
	fmt.Fprintf(out, "restart: then first response:            %s\n", res.FirstResponseAfter.Round(time.Microsecond))
	if opts.Functions > 0 {
		mib := func(b int64) float64 { return float64(b) / (1 << 20) }
		fmt.Fprintf(out, "memory per idle function (%d deployed, %d modules loaded): %.1f MiB\n", opts.Functions, res.LoadedModules, mib(res.IdleBytesPerFunction))
		fmt.Fprintf(out, "memory per idle function (%d deployed, all unloaded):     %.1f MiB\n", opts.Functions, mib(res.UnloadedBytesPerFunction))
		m := res.PerLoadedModule
		fmt.Fprintf(out, "memory per loaded module:                                  %.1f MiB: %.1f machine code, %.1f snapshot image, %.1f Go heap, %.1f other\n",
			mib(res.BytesPerLoadedModule), mib(m.Code), mib(m.Images), mib(m.Heap), mib(m.Other))
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
	before := settledMemory()
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
	if err := n.machineCode(ctx); err != nil {
		return err
	}
	n.d.SweepPools(ctx, 0)
	select {
	case <-time.After(idleSettle):
	case <-ctx.Done():
		return ctx.Err()
	}
	res.LoadedModules = n.d.LoadedModules()
	idle := settledMemory()
	n.d.UnloadModules(ctx, 0)
	unloaded := settledMemory()
	res.IdleBytesPerFunction = idle.sub(before).Total() / int64(opts.Functions)
	res.UnloadedBytesPerFunction = unloaded.sub(before).Total() / int64(opts.Functions)
	if res.LoadedModules > 0 {
		res.PerLoadedModule = idle.sub(unloaded).div(int64(res.LoadedModules))
		res.BytesPerLoadedModule = res.PerLoadedModule.Total()
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

// settledMemory returns the process's memory once garbage is collected,
// freed memory is returned to the operating system, and the finalizers
// that unmap wazero's machine code and snapshot images have run: when
// three collections in a row change neither.
func settledMemory() Memory {
	var last Memory
	for i, same := 0, 0; i < 50 && same < 3; i++ {
		goruntime.GC()
		time.Sleep(200 * time.Millisecond) // the finalizers run on their own goroutine
		debug.FreeOSMemory()
		m := currentMemory()
		if i > 0 && m.Code == last.Code && m.Images == last.Images {
			same++
		} else {
			same = 0
		}
		last = m
	}
	return last
}

// currentMemory returns the process's memory now.
func currentMemory() Memory {
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	m := Memory{Heap: int64(ms.HeapInuse)}
	resident, code, mapped, ok := smaps()
	if !ok {
		// No /proc: what the Go runtime obtained is all that is known.
		m.Other = int64(ms.Sys) - m.Heap
		return m
	}
	m.Code, m.Images = code, imageBytes()
	m.Other = resident - code - mapped - m.Heap
	return m
}

// snapshotFile is the name of the memory files of snapshot images
// (runtime.sealImage), as /proc shows them.
const snapshotFile = "/memfd:pave-snapshot"

// smaps sums the process's resident memory from /proc/self/smaps: all of
// it, that of anonymous executable mappings, and that of mappings of
// snapshot images.
func smaps() (resident, code, images int64, ok bool) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, 0, 0, false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	var exec, anon, image bool
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && len(fields[1]) == 4 {
			// A mapping: address range, permissions, offset, device, inode, name.
			exec, anon = fields[1][2] == 'x', len(fields) == 5
			image = len(fields) > 5 && fields[5] == snapshotFile
			continue
		}
		if len(fields) != 3 || fields[0] != "Rss:" {
			continue
		}
		kb, _ := strconv.ParseInt(fields[1], 10, 64)
		resident += kb << 10
		switch {
		case exec && anon:
			code += kb << 10
		case image:
			images += kb << 10
		}
	}
	return resident, code, images, s.Err() == nil
}

// imageBytes is the memory the process's snapshot image files hold.
func imageBytes() int64 {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	var total int64
	for _, e := range entries {
		fd := filepath.Join("/proc/self/fd", e.Name())
		if target, err := os.Readlink(fd); err != nil || !strings.HasPrefix(target, snapshotFile) {
			continue
		}
		if fi, err := os.Stat(fd); err == nil {
			total += allocated(fi)
		}
	}
	return total
}

// node is a daemon on a data directory, with an admin client.
type node struct {
	d     *daemon.Daemon
	admin *client.Client
}

// startNode runs a daemon on dir, on random loopback ports, logging to
// log, with its configuration changed by configure.
func startNode(ctx context.Context, dir, isolation string, log *slog.Logger, configure ...func(*config.Config)) (*node, error) {
	cfg := config.Default()
	cfg.DataDir, cfg.GatewayAddr, cfg.AdminAddr = dir, "127.0.0.1:0", "127.0.0.1:0"
	cfg.Isolation = isolation
	for _, f := range configure {
		f(&cfg)
	}
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
// machineCode waits until every module the daemon has loaded runs as
// machine code: after a deploy the interpreter serves while it compiles.
func (n *node) machineCode(ctx context.Context) error {
	for n.d.InterpretedModules() > 0 {
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

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
