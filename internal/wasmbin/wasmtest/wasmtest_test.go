package wasmtest_test

import (
	"bytes"
	"math"
	"testing"

	"github.com/pave-dev/pave/internal/wasmbin"
	"github.com/pave-dev/pave/internal/wasmbin/wasmtest"
)

func TestLEB128(t *testing.T) {
	for _, tc := range []struct {
		v    uint64
		want []byte
	}{
		{0, []byte{0x00}},
		{127, []byte{0x7f}},
		{128, []byte{0x80, 0x01}},
		{624485, []byte{0xe5, 0x8e, 0x26}},
		{math.MaxUint32, []byte{0xff, 0xff, 0xff, 0xff, 0x0f}},
	} {
		if got := wasmtest.ULEB(tc.v); !bytes.Equal(got, tc.want) {
			t.Errorf("ULEB(%d) = % x, want % x", tc.v, got, tc.want)
		}
	}
	for _, tc := range []struct {
		v    int64
		want []byte
	}{
		{0, []byte{0x00}},
		{63, []byte{0x3f}},
		{64, []byte{0xc0, 0x00}},
		{-1, []byte{0x7f}},
		{-64, []byte{0x40}},
		{-65, []byte{0xbf, 0x7f}},
		{-123456, []byte{0xc0, 0xbb, 0x78}},
		{math.MinInt32, []byte{0x80, 0x80, 0x80, 0x80, 0x78}},
	} {
		if got := wasmtest.SLEB(tc.v); !bytes.Equal(got, tc.want) {
			t.Errorf("SLEB(%d) = % x, want % x", tc.v, got, tc.want)
		}
	}
}

// TestModuleSections checks that a Module writes its sections in the
// order the binary format requires, whatever order they were added in,
// that a defined function's index counts the imported ones, and that
// package wasmbin reads back what was written.
func TestModuleSections(t *testing.T) {
	var m wasmtest.Module
	m.Custom("first", []byte("x"))
	m.Data(0, []byte("d"))
	m.Memory(1)
	typ := m.Type(wasmtest.FuncType(nil))
	imported := m.ImportFunc("env", "f", typ)
	m.ImportTable("env", "t", []byte{wasmtest.FuncRef, 0x00, 0x00})
	fn := m.FuncLocals(typ, []wasmtest.Local{{N: 2, Type: wasmtest.I64}}, []byte{0x10, byte(imported)})
	m.Start(fn)
	m.Table([]byte{wasmtest.FuncRef, 0x01, 0x00, 0x01})
	m.Export("fn", wasmtest.KindFunc, fn)
	if fn != 1 {
		t.Errorf("the defined function has index %d, want 1, after the imported one", fn)
	}
	parsed, err := wasmbin.Parse(m.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var ids []byte
	for _, s := range parsed.Sections {
		ids = append(ids, s.ID)
	}
	want := []byte{wasmbin.SectionType, wasmbin.SectionImport, wasmbin.SectionFunction, wasmbin.SectionTable, wasmbin.SectionMemory,
		wasmbin.SectionExport, wasmbin.SectionStart, wasmbin.SectionCode, wasmbin.SectionData, wasmbin.SectionCustom}
	if !bytes.Equal(ids, want) {
		t.Fatalf("sections %v, want %v", ids, want)
	}
	if body, ok := parsed.CustomSection("first"); !ok || string(body) != "x" {
		t.Errorf("custom section = %q, %v", body, ok)
	}
	// One body of 6 bytes: one run of 2 i64 locals, call 0, end.
	if code, want := parsed.Sections[7].Body, []byte{0x01, 0x06, 0x01, 0x02, 0x7e, 0x10, 0x00, 0x0b}; !bytes.Equal(code, want) {
		t.Errorf("code section % x, want % x", code, want)
	}
}

func TestImportAfterAFunctionPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic: the import would shift the index already given to the function")
		}
	}()
	var m wasmtest.Module
	m.Func(m.Type(wasmtest.FuncType(nil)))
	m.ImportFunc("env", "f", 0)
}
