// Package runtime runs function modules under wazero: it validates and
// compiles modules, and runs every invocation from the module's state right
// after initialisation, so that no state survives from one invocation to the
// next (SAS-12). Reactors are pre-initialised into a snapshot and served by
// pooled instances restored after each call (snapshot.go); on Linux the
// snapshot's memory is a sealed file the instances map, and the kernel's
// page map tells restore which pages a call wrote (image_linux.go). Modules
// the snapshot cannot vouch for run on a fresh instance per call. A new
// snapshot is served by wazero's interpreter while its machine code
// compiles, and by the machine code from then on (Engine.upgrade).
//
// Guests get no filesystem, no environment variables and no arguments; their
// randomness comes from crypto/rand and their clocks are the real ones. Each
// instance's linear memory is capped at the function's limit through a
// per-instance allocator, and a context deadline ends a guest that runs too
// long.
package runtime

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	goruntime "runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/pave-dev/pave/internal/hostapi"
)

// Mode is how a module is driven.
type Mode string

// The modes pave runs.
const (
	// Reactor modules export handle and use the pave_v1 ABI.
	Reactor Mode = "reactor"
	// Command modules are plain WASI programs: body on stdin, response on
	// stdout. They are the compatibility path for languages without an SDK.
	Command Mode = "wasi-command"
)

// Config configures an Engine.
type Config struct {
	// CacheDir keeps wazero's compilation cache across restarts; empty keeps
	// it in memory only.
	CacheDir string
	// Isolation is the method for reactors: Snapshot (the default, when
	// empty) or Fresh for every module.
	Isolation Isolation
	// InitTimeout bounds a module's initialisation when its snapshot is
	// taken; zero means DefaultInitTimeout.
	InitTimeout time.Duration
	// PoolMemory caps the memory of all idle instances together, in bytes;
	// zero means DefaultPoolMemory.
	PoolMemory int64
	// Artefacts, when set, keeps prepared snapshots across restarts.
	Artefacts ArtefactStore
	// MaxLoaded caps how many modules are kept compiled in memory at once;
	// loading one more unloads the least recently invoked. Zero means
	// DefaultMaxLoaded.
	MaxLoaded int
	// CompileBeforeServing makes a new snapshot wait for its machine code
	// instead of serving on the interpreter meanwhile (see firstServed).
	CompileBeforeServing bool
}

// DefaultMaxLoaded caps the loaded modules unless configured. A loaded Go
// module of a few megabytes holds 13 to 15 MiB, mostly machine code, so
// the default bounds compiled code to under a gigabyte however many
// functions are deployed; one that was unloaded loads again from its stored
// snapshot in tens of milliseconds.
const DefaultMaxLoaded = 64

// DefaultPoolMemory caps idle instance memory unless configured.
const DefaultPoolMemory = 1 << 30

// DefaultInitTimeout bounds snapshot initialisation unless configured.
const DefaultInitTimeout = 30 * time.Second

// Engine compiles and runs modules. It is safe for concurrent use.
type Engine struct {
	// rt compiles to machine code and runs fresh instances and commands;
	// wazero's own checks stop them at their deadline.
	rt wazero.Runtime
	// flagged runs snapshot instances, whose modules carry an interrupt
	// flag (wasmbin.AddInterrupt) that stops them at their deadline for
	// less than wazero's checks cost; it has none of its own.
	flagged wazero.Runtime
	// interp runs snapshot instances too, on wazero's interpreter, while
	// their module's machine code compiles (see firstServed); like flagged,
	// it leaves deadlines to the interrupt flag.
	interp wazero.Runtime
	probe  wazero.Runtime // interprets; validates and initialises snapshots
	cache  wazero.CompilationCache

	fresh        bool // never snapshot
	initTimeout  time.Duration
	poolMemory   int64
	maxLoaded    int
	artefacts    ArtefactStore
	idleBytes    atomic.Int64 // memory held by idle pooled instances
	pages        *pageTracker // nil where the page map cannot be read
	heapImages   bool         // keep images on the heap (tests of that path)
	compileFirst bool         // Config.CompileBeforeServing
	// upgradeGate, when set, holds every upgrade to machine code until it
	// is closed (tests of the interpreter's turn).
	upgradeGate chan struct{}

	// served holds the compiled modules snapshots run, by the digest of
	// their bytes and how they run (see compileServed).
	servedMu sync.Mutex
	served   map[servedKey]*servedModule
	// interpreted counts the loaded snapshots served by the interpreter
	// while their machine code compiles; upgrades counts those
	// compilations, which Close waits for.
	interpreted atomic.Int64
	upgrades    sync.WaitGroup

	mu      sync.Mutex
	modules map[string]*moduleEntry // by digest
	// Preload's loads run on life, which Close cancels, and are counted in
	// preloads, which Close waits for; closed refuses new ones.
	life     context.Context
	stop     context.CancelFunc
	preloads sync.WaitGroup
	closed   bool
}

