// Package testguests builds WebAssembly guest modules for tests: the small
// purpose-made guests under testdata/, each exercising one behaviour of the
// host (state that must not survive an invocation, a handler that never
// returns, a trap, an ungranted import, ...), and the example functions
// under examples/.
//
// Modules are compiled from source by the go command when a test first asks
// for them and are cached for the rest of the test process; no binary is
// committed. The go command's build cache is shared with ordinary builds, so
// only the first build on a machine is slow, a few seconds per guest. With
// go test -short, a test that asks for a module is skipped.
package testguests

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/jsbuild"
	"github.com/pave-dev/pave/internal/manifest"
)

// guests are the guests under testdata/, sorted. A guest whose name starts
// with "cmd-" is a WASI command module; one whose name starts with "js-" is
// a JavaScript function (runtime: js in its pave.yaml), built by package
// jsbuild; the others are Go reactors.
var guests = []string{
	"abuse",        // speaks pave_v1 by hand to attack the host functions
	"alloc",        // allocates 1 MiB after 1 MiB until memory runs out
	"capabilities", // uses sdk/secrets and sdk/kv as the request asks
	"cmd-sleep",    // WASI command: sleeps as many milliseconds as stdin says
	"cmd-upper",    // WASI command: stdin upper-cased to stdout; "fail" exits 3
	"counter",      // counts invocations: always count 1 on a fresh instance
	"fdclose",      // tries to close stderr so later invocations lose it
	"flow",         // invokes functions and publishes events as the request asks
	"gcpace",       // answers how many collections started during the call
	"initinput",    // answers with what its initialisation read on stdin
	"initloop",     // loops forever in its package initialisation
	"jobs",         // counts async calls, events and schedule ticks in kv
	"js-probe",     // JavaScript: state, exceptions, loops and logs, as the path asks
	"kvimport",     // imports pave_kv_v1.get, a capability never granted
	"logger",       // logs "hello NAME" for ?name=NAME
	"loop",         // spins forever without host calls
	"memscan",      // scans its whole memory for other invocations' secrets
	"mirror",       // answers with the path, parameters and query it received
	"noexport",     // a reactor that does not export handle
	"sandbox",      // reports args, environment, files, randomness and time
	"slow",         // sleeps ?ms= milliseconds, then answers "done"
	"trap",         // fails as ?mode= says: panic, nil, unreachable, exit, error
}

// Names returns the names of the guests Build knows, sorted.
func Names() []string {
	return slices.Clone(guests)
}

// Build returns the WebAssembly module of guest name, building it for
// wasip1 the first time it is asked for: as a reactor with
// -buildmode=c-shared, or as a plain WASI command if name starts with
// "cmd-". Build is safe for concurrent use; each guest is built once per
// process. It calls t.Fatal with the go command's output if the build
// fails. The caller owns the returned slice.
func Build(t testing.TB, name string) []byte {
	t.Helper()
	if strings.HasPrefix(name, "js-") {
		return buildJS(t, guestPackage(t, name))
	}
	return build(t, guestPackage(t, name), !strings.HasPrefix(name, "cmd-"))
}

// Dir returns the absolute path of the directory of guest name, which
// holds its source and a pave.yaml deploying it under the owner
// "testguests".
func Dir(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(root(t), filepath.FromSlash(guestPackage(t, name)))
}

// Example returns the WebAssembly module of the example function name,
// examples/<name>, building it as Build builds a reactor guest, or a
// JavaScript guest when its pave.yaml says runtime: js.
func Example(t testing.TB, name string) []byte {
	t.Helper()
	pkg := examplePackage(t, name)
	if isJS(root(t), pkg) {
		return buildJS(t, pkg)
	}
	return build(t, pkg, true)
}

// Reactor returns the module of the reactor whose source is in dir, a
// slash-separated directory of the module root that is neither a guest nor
// an example, such as the benchmark's internal/bench/testdata/grants,
// building it as Build builds a reactor guest.
func Reactor(t testing.TB, dir string) []byte {
	t.Helper()
	if !filepath.IsLocal(filepath.FromSlash(dir)) {
		t.Fatalf("testguests: %q is not a directory of the module root", dir)
	}
	return build(t, dir, true)
}

// ExampleDir returns the absolute path of the directory of the example
// function name, which holds its source and its pave.yaml.
func ExampleDir(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(root(t), filepath.FromSlash(examplePackage(t, name)))
}

// guestPackage returns the slash-separated directory of guest name,
// relative to the module root.
func guestPackage(t testing.TB, name string) string {
	t.Helper()
	if !slices.Contains(guests, name) {
		t.Fatalf("testguests: unknown guest %q; the guests are %s", name, strings.Join(guests, ", "))
	}
	return "internal/testguests/testdata/" + name
}

// examplePackage returns the slash-separated directory of the example
// function name, relative to the module root.
func examplePackage(t testing.TB, name string) string {
	t.Helper()
	pkg := "examples/" + name
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		t.Fatalf("testguests: invalid example name %q", name)
	}
	if _, err := os.Stat(filepath.Join(root(t), filepath.FromSlash(pkg), "pave.yaml")); err != nil {
		t.Fatalf("testguests: no example %q: %v", name, err)
	}
	return pkg
}

