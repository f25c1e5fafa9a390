package wasmtest_test

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero"

	"github.com/pave-dev/pave/internal/wasmbin"
	"github.com/pave-dev/pave/internal/wasmbin/wasmtest"
)

// A module that exports answer, a function that returns 42, and a page of
// memory holding a greeting; wazero compiles and runs it.
func ExampleModule() {
	var m wasmtest.Module
	answer := m.Func(m.Type(wasmtest.FuncType(nil, wasmtest.I32)), wasmtest.I32Const(42))
	m.Export("answer", wasmtest.KindFunc, answer)
	m.Export("memory", wasmtest.KindMemory, m.Memory(1))
	m.Data(16, []byte("hello"))
	m.Custom("note", []byte("written by hand"))
	wasm := m.Bytes()

	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	mod, err := rt.Instantiate(ctx, wasm)
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := mod.ExportedFunction("answer").Call(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	greeting, _ := mod.Memory().Read(16, 5)
	fmt.Println(out[0], string(greeting))
	// Output: 42 hello
}

// The encoders write any shape, malformed ones included: here a module
// with one type, and the same module cut short, its section claiming a
// byte more than follows.
func ExampleSection() {
	b := wasmtest.Binary(wasmtest.Section(wasmbin.SectionType, wasmtest.Vec(wasmtest.FuncType(nil))))
	fmt.Printf("% x\n", b)
	fmt.Printf("% x\n", b[:len(b)-1])
	// Output:
	// 00 61 73 6d 01 00 00 00 01 04 01 60 00 00
	// 00 61 73 6d 01 00 00 00 01 04 01 60 00
}
