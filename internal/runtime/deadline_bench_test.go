package runtime

import (
	"context"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/hostapi"
	"github.com/pave-dev/pave/internal/testguests"
)

// BenchmarkDeadline measures what stopping a guest at its deadline costs a
// loop-heavy guest (10 million loop iterations per op): with no mechanism
// at all (the floor), with wazero's WithCloseOnContextDone (a call into the
// runtime at every loop iteration; pave's fresh instances and commands),
// and with pave's interrupt flag (a global read and a branch; snapshot
// instances, run through Engine.Invoke).
//
//	go test -run='^$' -bench=Deadline -benchtime=20x ./internal/runtime/
func BenchmarkDeadline(b *testing.B) {
	wasm := testguests.Build(b, "slow")
	req := &abi.Request{Method: "GET", RawQuery: "spin=10000000"}
	for _, on := range []bool{false, true} {
		name := "none"
		if on {
			name = "wazero-checks"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			rt, err := hostRuntime(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(on))
			if err != nil {
				b.Fatal(err)
			}
			defer rt.Close(ctx)
			compiled, err := rt.CompileModule(ctx, wasm)
			if err != nil {
				b.Fatal(err)
			}
			inst, err := rt.InstantiateModule(ctx, compiled, moduleConfig(sleepUntil(ctx)).WithStartFunctions("_initialize"))
			if err != nil {
				b.Fatal(err)
			}
			handle := inst.ExportedFunction("handle")
			encoded := abi.AppendRequest(nil, req)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				call := &hostapi.Call{Request: encoded}
				cctx, cancel := context.WithTimeout(hostapi.WithCall(ctx, call), time.Minute)
				if _, err := handle.Call(cctx); err != nil || call.Response == nil {
					b.Fatalf("%v", err)
				}
				cancel()
			}
		})
	}
	b.Run("interrupt-flag", func(b *testing.B) {
		ctx := context.Background()
		e, err := New(ctx, Config{CacheDir: TestCacheDir, Artefacts: sharedArtefacts})
		if err != nil {
			b.Fatal(err)
		}
		defer e.Close(ctx)
		m, err := e.Load(ctx, "test:slow", func(context.Context) ([]byte, error) { return wasm, nil })
		if err != nil || m.snap == nil {
			b.Fatalf("%v %+v", err, m)
		}
		lim := Limits{Timeout: time.Minute, Memory: 64 << 20}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := e.Invoke(ctx, m, lim, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
