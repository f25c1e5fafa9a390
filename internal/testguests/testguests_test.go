package testguests_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/testguests"
)

func skipIfShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping WebAssembly builds in short mode")
	}
}

func TestNamesMatchTestdata(t *testing.T) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	if names := testguests.Names(); !reflect.DeepEqual(names, dirs) {
		t.Errorf("Names() = %q, but testdata holds %q", names, dirs)
	}
}

func TestDirs(t *testing.T) {
	for _, name := range testguests.Names() {
		dir := testguests.Dir(t, name)
		if !filepath.IsAbs(dir) {
			t.Errorf("Dir(%q) = %q, want an absolute path", name, dir)
		}
		m, err := manifest.ParseFile(filepath.Join(dir, "pave.yaml"))
		if err != nil {
			t.Errorf("Dir(%q): %v", name, err)
			continue
		}
		// A Go guest's source is main.go, a JavaScript one's its main.
		entry := "main.go"
		if m.Runtime == manifest.RuntimeJS {
			entry = filepath.FromSlash(m.Main)
		}
		if _, err := os.Stat(filepath.Join(dir, entry)); err != nil {
			t.Errorf("Dir(%q): %v", name, err)
		}
	}
	for _, name := range []string{"hello", "echo"} {
		dir := testguests.ExampleDir(t, name)
		for _, file := range []string{"main.go", "pave.yaml"} {
			if _, err := os.Stat(filepath.Join(dir, file)); err != nil {
				t.Errorf("ExampleDir(%q): %v", name, err)
			}
		}
	}
}

// fatalTB records the first Fatal call and stops the test's function the
// way testing.T does, by unwinding.
type fatalTB struct {
	testing.TB
	msg string
}

type fatalStop struct{}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	panic(fatalStop{})
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(fatalStop{})
}

func fatalMessage(f func(testing.TB)) (msg string) {
	tb := new(fatalTB)
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(fatalStop); !ok {
				panic(v)
			}
			msg = tb.msg
		}
	}()
	f(tb)
	return ""
}

func TestUnknownNamesFail(t *testing.T) {
	calls := map[string]func(testing.TB){
		"Build":      func(tb testing.TB) { testguests.Build(tb, "no-such-guest") },
		"Dir":        func(tb testing.TB) { testguests.Dir(tb, "../testguests") },
		"Example":    func(tb testing.TB) { testguests.Example(tb, "no-such-example") },
		"ExampleDir": func(tb testing.TB) { testguests.ExampleDir(tb, "../examples/hello") },
	}
	for name, call := range calls {
		if msg := fatalMessage(call); msg == "" {
			t.Errorf("%s with an unknown name did not call Fatal", name)
		}
	}
}

// wasi is the import module of WASI preview 1.
const wasi = "wasi_snapshot_preview1"

// shape is what a module exports and imports.
type shape struct {
	exports []string // among handle, _initialize and _start
	imports []string // "module.name", other than WASI's
}

// sdkShape is the shape of a reactor built with the SDK.
var sdkShape = shape{
	exports: []string{abi.ExportInitialize, abi.ExportBeforeSnapshot, abi.ExportHandle},
	imports: []string{"pave_v1.log", "pave_v1.request_read", "pave_v1.request_size", "pave_v1.response_write"},
}

