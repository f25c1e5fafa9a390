package wasmbin

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// module assembles a binary from sections.
func module(sections ...Section) []byte { return (&Module{Sections: sections}).Bytes() }

func vec(items ...[]byte) []byte {
	out := appendU32(nil, uint32(len(items)))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

// A small module: one memory (1 page, max 4), a mutable i32 global
// initialised to 7, an immutable i64, an exported function "get" that
// returns the mutable global, and a data segment.
func smallModule() []byte {
	typ := vec([]byte{0x60, 0x00, 0x01, 0x7f})        // () -> i32
	fn := vec([]byte{0x00})                           // func 0 has type 0
	mem := vec([]byte{0x01, 0x01, 0x04})              // min 1 max 4
	glob := vec([]byte{0x7f, 0x01, 0x41, 0x07, 0x0b}, // mut i32 = 7
		[]byte{0x7e, 0x00, 0x42, 0x05, 0x0b}) // i64 = 5
	exp := vec(append(appendName(nil, "get"), 0x00, 0x00))
	body := []byte{0x00, 0x23, 0x00, 0x0b} // no locals; global.get 0; end
	code := vec(append(appendU32(nil, uint32(len(body))), body...))
	data := vec([]byte{0x00, 0x41, 0x10, 0x0b, 0x02, 'h', 'i'}) // active, offset 16, "hi"
	return module(Section{ID: SectionType, Body: typ}, Section{ID: SectionFunction, Body: fn}, Section{ID: SectionMemory, Body: mem},
		Section{ID: SectionGlobal, Body: glob}, Section{ID: SectionExport, Body: exp}, Section{ID: SectionCode, Body: code}, Section{ID: SectionData, Body: data})
}

func TestParseRoundTrip(t *testing.T) {
	b := smallModule()
	m, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Bytes(), b) {
		t.Fatal("Parse then Bytes changed the module")
	}
}

