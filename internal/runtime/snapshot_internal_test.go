package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/hostapi"
	"github.com/pave-dev/pave/internal/testguests"
)

// sharedArtefacts lets the engines of these tests share snapshots, so that
// each guest is initialised once per test run (slow under -race, where the
// interpreter that initialises it is instrumented), not once per test.
var sharedArtefacts = &memArtefacts{data: map[string][]byte{}}

// testEngine returns an engine on the shared snapshot store and compilation
// cache, closed when the test ends, whose modules serve as machine code
// from the start (TestInterpreterServesUntilMachineCode tests the
// interpreter's turn).
func testEngine(t *testing.T, cfg Config) *Engine {
	t.Helper()
	cfg.Artefacts, cfg.CacheDir, cfg.CompileBeforeServing = sharedArtefacts, TestCacheDir, true
	e, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return e
}

func secret(t *testing.T) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

type scanReport struct {
	Leaked   []string `json:"leaked"`
	Previous string   `json:"previous"`
}

// call runs the memscan guest on instance in without restoring afterwards.
func scanOnce(t *testing.T, in *instance, s string) scanReport {
	t.Helper()
	call := &hostapi.Call{Request: abi.AppendRequest(nil, &abi.Request{Method: "GET", RawQuery: "s=" + s})}
	in.stdio.call = call
	out, err := in.handle.Call(hostapi.WithCall(context.Background(), call))
	if err != nil {
		t.Fatal(err)
	}
	res := &Result{}
	if err := handleResult(out, call, res); err != nil {
		t.Fatal(err)
	}
	var rep scanReport
	if err := json.Unmarshal(res.Response.Body, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestScannerSeesLeaksWithoutRestore is the control for the hammer tests:
// on an instance that is NOT restored between calls, the memscan guest must
// find the previous invocation's secret. If it did not, the hammer tests
// could pass without proving anything.
func TestScannerSeesLeaksWithoutRestore(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t, Config{})
	m, err := e.Prepare(ctx, "test:memscan", testguests.Build(t, "memscan"), nil, Limits{Timeout: 5 * time.Second, Memory: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if m.snap == nil {
		t.Fatalf("memscan runs fresh: %s", m.FallbackReason)
	}
	p := m.snap.pool(64 << 20)
	in, err := p.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first, second := secret(t), secret(t)
	if rep := scanOnce(t, in, first); len(rep.Leaked) != 0 || rep.Previous != "" {
		t.Fatalf("a fresh instance already holds secrets: %+v", rep)
	}
	rep := scanOnce(t, in, second)
	if rep.Previous != first || len(rep.Leaked) == 0 || rep.Leaked[0] != first {
		t.Fatalf("without a restore the scanner must see the first secret, got %+v", rep)
	}
	// The guest retained enough to grow its memory, so the instance cannot
	// be restored exactly and must be refused.
	if len(in.mem.buf) == len(m.snap.image) {
		t.Fatal("memscan was expected to grow its memory")
	}
	if _, ok := in.restore(m.snap); ok {
		t.Fatal("restore accepted an instance whose memory grew")
	}
}

// TestWASIDescriptorStateDoesNotSurvive attacks state that lives on the
// host side of an instance, out of a memory restore's reach: a guest closes
// stderr, and the next invocation on the same (restored) instance must
// still have it.
func TestWASIDescriptorStateDoesNotSurvive(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t, Config{})
	lim := Limits{Timeout: 5 * time.Second, Memory: 64 << 20}
	m, err := e.Prepare(ctx, "test:fdclose", testguests.Build(t, "fdclose"), nil, lim)
	if err != nil || m.snap == nil {
		t.Fatalf("prepare: %v %+v", err, m)
	}
	call := func(q string) map[string]string {
		res, err := e.Invoke(ctx, m, lim, &abi.Request{Method: "GET", RawQuery: q})
		if err != nil {
			t.Fatal(err)
		}
		var rep map[string]string
		if err := json.Unmarshal(res.Response.Body, &rep); err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if rep := call("close=1"); rep["close_error"] == "" {
		t.Errorf("closing stderr was allowed: %v", rep)
	}
	before := m.PoolStats().Reused
	for i := 0; i < 3; i++ {
		if rep := call(""); rep["stderr_write_error"] != "" {
			t.Fatalf("stderr lost after another invocation closed it: %v", rep)
		}
	}
	if m.PoolStats().Reused == before {
		t.Fatal("the instance was not reused, so the test proved nothing")
	}
}

// TestPoolMemoryIsBounded checks the daemon-wide ceiling on idle instance
// memory, the sweep of idle instances, and eviction.
func TestPoolMemoryIsBounded(t *testing.T) {
	ctx := context.Background()
	wasm := testguests.Build(t, "slow")
	probe := testEngine(t, Config{})
	m, err := probe.Load(ctx, "test:slow", func(context.Context) ([]byte, error) { return wasm, nil })
	if err != nil || m.snap == nil {
		t.Fatalf("%v %+v", err, m)
	}
	image := int64(len(m.snap.image))

	// Room for two idle instances, whatever the pools want.
	e := testEngine(t, Config{PoolMemory: 2*image + image/2})
	lim := Limits{Timeout: 5 * time.Second, Memory: 64 << 20, Concurrency: 8}
	m, err = e.Load(ctx, "test:slow", func(context.Context) ([]byte, error) { return wasm, nil })
	if err != nil {
		t.Fatal(err)
	}
	// Eight invocations at once need eight instances; afterwards at most
	// two stay.
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			_, err := e.Invoke(ctx, m, lim, &abi.Request{Method: "GET", RawQuery: "ms=300"})
			errs <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := e.IdleMemory(); got > 2*image || got == 0 {
		t.Fatalf("idle memory %d bytes, want 1 to 2 images of %d", got, image)
	}
	if st := m.PoolStats(); st.Created < 2 {
		t.Fatalf("the invocations did not run concurrently: %+v", st)
	}
	e.Sweep(ctx, 0)
	if got := e.IdleMemory(); got != 0 {
		t.Fatalf("idle memory after a sweep: %d", got)
	}
	// An evicted module is gone, and loads again on demand.
	e.Retain(ctx, func(string) bool { return false })
	if e.loaded("test:slow") {
		t.Fatal("Retain kept a module it was told to drop")
	}
	if _, err := e.Load(ctx, "test:slow", func(context.Context) ([]byte, error) { return wasm, nil }); err != nil {
		t.Fatalf("reload after eviction: %v", err)
	}
}

// TestUnloadScalesToZero: a module with no recent invocation is unloaded,
// one in use is kept, and an unloaded module loads again on demand.
func TestUnloadScalesToZero(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t, Config{})
	wasm := testguests.Build(t, "counter")
	fetch := func(context.Context) ([]byte, error) { return wasm, nil }
	lim := Limits{Timeout: 5 * time.Second, Memory: 64 << 20}
	m, err := e.Load(ctx, "test:counter", fetch)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Invoke(ctx, m, lim, &abi.Request{Method: "GET"}); err != nil {
		t.Fatal(err)
	}
	e.Unload(ctx, time.Hour) // used just now: kept
	if !e.loaded("test:counter") {
		t.Fatal("a recently used module was unloaded")
	}
	e.Unload(ctx, 0)
	if e.loaded("test:counter") || e.IdleMemory() != 0 {
		t.Fatalf("an idle module stayed loaded (idle instance memory %d)", e.IdleMemory())
	}
	m, err = e.Load(ctx, "test:counter", fetch)
	if err != nil {
		t.Fatalf("an unloaded module did not load again: %v", err)
	}
	if _, err := e.Invoke(ctx, m, lim, &abi.Request{Method: "GET"}); err != nil {
		t.Fatal(err)
	}
}

// TestMaxLoadedUnloadsTheLeastRecentlyInvoked loads one module more than the
// engine keeps: the one invoked least recently is unloaded, refuses an
// invocation that had not started with ErrUnloaded before any guest code
// runs, and loads again on demand.
func TestMaxLoadedUnloadsTheLeastRecentlyInvoked(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t, Config{MaxLoaded: 2})
	lim := Limits{Timeout: 5 * time.Second, Memory: 64 << 20}
	load := func(name string) *Module {
		t.Helper()
		wasm := testguests.Build(t, name)
		m, err := e.Load(ctx, "test:"+name, func(context.Context) ([]byte, error) { return wasm, nil })
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	invoke := func(m *Module) error {
		_, err := e.Invoke(ctx, m, lim, &abi.Request{Method: "GET", RawQuery: "ms=1"})
		return err
	}
	counter := load("counter")
	slow := load("slow")
	if e.Full() != true || e.Loaded() != 2 {
		t.Fatalf("two modules of two: full %v, loaded %d", e.Full(), e.Loaded())
	}
	if err := invoke(counter); err != nil { // now slow is the least recent
		t.Fatal(err)
	}
	sandbox := load("sandbox")
	if e.Loaded() != 2 || e.loaded("test:slow") || !e.loaded("test:counter") || !e.loaded("test:sandbox") {
		t.Fatalf("after a third load: %d loaded; slow %v, counter %v, sandbox %v; want slow unloaded",
			e.Loaded(), e.loaded("test:slow"), e.loaded("test:counter"), e.loaded("test:sandbox"))
	}
	before := slow.snap.created.Load() + slow.snap.reused.Load()
	if err := invoke(slow); !errors.Is(err, ErrUnloaded) {
		t.Fatalf("invoking an unloaded module: %v, want ErrUnloaded", err)
	}
	if after := slow.snap.created.Load() + slow.snap.reused.Load(); after != before {
		t.Fatalf("the refused invocation took an instance (%d, then %d)", before, after)
	}
	// A deploy's trial run of it says the same, not that the module is
	// invalid, so that Prepare loads it again.
	if err := e.trial(ctx, slow, lim); !errors.Is(err, ErrUnloaded) {
		t.Fatalf("trial of an unloaded module: %v, want ErrUnloaded", err)
	}
	for _, m := range []*Module{counter, sandbox} {
		if err := invoke(m); err != nil {
			t.Fatalf("%s, still loaded: %v", m.Digest, err)
		}
	}
	if err := invoke(load("slow")); err != nil {
		t.Fatalf("slow, loaded again: %v", err)
	}
	if e.Loaded() != 2 || e.loaded("test:counter") {
		t.Fatalf("loading slow again must unload counter, invoked before sandbox: counter loaded %v", e.loaded("test:counter"))
	}
}
