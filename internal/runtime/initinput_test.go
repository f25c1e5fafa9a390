package runtime_test

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/runtime"
	"github.com/pave-dev/pave/internal/testguests"
)

// TestInitInput checks that a reactor reads its pave.init custom section
// on standard input while it initialises, from a snapshot and fresh, and
// nothing during invocations.
func TestInitInput(t *testing.T) {
	ctx := context.Background()
	guest := testguests.Build(t, "initinput")
	fresh, err := runtime.New(ctx, runtime.Config{Isolation: runtime.Fresh, CacheDir: runtime.TestCacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close(ctx)
	for _, e := range []struct {
		name string
		e    *runtime.Engine
	}{{"snapshot", engine}, {"fresh", fresh}} {
		for _, tt := range []struct{ name, input, want string }{
			{"section", "the bundle", "init=the bundle handle="},
			{"no section", "", "init= handle="},
		} {
			t.Run(e.name+"/"+tt.name, func(t *testing.T) {
				wasm := guest
				if tt.input != "" {
					wasm = testguests.WithInit(guest, []byte(tt.input))
				}
				m, err := e.e.Prepare(ctx, "test:initinput:"+e.name+tt.name, wasm, nil, limits)
				if err != nil {
					t.Fatal(err)
				}
				if want := runtime.Isolation(e.name); m.Isolation != want {
					t.Fatalf("isolation %s, want %s", m.Isolation, want)
				}
				for i := range 2 {
					res, err := e.e.Invoke(ctx, m, limits, &abi.Request{Method: "GET", Path: "/initinput"})
					if err != nil {
						t.Fatal(err)
					}
					if got := string(res.Response.Body); got != tt.want {
						t.Errorf("call %d = %q, want %q", i, got, tt.want)
					}
				}
			})
		}
	}
}

// TestInitFailureSaysWhy checks that a module whose initialisation fails
// is refused with what it wrote on standard error, without control
// characters.
func TestInitFailureSaysWhy(t *testing.T) {
	wasm := testguests.WithInit(testguests.Build(t, "initinput"), []byte("fail"))
	_, err := engine.Prepare(context.Background(), "test:initinput:fail", wasm, nil, limits)
	if err == nil || !strings.Contains(err.Error(), "it wrote: initinput: told to fail[31m") || strings.Contains(err.Error(), "\x1b") {
		t.Errorf("err = %q, want the guest's message without the escape", err)
	}
}

// TestSnapshotsShareCompilation checks that modules differing only in
// their init input, and so in everything their snapshots hold (memory
// image, its size, globals), run one compiled module: the compilation
// cache holds a single module for both, so wazero, which keys compiled
// modules by their bytes in memory and on disk, compiled once, and the
// engine keeps one wazero module for both. Each still answers from its own
// state, also on instances made after the other was unloaded.
func TestSnapshotsShareCompilation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e, err := runtime.New(ctx, runtime.Config{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	guest := testguests.Build(t, "initinput")
	inputs := map[string]string{
		"test:share:small": "small",
		"test:share:large": strings.Repeat("large", 1<<20), // a larger image
	}
	mods := map[string]*runtime.Module{}
	for digest, input := range inputs {
		m, err := e.Prepare(ctx, digest, testguests.WithInit(guest, []byte(input)), nil, limits)
		if err != nil {
			t.Fatal(err)
		}
		if m.Isolation != runtime.Snapshot {
			t.Fatalf("isolation %s (%s)", m.Isolation, m.FallbackReason)
		}
		mods[digest] = m
	}
	e.WaitForMachineCode()
	if a, b := mods["test:share:small"].MinMemory, mods["test:share:large"].MinMemory; a == b {
		t.Fatalf("both images are %d bytes: the test needs them to differ", a)
	}
	var compiled []string
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			compiled = append(compiled, path)
		}
		return err
	})
	if err != nil || len(compiled) != 1 {
		t.Fatalf("compilation cache holds %q (%v), want one module", compiled, err)
	}
	if !mods["test:share:small"].SharesCode(mods["test:share:large"]) {
		t.Fatal("the two snapshots run two compiled modules")
	}
	check := func(digest string, lim runtime.Limits) {
		t.Helper()
		for i := range 2 {
			res, err := e.Invoke(ctx, mods[digest], lim, &abi.Request{Method: "GET", Path: "/initinput"})
			if err != nil {
				t.Fatal(err)
			}
			if want := "init=" + inputs[digest] + " handle="; string(res.Response.Body) != want {
				t.Fatalf("%s call %d answered %d bytes %.40q, want %d bytes %.40q", digest, i, len(res.Response.Body), res.Response.Body, len(want), want)
			}
		}
	}
	check("test:share:small", limits)
	check("test:share:large", limits)
	// Unloading one releases its hold on the shared code only: the other
	// still makes new instances (under another limit, another pool).
	e.Evict(ctx, "test:share:small")
	other := limits
	other.Memory *= 2
	check("test:share:large", other)
}
