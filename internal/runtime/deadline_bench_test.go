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

// BenchmarkCloseOnContextDone measures what WithCloseOnContextDone, the
// mechanism that stops a guest at its deadline, costs a loop-heavy guest:
// the same instance runs 10 million loop iterations per op on a runtime
// with the option and on one without.
//
//	go test -run='^$' -bench=CloseOnContextDone ./internal/runtime/
func BenchmarkCloseOnContextDone(b *testing.B) {
	wasm := testguests.Build(b, "slow")
	req := abi.AppendRequest(nil, &abi.Request{Method: "GET", RawQuery: "spin=10000000"})
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
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
			inst, err := rt.InstantiateModule(ctx, compiled, moduleConfig().WithStartFunctions("_initialize"))
			if err != nil {
				b.Fatal(err)
			}
			handle := inst.ExportedFunction("handle")
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				call := &hostapi.Call{Request: req}
				cctx, cancel := context.WithTimeout(hostapi.WithCall(ctx, call), time.Minute)
				if _, err := handle.Call(cctx); err != nil || call.Response == nil {
					b.Fatalf("%v", err)
				}
				cancel()
			}
		})
	}
}
