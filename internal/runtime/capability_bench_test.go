package runtime_test

import (
	"context"
	"testing"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/hostapi"
	"github.com/pave-dev/pave/internal/runtime"
	"github.com/pave-dev/pave/internal/testguests"
)

// BenchmarkCapabilityCalls measures what a function's capability calls
// cost inside the engine, apart from the work they ask of the store and
// the network: pave bench's grants function (a secret, an outbound GET and
// a key-value read in every call) on capabilities that answer at once from
// memory, next to examples/hello, one call at a time from snapshots. The
// difference is the guest's own work for the three calls (the SDK encoding
// and decoding them) plus the host functions' and the restore's.
//
//	go test -run='^$' -bench=CapabilityCalls -benchtime=10000x ./internal/runtime/
func BenchmarkCapabilityCalls(b *testing.B) {
	ctx := hostapi.WithCapabilities(context.Background(), instantCapabilities{})
	e, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close(ctx)
	lim := runtime.Limits{Timeout: 10 * time.Second, Memory: 64 << 20, Concurrency: 32}
	for _, tt := range []struct {
		name, want string
		wasm       []byte
	}{
		{"hello", "Hello, world!\n", testguests.Example(b, "hello")},
		{"grants", "Hello, " + instantUpstream + "!\n", testguests.Reactor(b, "internal/bench/testdata/grants")},
	} {
		m, err := e.Prepare(ctx, tt.name, tt.wasm, func(string) bool { return true }, lim)
		if err != nil {
			b.Fatal(err)
		}
		e.WaitForMachineCode()
		b.Run(tt.name, func(b *testing.B) {
			req := &abi.Request{Method: "GET", Path: "/bench", Route: "/bench"}
			for b.Loop() {
				res, err := e.Invoke(ctx, m, lim, req)
				if err != nil || string(res.Response.Body) != tt.want {
					b.Fatalf("%v %v", err, res)
				}
			}
		})
	}
}

// instantUpstream is the body of every outbound response of
// instantCapabilities.
const instantUpstream = "upstream"

// instantCapabilities answers every capability call at once from memory,
// as the store and the upstream of pave bench's grants target would
// answer: a URL for any secret, no such key in any bucket, and a small
// text response with the header fields a Go server sends.
type instantCapabilities struct{}

func (instantCapabilities) Secret(context.Context, string) ([]byte, error) {
	return []byte("http://localhost:8080/"), nil
}

func (instantCapabilities) KVGet(context.Context, string, string) ([]byte, uint64, error) {
	return nil, 0, hostapi.ErrNotFound
}

func (instantCapabilities) KVPut(context.Context, string, string, []byte) (uint64, error) {
	return 1, nil
}

func (instantCapabilities) KVCAS(context.Context, string, string, []byte, uint64) (uint64, error) {
	return 1, nil
}

func (instantCapabilities) KVDelete(context.Context, string, string) error { return nil }

func (instantCapabilities) KVList(context.Context, string, string) ([]string, error) {
	return nil, nil
}

func (instantCapabilities) HTTP(context.Context, *abi.Outbound) (*abi.Response, error) {
	return &abi.Response{Status: 200, Headers: []abi.Header{
		{Name: "Content-Length", Value: "8"},
		{Name: "Content-Type", Value: "text/plain; charset=utf-8"},
		{Name: "Date", Value: "Mon, 07 Dec 2026 15:00:00 GMT"},
	}, Body: []byte(instantUpstream)}, nil
}

func (instantCapabilities) Invoke(context.Context, string, *abi.Outbound) (*abi.Response, error) {
	return &abi.Response{Status: 200}, nil
}

func (instantCapabilities) Publish(context.Context, string, []byte) (string, error) {
	return "event", nil
}
