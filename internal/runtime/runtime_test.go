package runtime_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/hostapi"
	"github.com/pave-dev/pave/internal/runtime"
	"github.com/pave-dev/pave/internal/testguests"
)

var limits = runtime.Limits{Timeout: 5 * time.Second, Memory: 64 << 20}

// engine is shared by the tests so that each guest compiles once.
var engine *runtime.Engine

func TestMain(m *testing.M) {
	ctx := context.Background()
	flag.Parse()
	if took, err := testguests.PrecompileInto(runtime.TestCacheDir); err != nil {
		fmt.Fprintln(os.Stderr, "the guests compile under the race detector:", err)
	} else if took > 0 {
		fmt.Fprintf(os.Stderr, "guests compiled without the race detector in %s\n", took.Round(time.Second))
	}
	var err error
	if engine, err = runtime.New(ctx, runtime.Config{Artefacts: runtime.TestArtefacts, CacheDir: runtime.TestCacheDir, CompileBeforeServing: true}); err != nil {
		panic(err)
	}
	code := m.Run()
	engine.Close(ctx)
	os.RemoveAll(runtime.TestCacheDir)
	os.Exit(code)
}

func prepare(t *testing.T, name string) (*runtime.Engine, *runtime.Module) {
	t.Helper()
	e := engine
	m, err := e.Prepare(context.Background(), "test:"+name, testguests.Build(t, name), nil, limits)
	if err != nil {
		t.Fatal(err)
	}
	return e, m
}

func TestHostFunctionsRefuseAbuse(t *testing.T) {
	e, m := prepare(t, "abuse")
	tests := []struct {
		mode    string
		body    string          // on success
		failure runtime.Failure // "" for success
	}{
		{"", "ok", ""},
		{"read-out-of-bounds", "rc=-1", ""},
		{"read-len-past-end", "rc=-1", ""},
		{"log-len-past-end", "logged", ""},
		{"read-short", "rc=-1", ""},
		{"write-out-of-bounds", "", runtime.FailBadResponse},
		{"write-twice", "", runtime.FailBadResponse},
		{"malformed", "", runtime.FailBadResponse},
		{"header-injection", "", runtime.FailBadResponse},
		{"bad-status", "", runtime.FailBadResponse},
		{"no-response", "", runtime.FailBadResponse},
		{"log-flood", "flooded", ""},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			res, err := e.Invoke(context.Background(), m, limits, &abi.Request{Method: "GET", Path: "/abuse", RawQuery: "mode=" + tt.mode})
			if tt.failure == "" {
				if err != nil {
					t.Fatalf("failed: %v", err)
				}
				if string(res.Response.Body) != tt.body {
					t.Fatalf("body %q, want %q", res.Response.Body, tt.body)
				}
			} else {
				var gerr *runtime.GuestError
				if !errors.As(err, &gerr) || gerr.Failure != tt.failure {
					t.Fatalf("got %v, want %s", err, tt.failure)
				}
			}
			if tt.mode == "log-len-past-end" && len(res.Logs) != 0 {
				t.Errorf("a line whose range is not inside memory was logged: %q", res.Logs)
			}
			if len(res.Logs) > hostapi.MaxLogLines {
				t.Errorf("%d log lines kept, limit %d", len(res.Logs), hostapi.MaxLogLines)
			}
			for _, l := range res.Logs {
				if len(l.Msg) > hostapi.MaxLogLineSize+len("…[truncated]") {
					t.Errorf("log line of %d bytes kept", len(l.Msg))
				}
			}
		})
	}
}

func TestFailuresAreClassified(t *testing.T) {
	tests := []struct {
		guest, query string
		lim          runtime.Limits
		want         runtime.Failure
	}{
		{"loop", "", runtime.Limits{Timeout: 300 * time.Millisecond, Memory: 64 << 20}, runtime.FailTimeout},
		{"alloc", "", runtime.Limits{Timeout: 10 * time.Second, Memory: 32 << 20}, runtime.FailOutOfMemory},
		{"trap", "mode=panic", limits, runtime.FailGuestError},
		{"trap", "mode=unreachable", limits, runtime.FailTrap},
		{"trap", "mode=exit", limits, runtime.FailTrap},
	}
	for _, tt := range tests {
		t.Run(tt.guest+"?"+tt.query, func(t *testing.T) {
			e, m := prepare(t, tt.guest)
			res, err := e.Invoke(context.Background(), m, tt.lim, &abi.Request{Method: "GET", RawQuery: tt.query})
			var gerr *runtime.GuestError
			if !errors.As(err, &gerr) || gerr.Failure != tt.want {
				t.Fatalf("got %v, want %s", err, tt.want)
			}
			if tt.want == runtime.FailOutOfMemory && res.MemoryBytes > uint64(tt.lim.Memory) {
				t.Errorf("memory reached %d bytes, above the cap of %d", res.MemoryBytes, tt.lim.Memory)
			}
		})
	}
}

// TestLoopsOnEveryThreadAreStopped runs more spinning guests at once than
// the Go scheduler has threads for Go code. Guest code cannot be preempted,
// so whatever stops them at their deadline must get to run anyway.
func TestLoopsOnEveryThreadAreStopped(t *testing.T) {
	e, m := prepare(t, "loop")
	n := goruntime.GOMAXPROCS(0) + 1
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			_, err := e.Invoke(context.Background(), m, runtime.Limits{Timeout: 200 * time.Millisecond, Memory: 64 << 20}, &abi.Request{Method: "GET"})
			errs <- err
		}()
	}
	for i := 0; i < n; i++ {
		select {
		case err := <-errs:
			var gerr *runtime.GuestError
			if !errors.As(err, &gerr) || gerr.Failure != runtime.FailTimeout {
				t.Fatalf("got %v, want %s", err, runtime.FailTimeout)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%d of %d spinning guests were not stopped at a 200ms deadline", n-i, n)
		}
	}
}

func TestCanceledCallerStopsTheGuest(t *testing.T) {
	e, m := prepare(t, "loop")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := e.Invoke(ctx, m, limits, &abi.Request{Method: "GET"})
	var gerr *runtime.GuestError
	if !errors.As(err, &gerr) || gerr.Failure != runtime.FailCanceled {
		t.Fatalf("got %v, want %s", err, runtime.FailCanceled)
	}
}

func TestCheckRefusesUngrantedCapabilities(t *testing.T) {
	ctx, e := context.Background(), engine
	wasm := testguests.Build(t, "kvimport")
	_, err := e.Prepare(ctx, "kv", wasm, nil, limits)
	var bad *runtime.InvalidModuleError
	if !errors.As(err, &bad) {
		t.Fatalf("ungranted kv import deployed: %v", err)
	}
	// The import check passes once kv is granted.
	m, err := e.Load(ctx, "kv", func(context.Context) ([]byte, error) { return wasm, nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Check(func(c string) bool { return c == "kv" }, uint64(limits.Memory)); err != nil {
		t.Fatalf("granted kv import refused: %v", err)
	}
}

func TestInitialisationThatNeverEndsIsRefused(t *testing.T) {
	ctx := context.Background()
	e, err := runtime.New(ctx, runtime.Config{InitTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	began := time.Now()
	_, err = e.Prepare(ctx, "initloop", testguests.Build(t, "initloop"), nil, limits)
	var bad *runtime.InvalidModuleError
	if !errors.As(err, &bad) || !strings.Contains(bad.Reason, "did not finish") {
		t.Fatalf("got %v", err)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("refusal took %s", took)
	}
}
