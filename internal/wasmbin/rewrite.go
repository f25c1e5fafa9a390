package wasmbin

import (
	"encoding/binary"
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

// Image is the state of an initialised instance: its memory and the values
// of its mutable globals, by global index.
type Image struct {
	Memory  []byte
	Globals map[int]uint64
}

// Preinitialize returns a module that starts where the instance of m that
// produced img stood: its memory's minimum is the image's size, its mutable
// globals start at the image's values (and stay exported, for resets), and
// its data segments are gone, because the host supplies the memory contents
// itself (see runtime). Instantiating it runs no initialisation code.
func Preinitialize(m *Module, img *Image) (*Module, error) {
	l, err := m.Inspect()
	if err != nil {
		return nil, err
	}
	switch {
	case !l.HasMemory:
		return nil, fmt.Errorf("%w: no memory of its own", ErrUnsupported)
	case l.HasStart:
		return nil, fmt.Errorf("%w: start section", ErrUnsupported)
	case len(img.Memory)%65536 != 0:
		return nil, fmt.Errorf("image memory of %d bytes is not whole pages", len(img.Memory))
	}
	pages := uint32(len(img.Memory) / 65536)
	if l.Memory.HasMax && l.Memory.Max < pages {
		return nil, fmt.Errorf("image memory of %d pages is above the module's maximum of %d", pages, l.Memory.Max)
	}
	out := &Module{Sections: slices.Clone(m.Sections)}

	mem := appendU32(nil, 1)
	if l.Memory.HasMax {
		mem = append(mem, 0x01)
		mem = appendU32(appendU32(mem, pages), l.Memory.Max)
	} else {
		mem = appendU32(append(mem, 0x00), pages)
	}
	out.Sections[out.section(SectionMemory)].Body = mem

	var exported []int
	if at := out.section(SectionGlobal); at >= 0 {
		body, idx, err := rewriteGlobals(out.Sections[at].Body, l, img.Globals)
		if err != nil {
			return nil, err
		}
		out.Sections[at].Body = body
		exported = idx
	}
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

// rewriteGlobals sets every mutable global's initialiser to its value in
// values, and returns the indexes of the globals rewritten.
func rewriteGlobals(body []byte, l *Layout, values map[int]uint64) ([]byte, []int, error) {
	r := &reader{b: body}
	n := r.u32()
	out := appendU32(nil, n)
	var idx []int
	for j := 0; j < int(n) && r.err == nil; j++ {
		start := r.off
		g := Global{Type: ValType(r.byte()), Mutable: r.byte() == 1}
		exprStart := r.off
		r.initExpr()
		if !g.Mutable {
			out = append(out, body[start:r.off]...)
			continue
		}
		i := l.ImportedGlobals + j
		v, ok := values[i]
		if !ok {
			return nil, nil, fmt.Errorf("no image value for global %d", i)
		}
		out = append(out, body[start:exprStart]...)
		switch g.Type {
		case I32:
			out = appendS64(append(out, 0x41), int64(int32(uint32(v))))
		case I64:
			out = appendS64(append(out, 0x42), int64(v))
		case F32:
			out = binary.LittleEndian.AppendUint32(append(out, 0x43), uint32(v))
		case F64:
			out = binary.LittleEndian.AppendUint64(append(out, 0x44), v)
		default:
			return nil, nil, fmt.Errorf("%w: mutable global of type %#x", ErrUnsupported, byte(g.Type))
		}
		out = append(out, 0x0b)
		idx = append(idx, i)
	}
	if err := r.end(); err != nil {
		return nil, nil, err
	}
	return out, idx, nil
}