type moduleEntry struct {
	ready chan struct{}
	mod   *Module
	err   error
}

// New creates an engine with the pave_v1 and WASI host modules linked.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	switch cfg.Isolation {
	case "", Snapshot, Fresh:
	default:
		return nil, fmt.Errorf("unknown isolation %q: want %q or %q", cfg.Isolation, Snapshot, Fresh)
	}
	cache := wazero.NewCompilationCache()
	if cfg.CacheDir != "" {
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("compilation cache: %w", err)
		}
	}
	rc := wazero.NewRuntimeConfig().
		WithCompilationCache(cache).
		WithCloseOnContextDone(true)
	rt, err := hostRuntime(ctx, rc)
	if err != nil {
		return nil, err
	}
	// The compilation cache tells the two apart: wazero's module ids
	// include whether its checks are compiled in.
	flagged, err := hostRuntime(ctx, rc.WithCloseOnContextDone(false))
	if err != nil {
		rt.Close(ctx)
		return nil, err
	}
	interp, err := hostRuntime(ctx, wazero.NewRuntimeConfigInterpreter().WithCompilationCache(cache))
	if err != nil {
		rt.Close(ctx)
		flagged.Close(ctx)
		return nil, err
	}
	probe, err := hostRuntime(ctx, wazero.NewRuntimeConfigInterpreter().WithCloseOnContextDone(true))
	if err != nil {
		rt.Close(ctx)
		flagged.Close(ctx)
		interp.Close(ctx)
		return nil, err
	}
	initTimeout := cfg.InitTimeout
	if initTimeout <= 0 {
		initTimeout = DefaultInitTimeout
	}
	poolMemory := cfg.PoolMemory
	if poolMemory <= 0 {
		poolMemory = DefaultPoolMemory
	}
	maxLoaded := cfg.MaxLoaded
	if maxLoaded <= 0 {
		maxLoaded = DefaultMaxLoaded
	}
	life, stop := context.WithCancel(context.WithoutCancel(ctx))
	return &Engine{rt: rt, flagged: flagged, interp: interp, probe: probe, cache: cache, fresh: cfg.Isolation == Fresh, compileFirst: cfg.CompileBeforeServing,
		initTimeout: initTimeout, poolMemory: poolMemory, maxLoaded: maxLoaded, artefacts: cfg.Artefacts,
		pages: processPageTracker(), served: map[servedKey]*servedModule{},
		modules: make(map[string]*moduleEntry), life: life, stop: stop}, nil
}

// compiling returns ctx for a compilation to machine code, which then uses
// every thread the Go scheduler has: wazero compiles on one unless told,
// and compiling a Go module of a few megabytes takes over a second on one.
// A deploy or a cache miss is rare, and the sooner it is done the sooner
// the function serves.
func compiling(ctx context.Context) context.Context {
	return experimental.WithCompilationWorkers(ctx, goruntime.GOMAXPROCS(0))
}

// servedModule is a compiled module that snapshots run, shared by the
// snapshots whose modules have the same bytes: every JavaScript function on
// one engine build, for one. wazero would share the machine code of equal
// modules anyway, but each of its CompiledModules keeps a decoded copy of
// the module, about 15 MiB of heap for the JavaScript engine.
type servedModule struct {
	key  servedKey
	refs int // snapshots using it; guarded by Engine.servedMu
	// ready is closed when compiled, or err, is set.
	ready    chan struct{}
	compiled wazero.CompiledModule
	err      error
}

// servedKey tells served modules apart: by their bytes, and whether they
// run on the interpreter or as machine code.
type servedKey struct {
	sum         [sha256.Size]byte
	interpreted bool
}

// runtime returns the runtime that instantiates s.
func (e *Engine) runtimeFor(s *servedModule) wazero.Runtime {
	if s.key.interpreted {
		return e.interp
	}
	return e.flagged
}

// sharedServed returns the served module for key, with one more reference,
// if a loaded snapshot runs it already.
func (e *Engine) sharedServed(key servedKey) *servedModule {
	e.servedMu.Lock()
	defer e.servedMu.Unlock()
	s := e.served[key]
	if s == nil {
		return nil
	}
	select {
	case <-s.ready:
		if s.err != nil {
			return nil
		}
		s.refs++
		return s
	default: // still compiling
		return nil
	}
}

