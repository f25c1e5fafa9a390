package runtime_test

import (
	"context"
	"testing"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/runtime"
	"github.com/pave-dev/pave/internal/testguests"
)

// BenchmarkHelloGoAndJS runs examples/hello and its TypeScript twin,
// examples/hello-ts, from snapshots in one run, without HTTP, so that their
// ratio is measured under the same load. It also reports the size of each
// module and of its snapshot image.
//
//	go test -run='^$' -bench=HelloGoAndJS -benchtime=2000x ./internal/runtime/
func BenchmarkHelloGoAndJS(b *testing.B) {
	ctx := context.Background()
	e, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close(ctx)
	lim := runtime.Limits{Timeout: 10 * time.Second, Memory: 64 << 20, Concurrency: 32}
	for _, tt := range []struct{ name, example, path string }{
		{"go", "hello", "/hello"},
		{"js", "hello-ts", "/hello-ts"},
	} {
		wasm := testguests.Example(b, tt.example)
		began := time.Now()
		m, err := e.Prepare(ctx, tt.example, wasm, nil, lim)
		if err != nil {
			b.Fatal(err)
		}
		prepared := time.Since(began)
		b.Run(tt.name, func(b *testing.B) {
			before := m.PoolStats()
			req := &abi.Request{Method: "GET", Path: tt.path, Route: tt.path, RawQuery: "name=Ada"}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					res, err := e.Invoke(ctx, m, lim, req)
					if err != nil || string(res.Response.Body) != "Hello, Ada!\n" {
						b.Fatalf("%v %v", err, res)
					}
				}
			})
			b.ReportMetric(float64(len(wasm))/(1<<20), "module-MiB")
			b.ReportMetric(float64(m.MinMemory)/(1<<20), "image-MiB")
			b.ReportMetric(prepared.Seconds(), "prepare-s")
			b.ReportMetric(float64(e.IdleMemory())/(1<<20), "idle-MiB")
			after := m.PoolStats()
			b.ReportMetric(float64(after.Discarded-before.Discarded)/float64(b.N), "discarded/op")
		})
	}
}
