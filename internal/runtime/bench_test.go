package runtime_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/runtime"
	"github.com/pave-dev/pave/internal/testguests"
)

// BenchmarkInvoke runs examples/hello through the engine, without HTTP,
// with each isolation method. It reports the isolation cost per invocation
// as the engine measured it ("isolation-µs/op") next to the total.
//
//	go test -run='^$' -bench=Invoke -benchtime=2000x ./internal/runtime/
func BenchmarkInvoke(b *testing.B) {
	for _, iso := range []runtime.Isolation{runtime.Fresh, runtime.Snapshot} {
		b.Run(string(iso), func(b *testing.B) {
			ctx := context.Background()
			e, err := runtime.New(ctx, runtime.Config{Isolation: iso})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close(ctx)
			lim := runtime.Limits{Timeout: 10 * time.Second, Memory: 64 << 20, Concurrency: 32}
			m, err := e.Prepare(ctx, "hello", testguests.Example(b, "hello"), nil, lim)
			if err != nil {
				b.Fatal(err)
			}
			req := &abi.Request{Method: "GET", Path: "/hello", Route: "/hello"}
			var isolation atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var mine time.Duration
				for pb.Next() {
					res, err := e.Invoke(ctx, m, lim, req)
					if err != nil || string(res.Response.Body) != "Hello, world!\n" {
						b.Fatalf("%v %v", err, res)
					}
					mine += res.Isolation
				}
				isolation.Add(int64(mine))
			})
			b.ReportMetric(float64(isolation.Load())/1000/float64(b.N), "isolation-µs/op")
		})
	}
}
