package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/testguests"
)

// restoreVariant is one of the ways an instance's memory can be backed and
// restored; every one must give the same clean state.
type restoreVariant struct {
	name     string
	heap     bool // images on the heap, not in sealed memory files
	noTracks bool // no page map: compare every page
}

var restoreVariants = []restoreVariant{
	{name: "mapped-tracked"},
	{name: "mapped-untracked", noTracks: true},
	{name: "heap", heap: true},
}

// variantCounter returns an engine that backs and restores memory as v
// says, and the counter guest loaded into it from a snapshot.
func variantCounter(t *testing.T, v restoreVariant) (*Engine, *Module) {
	t.Helper()
	e := testEngine(t, Config{})
	e.heapImages = v.heap
	if v.noTracks {
		e.pages = nil
	}
	m, err := e.Load(context.Background(), "test:counter", func(context.Context) ([]byte, error) {
		return testguests.Build(t, "counter"), nil
	})
	if err != nil || m.snap == nil {
		t.Fatalf("load: %v %+v", err, m)
	}
	return e, m
}

// TestRestoreUndoesWritesAnywhere writes into an instance's memory the way
// a guest would (through the buffer wazero gives it) in patterns that
// defeat a restore which skips pages it should not: one byte in every page,
// whole pages at random, pages of zeros the image never touched, and reads
// only. After each restore the whole memory must equal the image, byte for
// byte.
func TestRestoreUndoesWritesAnywhere(t *testing.T) {
	ctx := context.Background()
	ps := os.Getpagesize()
	patterns := []struct {
		name  string
		dirty func(mem []byte, r *rand.Rand) int // returns the pages written
	}{
		{"a byte in every page", func(mem []byte, r *rand.Rand) int {
			for off := 0; off < len(mem); off += ps {
				mem[off+r.IntN(ps)] ^= byte(1 + r.IntN(255))
			}
			return len(mem) / ps
		}},
		{"whole pages at random", func(mem []byte, r *rand.Rand) int {
			n := 0
			for off := 0; off < len(mem); off += ps {
				if r.IntN(8) == 0 {
					for i := off; i < off+ps; i++ {
						mem[i] = byte(r.Uint32())
					}
					n++
				}
			}
			return n
		}},
		{"the last byte", func(mem []byte, r *rand.Rand) int {
			mem[len(mem)-1] ^= 0xff
			return 1
		}},
		{"zero pages only", func(mem []byte, r *rand.Rand) int {
			n := 0
			zero := make([]byte, ps)
			for off := 0; off < len(mem); off += ps {
				if bytes.Equal(mem[off:off+ps], zero) {
					mem[off+ps/2] = 0x42
					n++
				}
			}
			return n
		}},
		{"reads only", func(mem []byte, r *rand.Rand) int {
			var sum byte
			for off := 0; off < len(mem); off += 64 {
				sum += mem[off]
			}
			_ = sum
			return 0
		}},
	}
	for _, v := range restoreVariants {
		t.Run(v.name, func(t *testing.T) {
			_, m := variantCounter(t, v)
			if mapped := m.snap.sealed != nil; mapped == v.heap {
				t.Skipf("sealed images: %v on this platform", mapped)
			}
			want := bytes.Clone(m.snap.image)
			in, err := m.snap.pool(64 << 20).get(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer in.mem.done()
			if !bytes.Equal(in.mem.buf, want) {
				t.Fatal("a new instance does not start as the image")
			}
			r := rand.New(rand.NewPCG(1, 2))
			for _, p := range patterns {
				written := p.dirty(in.mem.buf, r)
				private, ok := in.restore(m.snap)
				if !ok {
					t.Fatalf("%s: restore refused", p.name)
				}
				if !bytes.Equal(in.mem.buf, want) {
					t.Fatalf("%s: memory differs from the image after restore", p.name)
				}
				if !bytes.Equal(m.snap.image, want) {
					t.Fatalf("%s: the image itself changed", p.name)
				}
				if private < int64(written*ps) {
					t.Fatalf("%s: %d pages written, %d private bytes counted", p.name, written, private)
				}
			}
		})
	}
}

// TestPageMapSkipsUntouchedPages is the control for the tracked variant:
// restore must really skip pages, or the page map buys nothing.
func TestPageMapSkipsUntouchedPages(t *testing.T) {
	ctx := context.Background()
	e, m := variantCounter(t, restoreVariants[0])
	if e.pages == nil || m.snap.sealed == nil {
		t.Skip("no page map or sealed images on this platform")
	}
	in, err := m.snap.pool(64 << 20).get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer in.mem.done()
	in.mem.buf[0] ^= 1
	private, ok := in.restore(m.snap)
	if !ok || private >= int64(len(in.mem.buf))/2 {
		t.Fatalf("one page written, restore treated %d of %d bytes as private", private, len(in.mem.buf))
	}
}

// TestRestoredInstancesAreCleanInEveryVariant runs invocations one after
// the other through Invoke on every variant, so that each reuses the
// instance the previous one restored: none may see the one before.
func TestRestoredInstancesAreCleanInEveryVariant(t *testing.T) {
	ctx := context.Background()
	lim := Limits{Timeout: 5 * time.Second, Memory: 64 << 20}
	for _, v := range restoreVariants {
		t.Run(v.name, func(t *testing.T) {
			e, m := variantCounter(t, v)
			for i := 0; i < 20; i++ {
				res, err := e.Invoke(ctx, m, lim, &abi.Request{Method: "GET", RawQuery: "secret=" + secret(t)})
				if err != nil {
					t.Fatal(err)
				}
				var got struct {
					Count          int    `json:"count"`
					BufferLen      int    `json:"buffer_len"`
					PreviousSecret string `json:"previous_secret"`
				}
				if err := json.Unmarshal(res.Response.Body, &got); err != nil {
					t.Fatal(err)
				}
				if got.Count != 1 || got.BufferLen != 1024 || got.PreviousSecret != "" {
					t.Fatalf("invocation %d saw state: %s", i, res.Response.Body)
				}
			}
			if st := m.PoolStats(); st.Reused < 15 {
				t.Fatalf("instances were not reused, so nothing was restored: %+v", st)
			}
		})
	}
}

// TestCloseDuringAnInvocationKeepsItsMemory closes the engine while an
// instance is out of its pool, as the daemon's shutdown may: the memory
// must stay usable until the invocation is done, and be released then.
func TestCloseDuringAnInvocationKeepsItsMemory(t *testing.T) {
	ctx := context.Background()
	e, err := New(ctx, Config{Artefacts: sharedArtefacts, CacheDir: TestCacheDir})
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.Load(ctx, "test:counter", func(context.Context) ([]byte, error) { return testguests.Build(t, "counter"), nil })
	if err != nil || m.snap == nil {
		t.Fatalf("load: %v %+v", err, m)
	}
	p := m.snap.pool(64 << 20)
	in, err := p.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if !in.mod.IsClosed() {
		t.Fatal("the engine's Close left the instance open")
	}
	for off := 0; off < len(in.mem.buf); off += 512 { // faults if unmapped
		in.mem.buf[off]++
	}
	p.put(ctx, in, true, 0)
	if in.mem.region != nil || in.mem.buf != nil {
		t.Fatal("the memory of a closed instance was not released when its invocation ended")
	}
	if n := len(p.idle); n != 0 {
		t.Fatalf("a closed instance went back to the pool (%d idle)", n)
	}
}

// TestRestoreClearsTheInterruptFlag: a deadline that passes just after a
// call returned leaves the flag set; restore must clear it, or the next
// call on the instance would trap at once.
func TestRestoreClearsTheInterruptFlag(t *testing.T) {
	ctx := context.Background()
	e, m := variantCounter(t, restoreVariants[0])
	p := m.snap.pool(64 << 20)
	in, err := p.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	in.globals[len(in.globals)-1].Set(1)
	p.put(ctx, in, true, 1)
	if again, err := p.get(ctx); err != nil || again != in {
		t.Fatalf("the restored instance was not reused: %v", err)
	} else {
		p.put(ctx, again, true, 1)
	}
	res, err := e.Invoke(ctx, m, Limits{Timeout: 5 * time.Second, Memory: 64 << 20}, &abi.Request{Method: "GET"})
	if err != nil || res.Response.Status != 200 {
		t.Fatalf("a call after a late deadline failed: %v", err)
	}
	if st := m.PoolStats(); st.Reused < 2 || st.Discarded != 0 {
		t.Fatalf("the call did not run on the restored instance: %+v", st)
	}
}