// isJS reports whether the function in directory pkg of the module root
// is a JavaScript function.
func isJS(root, pkg string) bool {
	m, err := manifest.ParseFile(filepath.Join(root, filepath.FromSlash(pkg), "pave.yaml"))
	return err == nil && m.Runtime == manifest.RuntimeJS
}

// buildJS returns the module of the JavaScript function in directory pkg,
// building it the first time it is asked for. The engine is built once
// per set of build tags.
func buildJS(t testing.TB, pkg string) []byte {
	t.Helper()
	if testing.Short() {
		t.Skip("compiles a guest; skipped with -short")
	}
	v, _ := modules.LoadOrStore(pkg, new(module))
	m := v.(*module)
	m.once.Do(func() { m.wasm, m.err = compileJS(pkg) })
	if m.err != nil {
		t.Fatal(m.err)
	}
	return slices.Clone(m.wasm)
}

func compileJS(pkg string) ([]byte, error) {
	dir, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	fnDir := filepath.Join(dir, filepath.FromSlash(pkg))
	man, err := manifest.ParseFile(filepath.Join(fnDir, "pave.yaml"))
	if err != nil {
		return nil, fmt.Errorf("testguests: %w", err)
	}
	bundle, err := jsbuild.Bundle(fnDir, man.Main)
	if err != nil {
		return nil, fmt.Errorf("testguests: bundling %s: %w", pkg, err)
	}
	tags := jsbuild.Tags(man)
	v, _ := engines.LoadOrStore(strings.Join(tags, ","), new(module))
	e := v.(*module)
	e.once.Do(func() {
		var out strings.Builder
		e.wasm, e.err = jsbuild.BuildEngine(context.Background(), dir, tags, &out)
		if e.err != nil {
			e.err = fmt.Errorf("testguests: %w\n%s", e.err, out.String())
		}
	})
	if e.err != nil {
		return nil, e.err
	}
	return jsbuild.Module(e.wasm, bundle), nil
}

// engines maps the comma-separated build tags of a JavaScript engine
// build to its *module.
var engines sync.Map

// A module is one package's build, shared by every test in the process.
type module struct {
	once sync.Once
	wasm []byte
	err  error
}

// modules maps a package directory relative to the module root to its
// *module.
var modules sync.Map

func build(t testing.TB, pkg string, reactor bool) []byte {
	t.Helper()
	if testing.Short() {
		// Compiling guests is most of the suite's time: the fast lane
		// (go test -short) leaves every test that needs one to CI.
		t.Skip("compiles a guest; skipped with -short")
	}
	v, _ := modules.LoadOrStore(pkg, new(module))
	m := v.(*module)
	m.once.Do(func() { m.wasm, m.err = compile(pkg, reactor) })
	if m.err != nil {
		t.Fatal(m.err)
	}
	return slices.Clone(m.wasm)
}

// compile builds the package in directory pkg of the module for wasip1 and
// returns the module's bytes.
func compile(pkg string, reactor bool) ([]byte, error) {
	dir, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("testguests: cannot build %s: %w", pkg, err)
	}
	tmp, err := os.MkdirTemp("", "pave-testguest-")
	if err != nil {
		return nil, fmt.Errorf("testguests: %w", err)
	}
	defer os.RemoveAll(tmp)

	out := filepath.Join(tmp, "module.wasm")
	args := []string{"build", "-trimpath", "-buildvcs=false", "-o", out}
	if reactor {
		args = append(args, "-buildmode=c-shared")
	}
	args = append(args, "./"+pkg)
	cmd := exec.Command(goCmd, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if output, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("testguests: %s: %v\n%s", strings.Join(cmd.Args, " "), err, output)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("testguests: %w", err)
	}
	return wasm, nil
}

func root(t testing.TB) string {
	t.Helper()
	dir, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// moduleRoot returns the directory of the main module: found from this
// file's path, or, when that was trimmed from the binary, by asking the go
// command, which go test runs inside the package's directory. (go test
// puts its own GOROOT/bin first on PATH, so "go" is the go command running
// the tests.)
var moduleRoot = sync.OnceValues(func() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		dir := filepath.Join(filepath.Dir(file), "..", "..")
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("testguests: locating the module: go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("testguests: locating the module: not inside a module")
	}
	return filepath.Dir(gomod), nil
})

// WithInit returns a copy of module with data appended as its
// abi.InitSection custom section, which the host gives the guest's
// initialisation on standard input.
func WithInit(module, data []byte) []byte {
	leb := func(b []byte, v int) []byte {
		for ; v >= 0x80; v >>= 7 {
			b = append(b, byte(v)|0x80)
		}
		return append(b, byte(v))
	}
	payload := append(leb(nil, len(abi.InitSection)), abi.InitSection...)
	payload = append(payload, data...)
	out := append(slices.Clone(module), 0) // custom section
	return append(leb(out, len(payload)), payload...)
}