func TestModuleShapes(t *testing.T) {
	skipIfShort(t)
	want := map[string]shape{
		// abuse declares two of its imports twice, once taking raw
		// addresses, and exports handle itself, without the SDK's
		// before_snapshot.
		"abuse": {
			exports: []string{abi.ExportInitialize, abi.ExportHandle},
			imports: []string{"pave_v1.log", "pave_v1.request_read", "pave_v1.request_read", "pave_v1.request_size", "pave_v1.response_write", "pave_v1.response_write"},
		},
		"alloc": sdkShape,
		"capabilities": {
			exports: sdkShape.exports,
			imports: append([]string{"pave_http_v1.fetch", "pave_kv_v1.cas", "pave_kv_v1.delete", "pave_kv_v1.get", "pave_kv_v1.list", "pave_kv_v1.put",
				"pave_secrets_v1.get"}, append(slices.Clone(sdkShape.imports), "pave_v1.result_read")...),
		},
		"cmd-sleep": {exports: []string{abi.ExportStart}},
		"cmd-upper": {exports: []string{abi.ExportStart}},
		"counter":   sdkShape,
		"kvimport": {
			exports: sdkShape.exports,
			imports: append([]string{"pave_kv_v1.get"}, sdkShape.imports...),
		},
		"fdclose": sdkShape,
		"gcpace":  sdkShape,
		"flow": {
			exports: sdkShape.exports,
			imports: append([]string{"pave_invoke_v1.call", "pave_publish_v1.publish"}, append(slices.Clone(sdkShape.imports), "pave_v1.result_read")...),
		},
		"initloop": sdkShape,
		// initinput reads its init input on stdin, through WASI alone.
		"initinput": sdkShape,
		// js-probe is the JavaScript engine, built with every capability
		// group, as its manifest grants them all.
		"js-probe": {
			exports: sdkShape.exports,
			imports: append([]string{"pave_http_v1.fetch", "pave_invoke_v1.call", "pave_kv_v1.cas", "pave_kv_v1.delete", "pave_kv_v1.get", "pave_kv_v1.list", "pave_kv_v1.put",
				"pave_publish_v1.publish", "pave_secrets_v1.get"}, append(slices.Clone(sdkShape.imports), "pave_v1.result_read")...),
		},
		"jobs": {
			exports: sdkShape.exports,
			imports: append([]string{"pave_kv_v1.cas", "pave_kv_v1.get", "pave_kv_v1.put", "pave_publish_v1.publish"}, append(slices.Clone(sdkShape.imports), "pave_v1.result_read")...),
		},
		"logger":   sdkShape,
		"loop":     sdkShape,
		"memscan":  sdkShape,
		"mirror":   sdkShape,
		"noexport": {exports: []string{abi.ExportInitialize}},
		"sandbox":  sdkShape,
		"slow":     sdkShape,
		"trap":     sdkShape,
	}
	if len(want) != len(testguests.Names()) {
		t.Fatalf("the test covers %d guests, but there are %d", len(want), len(testguests.Names()))
	}
	// The shape is in the module's metadata, which wazero's interpreter
	// reads and validates without compiling to machine code: under the race
	// detector that compilation takes seconds a module, and the tests that
	// run guests compile only those they run.
	ctx := context.Background()
	interp := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	t.Cleanup(func() { interp.Close(ctx) })
	check := func(t *testing.T, wasm []byte, want shape) {
		cm, err := interp.CompileModule(ctx, wasm)
		if err != nil {
			t.Fatalf("not a valid module: %v", err)
		}
		if !bytes.HasPrefix(wasm, []byte("\x00asm\x01\x00\x00\x00")) {
			t.Fatalf("module starts with % x, want the WebAssembly 1.0 header", wasm[:min(8, len(wasm))])
		}
		var exports []string
		for name := range cm.ExportedFunctions() {
			if name == abi.ExportHandle || name == abi.ExportInitialize || name == abi.ExportBeforeSnapshot || name == abi.ExportStart {
				exports = append(exports, name)
			}
		}
		slices.Sort(exports)
		if !reflect.DeepEqual(exports, want.exports) {
			t.Errorf("exports %q, want %q", exports, want.exports)
		}
		if fn, ok := cm.ExportedFunctions()[abi.ExportHandle]; ok {
			if len(fn.ParamTypes()) != 0 || !reflect.DeepEqual(fn.ResultTypes(), []api.ValueType{api.ValueTypeI32}) {
				t.Errorf("handle has type %v -> %v, want () -> i32", fn.ParamTypes(), fn.ResultTypes())
			}
		}
		var imports []string
		for _, fn := range cm.ImportedFunctions() {
			if module, name, _ := fn.Import(); module != wasi {
				imports = append(imports, module+"."+name)
			}
		}
		slices.Sort(imports)
		if !reflect.DeepEqual(imports, want.imports) {
			t.Errorf("imports %q, want %q", imports, want.imports)
		}
	}

	for name, want := range want {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			check(t, testguests.Build(t, name), want)
		})
	}
	// The TypeScript examples are the JavaScript engine, built with the
	// groups notes-ts grants (kv, secrets, http) for notes-ts alone.
	notesTS := shape{exports: sdkShape.exports, imports: append([]string{"pave_http_v1.fetch", "pave_kv_v1.cas", "pave_kv_v1.delete", "pave_kv_v1.get", "pave_kv_v1.list", "pave_kv_v1.put",
		"pave_secrets_v1.get"}, append(slices.Clone(sdkShape.imports), "pave_v1.result_read")...)}
	examples := map[string]shape{"hello": sdkShape, "echo": sdkShape, "hello-ts": sdkShape, "echo-ts": sdkShape, "notes-ts": notesTS}
	for name, want := range examples {
		t.Run("example/"+name, func(t *testing.T) {
			t.Parallel()
			check(t, testguests.Example(t, name), want)
		})
	}
}

func TestBuildReturnsACopy(t *testing.T) {
	skipIfShort(t)
	a := testguests.Build(t, "counter")
	b := testguests.Build(t, "counter")
	if !bytes.Equal(a, b) {
		t.Fatal("two builds of counter differ")
	}
	a[0] = 'X'
	if c := testguests.Build(t, "counter"); c[0] != 0 {
		t.Fatal("modifying a result of Build changed the cached module")
	}
}
