package runtime_test

import (
	"context"
	"strings"
	"testing"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/runtime"
	"github.com/pave-dev/pave/internal/testguests"
)

// TestInitInput checks that a reactor reads its pave.init custom section
// on standard input while it initialises, from a snapshot and fresh, and
// nothing during invocations.
func TestInitInput(t *testing.T) {
	ctx := context.Background()
	guest := testguests.Build(t, "initinput")
	fresh, err := runtime.New(ctx, runtime.Config{Isolation: runtime.Fresh, CacheDir: runtime.TestCacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close(ctx)
	for _, e := range []struct {
		name string
		e    *runtime.Engine
	}{{"snapshot", engine}, {"fresh", fresh}} {
		for _, tt := range []struct{ name, input, want string }{
			{"section", "the bundle", "init=the bundle handle="},
			{"no section", "", "init= handle="},
		} {
			t.Run(e.name+"/"+tt.name, func(t *testing.T) {
				wasm := guest
				if tt.input != "" {
					wasm = withInit(guest, []byte(tt.input))
				}
				m, err := e.e.Prepare(ctx, "test:initinput:"+e.name+tt.name, wasm, nil, limits)
				if err != nil {
					t.Fatal(err)
				}
				if want := runtime.Isolation(e.name); m.Isolation != want {
					t.Fatalf("isolation %s, want %s", m.Isolation, want)
				}
				for i := range 2 {
					res, err := e.e.Invoke(ctx, m, limits, &abi.Request{Method: "GET", Path: "/initinput"})
					if err != nil {
						t.Fatal(err)
					}
					if got := string(res.Response.Body); got != tt.want {
						t.Errorf("call %d = %q, want %q", i, got, tt.want)
					}
				}
			})
		}
	}
}

// TestInitFailureSaysWhy checks that a module whose initialisation fails
// is refused with what it wrote on standard error, without control
// characters.
func TestInitFailureSaysWhy(t *testing.T) {
	wasm := withInit(testguests.Build(t, "initinput"), []byte("fail"))
	_, err := engine.Prepare(context.Background(), "test:initinput:fail", wasm, nil, limits)
	if err == nil || !strings.Contains(err.Error(), "it wrote: initinput: told to fail[31m") || strings.Contains(err.Error(), "\x1b") {
		t.Errorf("err = %q, want the guest's message without the escape", err)
	}
}

// withInit returns module with data appended as its abi.InitSection custom
// section.
func withInit(module, data []byte) []byte {
	leb := func(b []byte, v int) []byte {
		for ; v >= 0x80; v >>= 7 {
			b = append(b, byte(v)|0x80)
		}
		return append(b, byte(v))
	}
	payload := append(leb(nil, len(abi.InitSection)), abi.InitSection...)
	payload = append(payload, data...)
	out := append(append([]byte(nil), module...), 0) // custom section
	return append(leb(out, len(payload)), payload...)
}
