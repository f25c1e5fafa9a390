package runtime_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/runtime"
	"github.com/pave-dev/pave/internal/testguests"
	"github.com/pave-dev/pave/internal/wasmbin"
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
		e.WaitForMachineCode()
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

// BenchmarkPrepareSecondJS prepares examples/hello-ts and then the same
// engine with another, larger bundle, as the deploy of a second JavaScript
// function does, on an engine with an empty compilation cache, and reports
// how long each took, what each added in machine code (anonymous
// executable mappings) and Go heap, and how many modules wazero compiled:
// the second shares the first's compilation of the engine.
//
//	go test -run='^$' -bench=PrepareSecondJS -benchtime=1x ./internal/runtime/
func BenchmarkPrepareSecondJS(b *testing.B) {
	ctx := context.Background()
	first := testguests.Example(b, "hello-ts")
	m, err := wasmbin.Parse(first)
	if err != nil {
		b.Fatal(err)
	}
	name := append([]byte{byte(len(abi.InitSection))}, abi.InitSection...)
	for i, s := range m.Sections {
		if s.ID == wasmbin.SectionCustom && bytes.HasPrefix(s.Body, name) {
			// Another greeting, and a bundle larger by a megabyte, which
			// the engine keeps: a snapshot of another size.
			body := bytes.ReplaceAll(s.Body, []byte("Hello, "), []byte("Howdy, "))
			m.Sections[i].Body = append(append(body, "\n// "...), bytes.Repeat([]byte("x"), 1<<20)...)
		}
	}
	second := m.Bytes()
	lim := runtime.Limits{Timeout: 10 * time.Second, Memory: 64 << 20, Concurrency: 1}
	var took [2]time.Duration
	var code, heap, image [2]float64
	var compiled int
	for range b.N {
		dir := b.TempDir()
		e, err := runtime.New(ctx, runtime.Config{CacheDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		exec, alloc := executableBytes(), heapBytes()
		for i, wasm := range [][]byte{first, second} {
			began := time.Now()
			mod, err := e.Prepare(ctx, fmt.Sprintf("hello-ts-%d", i), wasm, nil, lim)
			if err != nil {
				b.Fatal(err)
			}
			took[i] += time.Since(began)
			image[i] = float64(mod.MinMemory) / (1 << 20)
			x, a := executableBytes(), heapBytes()
			code[i] += float64(x-exec) / (1 << 20)
			heap[i] += (float64(a) - float64(alloc)) / (1 << 20)
			exec, alloc = x, a
		}
		_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				compiled++ // one file per compiled module
			}
			return err
		})
		e.Close(ctx)
	}
	n := float64(b.N)
	for i, which := range []string{"first", "second"} {
		b.ReportMetric(took[i].Seconds()/n, which+"-s")
		b.ReportMetric(code[i]/n, which+"-code-MiB")
		b.ReportMetric(heap[i]/n, which+"-heap-MiB")
		b.ReportMetric(image[i], which+"-image-MiB")
	}
	b.ReportMetric(float64(compiled)/n, "compiled-modules")
}

// executableBytes is the size of the process's anonymous executable
// mappings, where wazero keeps machine code; 0 without /proc.
func executableBytes() int64 {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0
	}
	var n int64
	for _, line := range strings.Split(string(maps), "\n") {
		f := strings.Fields(line)
		if len(f) != 5 || !strings.Contains(f[1], "x") {
			continue // a file's mapping has a sixth field, its path
		}
		var lo, hi int64
		if _, err := fmt.Sscanf(f[0], "%x-%x", &lo, &hi); err == nil {
			n += hi - lo
		}
	}
	return n
}

// heapBytes is the live Go heap after a collection.
func heapBytes() uint64 {
	var ms goruntime.MemStats
	goruntime.GC()
	goruntime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
