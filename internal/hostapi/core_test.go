package hostapi

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/wasmbin/wasmtest"
)

// rangeGuest imports request_read, result_read (both (i32, i32) -> i32)
// and log, and exports functions of the same names that pass their
// arguments on, with one page of memory.
var rangeGuest = func() []byte {
	var m wasmtest.Module
	read := m.Type(wasmtest.FuncType([]byte{wasmtest.I32, wasmtest.I32}, wasmtest.I32))
	logLine := m.Type(wasmtest.FuncType([]byte{wasmtest.I32, wasmtest.I32, wasmtest.I32}))
	fns := []struct {
		name string
		typ  uint32
		args byte
	}{{abi.FuncRequestRead, read, 2}, {abi.FuncResultRead, read, 2}, {abi.FuncLog, logLine, 3}}
	var imported []uint32
	for _, f := range fns {
		imported = append(imported, m.ImportFunc(abi.ImportModule, f.name, f.typ))
	}
	m.Memory(1)
	for i, f := range fns {
		var code []byte
		for a := range f.args {
			code = append(code, 0x20, a) // local.get a
		}
		code = append(code, 0x10, byte(imported[i])) // call
		m.Export(f.name, wasmtest.KindFunc, m.Func(f.typ, code))
	}
	return m.Bytes()
}()

// TestRangesMustBeInsideMemory calls the core functions with ranges that
// hold what the host writes or reads but run past the end of memory:
// docs/ABI.md says such a range is an error (-1, or a dropped log line),
// whatever part of it the host would touch.
func TestRangesMustBeInsideMemory(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	if err := InstantiateCore(ctx, rt); err != nil {
		t.Fatal(err)
	}
	g, err := rt.Instantiate(ctx, rangeGuest)
	if err != nil {
		t.Fatal(err)
	}
	const page = 65536
	for _, tc := range []struct {
		fn        string
		ptr, n    uint32
		want      int32
		wantLines int
	}{
		{"request_read", 0, page, 5, 0},
		{"request_read", 0, page + 1, -1, 0},
		{"request_read", 16, 0xFFFFFFFF, -1, 0},
		{"request_read", page - 5, 5, 5, 0},
		{"request_read", page - 4, 5, -1, 0},
		{"result_read", 0, page, 6, 0},
		{"result_read", 0, 0xFFFFFFFF, -1, 0},
		{"result_read", 0xFFFFFFFF, 6, -1, 0},
		{"log", 0, 10, 0, 1},
		{"log", 0, page, 0, 1},
		{"log", 0, 0xFFFFFFFF, 0, 0},
		{"log", page - 1, 2, 0, 0},
		{"log", 0xFFFFFFFF, 1, 0, 0},
	} {
		c := &Call{Request: []byte("hello")}
		c.setResult([]byte("result"))
		args := []uint64{uint64(tc.ptr), uint64(tc.n)}
		if tc.fn == "log" {
			args = append([]uint64{1}, args...)
		}
		out, err := g.ExportedFunction(tc.fn).Call(WithCall(ctx, c), args...)
		if err != nil {
			t.Fatalf("%s(%#x, %#x) trapped: %v", tc.fn, tc.ptr, tc.n, err)
		}
		if tc.fn != "log" && int32(out[0]) != tc.want {
			t.Errorf("%s(%#x, %#x) = %d, want %d", tc.fn, tc.ptr, tc.n, int32(out[0]), tc.want)
		}
		if len(c.Logs) != tc.wantLines {
			t.Errorf("%s(%#x, %#x) logged %d lines, want %d", tc.fn, tc.ptr, tc.n, len(c.Logs), tc.wantLines)
		}
	}
}
