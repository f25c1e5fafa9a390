package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/hostapi"
	"github.com/pave-dev/pave/internal/wasmbin"
)

// Isolation is how a module gets clean state for each invocation.
type Isolation string

// The isolation methods. Both give every invocation the state the module
// had right after initialisation, and nothing a previous invocation wrote.
const (
	// Snapshot runs invocations on pooled instances of a pre-initialised
	// module; after each invocation every page of the instance's memory
	// that may differ from the snapshot image is copied back from it, and
	// its globals are reset. An instance whose memory grew, or whose
	// invocation failed, is discarded.
	Snapshot Isolation = "snapshot"
	// Fresh instantiates and initialises the module for every invocation:
	// the fallback for modules the snapshot cannot handle, and a mode kept
	// for comparison.
	Fresh Isolation = "fresh"
)

// snapshot is a reactor pre-initialised at load time.
type snapshot struct {
	// served starts in the original module's state, without its data
	// segments (wasmbin.Preinitialize): it is the same for every snapshot of
	// one code, which share it. start brings each instance to image and
	// values. It changes once at most, from the interpreter's compilation
	// to machine code (Engine.upgrade); current reads it.
	served atomic.Pointer[servedModule]
	image  []byte // linear memory right after _initialize
	// sealed holds image when the platform has sealed memory files;
	// instances then map it instead of copying it. It is released when the
	// snapshot is garbage, so whatever reads image or sealed keeps the
	// snapshot alive until it is done.
	sealed *sealedImage
	// globals are the mutable global indexes, exported by compiled; the
	// last is the interrupt flag (wasmbin.AddInterrupt), which a call's
	// deadline sets and restore clears with the rest.
	globals []int
	values  []uint64 // their values right after _initialize

	engine *Engine

	mu     sync.Mutex
	pools  map[int64]*pool // by memory limit
	closed bool

	created, reused, discarded atomic.Int64
}

// current returns the module new instances of s run.
func (s *snapshot) current() *servedModule { return s.served.Load() }

// replaceServed makes served the module new instances run, gives back the
// one it replaces, and closes the idle instances of that one; an instance
// in a call is closed when its call ends (pool.put). It reports false,
// changing nothing, once s is closed.
func (s *snapshot) replaceServed(ctx context.Context, served *servedModule) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	old := s.served.Swap(served)
	pools := make([]*pool, 0, len(s.pools))
	for _, p := range s.pools {
		pools = append(pools, p)
	}
	s.mu.Unlock()
	for _, p := range pools {
		p.retire(ctx, served)
	}
	s.engine.releaseServed(ctx, old)
	return true
}

// PoolStats counts what the instance pools of a module did.
type PoolStats struct {
	Created   int64 // instances made from the snapshot
	Reused    int64 // invocations served by a restored instance
	Discarded int64 // instances dropped because they failed or grew
}

// PoolStats returns the module's pool counters; zero for a fresh module.
func (m *Module) PoolStats() PoolStats {
	if m.snap == nil {
		return PoolStats{}
	}
	return PoolStats{Created: m.snap.created.Load(), Reused: m.snap.reused.Load(), Discarded: m.snap.discarded.Load()}
}

// snapshotSource returns mod with its mutable globals exported, and their
// indexes, or why the snapshot cannot take mod. The export is all it adds:
// a module is valid exactly when this copy is.
func snapshotSource(mod *wasmbin.Module) (*wasmbin.Module, []int, error) {
	if err := mod.CheckStateless(); err != nil {
		return nil, nil, err
	}
	return wasmbin.ExportGlobals(mod)
}

