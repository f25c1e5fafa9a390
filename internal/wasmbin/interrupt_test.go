package wasmbin

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// spinModule exports spin, a loop that never ends, and answer, which
// returns 42 without looping; it has a memory, no globals of its own, a
// DWARF section, a producers section and a name section.
func spinModule() []byte {
	typ := vec([]byte{0x60, 0x00, 0x00}, []byte{0x60, 0x00, 0x01, 0x7f}) // () -> (), () -> i32
	fn := vec([]byte{0x00}, []byte{0x01})
	exp := vec(append(appendName(nil, "spin"), 0x00, 0x00), append(appendName(nil, "answer"), 0x00, 0x01))
	spin := []byte{0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b} // loop; br 0; end; end
	answer := []byte{0x00, 0x41, 0x2a, 0x0b}                 // i32.const 42; end
	code := vec(append(appendU32(nil, uint32(len(spin))), spin...), append(appendU32(nil, uint32(len(answer))), answer...))
	debug := appendName(nil, ".debug_info")
	producers := appendName(nil, "producers")
	mem := vec([]byte{0x00, 0x01}) // min 1
	return module(Section{ID: SectionType, Body: typ}, Section{ID: SectionFunction, Body: fn}, Section{ID: SectionMemory, Body: mem},
		Section{ID: SectionExport, Body: exp}, Section{ID: SectionCode, Body: code}, Section{ID: SectionCustom, Body: append(debug, 1, 2, 3)},
		Section{ID: SectionCustom, Body: append(producers, 0x00)}, Section{ID: SectionCustom, Body: nameSection("spin", "answer")})
}

// nameSection is a name section that names the functions from index 0.
func nameSection(names ...string) []byte {
	var fns [][]byte
	for i, n := range names {
		fns = append(fns, appendName(appendU32(nil, uint32(i)), n))
	}
	sub := vec(fns...)
	return append(appendU32(append(appendName(nil, "name"), 0x01), uint32(len(sub))), sub...)
}

func TestAddInterruptLayout(t *testing.T) {
	for name, b := range map[string][]byte{"with globals": smallModule(), "without": spinModule()} {
		t.Run(name, func(t *testing.T) {
			m, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			before, _ := m.Inspect()
			out, flag, err := AddInterrupt(m)
			if err != nil {
				t.Fatal(err)
			}
			l, err := out.Inspect()
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Globals) != len(before.Globals)+2 || flag != l.ImportedGlobals+len(l.Globals)-1 {
				t.Fatalf("flag %d with globals %+v", flag, l.Globals)
			}
			for _, g := range l.Globals[len(l.Globals)-2:] {
				if g.Type != I32 || !g.Mutable {
					t.Fatalf("fuel or flag global %+v", g)
				}
			}
			if !l.Exports[GlobalExportName(flag)] || !l.Exports[GlobalExportName(flag-1)] {
				t.Fatalf("fuel and flag not exported: %v", l.Exports)
			}
			var kept, want [][]byte
			for _, s := range out.Sections {
				if s.ID == SectionCustom {
					kept = append(kept, s.Body)
				}
			}
			for _, s := range m.Sections {
				if s.ID == SectionCustom && isNameSection(s.Body) {
					want = append(want, s.Body)
				}
			}
			if !slices.EqualFunc(kept, want, bytes.Equal) {
				t.Fatalf("custom sections after the rewrite: %q, want the name section only: %q", kept, want)
			}
			if err := out.CheckStateless(); err != nil {
				t.Fatalf("the checks are instructions CheckStateless refuses: %v", err)
			}
			if !bytes.Equal(m.Bytes(), b) {
				t.Fatal("the input module changed")
			}
		})
	}
}

// TestInterruptStopsLoopsAndCalls runs the rewritten spinModule on
// wazero's compiler with no termination checks of its own: setting the
// flag must stop a loop that never ends, and make calls trap at entry.
func TestInterruptStopsLoopsAndCalls(t *testing.T) {
	ctx := context.Background()
	m, err := Parse(spinModule())
	if err != nil {
		t.Fatal(err)
	}
	withFlag, flag, err := AddInterrupt(m)
	if err != nil {
		t.Fatal(err)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig())
	defer rt.Close(ctx)
	inst, err := rt.InstantiateWithConfig(ctx, withFlag.Bytes(), wazero.NewModuleConfig())
	if err != nil {
		t.Fatal(err)
	}
	g, ok := inst.ExportedGlobal(GlobalExportName(flag)).(api.MutableGlobal)
	if !ok {
		t.Fatal("flag not exported as a mutable global")
	}
	answer := inst.ExportedFunction("answer")
	if out, err := answer.Call(ctx); err != nil || out[0] != 42 {
		t.Fatalf("answer with the flag clear: %v %v", out, err)
	}
	// Calls without a loop are checked at entry: once the flag is set,
	// they trap within one fuel's worth of calls.
	g.Set(1)
	calls := 0
	for ; calls <= InterruptFuel; calls++ {
		if _, err := answer.Call(ctx); err != nil {
			if !strings.Contains(err.Error(), "unreachable") {
				t.Fatalf("a call with the flag set failed otherwise: %v", err)
			}
			break
		}
	}
	if calls > InterruptFuel {
		t.Fatalf("%d calls with the flag set did not trap", calls)
	}
	g.Set(0)
	done := make(chan error, 1)
	go func() {
		_, err := inst.ExportedFunction("spin").Call(ctx)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("spin ended before the flag was set: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	g.Set(1)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "unreachable") {
			t.Fatalf("spin ended without the trap: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the flag did not stop the loop")
	}
}

func TestAddInterruptRefusesWhatItCannotDecode(t *testing.T) {
	m, err := Parse(spinModule())
	if err != nil {
		t.Fatal(err)
	}
	at := m.section(SectionCode)
	bad := []byte{0x00, 0xfd, 0x0c, 0x0b} // a SIMD instruction the decoder does not know
	m.Sections[at].Body = vec(append(appendU32(nil, uint32(len(bad))), bad...), m.Sections[at].Body[1+1+7:])
	if _, _, err := AddInterrupt(m); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("got %v, want ErrUnsupported", err)
	}
	m, _ = Parse(spinModule())
	m.Sections = slices.DeleteFunc(m.Sections, func(s Section) bool { return s.ID == SectionMemory })
	if _, _, err := AddInterrupt(m); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("without a memory: got %v, want ErrUnsupported", err)
	}
}