// compileServed returns the compiled module for wasm, as machine code or
// for the interpreter, compiling it unless a loaded snapshot runs the same
// bytes the same way or one is being compiled already, which it then waits
// for. releaseServed gives it back.
func (e *Engine) compileServed(ctx context.Context, wasm []byte, interpreted bool) (*servedModule, error) {
	key := servedKey{sum: sha256.Sum256(wasm), interpreted: interpreted}
	e.servedMu.Lock()
	if s := e.served[key]; s != nil {
		s.refs++
		e.servedMu.Unlock()
		<-s.ready
		if s.err != nil {
			return nil, s.err // forgotten by the compilation that failed
		}
		return s, nil
	}
	s := &servedModule{key: key, refs: 1, ready: make(chan struct{})}
	e.served[key] = s
	e.servedMu.Unlock()
	if interpreted {
		s.compiled, s.err = e.interp.CompileModule(ctx, wasm)
	} else {
		s.compiled, s.err = e.flagged.CompileModule(compiling(ctx), wasm)
	}
	if s.err != nil {
		e.servedMu.Lock()
		delete(e.served, key)
		e.servedMu.Unlock()
		close(s.ready)
		return nil, s.err
	}
	close(s.ready)
	return s, nil
}

// firstServed returns the module a new snapshot of wasm serves with first,
// and whether it is the interpreter's. Compiling a Go module of a few
// megabytes to machine code takes most of a second on two cores, and the
// JavaScript engine many seconds; wazero's interpreter compiles it about
// five times faster and runs it, with the same checks, limits and clean
// state, several times slower. So a deploy answers as soon as the
// interpreter's compilation is done, and upgrade moves the snapshot to
// machine code when that is ready. Machine code another snapshot runs
// already is used at once.
func (e *Engine) firstServed(ctx context.Context, wasm []byte) (*servedModule, error) {
	if e.compileFirst {
		return e.compileServed(ctx, wasm, false)
	}
	if s := e.sharedServed(servedKey{sum: sha256.Sum256(wasm)}); s != nil {
		return s, nil
	}
	return e.compileServed(ctx, wasm, true)
}

// upgrade compiles wasm, the module snap serves on the interpreter, to
// machine code in the background, and moves snap to it. Instances of the
// interpreter's module finish their call and are then closed.
func (e *Engine) upgrade(snap *snapshot, wasm []byte) {
	e.interpreted.Add(1)
	e.upgrades.Add(1)
	go func() {
		defer e.upgrades.Done()
		defer e.interpreted.Add(-1)
		if e.upgradeGate != nil {
			<-e.upgradeGate
		}
		served, err := e.compileServed(e.life, wasm, false)
		if err != nil {
			// The interpreter goes on serving: the module validated, so
			// this is the engine's own failure, and it is as correct.
			return
		}
		if !snap.replaceServed(e.life, served) {
			e.releaseServed(e.life, served)
		}
	}()
}

// Interpreted returns how many loaded modules the interpreter serves while
// their machine code compiles.
func (e *Engine) Interpreted() int { return int(e.interpreted.Load()) }

// releaseServed gives back a module from compileServed, and closes it when
// no snapshot uses it any more.
func (e *Engine) releaseServed(ctx context.Context, s *servedModule) {
	e.servedMu.Lock()
	defer e.servedMu.Unlock()
	if s.refs--; s.refs == 0 && e.served[s.key] == s {
		delete(e.served, s.key)
		_ = s.compiled.Close(ctx)
	}
}

// hostRuntime returns a runtime with the WASI, pave_v1 and capability host
// modules.
func hostRuntime(ctx context.Context, rc wazero.RuntimeConfig) (wazero.Runtime, error) {
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	if err := hostapi.InstantiateWASI(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("wasi: %w", err)
	}
	if err := hostapi.InstantiateCapabilities(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("capabilities: %w", err)
	}
	if err := hostapi.InstantiateCore(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("pave_v1: %w", err)
	}
	return rt, nil
}

// Close releases every compiled module and the runtimes, once the loads
// that Preload started have ended.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.stop()
	e.preloads.Wait()
	e.upgrades.Wait()
	return errors.Join(e.rt.Close(ctx), e.flagged.Close(ctx), e.interp.Close(ctx), e.probe.Close(ctx), e.cache.Close(ctx))
}

