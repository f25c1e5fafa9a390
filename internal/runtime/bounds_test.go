package runtime_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/runtime"
	"github.com/pave-dev/pave/internal/wasmbin/wasmtest"
)

// command is a WASI command without imports whose _start declares locals
// i32 locals and runs body, with the given tables (each a table type,
// written as given).
func command(locals uint32, body []byte, tables ...[]byte) []byte {
	var m wasmtest.Module
	var decl []wasmtest.Local
	if locals > 0 {
		decl = []wasmtest.Local{{N: locals, Type: wasmtest.I32}}
	}
	start := m.FuncLocals(m.Type(wasmtest.FuncType(nil)), decl, body)
	for _, t := range tables {
		m.Table(t)
	}
	m.Memory(1)
	m.Export("_start", wasmtest.KindFunc, start)
	return m.Bytes()
}

// TestPrepareRefusesWhatTheHostWouldAllocate deploys modules that declare
// more than the host allocates for a module: each is refused with a
// message naming the bound, before wazero decodes it.
func TestPrepareRefusesWhatTheHostWouldAllocate(t *testing.T) {
	ctx := context.Background()
	var importsTable wasmtest.Module
	importsTable.ImportTable("env", "t", []byte{wasmtest.FuncRef, 0x00, 0x00}) // min 0, no maximum
	for _, tc := range []struct {
		name string
		wasm []byte
		want string
	}{
		{"a table of 2 Mi elements", command(0, nil, wasmtest.Cat([]byte{0x70, 0x00}, wasmtest.ULEB(1<<21))), "tables of 2097152 elements"},
		{"an imported table", importsTable.Bytes(), "imports a table"},
		{"60000 locals", command(60000, nil), "more than 50000 locals"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := engine.Prepare(ctx, "test:bounds-"+tc.name, tc.wasm, nil, limits)
			var bad *runtime.InvalidModuleError
			if !errors.As(err, &bad) || !strings.Contains(bad.Reason, tc.want) {
				t.Fatalf("Prepare = %v, want an invalid module naming %q", err, tc.want)
			}
		})
	}
}

// TestTableGrowStopsAtTheBound grows the table of a module that declared
// none of its own maximum: table.grow past the bound returns -1, as the
// spec says for a table at its maximum, and growing to it works.
func TestTableGrowStopsAtTheBound(t *testing.T) {
	ctx := context.Background()
	grow := func(n int32) []byte { // ref.null func; i32.const n; table.grow 0
		return wasmtest.Cat([]byte{0xd0, 0x70}, wasmtest.I32Const(n), []byte{0xfc, 0x0f, 0x00})
	}
	unlessMinus1 := []byte{0x41, 0x7f, 0x47, 0x04, 0x40, 0x00, 0x0b} // i32.const -1; i32.ne; if unreachable end
	unless0 := []byte{0x04, 0x40, 0x00, 0x0b}                        // if unreachable end
	// Grow 16 Mi: -1. Grow to the bound: the old size, 0. One more: -1.
	body := append(grow(1<<24), unlessMinus1...)
	body = append(append(body, grow(1<<20)...), unless0...)
	body = append(append(body, grow(1)...), unlessMinus1...)
	wasm := command(0, body, []byte{0x70, 0x00, 0x00})
	m, err := engine.Prepare(ctx, "test:table-grow", wasm, nil, limits)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Invoke(ctx, m, limits, &abi.Request{Method: "GET", Path: "/"}); err != nil {
		t.Fatalf("table.grow did not stop at the bound: %v", err)
	}
}

// TestBeforeSnapshotMustTakeAndReturnNothing deploys reactors whose
// before_snapshot export has another signature than () -> (): each is
// refused, before the host would call it.
func TestBeforeSnapshotMustTakeAndReturnNothing(t *testing.T) {
	ctx := context.Background()
	reactor := func(typ []byte, body []byte) []byte {
		var m wasmtest.Module
		handle := m.Func(m.Type(wasmtest.FuncType(nil, wasmtest.I32)), wasmtest.I32Const(0))
		init := m.Func(m.Type(wasmtest.FuncType(nil)))
		before := m.Func(m.Type(typ), body)
		m.Export("memory", wasmtest.KindMemory, m.Memory(1))
		m.Export("handle", wasmtest.KindFunc, handle)
		m.Export("_initialize", wasmtest.KindFunc, init)
		m.Export("before_snapshot", wasmtest.KindFunc, before)
		return m.Bytes()
	}
	for _, tc := range []struct {
		name string
		wasm []byte
	}{
		{"a result", reactor(wasmtest.FuncType(nil, wasmtest.I32), wasmtest.I32Const(1))},
		{"a parameter", reactor(wasmtest.FuncType([]byte{wasmtest.I32}), nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := engine.Prepare(ctx, "test:before-snapshot-"+tc.name, tc.wasm, nil, limits)
			var bad *runtime.InvalidModuleError
			if !errors.As(err, &bad) || !strings.Contains(bad.Reason, "before_snapshot") {
				t.Fatalf("Prepare = %v, want an invalid module naming before_snapshot", err)
			}
		})
	}
}
