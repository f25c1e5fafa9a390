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

// TestPrecompile prepares every Go reactor guest and Go example on an
// engine whose compilation cache is the directory EnvPrecompileDir names,
// which leaves their served modules' machine code there.
func TestPrecompile(t *testing.T) {
	dir := os.Getenv(testguests.EnvPrecompileDir)
	if dir == "" {
		t.Skip("fills the compilation cache " + testguests.EnvPrecompileDir + " names; testguests.PrecompileInto runs it")
	}
	ctx := context.Background()
	e, err := runtime.New(ctx, runtime.Config{CacheDir: dir, CompileBeforeServing: true, InitTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	modules := map[string][]byte{}
	for _, name := range testguests.Names() {
		if !skipped[name] && !strings.HasPrefix(name, "cmd-") && !strings.HasPrefix(name, "js-") {
			modules[name] = testguests.Build(t, name)
		}
	}
	for _, name := range []string{"hello", "echo", "notes"} {
		modules["example/"+name] = testguests.Example(t, name)
	}
	all := func(string) bool { return true }
	lim := runtime.Limits{Timeout: time.Minute, Memory: 256 << 20}
	for name, wasm := range modules {
		if _, err := e.Prepare(ctx, "precompile:"+name, wasm, all, lim); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
