package daemon_test

import (
	"github.com/pave-dev/pave/abi"
)

// A hand assembler for the hostile modules the tests write as raw bytes:
// shapes no compiler emits, kept small enough to read.

// wasmSection is one section of a raw module.
type wasmSection struct {
	id   byte
	body []byte
}

// rawModule assembles a module from sections.
func rawModule(sections ...wasmSection) []byte {
	out := []byte("\x00asm\x01\x00\x00\x00")
	for _, s := range sections {
		out = append(out, s.id)
		out = uleb(out, uint64(len(s.body)))
		out = append(out, s.body...)
	}
	return out
}

func uleb(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func sleb(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func wasmName(b []byte, s string) []byte { return append(uleb(b, uint64(len(s))), s...) }

// wasmVec is a vector of already encoded items.
func wasmVec(items ...[]byte) []byte {
	out := uleb(nil, uint64(len(items)))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

// wasmCode is the code section entry of a function without locals.
func wasmCode(instrs ...byte) []byte {
	body := append([]byte{0x00}, instrs...)
	body = append(body, 0x0b)
	return append(uleb(nil, uint64(len(body))), body...)
}

// i32Const is the instruction i32.const v.
func i32Const(v int32) []byte { return sleb([]byte{0x41}, int64(v)) }

// concat joins instruction sequences.
func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// reactorModule is a pave_v1 reactor whose handle runs body and then
// answers 200 "ok". It imports pave_v1.response_write (function 0), its
// handle is function 1 and a start function running start, when given, is
// function 2. table, when given, is the body of its table section.
func reactorModule(body, start []byte, table []byte) []byte {
	resp := abi.AppendResponse(nil, &abi.Response{Status: 200, Body: []byte("ok")})
	types := wasmVec(
		[]byte{0x60, 0x00, 0x01, 0x7f},             // () -> i32
		[]byte{0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f}, // (i32, i32) -> i32
		[]byte{0x60, 0x00, 0x00},                   // () -> ()
	)
	imports := wasmVec(append(wasmName(wasmName(nil, abi.ImportModule), abi.FuncResponseWrite), 0x00, 0x01))
	funcs := [][]byte{{0x00}}
	handle := wasmCode(concat(body, i32Const(0), i32Const(int32(len(resp))), []byte{0x10, 0x00, 0x1a}, i32Const(0))...)
	codes := [][]byte{handle}
	if start != nil {
		funcs = append(funcs, []byte{0x02})
		codes = append(codes, wasmCode(start...))
	}
	sections := []wasmSection{
		{1, types},
		{2, imports},
		{3, wasmVec(funcs...)},
	}
	if table != nil {
		sections = append(sections, wasmSection{4, table})
	}
	sections = append(sections,
		wasmSection{5, wasmVec([]byte{0x00, 0x01})}, // memory, 1 page
		wasmSection{7, wasmVec(append(wasmName(nil, "handle"), 0x00, 0x01), append(wasmName(nil, "memory"), 0x02, 0x00))},
	)
	if start != nil {
		sections = append(sections, wasmSection{8, []byte{0x02}})
	}
	sections = append(sections,
		wasmSection{10, wasmVec(codes...)},
		wasmSection{11, wasmVec(concat([]byte{0x00}, i32Const(0), []byte{0x0b}, uleb(nil, uint64(len(resp))), resp))},
	)
	return rawModule(sections...)
}

// commandImporting is a WASI command that imports module.name with the
// function type typ (0x60, params, results) and never calls it.
func commandImporting(module, name string, typ []byte) []byte {
	return rawModule(
		wasmSection{1, wasmVec(typ, []byte{0x60, 0x00, 0x00})},
		wasmSection{2, wasmVec(append(wasmName(wasmName(nil, module), name), 0x00, 0x00))},
		wasmSection{3, wasmVec([]byte{0x01})},
		wasmSection{5, wasmVec([]byte{0x00, 0x01})},
		wasmSection{7, wasmVec(append(wasmName(nil, "_start"), 0x00, 0x01))},
		wasmSection{10, wasmVec(wasmCode())},
	)
}
