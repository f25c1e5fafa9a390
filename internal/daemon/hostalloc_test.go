package daemon_test

import (
	"bufio"
	"errors"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/wasmbin/wasmtest"
)

// procStatus returns a field of /proc/self/status in bytes.
func procStatus(t *testing.T, field string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// settledRSS collects garbage, returns freed memory to the system, and
// reports the resident set.
func settledRSS(t *testing.T) int64 {
	runtime.GC()
	debug.FreeOSMemory()
	return procStatus(t, "VmRSS")
}

// TestTablesAreBounded attacks the host with tables, which wazero
// allocates outside the linear memory that limits.memory caps: a module
// that grows its table by 16 Mi elements four times, in a start function
// (so at deploy and in every call) and in handle, and modules that declare
// such tables. Not parallel, so that the process's memory is this test's:
// its peak must not rise by more than a few tens of MiB, and it must come
// back to where it was.
func TestTablesAreBounded(t *testing.T) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak resident set: %v", err)
	}
	n := start(t, "")
	// ref.null func; i32.const 16 Mi; table.grow 0
	grow := wasmtest.Cat([]byte{0xd0, 0x70}, wasmtest.I32Const(1<<24), []byte{0xfc, 0x0f, 0x00})
	// ... and trap unless it answered -1, as the spec says a refused grow does.
	growOrTrap := wasmtest.Cat(grow, wasmtest.I32Const(-1), []byte{0x47, 0x04, 0x40, 0x00, 0x0b})
	unbounded := []byte{0x70, 0x00, 0x00} // funcref, min 0, no maximum
	huge := wasmtest.Cat([]byte{0x70, 0x00}, wasmtest.ULEB(1<<24))
	limits := "  memory: 32MiB\n"

	before := settledRSS(t)
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatal(err)
	}
	for name, module := range map[string][]byte{
		"grow-handle": reactorModule(wasmtest.Cat(growOrTrap, growOrTrap, growOrTrap, growOrTrap), nil, unbounded),
		"grow-start":  reactorModule(nil, wasmtest.Cat(grow, []byte{0x1a}, grow, []byte{0x1a}, grow, []byte{0x1a}, grow, []byte{0x1a}), unbounded),
	} {
		if _, err := n.tryDeploy(manifestFor(name, route("GET", "/"+name), limits), module); err != nil {
			t.Errorf("deploy %s: %v", name, err)
			continue
		}
		key := n.key(name, name)
		for range 3 {
			if r := n.call("GET", "/"+name, key, nil); r.status != 200 || string(r.body) != "ok" {
				t.Errorf("GET /%s = %d %q, want 200: table.grow past the bound must return -1", name, r.status, r.body)
				break
			}
		}
	}
	oneMi := wasmtest.Cat([]byte{0x70, 0x00}, wasmtest.ULEB(1<<20))
	for name, tables := range map[string][][]byte{
		"a table of 16 Mi elements": {huge},
		"two tables of 1 Mi":        {oneMi, oneMi},
	} {
		_, err := n.tryDeploy(manifestFor("huge", route("GET", "/huge"), limits), reactorModule(nil, nil, tables...))
		var apiErr *client.Error
		if !errors.As(err, &apiErr) || apiErr.Code != "invalid_module" || !strings.Contains(apiErr.Message, "tables of") {
			t.Errorf("deploy of %s: %v, want invalid_module naming the tables", name, err)
		}
	}

	const bound = 64 << 20
	if peak := procStatus(t, "VmHWM"); peak-before > bound {
		t.Errorf("resident memory peaked %d MiB above where it was, more than %d MiB", (peak-before)>>20, bound>>20)
	}
	if after := settledRSS(t); after-before > bound {
		t.Errorf("resident memory settled %d MiB above where it was", (after-before)>>20)
	}
}