// prepareSnapshot initialises one instance of the module mod, captures
// its memory and globals, and compiles the module its instances run, which
// does not depend on that state: functions with the same code (every
// JavaScript function, which differ only in their abi.InitSection) share
// one compilation, in memory and in the compilation cache.
// probe is mod as snapshotSource returns it, compiled for the interpreter,
// which release closes once initialisation is over, and globals its
// exported globals.
// Note what a snapshot freezes: state the guest's runtime seeded during
// initialisation from non-crypto sources (Go's map hash seeds and the
// math/rand state) is the same in every invocation of one deploy. Reads of
// crypto randomness (WASI random_get) are unaffected.
func (e *Engine) prepareSnapshot(ctx context.Context, digest string, mod *wasmbin.Module, probe wazero.CompiledModule, release func(), globals []int, imports []importRef) (*snapshot, error) {
	ictx, cancel := context.WithTimeout(ctx, e.initTimeout)
	defer cancel()
	mem := &cappedMemory{limit: maxInitMemory}
	ictx = experimental.WithMemoryAllocator(ictx, mem)
	input, _ := mod.CustomSection(abi.InitSection)
	stderr := &boundedBuffer{max: maxInitOutput}
	// wazero skips a start function the module does not export.
	inst, err := e.probe.InstantiateModule(ictx, probe, moduleConfig(sleepUntil(ictx)).
		WithStartFunctions(abi.ExportInitialize, abi.ExportBeforeSnapshot).
		WithStdin(bytes.NewReader(input)).
		WithStderr(stderr))
	if err != nil {
		return nil, &initError{cause: classify(ictx, mem, err), timeout: e.initTimeout, output: stderr.buf.String()}
	}
	live := inst.Memory()
	if live == nil {
		inst.Close(ctx)
		return nil, errors.New("no memory to snapshot")
	}
	view, _ := live.Read(0, live.Size())
	image := append([]byte(nil), view...)
	values := make([]uint64, len(globals))
	for j, i := range globals {
		values[j] = inst.ExportedGlobal(wasmbin.GlobalExportName(i)).Get()
	}
	inst.Close(ctx)
	release()
	pre, err := wasmbin.Preinitialize(mod)
	if err != nil {
		return nil, err
	}
	// The checks go in after initialisation, which the interpreter bounds
	// on its own and which they would only slow down; the fuel and the
	// flag start full and clear.
	pre, flag, err := wasmbin.AddInterrupt(pre)
	if err != nil {
		return nil, err
	}
	globals = append(globals, flag-1, flag)
	values = append(values, wasmbin.InterruptFuel, 0)
	preBytes := pre.Bytes()
	// The artefact is stored while the module compiles: the store's
	// writes wait mostly on I/O, the compilation on the processors. It is
	// stored by the time the module serves, so a restart finds it. (Should
	// the compilation fail, loading the artefact fails the same way, and
	// the module is prepared again from the original.)
	saved := make(chan struct{})
	go func() {
		defer close(saved)
		e.saveSnapshot(ctx, &artefact{digest: digest, imports: imports, globals: globals, values: values, image: image, module: preBytes})
	}()
	served, err := e.firstServed(ctx, preBytes)
	<-saved
	if err != nil {
		return nil, fmt.Errorf("compile the pre-initialised module: %w", err)
	}
	snap := e.newSnapshot(served, image, globals, values)
	if served.key.interpreted {
		e.upgrade(snap, preBytes)
	}
	return snap, nil
}

// newSnapshot returns the snapshot of served with the given image and
// globals. The image moves into a sealed memory file when the platform has
// them: instances then share the pages they only read, and restore learns
// from the kernel which pages an invocation wrote.
func (e *Engine) newSnapshot(served *servedModule, image []byte, globals []int, values []uint64) *snapshot {
	s := &snapshot{engine: e, image: image, globals: globals, values: values, pools: map[int64]*pool{}}
	s.served.Store(served)
	if !e.heapImages {
		if sealed, err := sealImage(image); err == nil {
			s.sealed, s.image = sealed, sealed.bytes
			goruntime.AddCleanup(s, (*sealedImage).release, sealed)
		}
	}
	return s
}

// maxInitMemory caps a module's memory while its snapshot is taken; the
// function's own limit is checked against the image afterwards.
const maxInitMemory = 1 << 30

// initError is a module whose initialisation failed: it would fail fresh
// too, so it is refused rather than run another way.
type initError struct {
	cause   error
	timeout time.Duration
	// output is what the guest wrote to standard error, such as the
	// reason a JavaScript bundle did not evaluate.
	output string
}

// maxInitOutput bounds the standard error of an initialisation kept for
// its error message.
const maxInitOutput = 4 << 10

