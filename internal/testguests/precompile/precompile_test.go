package precompile

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/runtime"
	"github.com/pave-dev/pave/internal/testguests"
)

// skipped are the reactor guests that never serve: their deploys are
// refused, at initialisation or before.
var skipped = map[string]bool{"initloop": true, "noexport": true}

// freshPath are the guests the runtime's tests also run on an engine of
// isolation Fresh, which compiles the module as uploaded rather than its
// snapshot; with an init section, initinput is another module again.
var freshPath = map[string][]byte{
	"initinput":         nil,
	"initinput+section": []byte("the bundle"),
	"slow":              nil,
}

// TestPrecompile prepares every Go reactor guest and Go example, and the
// WASI command guests, on an engine whose compilation cache is the
// directory EnvPrecompileDir names, which leaves their served modules'
// machine code there; and the guests of freshPath on an engine of
// isolation Fresh with the same cache.
func TestPrecompile(t *testing.T) {
	dir := os.Getenv(testguests.EnvPrecompileDir)
	if dir == "" {
		t.Skip("fills the compilation cache " + testguests.EnvPrecompileDir + " names; testguests.PrecompileInto runs it")
	}
	ctx := context.Background()
	modules := map[string][]byte{}
	for _, name := range testguests.Names() {
		if !skipped[name] && !strings.HasPrefix(name, "js-") {
			modules[name] = testguests.Build(t, name)
		}
	}
	for _, name := range []string{"hello", "echo", "notes"} {
		modules["example/"+name] = testguests.Example(t, name)
	}
	fresh := map[string][]byte{}
	for name, init := range freshPath {
		guest, _, _ := strings.Cut(name, "+")
		fresh[name] = modules[guest]
		if init != nil {
			fresh[name] = testguests.WithInit(modules[guest], init)
		}
	}
	for _, run := range []struct {
		isolation runtime.Isolation
		modules   map[string][]byte
	}{{runtime.Snapshot, modules}, {runtime.Fresh, fresh}} {
		e, err := runtime.New(ctx, runtime.Config{Isolation: run.isolation, CacheDir: dir, CompileBeforeServing: true, InitTimeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		all := func(string) bool { return true }
		lim := runtime.Limits{Timeout: time.Minute, Memory: 256 << 20}
		for name, wasm := range run.modules {
			if _, err := e.Prepare(ctx, "precompile:"+string(run.isolation)+":"+name, wasm, all, lim); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
		e.Close(ctx)
	}
}
