// These tests run guests on wazero's interpreter, in one goroutine each:
// the race detector finds nothing in them and makes the interpreter many
// times slower, so this file is left out of race builds and make check
// runs it in a build without the detector (see the Makefile's test
// target).

//go:build !race

package testguests_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/testguests"
)

// The tests in this file run the guests under a minimal stand-in for the
// pave host, enough of the pave_v1 ABI to check that each guest, and the
// SDK inside it, behaves as documented.

// memoryLimitPages caps guest memory at 64 MiB.
const memoryLimitPages = 1024

// invocation is the host's side of one call of handle.
type invocation struct {
	request  []byte
	response []byte // as written by response_write
	logs     []string
}

type invocationKey struct{}

func invocationFrom(ctx context.Context) *invocation {
	return ctx.Value(invocationKey{}).(*invocation)
}

// host runs guests. One host serves all tests, so that each module is
// compiled once, by wazero's interpreter: these tests check what the guests
// and the SDK inside them do, which the interpreter runs as the compiler
// does, and compiling to machine code under the race detector takes
// seconds a module. The runtime and daemon tests run guests as machine code.
type host struct {
	rt      wazero.Runtime
	modules sync.Map // build key -> *compiled
}

type compiled struct {
	once sync.Once
	cm   wazero.CompiledModule
	err  error
}

var sharedHost = sync.OnceValues(newHost)

// hostFor returns the shared host.
func hostFor(t *testing.T) *host {
	t.Helper()
	h, err := sharedHost()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func newHost() (*host, error) {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(memoryLimitPages))
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return nil, err
	}
	_, err := rt.NewHostModuleBuilder(abi.ImportModule).
		NewFunctionBuilder().
		WithFunc(func(ctx context.Context) int32 {
			return int32(len(invocationFrom(ctx).request))
		}).
		Export(abi.FuncRequestSize).
		NewFunctionBuilder().
		WithFunc(func(ctx context.Context, m api.Module, ptr, size uint32) int32 {
			req := invocationFrom(ctx).request
			if size < uint32(len(req)) || !m.Memory().Write(ptr, req) {
				return -1
			}
			return int32(len(req))
		}).
		Export(abi.FuncRequestRead).
		NewFunctionBuilder().
		WithFunc(func(ctx context.Context, m api.Module, ptr, size uint32) int32 {
			inv := invocationFrom(ctx)
			b, ok := m.Memory().Read(ptr, size)
			if inv.response != nil || !ok || size > abi.MaxResponseSize {
				return -1
			}
			if _, err := abi.DecodeResponse(b); err != nil {
				return -1
			}
			inv.response = bytes.Clone(b)
			return 0
		}).
		Export(abi.FuncResponseWrite).
		NewFunctionBuilder().
		WithFunc(func(ctx context.Context, m api.Module, level, ptr, size uint32) {
			b, _ := m.Memory().Read(ptr, size)
			inv := invocationFrom(ctx)
			inv.logs = append(inv.logs, fmt.Sprintf("%d %s", level, b))
		}).
		Export(abi.FuncLog).
		Instantiate(ctx)
	if err != nil {
		return nil, err
	}
	return &host{rt: rt}, nil
}

// guest returns the compiled module of guest name.
func (h *host) guest(t *testing.T, name string) wazero.CompiledModule {
	t.Helper()
	return h.compile(t, name, func() []byte { return testguests.Build(t, name) })
}

// example returns the compiled module of example function name.
func (h *host) example(t *testing.T, name string) wazero.CompiledModule {
	t.Helper()
	return h.compile(t, "examples/"+name, func() []byte { return testguests.Example(t, name) })
}

func (h *host) compile(t *testing.T, key string, build func() []byte) wazero.CompiledModule {
	t.Helper()
	wasm := build() // outside once: a failed build must fail this test too
	v, _ := h.modules.LoadOrStore(key, new(compiled))
	c := v.(*compiled)
	c.once.Do(func() { c.cm, c.err = h.rt.CompileModule(context.Background(), wasm) })
	if c.err != nil {
		t.Fatal(c.err)
	}
	return c.cm
}

// sandbox is the module configuration of the pave sandbox: no arguments,
// environment or files; real clocks and randomness.
func sandbox() wazero.ModuleConfig {
	return wazero.NewModuleConfig().
		WithName("").
		WithSysWalltime().
		WithSysNanotime().
		WithSysNanosleep().
		WithRandSource(rand.Reader)
}

// instantiate instantiates a reactor and runs its initializer.
func (h *host) instantiate(t *testing.T, cm wazero.CompiledModule) (api.Module, error) {
	t.Helper()
	ctx := context.Background()
	mod, err := h.rt.InstantiateModule(ctx, cm, sandbox().WithStartFunctions(abi.ExportInitialize))
	if err == nil {
		t.Cleanup(func() { mod.Close(ctx) })
	}
	return mod, err
}

// result is the outcome of one call of handle.
type result struct {
	code     int32 // what handle returned, if it returned
	err      error // why the call ended abnormally, if it did
	response *abi.Response
	logs     []string // "level text"
}

