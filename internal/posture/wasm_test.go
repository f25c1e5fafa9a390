package posture

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseModuleSegments(t *testing.T) {
	b := module(
		section(sectionCustom, cat(name("note"), []byte("hello"))),
		section(sectionData, vec(
			active(0x1000, []byte("first")),
			passive([]byte("second")),
			// flags 2: explicit memory 0, i64.const offset (memory64)
			cat([]byte{0x02, 0x00, 0x42}, sleb(0x2000), []byte{0x0b}, uleb(5), []byte("third")),
			// an offset from a global: valid, but not a constant
			cat([]byte{0x00, 0x23, 0x00, 0x0b}, uleb(6), []byte("fourth")),
			// extended constant expression: i32.const 1, i32.const 2, i32.add
			cat([]byte{0x00, 0x41, 0x01, 0x41, 0x02, 0x6a, 0x0b}, uleb(5), []byte("fifth")),
		)),
	)
	m, err := parseModule(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		data   string
		placed bool
		addr   uint64
	}{
		{"first", true, 0x1000},
		{"second", false, 0},
		{"third", true, 0x2000},
		{"fourth", false, 0},
		{"fifth", false, 0},
	}
	if len(m.segments) != len(want) {
		t.Fatalf("%d segments, want %d", len(m.segments), len(want))
	}
	for i, w := range want {
		s := m.segments[i]
		if string(s.data) != w.data || s.placed != w.placed || s.addr != w.addr || s.index != i {
			t.Errorf("segment %d = %q placed=%v addr=%#x index=%d, want %q %v %#x", i, s.data, s.placed, s.addr, s.index, w.data, w.placed, w.addr)
		}
		if !bytes.Equal(b[s.offset:s.offset+len(s.data)], s.data) {
			t.Errorf("segment %d: offset %d does not point at its data", i, s.offset)
		}
	}
	if body, ok := m.customSection("note"); !ok || string(body) != "hello" {
		t.Errorf("custom section = %q, %v", body, ok)
	}
}

func TestParseModuleMalformed(t *testing.T) {
	mem := section(5, vec(cat([]byte{0x00}, uleb(2))))
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"no header", []byte("\x00asn\x01\x00\x00\x00")},
		{"version 2", []byte("\x00asm\x02\x00\x00\x00")},
		{"section past the end", cat(wasmHeader, []byte{0x01, 0x05, 0x00})},
		{"section size missing", cat(wasmHeader, []byte{0x01})},
		{"u32 longer than 5 bytes", cat(wasmHeader, []byte{0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00})},
		{"u32 overflows", cat(wasmHeader, []byte{0x01, 0xff, 0xff, 0xff, 0xff, 0x1f})},
		{"huge section size", cat(wasmHeader, []byte{0x0b, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00})},
		{"unknown section id", cat(wasmHeader, section(14, nil))},
		{"custom section name past the end", cat(wasmHeader, section(0, []byte{0x09, 'a'}))},
		{"data count past the section", cat(mem, section(sectionData, []byte{0x05}))},
		{"unknown segment flags", cat(mem, section(sectionData, vec([]byte{0x03, 0x00})))},
		{"segment size past the end", cat(mem, section(sectionData, vec(cat([]byte{0x00, 0x41, 0x00, 0x0b}, uleb(100), []byte("x")))))},
		{"segment size over 2^31", cat(mem, section(sectionData, vec(cat([]byte{0x01}, uleb(1<<32-1)))))},
		{"offset expression without end", cat(mem, section(sectionData, vec([]byte{0x00, 0x41, 0x00})))},
		{"opcode in offset expression", cat(mem, section(sectionData, vec([]byte{0x00, 0x20, 0x00, 0x0b, 0x00})))},
		{"i32.const too long", cat(mem, section(sectionData, vec([]byte{0x00, 0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x0b, 0x00})))},
		{"i32.const overflows", cat(mem, section(sectionData, vec([]byte{0x00, 0x41, 0xff, 0xff, 0xff, 0xff, 0x1f, 0x0b, 0x00})))},
		{"trailing bytes in data section", cat(mem, section(sectionData, cat(vec(passive([]byte("x"))), []byte{0x00})))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.b
			if len(b) > 0 && !bytes.HasPrefix(b, []byte("\x00as")) {
				b = cat(wasmHeader, b)
			}
			if _, err := parseModule(b); !errors.Is(err, ErrMalformed) {
				t.Errorf("parseModule = %v, want ErrMalformed", err)
			}
			if _, err := ScanSecrets(b); !errors.Is(err, ErrMalformed) {
				t.Errorf("ScanSecrets = %v, want ErrMalformed", err)
			}
			if _, err := ReadBuildInfo(b); !errors.Is(err, ErrMalformed) {
				t.Errorf("ReadBuildInfo = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestLEB128(t *testing.T) {
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
	// The test's own encoder agrees with the decoder.
	for _, v := range []int64{0, 1, -1, 63, 64, -64, -65, 1 << 20, -1 << 20, 1<<31 - 1, -1 << 31} {
		r := &reader{b: sleb(v)}
		if got := r.sleb(32); got != v || r.err != nil {
			t.Errorf("sleb round trip %d: %d, %v", v, got, r.err)
		}
	}
}

func TestMemoryImage(t *testing.T) {
	m, err := parseModule(moduleWithData(
		active(16, []byte("abcdef")),
		active(32, []byte("XYZ")),
		active(18, []byte("12")),   // overwrites "cd"
		active(14, []byte("wxyz")), // lower, but later: overwrites "ab"
		passive([]byte("never placed")),
	))
	if err != nil {
		t.Fatal(err)
	}
	img := m.memory()
	for _, tc := range []struct {
		addr, n uint64
		want    string
		ok      bool
	}{
		{16, 6, "yz12ef", true},
		{12, 6, "\x00\x00wxyz", true},
		{20, 14, "ef\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00XY", true},
		{100, 3, "\x00\x00\x00", true},
		{0, 1 << 30, "", false},   // over the module's size
		{1<<64 - 2, 4, "", false}, // wraps
	} {
		got, ok := img.read(tc.addr, tc.n)
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("read(%d, %d) = %q, %v; want %q, %v", tc.addr, tc.n, got, ok, tc.want, tc.ok)
		}
	}
}