// Load returns the compiled module for digest, compiling the bytes that fetch
// returns the first time. Concurrent callers for one digest share one
// compilation. Loading a module beyond the engine's MaxLoaded unloads the
// least recently invoked others.
func (e *Engine) Load(ctx context.Context, digest string, fetch func(context.Context) ([]byte, error)) (*Module, error) {
	e.mu.Lock()
	ent, ok := e.modules[digest]
	if !ok {
		ent = &moduleEntry{ready: make(chan struct{})}
		e.modules[digest] = ent
	}
	e.mu.Unlock()
	if ok {
		select {
		case <-ent.ready:
			return ent.mod, ent.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return e.fill(ctx, digest, ent, fetch)
}

// fill loads the module of the new entry ent for digest, and makes it
// ready.
func (e *Engine) fill(ctx context.Context, digest string, ent *moduleEntry, fetch func(context.Context) ([]byte, error)) (*Module, error) {
	ent.mod, ent.err = e.load(ctx, digest, fetch)
	if ent.mod != nil {
		ent.mod.lastUsed.Store(time.Now().UnixNano())
	}
	if ent.err != nil {
		// Forget failures so a later call can retry (the store may have been
		// briefly unavailable).
		e.mu.Lock()
		delete(e.modules, digest)
		e.mu.Unlock()
	}
	close(ent.ready)
	if ent.err == nil {
		e.shed(ctx, digest)
	}
	return ent.mod, ent.err
}

// Preload starts loading the module wasm, whose digest the caller has
// checked, in the background, unless it is loaded or loading already: the
// upload of a module starts its compilation, and the deploy that follows
// (Prepare) or a call (Load) waits for that one instead of starting its
// own. A failure is forgotten, as Load forgets it, for the deploy to
// report.
func (e *Engine) Preload(digest string, wasm []byte) {
	e.mu.Lock()
	if _, known := e.modules[digest]; known || e.closed {
		e.mu.Unlock()
		return
	}
	ent := &moduleEntry{ready: make(chan struct{})}
	e.modules[digest] = ent
	e.preloads.Add(1)
	e.mu.Unlock()
	go func() {
		defer e.preloads.Done()
		_, _ = e.fill(e.life, digest, ent, func(context.Context) ([]byte, error) { return wasm, nil })
	}()
}

// Full reports whether as many modules are loaded as the engine keeps, so
// that loading another would unload one.
func (e *Engine) Full() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.modules) >= e.maxLoaded
}

// Loaded is how many modules are loaded or loading.
func (e *Engine) Loaded() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.modules)
}

// shed unloads the least recently invoked modules, other than keep, until
// no more than maxLoaded are loaded. Modules still loading are not
// candidates. An invocation in progress keeps its module's code until it
// returns (see Evict).
func (e *Engine) shed(ctx context.Context, keep string) {
	e.mu.Lock()
	excess := len(e.modules) - e.maxLoaded
	if excess <= 0 {
		e.mu.Unlock()
		return
	}
	type candidate struct {
		digest   string
		lastUsed int64
	}
	var cands []candidate
	for digest, ent := range e.modules {
		if digest == keep {
			continue
		}
		select {
		case <-ent.ready:
			if ent.mod != nil {
				cands = append(cands, candidate{digest, ent.mod.lastUsed.Load()})
			}
		default:
		}
	}
	e.mu.Unlock()
	slices.SortFunc(cands, func(a, b candidate) int { return cmp.Compare(a.lastUsed, b.lastUsed) })
	for _, c := range cands[:min(excess, len(cands))] {
		e.Evict(ctx, c.digest)
	}
}

func (e *Engine) load(ctx context.Context, digest string, fetch func(context.Context) ([]byte, error)) (*Module, error) {
	// A stored snapshot is all a module needs to serve: the original is not
	// even fetched.
	if m, ok := e.loadArtefact(ctx, digest); ok {
		return m, nil
	}
	wasm, err := fetch(ctx)
	if err != nil {
		return nil, err
	}
	return e.compile(ctx, digest, wasm)
}

// ErrUnloaded is an invocation of a module unloaded after Load returned it,
// refused before the guest saw the request: Load the module again and
// retry.
var ErrUnloaded = errors.New("module was unloaded; load it again")

// Evict forgets the compiled module for digest, freeing its code once no
// invocation uses it. Invocations of it that have not started yet fail
// with ErrUnloaded.
func (e *Engine) Evict(ctx context.Context, digest string) {
	e.mu.Lock()
	ent, ok := e.modules[digest]
	delete(e.modules, digest)
	e.mu.Unlock()
	if ok {
		<-ent.ready
		if ent.mod != nil {
			ent.mod.unloaded.Store(true)
			if ent.mod.snap != nil {
				ent.mod.snap.close(ctx)
				e.releaseServed(ctx, ent.mod.snap.current())
			}
			if ent.mod.compiled != nil {
				_ = ent.mod.compiled.Close(ctx)
			}
		}
	}
}

