package wasmbin

import (
	"fmt"
	"slices"
	"strconv"
)

// GlobalExportPrefix starts the names under which ExportGlobals exports a
// module's mutable globals: GlobalExportPrefix + the global's index.
const GlobalExportPrefix = "pave.global."

// GlobalExportName is the export name of global index i.
func GlobalExportName(i int) string { return GlobalExportPrefix + strconv.Itoa(i) }

// ExportGlobals returns a copy of m that also exports every mutable global
// the module defines, so the host can read and reset them. It returns the
// indexes exported.
func ExportGlobals(m *Module) (*Module, []int, error) {
	l, err := m.Inspect()
	if err != nil {
		return nil, nil, err
	}
	var idx []int
	for j, g := range l.Globals {
		if g.Mutable {
			i := l.ImportedGlobals + j
			if l.Exports[GlobalExportName(i)] {
				return nil, nil, fmt.Errorf("%w: export name %q already used", ErrUnsupported, GlobalExportName(i))
			}
			idx = append(idx, i)
		}
	}
	out := &Module{Sections: slices.Clone(m.Sections)}
	if err := out.addGlobalExports(idx); err != nil {
		return nil, nil, err
	}
	return out, idx, nil
}

// addGlobalExports appends exports of globals idx to the export section,
// creating it in its place if needed.
func (m *Module) addGlobalExports(idx []int) error {
	var body []byte
	var count uint32
	at := m.section(SectionExport)
	if at >= 0 {
		r := &reader{b: m.Sections[at].Body}
		count = r.u32()
		if r.err != nil {
			return r.err
		}
		body = m.Sections[at].Body[r.off:]
	}
	out := appendU32(nil, count+uint32(len(idx)))
	out = append(out, body...)
	for _, i := range idx {
		out = appendName(out, GlobalExportName(i))
		out = append(out, 0x03) // global
		out = appendU32(out, uint32(i))
	}
	if at >= 0 {
		m.Sections[at].Body = out
		return nil
	}
	m.insert(Section{ID: SectionExport, Body: out})
	return nil
}

// order is the position of each section id in a valid module.
var order = map[byte]int{
	SectionType: 1, SectionImport: 2, SectionFunction: 3, SectionTable: 4,
	SectionMemory: 5, SectionGlobal: 6, SectionExport: 7, SectionStart: 8,
	SectionElement: 9, SectionDataCount: 10, SectionCode: 11, SectionData: 12,
}

// insert places s before the first non-custom section that must follow it.
func (m *Module) insert(s Section) {
	pos := len(m.Sections)
	for i, cur := range m.Sections {
		if cur.ID != SectionCustom && order[cur.ID] > order[s.ID] {
			pos = i
			break
		}
	}
	m.Sections = slices.Insert(m.Sections, pos, s)
}

// Preinitialize returns a copy of m that a host brings to the state of an
// initialised instance of m itself, rather than by running its
// initialisation: its data segments are gone, because the host supplies
// the memory's contents, and its mutable globals are exported, so that the
// host can set them (see runtime). Its memory's limits and its globals'
// initial values are m's own, so the result depends on m's code and
// layout only, and not on any one initialised state: modules that differ
// only in their data segments rewrite to the same bytes, and so, once
// AddInterrupt has dropped their custom sections, do modules that differ
// only in the input their initialisation reads from one; wazero compiles
// those bytes once. Only numeric mutable globals are supported, which the
// host can set as 64 bits.
func Preinitialize(m *Module) (*Module, error) {
	l, err := m.Inspect()
	if err != nil {
		return nil, err
	}
	switch {
	case !l.HasMemory:
		return nil, fmt.Errorf("%w: no memory of its own", ErrUnsupported)
	case l.HasStart:
		return nil, fmt.Errorf("%w: start section", ErrUnsupported)
	}
	var exported []int
	for j, g := range l.Globals {
		if !g.Mutable {
			continue
		}
		switch g.Type {
		case I32, I64, F32, F64:
		default:
			return nil, fmt.Errorf("%w: mutable global of type %#x", ErrUnsupported, byte(g.Type))
		}
		i := l.ImportedGlobals + j
		if l.Exports[GlobalExportName(i)] {
			return nil, fmt.Errorf("%w: export name %q already used", ErrUnsupported, GlobalExportName(i))
		}
		exported = append(exported, i)
	}
	out := &Module{Sections: slices.Clone(m.Sections)}
	for i := range out.Sections {
		switch out.Sections[i].ID {
		case SectionData, SectionDataCount:
			out.Sections[i].Body = appendU32(nil, 0)
		}
	}
	if err := out.addGlobalExports(exported); err != nil {
		return nil, err
	}
	return out, nil
}