func TestParseRefusesMalformed(t *testing.T) {
	good := smallModule()
	for name, b := range map[string][]byte{
		"empty":            nil,
		"bad magic":        []byte("\x00asn\x01\x00\x00\x00"),
		"version 2":        []byte("\x00asm\x02\x00\x00\x00"),
		"truncated":        good[:len(good)-1],
		"size past end":    append(append([]byte{}, header...), 0x01, 0x7f),
		"unknown section":  append(append([]byte{}, header...), 0x0d, 0x00),
		"overlong leb":     append(append([]byte{}, header...), 0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00),
		"leb u32 overflow": append(append([]byte{}, header...), 0x01, 0xff, 0xff, 0xff, 0xff, 0x7f),
	} {
		if _, err := Parse(b); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

func TestInspect(t *testing.T) {
	m, _ := Parse(smallModule())
	l, err := m.Inspect()
	if err != nil {
		t.Fatal(err)
	}
	if !l.HasMemory || l.Memory != (Limits{Min: 1, Max: 4, HasMax: true}) {
		t.Errorf("memory %+v", l.Memory)
	}
	if len(l.Globals) != 2 || l.Globals[0] != (Global{I32, true}) || l.Globals[1] != (Global{I64, false}) {
		t.Errorf("globals %+v", l.Globals)
	}
	if !l.Exports["get"] || l.HasStart {
		t.Errorf("exports %v start %v", l.Exports, l.HasStart)
	}
}

// TestPreinitialize checks the rewrite end to end under wazero: the
// rewritten module validates, starts with the original's memory size and
// global values, exports its mutable globals so that the host can bring it
// to an image's state, and has no data.
func TestPreinitialize(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	m, _ := Parse(smallModule())
	exp, idx, err := ExportGlobals(m)
	if err != nil || len(idx) != 1 || idx[0] != 0 {
		t.Fatalf("ExportGlobals: %v %v", idx, err)
	}
	if _, err := rt.CompileModule(ctx, exp.Bytes()); err != nil {
		t.Fatalf("module with exported globals does not validate: %v", err)
	}
	pre, err := Preinitialize(m)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := rt.Instantiate(ctx, pre.Bytes())
	if err != nil {
		t.Fatalf("pre-initialised module does not instantiate: %v", err)
	}
	if size := inst.Memory().Size(); size != 65536 {
		t.Fatalf("memory starts at %d bytes, want the module's own %d", size, 65536)
	}
	if b, _ := inst.Memory().Read(16, 2); string(b) != "\x00\x00" {
		t.Fatalf("data segment still applied: %q", b)
	}
	g, ok := inst.ExportedGlobal(GlobalExportName(0)).(api.MutableGlobal)
	if !ok || int32(g.Get()) != 7 {
		t.Fatal("mutable global is not exported, mutable, with its own initial value")
	}
	// What the host does to bring an instance to an image's state.
	if _, ok := inst.Memory().Grow(1); !ok {
		t.Fatal("memory does not grow to the image's size")
	}
	g.Set(uint64(uint32(0xfffffff0)))
	out, err := inst.ExportedFunction("get").Call(ctx)
	if err != nil || int32(out[0]) != -16 {
		t.Fatalf("global reads %v after the host set it to -16 (%v)", out, err)
	}
}

// TestPreinitializeIgnoresData checks that modules differing only in their
// data segments rewrite to the same bytes: the serving module of a snapshot
// depends on the code, not on the state.
func TestPreinitializeIgnoresData(t *testing.T) {
	a, _ := Parse(smallModule())
	b, _ := Parse(bytes.Replace(smallModule(), []byte("hi"), []byte("yo"), 1))
	if bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the two modules are the same")
	}
	pa, err := Preinitialize(a)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := Preinitialize(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pa.Bytes(), pb.Bytes()) {
		t.Fatal("modules differing only in data rewrite to different modules")
	}
}

func TestPreinitializeRefusals(t *testing.T) {
	noMemory := module(Section{ID: SectionType, Body: vec([]byte{0x60, 0x00, 0x00})})
	start := module(Section{ID: SectionType, Body: vec([]byte{0x60, 0x00, 0x00})}, Section{ID: SectionFunction, Body: vec([]byte{0x00})},
		Section{ID: SectionMemory, Body: vec([]byte{0x00, 0x01})}, Section{ID: SectionStart, Body: []byte{0x00}},
		Section{ID: SectionCode, Body: vec([]byte{0x02, 0x00, 0x0b})})
	taken, _ := Parse(smallModule())
	taken.Sections[taken.section(SectionExport)].Body = vec(append(appendName(nil, GlobalExportName(0)), 0x00, 0x00))
	for name, b := range map[string][]byte{"no memory": noMemory, "start section": start, "export name taken": taken.Bytes()} {
		m, err := Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := Preinitialize(m); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCheckStateless(t *testing.T) {
	withBody := func(body ...byte) *Module {
		typ := vec([]byte{0x60, 0x00, 0x00})
		tab := vec([]byte{0x70, 0x00, 0x01})
		code := vec(append(appendU32(nil, uint32(len(body)+1)), append([]byte{0x00}, body...)...))
		m, err := Parse(module(Section{ID: SectionType, Body: typ}, Section{ID: SectionFunction, Body: vec([]byte{0x00})},
			Section{ID: SectionTable, Body: tab}, Section{ID: SectionCode, Body: code}))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	tests := []struct {
		name string
		body []byte
		ok   bool
	}{
		{"empty", []byte{0x0b}, true},
		{"arithmetic and locals", []byte{0x41, 0x01, 0x41, 0x7f, 0x6a, 0x1a, 0x0b}, true},
		{"block with br_table", []byte{0x02, 0x40, 0x41, 0x00, 0x0e, 0x01, 0x00, 0x00, 0x0b, 0x0b}, true},
		{"memory.copy", []byte{0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0a, 0x00, 0x00, 0x0b}, true},
		{"table.set", []byte{0x41, 0x00, 0xd0, 0x70, 0x26, 0x00, 0x0b}, false},
		{"table.grow", []byte{0xd0, 0x70, 0x41, 0x01, 0xfc, 0x0f, 0x00, 0x1a, 0x0b}, false},
		{"data.drop", []byte{0xfc, 0x09, 0x00, 0x0b}, false},
		{"simd", []byte{0xfd, 0x0c, 0x0b}, false},
	}
	for _, tt := range tests {
		err := withBody(tt.body...).CheckStateless()
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

func TestLEB(t *testing.T) {
	for _, v := range []uint32{0, 1, 127, 128, 1 << 20, 1<<32 - 1} {
		r := &reader{b: appendU32(nil, v)}
		if got := r.u32(); got != v || r.end() != nil {
			t.Errorf("u32 %d round-tripped to %d (%v)", v, got, r.err)
		}
	}
	for _, v := range []int64{0, -1, 63, 64, -64, -65, 1 << 40, -1 << 63, 1<<63 - 1} {
		r := &reader{b: appendS64(nil, v)}
		if got := r.sleb(64); got != v || r.end() != nil {
			t.Errorf("s64 %d round-tripped to %d (%v)", v, got, r.err)
		}
	}
	u32 := []struct {
		in   []byte
		want uint32
		ok   bool
	}{
		{[]byte{0x00}, 0, true},
		{[]byte{0x7f}, 127, true},
		{[]byte{0x80, 0x01}, 128, true},
		{[]byte{0x80, 0x80, 0x80, 0x80, 0x00}, 0, true}, // padded, as Go's linker writes sizes
		{[]byte{0xff, 0xff, 0xff, 0xff, 0x0f}, 1<<32 - 1, true},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0x10}, 0, false},
		{[]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 0, false},
		{[]byte{0x80}, 0, false},
	}
	for _, tc := range u32 {
		r := &reader{b: tc.in}
		got := r.u32()
		if (r.err == nil) != tc.ok || tc.ok && (got != tc.want || r.off != len(tc.in)) {
			t.Errorf("u32(% x) = %d, %v; want %d ok=%v", tc.in, got, r.err, tc.want, tc.ok)
		}
	}
	s := []struct {
		bits int
		in   []byte
		want int64
		ok   bool
	}{
		{32, []byte{0x00}, 0, true},
		{32, []byte{0x7f}, -1, true},
		{32, []byte{0x3f}, 63, true},
		{32, []byte{0xc0, 0x00}, 64, true},
		{32, []byte{0x40}, -64, true},
		{32, []byte{0xbf, 0x7f}, -65, true},
		{32, []byte{0xff, 0xff, 0xff, 0xff, 0x07}, 1<<31 - 1, true},
		{32, []byte{0x80, 0x80, 0x80, 0x80, 0x78}, -1 << 31, true},
		{32, []byte{0xff, 0xff, 0xff, 0xff, 0x7f}, -1, true}, // padded -1
		{32, []byte{0xff, 0xff, 0xff, 0xff, 0x08}, 0, false}, // 2^31: sign bit set, rest clear
		{32, []byte{0x80, 0x80, 0x80, 0x80, 0x70}, 0, false}, // rest set, sign clear
		{32, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 0, false},
		{33, []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, 1<<32 - 1, true},
		{33, []byte{0xff, 0xff, 0xff, 0xff, 0x1f}, 0, false},
		{64, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, -1, true},
		{64, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00}, 1<<63 - 1, true},
		{64, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f}, -1 << 63, true},
		{64, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 0, false},
		{64, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 0, false},
	}
	for _, tc := range s {
		r := &reader{b: tc.in}
		got := r.sleb(tc.bits)
		if (r.err == nil) != tc.ok || tc.ok && (got != tc.want || r.off != len(tc.in)) {
			t.Errorf("sleb%d(% x) = %d, %v; want %d ok=%v", tc.bits, tc.in, got, r.err, tc.want, tc.ok)
		}
	}
}