func (r *result) String() string {
	return fmt.Sprintf("code %d, err %v, response %+v, logs %q", r.code, r.err, r.response, r.logs)
}

// logged reports whether some log line contains s.
func (r *result) logged(s string) bool {
	for _, l := range r.logs {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// handle calls handle on mod with req, giving up after timeout.
func handle(t *testing.T, mod api.Module, req *abi.Request, timeout time.Duration) *result {
	t.Helper()
	if req.Method == "" {
		req.Method = "GET"
	}
	inv := &invocation{request: abi.AppendRequest(nil, req)}
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), invocationKey{}, inv), timeout)
	defer cancel()
	fn := mod.ExportedFunction(abi.ExportHandle)
	if fn == nil {
		t.Fatal("the module does not export handle")
	}
	res, err := fn.Call(ctx)
	r := &result{err: err, logs: inv.logs}
	if err == nil {
		r.code = int32(res[0])
	}
	if inv.response != nil {
		r.response, err = abi.DecodeResponse(inv.response)
		if err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// invoke runs one invocation on a fresh instance of cm.
func (h *host) invoke(t *testing.T, cm wazero.CompiledModule, req *abi.Request) *result {
	t.Helper()
	mod, err := h.instantiate(t, cm)
	if err != nil {
		t.Fatal(err)
	}
	return handle(t, mod, req, 10*time.Second)
}

// ok checks that r is a successful invocation answering status and returns
// the response body.
func ok(t *testing.T, r *result, status int) []byte {
	t.Helper()
	if r.err != nil || r.code != 0 || r.response == nil {
		t.Fatalf("invocation failed: %v", r)
	}
	if r.response.Status != status {
		t.Fatalf("status %d, want %d: %v", r.response.Status, status, r)
	}
	return r.response.Body
}

func TestCounterStartsClean(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	h := hostFor(t)
	wasm := h.guest(t, "counter")
	type reply struct {
		Count          int    `json:"count"`
		BufferLen      int    `json:"buffer_len"`
		PreviousSecret string `json:"previous_secret"`
		Secret         string `json:"secret"`
	}
	decode := func(t *testing.T, r *result) reply {
		t.Helper()
		var rep reply
		if err := json.Unmarshal(ok(t, r, 200), &rep); err != nil {
			t.Fatal(err)
		}
		return rep
	}

	for _, s := range []string{"alice", "bob"} {
		got := decode(t, h.invoke(t, wasm, &abi.Request{RawQuery: "secret=" + s}))
		if want := (reply{1, 1024, "", s}); got != want {
			t.Errorf("fresh instance: %+v, want %+v", got, want)
		}
	}

	// The guest does keep state within one instance, which is why the host
	// must never reuse one.
	mod, err := h.instantiate(t, wasm)
	if err != nil {
		t.Fatal(err)
	}
	decode(t, handle(t, mod, &abi.Request{RawQuery: "secret=alice"}, 10*time.Second))
	got := decode(t, handle(t, mod, &abi.Request{RawQuery: "secret=bob"}, 10*time.Second))
	if want := (reply{2, 2048, "alice", "bob"}); got != want {
		t.Errorf("reused instance: %+v, want %+v", got, want)
	}
}

func TestTrap(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	h := hostFor(t)
	wasm := h.guest(t, "trap")

	tests := []struct {
		mode string
		err  string // a substring of the call's error, or "" if handle returns
		log  string // a substring of an error-level log line, if handle returns
	}{
		{mode: "panic", log: "3 pave: handler panicked at "},
		{mode: "nil", log: "invalid memory address or nil pointer dereference"},
		{mode: "unreachable", err: "wasm error: unreachable"},
		{mode: "exit", err: "exit_code(7)"},
		{mode: "error", log: "3 pave: handler failed: trap: deliberate error"},
		{mode: "", log: `3 pave: handler failed: trap: unknown mode ""`},
	}
	for _, tt := range tests {
		r := h.invoke(t, wasm, &abi.Request{RawQuery: "mode=" + tt.mode})
		if r.response != nil {
			t.Errorf("mode %q wrote a response: %v", tt.mode, r)
		}
		switch {
		case tt.err != "":
			if r.err == nil || !strings.Contains(r.err.Error(), tt.err) {
				t.Errorf("mode %q: %v, want the call to fail with %q", tt.mode, r, tt.err)
			}
		case r.err != nil || r.code == 0 || !r.logged(tt.log):
			t.Errorf("mode %q: %v, want a non-zero code and a log line with %q", tt.mode, r, tt.log)
		}
	}
}

func TestSlow(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	h := hostFor(t)
	wasm := h.guest(t, "slow")

	start := time.Now()
	if body := ok(t, h.invoke(t, wasm, &abi.Request{RawQuery: "ms=150"}), 200); string(body) != "done\n" {
		t.Errorf("body %q, want %q", body, "done\n")
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("returned after %v, want at least 150ms", d)
	}
	ok(t, h.invoke(t, wasm, &abi.Request{RawQuery: "ms=soon"}), 400)
}

func TestLoopRunsUntilTheDeadline(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	h := hostFor(t)
	mod, err := h.instantiate(t, h.guest(t, "loop"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := handle(t, mod, &abi.Request{}, 200*time.Millisecond)
	var exit *sys.ExitError
	if !errors.As(r.err, &exit) || exit.ExitCode() != sys.ExitCodeDeadlineExceeded {
		t.Fatalf("%v, want the deadline to stop the call", r)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stopping the loop took %v", d)
	}
}

func TestAllocRunsOutOfMemory(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	h := hostFor(t)
	r := h.invoke(t, h.guest(t, "alloc"), &abi.Request{})
	if r.err == nil {
		t.Fatalf("%v, want the call to fail", r)
	}
}

func TestSandbox(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	h := hostFor(t)
	wasm := h.guest(t, "sandbox")
	var reports [2]struct {
		Args        []string  `json:"args"`
		Env         []string  `json:"env"`
		ReadFileErr string    `json:"read_file_err"`
		ReadDirErr  string    `json:"read_dir_err"`
		Random      string    `json:"random"`
		RandomErr   string    `json:"random_err"`
		Time        time.Time `json:"time"`
	}
	for i := range reports {
		body := ok(t, h.invoke(t, wasm, &abi.Request{}), 200)
		if err := json.Unmarshal(body, &reports[i]); err != nil {
			t.Fatal(err)
		}
	}
	rep := reports[0]
	if len(rep.Args) != 0 || len(rep.Env) != 0 {
		t.Errorf("args %q, env %q; want none", rep.Args, rep.Env)
	}
	if rep.ReadFileErr == "" || rep.ReadDirErr == "" {
		t.Errorf("file system reachable: ReadFile error %q, ReadDir error %q", rep.ReadFileErr, rep.ReadDirErr)
	}
	if b, err := hex.DecodeString(rep.Random); err != nil || len(b) != 16 || rep.RandomErr != "" {
		t.Errorf("random %q (error %q), want 16 bytes in hex", rep.Random, rep.RandomErr)
	}
	if rep.Random == reports[1].Random {
		t.Errorf("two invocations got the same random bytes %s", rep.Random)
	}
	if d := time.Since(rep.Time); d < 0 || d > time.Minute {
		t.Errorf("guest time %v is %v from the host's", rep.Time, d)
	}
}

func TestExamples(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	h := hostFor(t)

	hello := h.example(t, "hello")
	if body := ok(t, h.invoke(t, hello, &abi.Request{Path: "/hello", RawQuery: "name=Ada"}), 200); string(body) != "Hello, Ada!\n" {
		t.Errorf("hello: body %q", body)
	}

	echo := h.example(t, "echo")
	req := &abi.Request{Method: "POST", Path: "/echo", Body: []byte(`{"a": [1, 2]}`), Caller: "admin", RequestID: "r-1"}
	want := `{"received":{"a":[1,2]},"method":"POST","path":"/echo","request_id":"r-1","caller":"admin"}` + "\n"
	if body := ok(t, h.invoke(t, echo, req), 200); string(body) != want {
		t.Errorf("echo: body %s, want %s", body, want)
	}
	req.Body = []byte("not json")
	ok(t, h.invoke(t, echo, req), 400)
}

func TestUnusableReactors(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	h := hostFor(t)

	mod, err := h.instantiate(t, h.guest(t, "noexport"))
	if err != nil {
		t.Fatal(err)
	}
	if mod.ExportedFunction(abi.ExportHandle) != nil {
		t.Error("noexport exports handle")
	}

	_, err = h.instantiate(t, h.guest(t, "kvimport"))
	if err == nil || !strings.Contains(err.Error(), abi.ImportModuleKV) {
		t.Errorf("instantiating kvimport without %s: %v, want an error naming it", abi.ImportModuleKV, err)
	}
}

func TestCommand(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	h := hostFor(t)
	ctx := context.Background()
	cm := h.guest(t, "cmd-upper")
	run := func(stdin string) (stdout, stderr string, code uint32) {
		var out, errOut bytes.Buffer
		cfg := sandbox().WithStdin(strings.NewReader(stdin)).WithStdout(&out).WithStderr(&errOut)
		_, err := h.rt.InstantiateModule(ctx, cm, cfg)
		var exit *sys.ExitError
		switch {
		case errors.As(err, &exit):
			code = exit.ExitCode()
		case err != nil:
			t.Fatal(err)
		}
		return out.String(), errOut.String(), code
	}

	if out, _, code := run("hello, wasi\n"); out != "HELLO, WASI\n" || code != 0 {
		t.Errorf("stdout %q, exit code %d; want %q, 0", out, code, "HELLO, WASI\n")
	}
	if out, errOut, code := run("fail"); out != "" || errOut == "" || code != 3 {
		t.Errorf("fail: stdout %q, stderr %q, exit code %d; want no output, an error and 3", out, errOut, code)
	}
}
