package runtime

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/hostapi"
	"github.com/pave-dev/pave/internal/wasmbin"
)

// Module is a compiled, validated function module.
type Module struct {
	Digest string
	Mode   Mode
	// Imports lists the host function groups (import modules) the module
	// uses, pave's and WASI's, sorted.
	Imports []string
	// MinMemory is the smallest linear memory the module starts with, in
	// bytes, read from the binary whether the memory is exported or not (0
	// when the module has no memory).
	MinMemory uint64
	// Isolation is how invocations get clean state; FallbackReason says why
	// a reactor runs Fresh instead of from a Snapshot.
	Isolation      Isolation
	FallbackReason string

	imports  []importRef
	lastUsed atomic.Int64          // unix nanoseconds of the last invocation or load
	unloaded atomic.Bool           // evicted: its code is freed once no call runs it
	compiled wazero.CompiledModule // for fresh instantiation; nil with a snapshot
	snap     *snapshot
	// initInput is the standard input of _initialize: the module's
	// abi.InitSection custom section, for fresh instantiation.
	initInput []byte
}

// InvalidModuleError explains why a module cannot be deployed. Its message
// is written for the person deploying and names what to change.
type InvalidModuleError struct{ Reason string }

func (e *InvalidModuleError) Error() string { return e.Reason }

func invalid(format string, args ...any) error {
	return &InvalidModuleError{Reason: fmt.Sprintf(format, args...)}
}

// compile validates and classifies wasm, then prepares it to run: from a
// snapshot when it is a reactor the snapshot can handle, otherwise compiled
// for fresh instantiation. It does not check grants: see Check.
//
// Validation and the snapshot's initialisation run on the interpreter,
// which starts at once; only the module that serves invocations is compiled
// to machine code.
func (e *Engine) compile(ctx context.Context, digest string, wasm []byte) (*Module, error) {
	// Bounded before wazero sees it: wazero's decoder allocates what a
	// module declares (locals, segments, tables), and every instance
	// allocates its tables, which Bound caps so that table.grow past the
	// cap returns -1.
	parsed, err := wasmbin.Parse(wasm)
	if err == nil {
		parsed, err = wasmbin.Bound(parsed)
	}
	switch {
	case errors.Is(err, wasmbin.ErrTooLarge):
		return nil, invalid("module is %v", err)
	case err != nil:
		return nil, invalid("not a valid WebAssembly module, or one pave cannot check: %v", err)
	}
	wasm = parsed.Bytes()
	// The interpreter compiles the module once, for validation and for the
	// snapshot's initialisation both: with its mutable globals exported
	// when the snapshot can take it, which changes nothing validation
	// checks (see snapshotSource).
	probeWasm, globals, whyFresh := wasm, []int(nil), error(nil)
	if e.fresh {
		whyFresh = errors.New("the daemon runs every module fresh")
	} else if exporting, idx, err := snapshotSource(parsed); err != nil {
		whyFresh = err
	} else {
		probeWasm, globals = exporting.Bytes(), idx
	}
	meta, err := e.probe.CompileModule(ctx, probeWasm)
	if err != nil {
		return nil, invalid("not a valid WebAssembly module: %v", err)
	}
	// The interpreter's compilation holds about 30 times the module's size
	// in Go heap: the snapshot releases it as soon as initialisation is
	// done, before compiling the module it serves.
	release := sync.OnceFunc(func() { meta.Close(ctx) })
	defer release()
	if err := e.checkSignatures(meta); err != nil {
		return nil, err
	}
	m := &Module{Digest: digest}
	for _, fn := range meta.ImportedFunctions() {
		mod, name, _ := fn.Import()
		m.imports = append(m.imports, importRef{Module: mod, Name: name})
	}
	exports := meta.ExportedFunctions()
	switch {
	case exports["handle"] != nil:
		fn := exports["handle"]
		if len(fn.ParamTypes()) != 0 || !slices.Equal(fn.ResultTypes(), []api.ValueType{api.ValueTypeI32}) {
			return nil, invalid("export \"handle\" must have the signature () -> i32 (pave_v1 ABI)")
		}
		if fn := exports[abi.ExportBeforeSnapshot]; fn != nil && (len(fn.ParamTypes()) != 0 || len(fn.ResultTypes()) != 0) {
			return nil, invalid("export %q must have the signature () (pave_v1 ABI)", abi.ExportBeforeSnapshot)
		}
		m.Mode = Reactor
	case exports["_start"] != nil:
		m.Mode = Command
	default:
		return nil, invalid("module exports neither \"handle\" (a pave_v1 reactor: build with -buildmode=c-shared and register a handler with the pave SDK) nor \"_start\" (a WASI command)")
	}
	m.Imports = importModules(m.imports)
	// The minimum comes from the binary, whether the memory is exported or
	// not: the allocator cannot refuse the first allocation, so Check must
	// compare it with the limit.
	layout, err := parsed.Inspect()
	if err != nil {
		return nil, invalid("module's memory cannot be checked against its limit: %v", err)
	}
	if layout.ImportedMemories > 0 {
		return nil, invalid("module imports its memory; pave gives every module a memory of its own")
	}
	if layout.HasMemory {
		m.MinMemory = uint64(layout.Memory.Min) * 65536
	}
	m.Isolation = Fresh
	if m.Mode == Reactor {
		m.initInput, _ = parsed.CustomSection(abi.InitSection)
		if whyFresh != nil {
			m.FallbackReason = whyFresh.Error()
		} else if snap, err := e.prepareSnapshot(ctx, digest, parsed, meta, release, globals, m.imports); err != nil {
			var ierr *initError
			if errors.As(err, &ierr) {
				return nil, invalid("%s", ierr.Error())
			}
			m.FallbackReason = err.Error()
		} else {
			m.snap, m.Isolation = snap, Snapshot
			m.MinMemory = max(m.MinMemory, uint64(len(snap.image)))
			return m, nil
		}
	}
	if m.compiled, err = e.rt.CompileModule(compiling(ctx), wasm); err != nil {
		return nil, invalid("module cannot be compiled: %v", err)
	}
	return m, nil
}

