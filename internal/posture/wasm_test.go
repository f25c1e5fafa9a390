package posture

import (
	"bytes"
	"errors"
	"testing"

	"github.com/pave-dev/pave/internal/wasmbin"
)

func TestParseModuleSegments(t *testing.T) {
	b := module(
		section(wasmbin.SectionCustom, cat(name("note"), []byte("hello"))),
		section(wasmbin.SectionData, vec(
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
		if string(s.Data) != w.data || s.Placed != w.placed || s.Addr != w.addr || s.Index != i {
			t.Errorf("segment %d = %q placed=%v addr=%#x index=%d, want %q %v %#x", i, s.Data, s.Placed, s.Addr, s.Index, w.data, w.placed, w.addr)
		}
		if !bytes.Equal(b[s.Offset:s.Offset+len(s.Data)], s.Data) {
			t.Errorf("segment %d: offset %d does not point at its data", i, s.Offset)
		}
	}
	if body, ok := m.mod.CustomSection("note"); !ok || string(body) != "hello" {
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
		{"data count past the section", cat(mem, section(wasmbin.SectionData, []byte{0x05}))},
		{"unknown segment flags", cat(mem, section(wasmbin.SectionData, vec([]byte{0x03, 0x00})))},
		{"segment size past the end", cat(mem, section(wasmbin.SectionData, vec(cat([]byte{0x00, 0x41, 0x00, 0x0b}, uleb(100), []byte("x")))))},
		{"segment size over 2^31", cat(mem, section(wasmbin.SectionData, vec(cat([]byte{0x01}, uleb(1<<32-1)))))},
		{"offset expression without end", cat(mem, section(wasmbin.SectionData, vec([]byte{0x00, 0x41, 0x00})))},
		{"opcode in offset expression", cat(mem, section(wasmbin.SectionData, vec([]byte{0x00, 0x20, 0x00, 0x0b, 0x00})))},
		{"i32.const too long", cat(mem, section(wasmbin.SectionData, vec([]byte{0x00, 0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x0b, 0x00})))},
		{"i32.const overflows", cat(mem, section(wasmbin.SectionData, vec([]byte{0x00, 0x41, 0xff, 0xff, 0xff, 0xff, 0x1f, 0x0b, 0x00})))},
		{"trailing bytes in data section", cat(mem, section(wasmbin.SectionData, cat(vec(passive([]byte("x"))), []byte{0x00})))},
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
