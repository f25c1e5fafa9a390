package wasmbin

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

// FuzzRewrite feeds arbitrary bytes through every entry point. Nothing may
// panic; whatever Parse accepts must come back with the same sections after
// encoding; and every rewrite's output must parse, with the layout the
// rewrite promises. (That rewrites of real modules validate and behave the
// same is TestGuestCorpus's job, with wazero.)
func FuzzRewrite(f *testing.F) {
	f.Add(smallModule())
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Add(append([]byte("\x00asm\x01\x00\x00\x00"), 0x05, 0x03, 0x01, 0x00, 0x01))
	f.Add(append([]byte("\x00asm\x01\x00\x00\x00"), 0x04, 0x04, 0x01, 0x70, 0x00, 0x10))
	f.Add(append([]byte("\x00asm\x01\x00\x00\x00"), 0x09, 0x05, 0x01, 0x05, 0x70, 0x01, 0x0b))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("parse error not wrapping ErrFormat: %v", err)
			}
			return
		}
		// Lengths may be re-encoded shorter (LEB128 allows padding), but
		// every section must survive the round trip.
		again, err := Parse(m.Bytes())
		if err != nil || len(again.Sections) != len(m.Sections) {
			t.Fatalf("re-encoded module does not parse the same: %v", err)
		}
		for i := range m.Sections {
			if again.Sections[i].ID != m.Sections[i].ID || !bytes.Equal(again.Sections[i].Body, m.Sections[i].Body) {
				t.Fatalf("section %d changed in the round trip", i)
			}
		}
		checkBound(t, m)
		if m.CheckStateless() == nil {
			checkInterrupt(t, m)
		}
		l, err := m.Inspect()
		if err != nil {
			return
		}
		if exp, idx, err := ExportGlobals(m); err == nil {
			el, err := exp.Inspect()
			if err != nil {
				t.Fatalf("ExportGlobals output does not inspect: %v", err)
			}
			for _, i := range idx {
				if !el.Exports[GlobalExportName(i)] {
					t.Fatalf("global %d not exported", i)
				}
			}
		}
		pre, err := Preinitialize(m)
		if err != nil {
			return
		}
		pl, err := pre.Inspect()
		if err != nil {
			t.Fatalf("Preinitialize output does not inspect: %v", err)
		}
		if !pl.HasMemory || pl.Memory != l.Memory || !slices.Equal(pl.Globals, l.Globals) {
			t.Fatalf("Preinitialize output layout %+v, want the memory and globals of %+v", pl, l)
		}
		for j, g := range l.Globals {
			if g.Mutable && !pl.Exports[GlobalExportName(l.ImportedGlobals+j)] {
				t.Fatalf("mutable global %d not exported", l.ImportedGlobals+j)
			}
		}
		if at := pre.section(SectionData); at >= 0 && !bytes.Equal(pre.Sections[at].Body, []byte{0}) {
			t.Fatal("Preinitialize left data segments")
		}
	})
}

// checkInterrupt checks AddInterrupt on a module CheckStateless accepts:
// it must not refuse it unless it has no memory, and its output must parse,
// inspect with two more globals (mutable i32 fuel and flag, the flag last)
// and still pass CheckStateless.
func checkInterrupt(t *testing.T, m *Module) {
	before, _ := m.Inspect()
	out, flag, err := AddInterrupt(m)
	if !before.HasMemory || before.Exports[GlobalExportName(len(before.Globals)+before.ImportedGlobals)] || before.Exports[GlobalExportName(len(before.Globals)+before.ImportedGlobals+1)] {
		if !errors.Is(err, ErrUnsupported) {
			t.Fatalf("AddInterrupt without a memory, or with the export names taken: %v", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("AddInterrupt refused a module CheckStateless accepts: %v", err)
	}
	again, err := Parse(out.Bytes())
	if err != nil {
		t.Fatalf("AddInterrupt output does not parse: %v", err)
	}
	l, err := again.Inspect()
	if err != nil {
		t.Fatalf("AddInterrupt output does not inspect: %v", err)
	}
	added := Global{Type: I32, Mutable: true}
	if len(l.Globals) != len(before.Globals)+2 || flag != l.ImportedGlobals+len(l.Globals)-1 || l.Globals[len(l.Globals)-1] != added || l.Globals[len(l.Globals)-2] != added {
		t.Fatalf("AddInterrupt output globals %+v, flag %d", l.Globals, flag)
	}
	if !l.Exports[GlobalExportName(flag)] || !l.Exports[GlobalExportName(flag-1)] {
		t.Fatal("AddInterrupt did not export the fuel and the flag")
	}
	if err := again.CheckStateless(); err != nil {
		t.Fatalf("AddInterrupt output fails CheckStateless: %v", err)
	}
}

// checkBound checks Bound on any module: its errors wrap one of the
// package's sentinels, and a module it accepts comes back with every table
// declaring a maximum, the maxima adding up to at most MaxTableElements.
func checkBound(t *testing.T, m *Module) {
	out, err := Bound(m)
	if err != nil {
		if !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("Bound error wraps no sentinel: %v", err)
		}
		return
	}
	again, err := Parse(out.Bytes())
	if err != nil {
		t.Fatalf("Bound output does not parse: %v", err)
	}
	l, err := again.Inspect()
	if err != nil {
		t.Fatalf("Bound output does not inspect: %v", err)
	}
	var sum uint64
	for _, tab := range l.Tables {
		if !tab.Limits.HasMax || tab.Limits.Max < tab.Limits.Min {
			t.Fatalf("Bound output table limits %+v", tab.Limits)
		}
		sum += uint64(tab.Limits.Max)
	}
	if sum > MaxTableElements {
		t.Fatalf("Bound output tables add up to %d elements", sum)
	}
}
