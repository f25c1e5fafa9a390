package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/testguests"
)

// TestInterpreterServesUntilMachineCode holds a new module's compilation
// to machine code and checks that the interpreter serves it meanwhile with
// every guarantee the machine code gives: the deadline, the memory cap,
// traps classified alike, and clean state for each call. Then it lets the
// compilation finish and checks the same on machine code, and that no
// instance of the interpreter's module is kept.
func TestInterpreterServesUntilMachineCode(t *testing.T) {
	ctx := context.Background()
	// No stored snapshots: a stored one loads as machine code at once.
	e, err := New(ctx, Config{CacheDir: TestCacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	e.upgradeGate = make(chan struct{})
	lim := Limits{Timeout: 5 * time.Second, Memory: 64 << 20}
	mods := map[string]*Module{}
	for _, guest := range []string{"counter", "loop", "alloc", "trap"} {
		m, err := e.Prepare(ctx, "test:tier:"+guest, testguests.Build(t, guest), nil, lim)
		if err != nil {
			t.Fatal(err)
		}
		if m.Isolation != Snapshot {
			t.Fatalf("%s: isolation %s (%s)", guest, m.Isolation, m.FallbackReason)
		}
		mods[guest] = m
	}
	failures := []struct {
		guest, query string
		lim          Limits
		want         Failure
	}{
		{"loop", "", Limits{Timeout: 300 * time.Millisecond, Memory: 64 << 20}, FailTimeout},
		{"alloc", "", Limits{Timeout: 10 * time.Second, Memory: 32 << 20}, FailOutOfMemory},
		{"trap", "mode=panic", lim, FailGuestError},
		{"trap", "mode=unreachable", lim, FailTrap},
	}
	check := func(t *testing.T, interpreted bool) {
		for guest, m := range mods {
			if got := m.snap.current().key.interpreted; got != interpreted {
				t.Fatalf("%s: interpreted %v, want %v", guest, got, interpreted)
			}
		}
		for _, tt := range failures {
			_, err := e.Invoke(ctx, mods[tt.guest], tt.lim, &abi.Request{Method: "GET", RawQuery: tt.query})
			var gerr *GuestError
			if !errors.As(err, &gerr) || gerr.Failure != tt.want {
				t.Errorf("%s?%s: got %v, want %s", tt.guest, tt.query, err, tt.want)
			}
		}
		for i := range 3 {
			res, err := e.Invoke(ctx, mods["counter"], lim, &abi.Request{Method: "GET", RawQuery: "secret=s" + string(rune('0'+i))})
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Count    int    `json:"count"`
				Previous string `json:"previous_secret"`
			}
			if err := json.Unmarshal(res.Response.Body, &got); err != nil {
				t.Fatal(err)
			}
			if got.Count != 1 || got.Previous != "" {
				t.Errorf("call %d saw an earlier call's state: %s", i, res.Response.Body)
			}
		}
	}
	t.Run("interpreter", func(t *testing.T) {
		if n := e.Interpreted(); n != len(mods) {
			t.Errorf("Interpreted() = %d, want %d", n, len(mods))
		}
		check(t, true)
	})
	close(e.upgradeGate)
	e.upgrades.Wait()
	t.Run("machine code", func(t *testing.T) {
		if n := e.Interpreted(); n != 0 {
			t.Errorf("Interpreted() = %d after the compilations, want 0", n)
		}
		for guest, m := range mods {
			for _, p := range m.snap.pools {
				for _, in := range p.idle {
					if in.served.key.interpreted {
						t.Errorf("%s: an idle instance of the interpreter's module was kept", guest)
					}
				}
			}
		}
		check(t, false)
	})
}