func (e *initError) Error() string {
	var gerr *GuestError
	if errors.As(e.cause, &gerr) {
		switch gerr.Failure {
		case FailTimeout:
			return fmt.Sprintf("module initialisation did not finish within %s", e.timeout)
		case FailOutOfMemory:
			return fmt.Sprintf("module initialisation needs more than %d MiB of memory", maxInitMemory>>20)
		}
	}
	msg := fmt.Sprintf("module initialisation failed: %v", e.cause)
	// The deployer's own module wrote it, but it is printed on their
	// terminal: no control characters but line breaks and tabs.
	out := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return -1
		}
		return r
	}, strings.ToValidUTF8(e.output, "\uFFFD"))
	if out = strings.TrimSpace(out); out != "" {
		msg += "; it wrote: " + out
	}
	return msg
}

// maxIdle caps the idle instances kept per pool. Each holds a copy of the
// image; the engine's PoolMemory caps what all pools keep together.
const maxIdle = 16

// pool keeps ready instances of one snapshot under one memory limit.
type pool struct {
	snap  *snapshot
	limit int64

	mu   sync.Mutex
	idle []*instance // most recently used last
}

func (s *snapshot) pool(limit int64) *pool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pools[limit]
	if p == nil {
		p = &pool{snap: s, limit: limit}
		s.pools[limit] = p
	}
	return p
}

// instance is one live instance of a snapshot module.
type instance struct {
	lastUsed time.Time

	mod     api.Module
	served  *servedModule // what mod was instantiated from
	handle  api.Function
	mem     *cappedMemory
	globals []api.MutableGlobal
	stdio   *logWriter
	sleep   *sleeper

	idleBytes int64  // what the instance counts against PoolMemory while idle
	entries   []byte // page map scratch for restore

	// interrupt sets the interrupt flag when a call's context is done,
	// then sends on interrupted; both are made once, for every call.
	interrupt   func()
	interrupted chan struct{}
}

// get returns an idle instance, or a new one.
func (p *pool) get(ctx context.Context) (*instance, error) {
	e := p.snap.engine
	for {
		p.mu.Lock()
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			break
		}
		in := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		e.idleBytes.Add(-in.idleBytes)
		in.mem.use()
		if in.mod.IsClosed() { // the runtime is closing
			in.mem.done()
			continue
		}
		p.snap.reused.Add(1)
		return in, nil
	}
	p.snap.mu.Lock()
	closed := p.snap.closed
	p.snap.mu.Unlock()
	if closed {
		// Unloaded since the caller got the module. Its compiled module
		// may still be open for another snapshot: refuse here.
		return nil, ErrUnloaded
	}
	mem := &cappedMemory{limit: uint64(p.limit), image: p.snap.image, inUse: true}
	if p.snap.sealed != nil {
		// Without a mapping the memory is a copy on the heap: slower to
		// restore, but as clean.
		if region, err := p.snap.sealed.mapInstance(uint64(p.limit)); err == nil {
			mem.region = region
		}
	}
	stdio := &logWriter{}
	sleep := &sleeper{} // bound to each call's context by call
	// The instance outlives this invocation's context: instantiate it
	// without the caller's deadline, which each call brings on its own.
	ictx := experimental.WithMemoryAllocator(context.WithoutCancel(ctx), mem)
	served := p.snap.current()
	mod, err := e.runtimeFor(served).InstantiateModule(ictx, served.compiled, moduleConfig(sleep).
		WithStartFunctions().
		WithStdout(stdio).
		WithStderr(stdio))
	if err != nil {
		mem.Free()
		mem.done()
		p.snap.mu.Lock()
		closed := p.snap.closed
		p.snap.mu.Unlock()
		if closed {
			// Unloaded, and its code freed, since the caller got the
			// module: no guest code ran.
			return nil, ErrUnloaded
		}
		return nil, err
	}
	p.snap.created.Add(1)
	in := &instance{mod: mod, served: served, handle: mod.ExportedFunction("handle"), mem: mem, stdio: stdio, sleep: sleep}
	for _, i := range p.snap.globals {
		g, ok := mod.ExportedGlobal(wasmbin.GlobalExportName(i)).(api.MutableGlobal)
		if !ok {
			mod.Close(ctx)
			mem.done()
			return nil, fmt.Errorf("global %d is not exported as mutable", i)
		}
		in.globals = append(in.globals, g)
	}
	err = in.start(p.snap)
	goruntime.KeepAlive(p.snap) // the allocations read its image
	if err != nil {
		mod.Close(ctx)
		mem.done()
		return nil, err
	}
	return in, nil
}

