package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/testguests"
	"github.com/pave-dev/pave/internal/wasmbin"
)

type memArtefacts struct {
	mu   sync.Mutex
	data map[string][]byte
	gets int
}

func (m *memArtefacts) Get(_ context.Context, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	b, ok := m.data[name]
	if !ok {
		return nil, errors.New("not found")
	}
	return b, nil
}

func (m *memArtefacts) Put(_ context.Context, name string, b []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data[name] = b
	return nil
}

func TestSnapshotArtefactsSurviveARestart(t *testing.T) {
	ctx := context.Background()
	store := &memArtefacts{data: map[string][]byte{}}
	wasm := testguests.Build(t, "counter")
	lim := Limits{Timeout: 5 * time.Second, Memory: 64 << 20}
	run := func(e *Engine) {
		t.Helper()
		m, err := e.Prepare(ctx, "sha256:c0ffee", wasm, nil, lim)
		if err != nil || m.snap == nil {
			t.Fatalf("prepare: %v %+v", err, m)
		}
		for i := 0; i < 3; i++ {
			res, err := e.Invoke(ctx, m, lim, &abi.Request{Method: "GET", RawQuery: "secret=s"})
			if err != nil {
				t.Fatal(err)
			}
			var got struct{ Count int }
			if json.Unmarshal(res.Response.Body, &got) != nil || got.Count != 1 {
				t.Fatalf("state leaked from an artefact-loaded snapshot: %s", res.Response.Body)
			}
		}
	}
	first, err := New(ctx, Config{Artefacts: store, CacheDir: TestCacheDir})
	if err != nil {
		t.Fatal(err)
	}
	run(first)
	first.Close(ctx)
	if len(store.data) != 1 {
		t.Fatalf("%d artefacts stored", len(store.data))
	}

	// A new engine (a restart) uses the artefact: its snapshot comes from
	// the store, not from initialising the module again.
	second, err := New(ctx, Config{Artefacts: store, CacheDir: TestCacheDir, InitTimeout: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close(ctx)
	run(second) // with a 1ns init deadline, only a stored snapshot can work

	// A damaged artefact is ignored, not trusted.
	for name, b := range store.data {
		store.data[name] = b[:len(b)/2]
	}
	if _, ok := second.loadArtefact(ctx, "sha256:c0ffee"); ok {
		t.Fatal("a damaged artefact was used")
	}
}

func TestDecodeArtefactRefusesAnotherModule(t *testing.T) {
	a := &artefact{digest: "sha256:aa", globals: []int{1}, values: []uint64{7}, image: make([]byte, 65536), module: []byte("m")}
	if _, err := decodeArtefact(a.encode(), "sha256:bb"); err == nil {
		t.Fatal("artefact of another module accepted")
	}
	got, err := decodeArtefact(a.encode(), "sha256:aa")
	if err != nil || got.values[0] != 7 || got.globals[0] != 1 || len(got.image) != 65536 || string(got.module) != "m" {
		t.Fatalf("round trip: %v %+v", err, got)
	}
}

func FuzzDecodeArtefact(f *testing.F) {
	f.Add((&artefact{digest: "d", globals: []int{0, 3}, values: []uint64{1, 2}, image: make([]byte, 65536), module: []byte{0, 'a', 's', 'm'}}).encode(), "d")
	f.Add([]byte("pave-snapshot\x00"), "d")
	f.Fuzz(func(t *testing.T, data []byte, digest string) {
		a, err := decodeArtefact(data, digest)
		if err != nil {
			return
		}
		if a.digest != digest || len(a.globals) != len(a.values) || len(a.image)%65536 != 0 {
			t.Fatalf("inconsistent artefact accepted: %+v", a)
		}
		again, err := decodeArtefact(a.encode(), digest)
		if err != nil || len(again.image) != len(a.image) || string(again.module) != string(a.module) {
			t.Fatalf("re-encoded artefact differs: %v", err)
		}
	})
}

// countingArtefacts counts the snapshots stored: one per initialisation.
type countingArtefacts struct {
	memArtefacts
	puts int
}

func (c *countingArtefacts) Put(ctx context.Context, name string, b []byte) error {
	c.mu.Lock()
	c.puts++
	c.mu.Unlock()
	return c.memArtefacts.Put(ctx, name, b)
}

func TestPreloadIsTheCompilationTheDeployUses(t *testing.T) {
	ctx := context.Background()
	lim := Limits{Timeout: 5 * time.Second, Memory: 64 << 20}
	counter := testguests.Build(t, "counter")
	fetchFails := func(context.Context) ([]byte, error) { return nil, errors.New("fetched again") }
	tests := []struct {
		name    string
		wasm    []byte
		granted func(string) bool
		refused string // what Prepare's error says; "" when it succeeds
	}{
		{"reactor", counter, nil, ""},
		{"command", testguests.Build(t, "cmd-upper"), nil, ""},
		{"not granted", testguests.Build(t, "kvimport"), nil, "capability is not granted"},
		{"granted", testguests.Build(t, "kvimport"), func(string) bool { return true }, ""},
		{"not a module", []byte("\x00asm\x01\x00\x00\x00garbage"), nil, "not a valid WebAssembly module"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &countingArtefacts{memArtefacts: memArtefacts{data: map[string][]byte{}}}
			e, err := New(ctx, Config{Artefacts: store, CacheDir: TestCacheDir})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close(ctx)
			digest := "sha256:preload-" + tt.name
			e.Preload(digest, tt.wasm)
			m, err := e.Prepare(ctx, digest, tt.wasm, tt.granted, lim)
			if tt.refused != "" {
				var bad *InvalidModuleError
				if !errors.As(err, &bad) || !strings.Contains(err.Error(), tt.refused) {
					t.Fatalf("Prepare: %v, want a refusal saying %q", err, tt.refused)
				}
				return
			}
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			// One compilation and initialisation, shared: the module is
			// loaded without fetching its bytes again, and its snapshot was
			// stored once.
			again, err := e.Load(ctx, digest, fetchFails)
			if err != nil || again != m {
				t.Fatalf("Load after Prepare: %v, same module %v", err, again == m)
			}
			if want := map[Mode]int{Reactor: 1, Command: 0}[m.Mode]; m.Isolation == Snapshot && store.puts != want {
				t.Fatalf("%d snapshots stored, want %d", store.puts, want)
			}
		})
	}
}

func TestPreloadLoadsWithoutADeploy(t *testing.T) {
	ctx := context.Background()
	e, err := New(ctx, Config{CacheDir: TestCacheDir})
	if err != nil {
		t.Fatal(err)
	}
	wasm := testguests.Build(t, "counter")
	e.Preload("sha256:preloaded", wasm)
	m, err := e.Load(ctx, "sha256:preloaded", func(context.Context) ([]byte, error) { return nil, errors.New("not preloaded") })
	if err != nil || m.snap == nil {
		t.Fatalf("Load of a preloaded module: %v %+v", err, m)
	}

	// Close waits for a preload in progress, and a preload after Close
	// does nothing.
	e.Preload("sha256:closing", wasm)
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}
	e.Preload("sha256:closed", wasm)
	if e.loaded("sha256:closed") {
		t.Fatal("a closed engine preloads")
	}
}