// checkSignatures refuses a module that imports from WASI, pave_v1 or a
// capability group a function the host does not provide, or provides with
// other parameter or result types: linking it would fail at every call.
// Imports of other modules are Check's to refuse.
func (e *Engine) checkSignatures(meta wazero.CompiledModule) error {
	var problems []string
	for _, fn := range meta.ImportedFunctions() {
		mod, name, _ := fn.Import()
		if _, known := hostapi.GroupOf(mod); !known && mod != wasi_snapshot_preview1.ModuleName {
			continue
		}
		want, ok := hostapi.Signature(e.probe, mod, name)
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("imports %s, which %s does not provide", quoteName(name), mod))
		case !slices.Equal(fn.ParamTypes(), want.ParamTypes()) || !slices.Equal(fn.ResultTypes(), want.ResultTypes()):
			problems = append(problems, fmt.Sprintf("imports %s.%s as %s, but pave provides %s.%s%s",
				mod, name, signature(fn), mod, name, signature(want)))
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		problems = slices.Compact(problems)
		return invalid("module %s (see docs/ABI.md)", strings.Join(problems, "; "))
	}
	return nil
}

// signature formats a function's types as docs/ABI.md writes them:
// "(i32, i32) -> i32", or "(i32)" without results.
func signature(fn api.FunctionDefinition) string {
	names := func(ts []api.ValueType) string {
		out := make([]string, len(ts))
		for i, t := range ts {
			out[i] = api.ValueTypeName(t)
		}
		return strings.Join(out, ", ")
	}
	s := "(" + names(fn.ParamTypes()) + ")"
	if len(fn.ResultTypes()) > 0 {
		s += " -> " + names(fn.ResultTypes())
	}
	return s
}

// quoteName quotes a name read from a module for a message, cut to 64
// bytes: it is the deployer's, not pave's.
func quoteName(name string) string {
	if len(name) > 64 {
		return strconv.Quote(name[:64]) + "..."
	}
	return strconv.Quote(name)
}

// importRef is one imported function.
type importRef struct{ Module, Name string }

// importModules lists the distinct modules of refs, sorted.
func importModules(refs []importRef) []string {
	var mods []string
	for _, r := range refs {
		if !slices.Contains(mods, r.Module) {
			mods = append(mods, r.Module)
		}
	}
	slices.Sort(mods)
	return mods
}

// Check reports whether m may run with the given capability grants and
// memory limit: every import must come from WASI, pave_v1 or a granted
// capability group, and the module's initial memory must fit the limit.
func (m *Module) Check(granted func(capability string) bool, memoryLimit uint64) error {
	var problems []string
	for _, fn := range m.imports {
		mod, name := fn.Module, fn.Name
		if mod == wasi_snapshot_preview1.ModuleName {
			continue
		}
		g, known := hostapi.GroupOf(mod)
		switch {
		case !known:
			problems = append(problems, fmt.Sprintf("imports %s.%s, which pave does not provide", mod, name))
		case g.Capability != "" && (granted == nil || !granted(g.Capability)):
			problems = append(problems, fmt.Sprintf("imports %s.%s: the %q capability is not granted in pave.yaml", mod, name, g.Capability))
		}
	}
	if m.MinMemory > memoryLimit {
		problems = append(problems, fmt.Sprintf("needs %d MiB of memory at start, above its limit of %d MiB (raise limits.memory)", m.MinMemory>>20, memoryLimit>>20))
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		problems = slices.Compact(problems)
		return invalid("module %s", strings.Join(problems, "; "))
	}
	return nil
}

// Prepare compiles wasm and checks it against the grants and memory limit,
// without keeping it loaded: the deploy path. A reactor is also
// instantiated once, so a module whose initialisation traps or does not fit
// its limits is refused before it is deployed.
func (e *Engine) Prepare(ctx context.Context, digest string, wasm []byte, granted func(string) bool, lim Limits) (*Module, error) {
	m, err := e.Load(ctx, digest, func(context.Context) ([]byte, error) { return wasm, nil })
	if err != nil {
		return nil, err
	}
	if err := m.Check(granted, uint64(lim.Memory)); err != nil {
		return nil, err
	}
	if m.Mode != Reactor {
		return m, nil
	}
	err = e.trial(ctx, m, lim)
	if errors.Is(err, ErrUnloaded) {
		// Unloaded to make room for others since Load returned it: once
		// more, as the gateway does.
		if m, err = e.Load(ctx, digest, func(context.Context) ([]byte, error) { return wasm, nil }); err == nil {
			err = e.trial(ctx, m, lim)
		}
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}
