package wasmbin

import (
	"errors"
	"fmt"
	"slices"
)

// Bounds on what a module may make the host allocate besides its linear
// memory, which the runtime caps itself. wazero sizes tables, globals,
// segment instances and the locals of a function from what the module
// declares, so a module of a few bytes could otherwise make it allocate
// gigabytes, at compilation or in every instance. The counts follow the
// limits web browsers share (the JS API's "Limits" section) or are
// tighter; the table bound is pave's own.
const (
	// MaxTableElements bounds the elements of all a module's tables
	// together, at any time: 1 Mi elements, 8 MiB in wazero. Bound gives
	// every table a maximum so that table.grow past it returns -1.
	MaxTableElements = 1 << 20
	// MaxTables bounds the tables a module defines.
	MaxTables = 100
	// MaxElementEntries bounds the entries of all element segments
	// together; passive ones are copied into every instance.
	MaxElementEntries = MaxTableElements
	// MaxElementSegments and MaxDataSegments bound the segments.
	MaxElementSegments = 100_000
	MaxDataSegments    = 100_000
	// MaxGlobals bounds the globals a module defines.
	MaxGlobals = 100_000
	// MaxTypes bounds the function types a module declares.
	MaxTypes = 100_000
	// MaxImports bounds the imports of a module.
	MaxImports = 100_000
	// MaxLocals bounds the locals one function declares.
	MaxLocals = 50_000
)

// ErrTooLarge is wrapped by errors about modules over one of the bounds
// above. Its messages name the bound and the module's figure.
var ErrTooLarge = errors.New("outside the bounds on what a module may declare (see docs/ABI.md)")

// Table describes one table a module defines.
type Table struct {
	// Type is the element type: 0x70 funcref or 0x6f externref.
	Type   byte
	Limits Limits
}

// Bound checks m against the bounds above and returns a copy in which
// every table declares a maximum, so that the tables together never hold
// more than MaxTableElements: a table without a maximum, or with a larger
// one than its share, gets its minimum plus an equal share of what the
// minima leave. A module that imports a table is refused, as pave provides
// none. Errors wrap ErrTooLarge, or ErrFormat or ErrUnsupported for a
// module Bound cannot read through: such a module must not reach the
// runtime, whose decoder would allocate what it declares.
func Bound(m *Module) (*Module, error) {
	if err := m.checkCounts(); err != nil {
		return nil, err
	}
	l, err := m.Inspect()
	if err != nil {
		return nil, err
	}
	if l.ImportedTables > 0 {
		return nil, fmt.Errorf("%w: imports a table, which pave does not provide", ErrTooLarge)
	}
	if err := m.checkElements(); err != nil {
		return nil, err
	}
	if err := m.checkLocals(); err != nil {
		return nil, err
	}
	if len(l.Tables) > MaxTables {
		return nil, fmt.Errorf("%w: %d tables, above %d", ErrTooLarge, len(l.Tables), MaxTables)
	}
	var minima uint64
	for _, t := range l.Tables {
		minima += uint64(t.Limits.Min)
	}
	if minima > MaxTableElements {
		return nil, fmt.Errorf("%w: tables of %d elements at start, above %d", ErrTooLarge, minima, MaxTableElements)
	}
	out := &Module{Sections: slices.Clone(m.Sections)}
	if len(l.Tables) == 0 {
		return out, nil
	}
	share := (MaxTableElements - uint32(minima)) / uint32(len(l.Tables))
	body := appendU32(nil, uint32(len(l.Tables)))
	for _, t := range l.Tables {
		limit := t.Limits.Min + share
		if t.Limits.HasMax && t.Limits.Max < limit {
			limit = t.Limits.Max
		}
		body = append(body, t.Type, 0x01)
		body = appendU32(appendU32(body, t.Limits.Min), limit)
	}
	out.Sections[out.section(SectionTable)].Body = body
	return out, nil
}

// readTables decodes the table section.
func (l *Layout) readTables(body []byte) error {
	r := &reader{b: body}
	n := r.u32()
	if n > MaxTables {
		return fmt.Errorf("%w: %d tables, above %d", ErrTooLarge, n, MaxTables)
	}
	for j := uint32(0); j < n && r.err == nil; j++ {
		t := Table{Type: r.byte()}
		if r.err == nil && t.Type != 0x70 && t.Type != 0x6f {
			// Tables with an initialiser (0x40) or of typed references
			// belong to later proposals.
			return fmt.Errorf("%w: table type %#x", ErrUnsupported, t.Type)
		}
		t.Limits = r.limits()
		if r.err == nil && t.Limits.HasMax && t.Limits.Max < t.Limits.Min {
			r.fail("table maximum below its minimum")
		}
		l.Tables = append(l.Tables, t)
	}
	return r.end()
}

// checkCounts checks the counts of the sections that hold what the
// runtime allocates per entry, before anything reads the entries.
func (m *Module) checkCounts() error {
	counts := []struct {
		id   byte
		what string
		max  uint32
	}{
		{SectionType, "function types", MaxTypes},
		{SectionImport, "imports", MaxImports},
		{SectionGlobal, "globals", MaxGlobals},
		{SectionElement, "element segments", MaxElementSegments},
		{SectionData, "data segments", MaxDataSegments},
		{SectionDataCount, "data segments", MaxDataSegments},
	}
	for _, c := range counts {
		for _, s := range m.Sections {
			if s.ID != c.id {
				continue
			}
			r := &reader{b: s.Body}
			n := r.u32()
			if r.err != nil {
				return r.err
			}
			if n > c.max {
				return fmt.Errorf("%w: %d %s, above %d", ErrTooLarge, n, c.what, c.max)
			}
		}
	}
	return nil
}

// checkElements bounds the entries of all element segments together.
func (m *Module) checkElements() error {
	at := m.section(SectionElement)
	if at < 0 {
		return nil
	}
	r := &reader{b: m.Sections[at].Body}
	n := r.u32()
	var entries uint64
	for i := uint32(0); i < n && r.err == nil; i++ {
		flags := r.u32()
		if flags > 7 {
			r.fail("element segment flags %d", flags)
			break
		}
		if flags&0x02 != 0 && flags&0x01 == 0 { // active with a table index
			r.u32()
		}
		if flags&0x01 == 0 { // active: offset
			r.initExpr()
		}
		exprs := flags&0x04 != 0
		if flags&0x03 != 0 { // element kind or reference type
			if k := r.byte(); r.err == nil && (exprs && k != 0x70 && k != 0x6f || !exprs && k != 0x00) {
				return fmt.Errorf("%w: element type %#x", ErrUnsupported, k)
			}
		}
		count := r.u32()
		if entries += uint64(count); entries > MaxElementEntries {
			return fmt.Errorf("%w: element segments of more than %d entries", ErrTooLarge, MaxElementEntries)
		}
		for j := uint32(0); j < count && r.err == nil; j++ {
			if exprs {
				r.initExpr()
			} else {
				r.u32()
			}
		}
	}
	return r.end()
}

// checkLocals bounds the locals each function declares.
func (m *Module) checkLocals() error {
	return m.eachBody(func(i uint32, body *reader) error {
		groups := body.u32()
		var locals uint64
		for g := uint32(0); g < groups && body.err == nil; g++ {
			locals += uint64(body.u32())
			body.byte() // type
			if locals > MaxLocals {
				return fmt.Errorf("%w: function %d declares more than %d locals", ErrTooLarge, i, MaxLocals)
			}
		}
		return body.err
	})
}