// start brings a new instance to the snapshot state, as restore does after
// every call: its memory grows from the module's own minimum to the
// image's size, which the allocator fills with the image (mapped from the
// sealed file, or copied), and its globals take the snapshot's values. No
// guest code runs before.
func (in *instance) start(s *snapshot) error {
	mem := in.mod.Memory()
	if mem == nil {
		return errors.New("no memory to restore the image to")
	}
	pages, have := uint32(len(s.image)/65536), mem.Size()/65536
	if have < pages {
		if _, ok := mem.Grow(pages - have); !ok {
			return fmt.Errorf("memory cannot grow to the image's %d MiB", len(s.image)>>20)
		}
	}
	if len(in.mem.buf) != len(s.image) {
		return fmt.Errorf("memory of %d bytes, want the image's %d", len(in.mem.buf), len(s.image))
	}
	in.resetGlobals(s)
	return nil
}

// resetGlobals sets every mutable global to its snapshot value.
func (in *instance) resetGlobals(s *snapshot) {
	for j, g := range in.globals {
		g.Set(s.values[j])
	}
}

// call runs handle until it returns or ctx is done, whichever comes first:
// when ctx is done the interrupt flag is set and a sleep ends, and the
// guest traps at its next function entry or loop iteration. The flag is
// left set for restore to clear (or for the instance to be discarded, when
// the call failed).
func (in *instance) call(ctx context.Context) ([]uint64, error) {
	in.sleep.bind(ctx)
	if in.interrupt == nil {
		flag := in.globals[len(in.globals)-1]
		in.interrupted = make(chan struct{}, 1)
		in.interrupt = func() {
			flag.Set(1)
			in.interrupted <- struct{}{}
		}
	}
	stop := context.AfterFunc(ctx, in.interrupt)
	out, err := in.handle.Call(ctx)
	if !stop() {
		// The deadline's goroutine runs interrupt, once: never touch the
		// flag while it does, and leave the channel empty for the next
		// call.
		<-in.interrupted
	}
	return out, err
}

// put restores in to the snapshot state and keeps it for the next call, or
// discards it when it cannot be restored exactly or is not worth keeping:
// the pool holds at most keep idle instances, and all pools together at
// most the engine's PoolMemory.
func (p *pool) put(ctx context.Context, in *instance, ok bool, keep int) {
	if ok {
		in.idleBytes, ok = in.restore(p.snap)
	}
	if !ok {
		p.snap.discarded.Add(1)
		in.mod.Close(context.WithoutCancel(ctx))
		in.mem.done()
		return
	}
	if !in.mem.done() || in.mod.IsClosed() {
		return // closed meanwhile: the runtime is closing
	}
	e := p.snap.engine
	if keep <= 0 {
		keep = maxIdle
	}
	size := in.idleBytes
	kept := false
	p.snap.mu.Lock()
	closed := p.snap.closed
	p.snap.mu.Unlock()
	p.mu.Lock()
	// An instance of a module that machine code replaced is not kept:
	// checked under p.mu, which retire holds while it closes the others.
	if !closed && in.served == p.snap.current() && len(p.idle) < min(keep, maxIdle) {
		if e.idleBytes.Add(size) <= e.poolMemory {
			in.lastUsed = time.Now()
			p.idle = append(p.idle, in)
			kept = true
		} else {
			e.idleBytes.Add(-size) // over the daemon-wide ceiling
		}
	}
	p.mu.Unlock()
	if !kept {
		in.mod.Close(context.WithoutCancel(ctx))
	}
}

// retire closes the idle instances that do not run served.
func (p *pool) retire(ctx context.Context, served *servedModule) {
	p.mu.Lock()
	var old []*instance
	p.idle = slices.DeleteFunc(p.idle, func(in *instance) bool {
		if in.served != served {
			old = append(old, in)
			return true
		}
		return false
	})
	p.mu.Unlock()
	for _, in := range old {
		p.snap.engine.idleBytes.Add(-in.idleBytes)
		in.mod.Close(ctx)
	}
}

