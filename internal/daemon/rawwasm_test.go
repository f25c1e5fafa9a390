package daemon_test

import (
	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/wasmbin/wasmtest"
)

// reactorModule is a pave_v1 reactor whose handle runs body and then
// answers 200 "ok": a hostile module written as raw bytes, in a shape no
// compiler emits. It imports pave_v1.response_write (function 0), its
// handle is function 1 and a start function running start, when given, is
// function 2. It has the given tables (each a table type, written as
// given).
func reactorModule(body, start []byte, tables ...[]byte) []byte {
	resp := abi.AppendResponse(nil, &abi.Response{Status: 200, Body: []byte("ok")})
	var m wasmtest.Module
	answer := m.Type(wasmtest.FuncType(nil, wasmtest.I32))
	write := m.ImportFunc(abi.ImportModule, abi.FuncResponseWrite, m.Type(wasmtest.FuncType([]byte{wasmtest.I32, wasmtest.I32}, wasmtest.I32)))
	void := m.Type(wasmtest.FuncType(nil))
	handle := m.Func(answer, body, wasmtest.I32Const(0), wasmtest.I32Const(int32(len(resp))), []byte{0x10, byte(write), 0x1a}, wasmtest.I32Const(0))
	if start != nil {
		m.Start(m.Func(void, start))
	}
	for _, t := range tables {
		m.Table(t)
	}
	m.Export("handle", wasmtest.KindFunc, handle)
	m.Export("memory", wasmtest.KindMemory, m.Memory(1))
	m.Data(0, resp)
	return m.Bytes()
}
