package wasmbin

import (
	"errors"
	"strings"
	"testing"
)

// tableModule is a module whose table section holds tables.
func tableModule(tables ...[]byte) *Module {
	m, err := Parse(module(Section{ID: SectionTable, Body: vec(tables...)}))
	if err != nil {
		panic(err)
	}
	return m
}

func TestBoundGivesTablesAMaximum(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tables [][]byte
		want   []Limits
	}{
		{"no maximum", [][]byte{{0x70, 0x00, 0x10}},
			[]Limits{{Min: 16, Max: MaxTableElements, HasMax: true}}},
		{"maximum above the cap", [][]byte{{0x70, 0x01, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f}},
			[]Limits{{Min: 1, Max: MaxTableElements, HasMax: true}}},
		{"maximum below the cap kept", [][]byte{{0x70, 0x01, 0x01, 0x08}},
			[]Limits{{Min: 1, Max: 8, HasMax: true}}},
		{"two tables share what the minima leave", [][]byte{{0x70, 0x00, 0x00}, {0x6f, 0x00, 0x80, 0x80, 0x20}},
			[]Limits{{Min: 0, Max: (MaxTableElements - 1<<19) / 2, HasMax: true}, {Min: 1 << 19, Max: 1<<19 + (MaxTableElements-1<<19)/2, HasMax: true}}},
		{"a table of the whole cap", [][]byte{{0x70, 0x00, 0x80, 0x80, 0x40}},
			[]Limits{{Min: MaxTableElements, Max: MaxTableElements, HasMax: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Bound(tableModule(tc.tables...))
			if err != nil {
				t.Fatal(err)
			}
			again, err := Parse(out.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			l, err := again.Inspect()
			if err != nil {
				t.Fatal(err)
			}
			var sum uint64
			for i, tab := range l.Tables {
				if tab.Limits != tc.want[i] {
					t.Errorf("table %d: limits %+v, want %+v", i, tab.Limits, tc.want[i])
				}
				sum += uint64(tab.Limits.Max)
			}
			if sum > MaxTableElements {
				t.Errorf("maxima add up to %d, above %d", sum, MaxTableElements)
			}
		})
	}
}

func TestBoundRefuses(t *testing.T) {
	entries := func(n int) []byte { // a passive segment of n function indexes
		return append(append([]byte{0x01, 0x00}, appendU32(nil, uint32(n))...), make([]byte, n)...)
	}
	for _, tc := range []struct {
		name string
		wasm []byte
		want string
	}{
		{"a huge table", module(Section{ID: SectionTable, Body: vec([]byte{0x70, 0x00, 0x80, 0x80, 0x80, 0x08})}), "tables of 16777216 elements"},
		{"tables adding up past the cap", module(Section{ID: SectionTable, Body: vec([]byte{0x70, 0x00, 0x80, 0x80, 0x20}, []byte{0x70, 0x00, 0x81, 0x80, 0x20})}), "tables of 1048577 elements"},
		{"too many tables", module(Section{ID: SectionTable, Body: append(appendU32(nil, MaxTables+1), strings.Repeat("\x70\x00\x00", MaxTables+1)...)}), "101 tables"},
		{"an imported table", module(Section{ID: SectionImport, Body: vec(append(appendName(appendName(nil, "env"), "t"), 0x01, 0x70, 0x00, 0x00))}), "imports a table"},
		{"a million globals claimed", module(Section{ID: SectionGlobal, Body: appendU32(nil, 1<<20)}), "1048576 globals"},
		{"too many data segments", module(Section{ID: SectionData, Body: appendU32(nil, MaxDataSegments+1)}), "data segments"},
		{"too many in the data count", module(Section{ID: SectionDataCount, Body: appendU32(nil, MaxDataSegments+1)}), "data segments"},
		{"too many element segments", module(Section{ID: SectionElement, Body: appendU32(nil, MaxElementSegments+1)}), "element segments"},
		{"too many types", module(Section{ID: SectionType, Body: appendU32(nil, MaxTypes+1)}), "function types"},
		{"too many imports", module(Section{ID: SectionImport, Body: appendU32(nil, MaxImports+1)}), "imports"},
		{"element entries past the cap", module(Section{ID: SectionElement, Body: vec(entries(MaxElementEntries/2), entries(MaxElementEntries/2+1))}), "element segments of more than"},
		{"four billion locals", module(Section{ID: SectionCode, Body: vec([]byte{0x07, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 0x0b})}), "more than 50000 locals"},
		{"locals in many groups", module(Section{ID: SectionCode, Body: vec([]byte{0x0a, 0x02, 0xb0, 0xea, 0x01, 0x7f, 0xb0, 0xea, 0x01, 0x7e, 0x0b})}), "more than 50000 locals"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse(tc.wasm)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Bound(m)
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Bound = %v, want ErrTooLarge saying %q", err, tc.want)
			}
		})
	}
}

func TestBoundRefusesWhatItCannotRead(t *testing.T) {
	for name, wasm := range map[string][]byte{
		"table with an initialiser": module(Section{ID: SectionTable, Body: vec([]byte{0x40, 0x00, 0x70, 0x00, 0x01, 0xd0, 0x70, 0x0b})}),
		"typed reference table":     module(Section{ID: SectionTable, Body: vec([]byte{0x63, 0x70, 0x00, 0x01})}),
		"shared table":              module(Section{ID: SectionTable, Body: vec([]byte{0x70, 0x03, 0x01, 0x02})}),
		"maximum below minimum":     module(Section{ID: SectionTable, Body: vec([]byte{0x70, 0x01, 0x02, 0x01})}),
		"element flags 8":           module(Section{ID: SectionElement, Body: vec([]byte{0x08})}),
		"truncated code":            module(Section{ID: SectionCode, Body: vec([]byte{0x05, 0x01})}),
	} {
		t.Run(name, func(t *testing.T) {
			m, err := Parse(wasm)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Bound(m); err == nil || errors.Is(err, ErrTooLarge) {
				t.Fatalf("Bound = %v, want a format or unsupported error", err)
			}
		})
	}
}

func TestBoundKeepsOrdinaryModules(t *testing.T) {
	m, err := Parse(smallModule())
	if err != nil {
		t.Fatal(err)
	}
	out, err := Bound(m)
	if err != nil {
		t.Fatal(err)
	}
	if string(out.Bytes()) != string(smallModule()) {
		t.Fatal("Bound changed a module without tables")
	}
}
