package runtime_test

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/runtime"
	"github.com/pave-dev/pave/internal/testguests"
	"github.com/pave-dev/pave/internal/wasmbin/wasmtest"
)

// TestSleepEndsWithTheCall runs guests that sleep, on every path an
// invocation can take (a pooled snapshot instance, a fresh instance, a WASI
// command): a sleep past the deadline ends at the deadline and the call is a
// timeout, a caller that goes away ends it too, and a short sleep within the
// timeout still answers.
func TestSleepEndsWithTheCall(t *testing.T) {
	ctx := context.Background()
	fresh, err := runtime.New(ctx, runtime.Config{Isolation: runtime.Fresh, CacheDir: runtime.TestCacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close(ctx)
	engines := []struct {
		name string
		e    *runtime.Engine
	}{{"snapshot", engine}, {"fresh", fresh}}
	short := runtime.Limits{Timeout: 300 * time.Millisecond, Memory: 64 << 20}
	tests := []struct {
		name   string
		module func(t *testing.T) []byte
		req    abi.Request
		lim    runtime.Limits
		cancel time.Duration // the caller goes away after this long; 0: never
		want   runtime.Failure
		body   string // on success
	}{
		{name: "sleep past the deadline", module: guest("slow"), req: abi.Request{Method: "GET", RawQuery: "ms=5000"}, lim: short, want: runtime.FailTimeout},
		{name: "sleep past the caller", module: guest("slow"), req: abi.Request{Method: "GET", RawQuery: "ms=5000"}, lim: limits, cancel: 200 * time.Millisecond, want: runtime.FailCanceled},
		{name: "short sleep", module: guest("slow"), req: abi.Request{Method: "GET", RawQuery: "ms=50"}, lim: runtime.Limits{Timeout: 2 * time.Second, Memory: 64 << 20}, body: "done\n"},
		{name: "answer after the sleep", module: func(*testing.T) []byte { return lateAnswer(5 * time.Second) }, req: abi.Request{Method: "GET"}, lim: short, want: runtime.FailTimeout},
		{name: "command sleeps past the deadline", module: guest("cmd-sleep"), req: abi.Request{Method: "POST", Body: []byte("5000")}, lim: short, want: runtime.FailTimeout},
		{name: "command sleeps past the caller", module: guest("cmd-sleep"), req: abi.Request{Method: "POST", Body: []byte("5000")}, lim: limits, cancel: 200 * time.Millisecond, want: runtime.FailCanceled},
		{name: "command sleeps briefly", module: guest("cmd-sleep"), req: abi.Request{Method: "POST", Body: []byte("50")}, lim: runtime.Limits{Timeout: 2 * time.Second, Memory: 64 << 20}, body: "slept"},
	}
	for _, en := range engines {
		for _, tt := range tests {
			t.Run(en.name+"/"+tt.name, func(t *testing.T) {
				wasm := tt.module(t)
				m, err := en.e.Prepare(ctx, "test:sleep:"+tt.name, wasm, nil, tt.lim)
				if err != nil {
					t.Fatal(err)
				}
				cctx, cancel := context.WithCancel(ctx)
				defer cancel()
				end := tt.lim.Timeout
				if tt.cancel > 0 {
					time.AfterFunc(tt.cancel, cancel)
					end = tt.cancel
				}
				began := time.Now()
				res, err := en.e.Invoke(cctx, m, tt.lim, &tt.req)
				took := time.Since(began)
				if tt.want == "" {
					if err != nil || string(res.Response.Body) != tt.body {
						t.Fatalf("got %v, want the body %q", err, tt.body)
					}
					return
				}
				var gerr *runtime.GuestError
				if !errors.As(err, &gerr) || gerr.Failure != tt.want {
					t.Fatalf("got %v after %s, want %s", err, took, tt.want)
				}
				if res.Response != nil {
					t.Errorf("a %s kept its response", tt.want)
				}
				if took > end+time.Second {
					t.Errorf("the call ended after %s, %s past its end", took, took-end)
				}
			})
		}
	}
}

func guest(name string) func(t *testing.T) []byte {
	return func(t *testing.T) []byte { return testguests.Build(t, name) }
}

// lateAnswer is a reactor whose handle sleeps for d through WASI
// poll_oneoff, then writes a 200 response and returns, with no guest
// function call or loop after the sleep where a deadline check could stop
// it.
func lateAnswer(d time.Duration) []byte {
	const subAt, eventAt, neventsAt, respAt = 0, 64, 96, 128
	sub := make([]byte, 48) // userdata 0, tag 0 (clock), relative timeout
	binary.LittleEndian.PutUint64(sub[24:], uint64(d))
	resp := abi.AppendResponse(nil, &abi.Response{Status: 200, Body: []byte("late")})
	i32 := func(v int) []byte { return wasmtest.I32Const(int32(v)) }
	const i32t = wasmtest.I32
	var m wasmtest.Module
	poll := m.ImportFunc("wasi_snapshot_preview1", "poll_oneoff", m.Type(wasmtest.FuncType([]byte{i32t, i32t, i32t, i32t}, i32t)))
	write := m.ImportFunc(abi.ImportModule, abi.FuncResponseWrite, m.Type(wasmtest.FuncType([]byte{i32t, i32t}, i32t)))
	handle := m.Func(m.Type(wasmtest.FuncType(nil, i32t)),
		i32(subAt), i32(eventAt), i32(1), i32(neventsAt), []byte{0x10, byte(poll), 0x1a}, // call poll_oneoff; drop
		i32(respAt), i32(len(resp)), []byte{0x10, byte(write), 0x1a}, // call response_write; drop
		i32(0),
	)
	m.Export("memory", wasmtest.KindMemory, m.Memory(1)) // one page
	m.Export(abi.ExportHandle, wasmtest.KindFunc, handle)
	m.Data(subAt, sub)
	m.Data(respAt, resp)
	return m.Bytes()
}
