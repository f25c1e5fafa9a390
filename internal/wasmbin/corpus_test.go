// Compiling every rewritten guest on wazero's interpreter is sequential
// work the race detector finds nothing in and slows many times: this file
// is left out of race builds and make check runs it in a build without the
// detector (see the Makefile's test target).

//go:build !race

package wasmbin_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/pave-dev/pave/internal/testguests"
	"github.com/pave-dev/pave/internal/wasmbin"
)

// TestGuestCorpus rewrites every reactor test guest and checks that wazero
// validates each rewrite, with and without the interrupt flag, and that
// every guest is within Bound's limits. That the rewritten modules behave as the
// originals is shown by the runtime and daemon tests, which run every
// guest from its snapshot.
func TestGuestCorpus(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	for _, name := range testguests.Names() {
		t.Run(name, func(t *testing.T) {
			m, err := wasmbin.Parse(testguests.Build(t, name))
			if err != nil {
				t.Fatal(err)
			}
			l, err := m.Inspect()
			if err != nil {
				t.Fatal(err)
			}
			bounded, err := wasmbin.Bound(m)
			if err != nil {
				t.Fatalf("a real guest is over the bounds: %v", err)
			}
			compile(t, rt, bounded.Bytes())
			for _, tab := range l.Tables {
				t.Logf("table of %d elements", tab.Limits.Min)
			}
			exp, _, err := wasmbin.ExportGlobals(m)
			if err != nil {
				t.Fatal(err)
			}
			compile(t, rt, exp.Bytes())
			if err := m.CheckStateless(); err != nil {
				if !errors.Is(err, wasmbin.ErrUnsupported) {
					t.Fatal(err)
				}
				t.Logf("not stateless: %v", err)
				return
			}
			pre, err := wasmbin.Preinitialize(m)
			if err != nil {
				t.Fatal(err)
			}
			compile(t, rt, pre.Bytes())
			// The snapshot path: the interrupt flag on the pre-initialised module.
			flagged, _, err := wasmbin.AddInterrupt(pre)
			if err != nil {
				t.Fatal(err)
			}
			compile(t, rt, flagged.Bytes())
		})
	}
}

func compile(t *testing.T, rt wazero.Runtime, b []byte) {
	t.Helper()
	c, err := rt.CompileModule(context.Background(), b)
	if err != nil {
		t.Fatalf("rewrite does not validate: %v", err)
	}
	c.Close(context.Background())
}