// A registry change evicts the modules no function uses, but not one still
// loading, such as one uploaded for a deploy not recorded yet: its work
// would be lost, and the eviction would wait for it.
func TestRetainLeavesModulesStillLoading(t *testing.T) {
	ctx := context.Background()
	e, err := New(ctx, Config{CacheDir: TestCacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	wasm := testguests.Build(t, "counter")
	fetching, release := make(chan struct{}), make(chan struct{})
	loaded := make(chan error, 1)
	go func() {
		_, err := e.Load(ctx, "sha256:loading", func(context.Context) ([]byte, error) {
			close(fetching)
			<-release
			return wasm, nil
		})
		loaded <- err
	}()
	<-fetching
	retained := make(chan struct{})
	go func() {
		e.Retain(ctx, func(string) bool { return false })
		close(retained)
	}()
	select {
	case <-retained:
	case <-time.After(time.Minute):
		t.Error("Retain waited for a module still loading")
	}
	close(release)
	if err := <-loaded; err != nil {
		t.Fatal(err)
	}
	if !e.loaded("sha256:loading") {
		t.Fatal("Retain evicted a module while it loaded")
	}
	e.Retain(ctx, func(string) bool { return false })
	if e.loaded("sha256:loading") {
		t.Fatal("Retain kept a loaded module it was told to drop")
	}
}

// TestSnapshotModuleKeepsOnlyTheNameSection deploys two modules that differ
// in a custom section of 1 MiB: the module that serves each keeps no custom
// section but the name section (wazero would hold the others in memory for
// as long as the module is loaded), so the two compile to one module.
func TestSnapshotModuleKeepsOnlyTheNameSection(t *testing.T) {
	ctx := context.Background()
	store := &memArtefacts{data: map[string][]byte{}}
	e, err := New(ctx, Config{Artefacts: store, CacheDir: TestCacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	lim := Limits{Timeout: 5 * time.Second, Memory: 64 << 20}
	var served [][]byte
	for _, fill := range []byte{'a', 'b'} {
		m, err := wasmbin.Parse(testguests.Build(t, "counter"))
		if err != nil {
			t.Fatal(err)
		}
		body := append([]byte{byte(len("pave.test"))}, "pave.test"...)
		m.Sections = append(m.Sections, wasmbin.Section{ID: wasmbin.SectionCustom, Body: append(body, bytes.Repeat([]byte{fill}, 1<<20)...)})
		digest := "sha256:custom-" + string(fill)
		mod, err := e.Prepare(ctx, digest, m.Bytes(), nil, lim)
		if err != nil || mod.snap == nil {
			t.Fatalf("prepare: %v %+v", err, mod)
		}
		if cs := mod.snap.current().compiled.CustomSections(); len(cs) != 0 {
			t.Fatalf("the snapshot module keeps %d custom sections, the first %q", len(cs), cs[0].Name())
		}
		a, err := decodeArtefact(store.data[artefactName(digest)], digest)
		if err != nil {
			t.Fatal(err)
		}
		pre, err := wasmbin.Parse(a.module)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range pre.Sections {
			if s.ID == wasmbin.SectionCustom {
				names = append(names, string(s.Body[1:1+s.Body[0]]))
			}
		}
		if !slices.Equal(names, []string{"name"}) {
			t.Fatalf("custom sections of the snapshot module: %q, want the name section only", names)
		}
		served = append(served, a.module)
	}
	if !bytes.Equal(served[0], served[1]) {
		t.Fatal("modules that differ only in a custom section compile to different modules")
	}
}