// sweep closes idle instances unused since before cutoff, oldest first, so
// that pools shrink back when load falls.
func (p *pool) sweep(ctx context.Context, cutoff time.Time) {
	p.mu.Lock()
	n := 0
	for n < len(p.idle) && p.idle[n].lastUsed.Before(cutoff) {
		n++
	}
	old := slices.Clone(p.idle[:n])
	p.idle = slices.Delete(p.idle, 0, n)
	p.mu.Unlock()
	for _, in := range old {
		p.snap.engine.idleBytes.Add(-in.idleBytes)
		in.mod.Close(ctx)
	}
}

// restoreChunk is the unit restore compares and copies in on memory
// without a page map.
const restoreChunk = 4096

// restore brings the instance back to the snapshot: every page of memory
// that may differ from the image is compared with it and copied back where
// it differs, and every mutable global is reset. On a mapped instance with
// the page map, the pages still mapped from the image file (or never
// touched) are known to hold the image and are skipped; on any other, every
// page is compared. It returns the bytes of memory the instance holds of its
// own, and refuses an instance whose memory grew: memory cannot shrink, and
// a larger memory.size would tell the next invocation something about this
// one.
func (in *instance) restore(s *snapshot) (private int64, ok bool) {
	defer goruntime.KeepAlive(s) // s.image may be a mapping s releases
	buf, img := in.mem.buf, s.image
	if len(buf) != len(img) {
		return 0, false
	}
	chunk, tracked := restoreChunk, false
	if t := s.engine.pages; t != nil && in.mem.region != nil {
		entries, err := t.read(buf, in.entries)
		if err == nil {
			in.entries, chunk, tracked = entries, t.pageSize, true
		}
	}
	// Comparing (reads only) is cheaper than copying (reads and writes):
	// copy only the pages that differ. Either way every page ends equal to
	// the image.
	for i, off := 0, 0; off < len(img); i, off = i+1, off+chunk {
		if tracked && pristine(entry(in.entries, i)) {
			continue
		}
		end := min(off+chunk, len(img))
		private += int64(end - off)
		if !bytes.Equal(buf[off:end], img[off:end]) {
			copy(buf[off:end], img[off:end])
		}
	}
	in.resetGlobals(s)
	return private, true
}

// close closes every idle instance; instances in use are closed when they
// come back.
func (s *snapshot) close(ctx context.Context) {
	s.mu.Lock()
	pools := s.pools
	s.pools = map[int64]*pool{}
	s.closed = true
	s.mu.Unlock()
	for _, p := range pools {
		p.sweep(ctx, time.Now().Add(time.Hour))
	}
}

// sweep closes the idle instances of every pool unused since cutoff.
func (s *snapshot) sweep(ctx context.Context, cutoff time.Time) {
	s.mu.Lock()
	pools := make([]*pool, 0, len(s.pools))
	for _, p := range s.pools {
		pools = append(pools, p)
	}
	s.mu.Unlock()
	for _, p := range pools {
		p.sweep(ctx, cutoff)
	}
}

// invokeSnapshot runs call on a pooled instance of m's snapshot.
func (e *Engine) invokeSnapshot(ctx context.Context, m *Module, lim Limits, call *hostapi.Call) (*Result, error) {
	p := m.snap.pool(lim.Memory)
	began := time.Now()
	in, err := p.get(ctx)
	isolation := time.Since(began)
	if err != nil {
		return &Result{Isolation: isolation}, err
	}
	in.mem.resetUsage()
	in.stdio.call = call
	out, err := in.call(hostapi.WithCall(ctx, call))
	in.stdio.flush()
	in.stdio.call = nil
	res := &Result{Logs: call.Logs, DroppedLogs: call.DroppedLogs, MemoryBytes: in.mem.peak}
	mem := in.mem
	began = time.Now()
	p.put(ctx, in, err == nil, lim.Concurrency)
	res.Isolation = isolation + time.Since(began)
	if err != nil {
		return res, classify(ctx, mem, err)
	}
	return res, handleResult(out, call, res)
}