// Retain evicts every loaded module whose digest keep does not report,
// for example after a function was removed. A module still loading stays:
// it is one uploaded for a deploy not recorded yet (see Preload), or one
// a call or deploy waits for; the idle unload frees it if nothing uses it.
func (e *Engine) Retain(ctx context.Context, keep func(digest string) bool) {
	e.mu.Lock()
	var drop []string
	for digest, ent := range e.modules {
		select {
		case <-ent.ready:
			if !keep(digest) {
				drop = append(drop, digest)
			}
		default: // still loading
		}
	}
	e.mu.Unlock()
	for _, d := range drop {
		e.Evict(ctx, d)
	}
}

// Sweep closes pooled instances idle for longer than idle, so that memory
// follows recent load.
func (e *Engine) Sweep(ctx context.Context, idle time.Duration) {
	cutoff := time.Now().Add(-idle)
	e.mu.Lock()
	var snaps []*snapshot
	for _, ent := range e.modules {
		select {
		case <-ent.ready:
			if ent.mod != nil && ent.mod.snap != nil {
				snaps = append(snaps, ent.mod.snap)
			}
		default:
		}
	}
	e.mu.Unlock()
	for _, s := range snaps {
		s.sweep(ctx, cutoff)
	}
}

// Unload evicts every module not invoked for longer than idle: scale to
// zero. The next invocation loads it again, from its stored snapshot when
// there is one.
func (e *Engine) Unload(ctx context.Context, idle time.Duration) {
	cutoff := time.Now().Add(-idle).UnixNano()
	e.mu.Lock()
	var drop []string
	for digest, ent := range e.modules {
		select {
		case <-ent.ready:
			if ent.mod != nil && ent.mod.lastUsed.Load() < cutoff {
				drop = append(drop, digest)
			}
		default: // still loading
		}
	}
	e.mu.Unlock()
	for _, d := range drop {
		e.Evict(ctx, d)
	}
}

// IdleMemory is the memory held by idle pooled instances, in bytes.
func (e *Engine) IdleMemory() int64 { return e.idleBytes.Load() }

// moduleConfig is the sandbox every instance runs in: no filesystem, no
// environment, no arguments (wazero grants none unless asked), crypto
// randomness, real clocks (wazero's defaults are deterministic fakes), and
// real sleep that ends when the instance's call does (see sleeper).
func moduleConfig(s *sleeper) wazero.ModuleConfig {
	return wazero.NewModuleConfig().
		WithName(""). // anonymous: many instances of one module may run at once
		WithRandSource(rand.Reader).
		WithSysWalltime().
		WithSysNanotime().
		WithNanosleep(s.sleep)
}

// sleeper is the sleep of one instance: WASI poll_oneoff's wait for a clock
// (Go's time.Sleep, Rust's thread::sleep, ...), the only WASI call that
// blocks. wazero's own sleep ignores the call's context, and the deadline
// checks (wazero's, or the interrupt flag of a snapshot instance) run only
// while guest code runs, so a sleeping guest would hold its caller, its
// concurrency slots and shutdown for as long as it asked. This sleep ends
// when the context of the instance's current call is done: the guest then
// stops at its next deadline check, and whatever it answers before that
// check is refused (see late).
type sleeper struct {
	// done is the Done channel of the call the instance runs. It is set on
	// the goroutine that then runs the guest, which is the one that sleeps.
	done <-chan struct{}
}

// sleepUntil returns a sleeper bound to ctx, for an instance that runs one
// call only.
func sleepUntil(ctx context.Context) *sleeper {
	return &sleeper{done: ctx.Done()}
}

// bind ties the sleeper to ctx, the context of the call the instance runs
// next.
func (s *sleeper) bind(ctx context.Context) { s.done = ctx.Done() }

func (s *sleeper) sleep(ns int64) {
	if ns <= 0 {
		return
	}
	t := time.NewTimer(time.Duration(ns))
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.done:
	}
}

// boundedBuffer keeps at most max bytes and remembers whether it overflowed.
type boundedBuffer struct {
	buf      bytes.Buffer
	max      int
	overflow bool
}

// Write never fails: output past the limit is dropped, not reported to the
// guest, so a chatty guest cannot turn its own logging into an error.
func (b *boundedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if room := b.max - b.buf.Len(); n > room {
		b.overflow = true
		p = p[:max(room, 0)]
	}
	b.buf.Write(p)
	return n, nil
}
