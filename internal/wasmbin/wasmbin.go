// Package wasmbin reads and rewrites WebAssembly binaries at the level of
// sections, for pave's deploy-time preparation of modules and for the
// posture checks that read a module before it is deployed.
//
// It understands only what those need (imports, tables, memories, globals,
// exports, element and data segments, custom sections, the locals and the
// instructions of function bodies, which it decodes to bound what a module
// makes the host allocate, to vouch for a snapshot and to add the interrupt
// checks) and copies every other section byte for byte. It never
// trusts a length field: every read is bounds-checked, and a module it
// cannot follow is refused with an error rather than rewritten on a guess.
// A rewritten module is always compiled (and so validated) by the runtime
// before it is used; anything refused here runs by plain instantiation.
package wasmbin

import (
	"bytes"
	"errors"
	"fmt"
)

// Section ids of the WebAssembly 2.0 binary format.
const (
	SectionCustom    byte = 0
	SectionType      byte = 1
	SectionImport    byte = 2
	SectionFunction  byte = 3
	SectionTable     byte = 4
	SectionMemory    byte = 5
	SectionGlobal    byte = 6
	SectionExport    byte = 7
	SectionStart     byte = 8
	SectionElement   byte = 9
	SectionCode      byte = 10
	SectionData      byte = 11
	SectionDataCount byte = 12
)

var header = []byte("\x00asm\x01\x00\x00\x00")

// ErrFormat is wrapped by every error about malformed input.
var ErrFormat = errors.New("malformed wasm binary")

// Section is one section, its body undecoded.
type Section struct {
	ID   byte
	Body []byte
	// Offset is where Body starts in the binary Parse read (0 for a
	// section built otherwise); Bytes ignores it.
	Offset int
}

// Module is a WebAssembly binary split into sections, in order.
type Module struct {
	Sections []Section
}

// Parse splits b into sections. Section bodies alias b.
func Parse(b []byte) (*Module, error) {
	if !bytes.HasPrefix(b, header) {
		return nil, fmt.Errorf("%w: not a WebAssembly 1.0 binary", ErrFormat)
	}
	r := &reader{b: b, off: len(header)}
	m := &Module{}
	for !r.done() {
		id := r.byte()
		size := r.u32()
		start := r.off
		body := r.bytes(int(size))
		if r.err != nil {
			return nil, r.err
		}
		if id > SectionDataCount {
			return nil, fmt.Errorf("%w: unknown section id %d", ErrFormat, id)
		}
		if id == SectionCustom {
			name := &reader{b: body}
			if name.name(); name.err != nil {
				return nil, fmt.Errorf("%w: the name of the custom section at byte %d runs past its end", ErrFormat, start)
			}
		}
		m.Sections = append(m.Sections, Section{ID: id, Body: body, Offset: start})
	}
	return m, nil
}

// Bytes encodes m.
func (m *Module) Bytes() []byte {
	out := append([]byte(nil), header...)
	for _, s := range m.Sections {
		out = append(out, s.ID)
		out = appendU32(out, uint32(len(s.Body)))
		out = append(out, s.Body...)
	}
	return out
}

// section returns the index of the first section with id, or -1.
func (m *Module) section(id byte) int {
	for i, s := range m.Sections {
		if s.ID == id {
			return i
		}
	}
	return -1
}

// ValType is a value type.
type ValType byte

// The value types pave's rewrites handle; others make a global unsupported.
const (
	I32 ValType = 0x7f
	I64 ValType = 0x7e
	F32 ValType = 0x7d
	F64 ValType = 0x7c
)

// Global describes one global the module defines (not imports).
type Global struct {
	Type    ValType
	Mutable bool
}

// Layout is what the rewrites need to know about a module.
type Layout struct {
	ImportedGlobals  int
	ImportedMemories int
	ImportedTables   int
	// Globals are the module's own globals, in index order after the
	// imported ones.
	Globals []Global
	// Memory is the module's own memory; HasMemory is false without one.
	HasMemory bool
	Memory    Limits
	// Tables are the module's own tables, in index order.
	Tables   []Table
	Exports  map[string]bool
	HasStart bool
}

// Limits are a memory's limits in pages, or a table's in elements.
type Limits struct {
	Min    uint32
	Max    uint32
	HasMax bool
}

// Inspect reads the layout of m.
func (m *Module) Inspect() (*Layout, error) {
	l := &Layout{Exports: map[string]bool{}}
	if i := m.section(SectionImport); i >= 0 {
		if err := l.readImports(m.Sections[i].Body); err != nil {
			return nil, err
		}
	}
	if i := m.section(SectionTable); i >= 0 {
		if err := l.readTables(m.Sections[i].Body); err != nil {
			return nil, err
		}
	}
	if i := m.section(SectionMemory); i >= 0 {
		r := &reader{b: m.Sections[i].Body}
		n := r.u32()
		if n > 1 || l.ImportedMemories+int(n) > 1 {
			return nil, fmt.Errorf("%w: more than one memory", ErrUnsupported)
		}
		if n == 1 {
			l.HasMemory = true
			l.Memory = r.limits()
		}
		if err := r.end(); err != nil {
			return nil, err
		}
	}
	if i := m.section(SectionGlobal); i >= 0 {
		r := &reader{b: m.Sections[i].Body}
		n := r.u32()
		for j := uint32(0); j < n && r.err == nil; j++ {
			g := Global{Type: ValType(r.byte()), Mutable: r.byte() == 1}
			r.initExpr()
			l.Globals = append(l.Globals, g)
		}
		if err := r.end(); err != nil {
			return nil, err
		}
	}
	if i := m.section(SectionExport); i >= 0 {
		r := &reader{b: m.Sections[i].Body}
		n := r.u32()
		for j := uint32(0); j < n && r.err == nil; j++ {
			name := r.name()
			r.byte() // kind
			r.u32()  // index
			l.Exports[name] = true
		}
		if err := r.end(); err != nil {
			return nil, err
		}
	}
	l.HasStart = m.section(SectionStart) >= 0
	return l, nil
}

func (l *Layout) readImports(body []byte) error {
	r := &reader{b: body}
	n := r.u32()
	for j := uint32(0); j < n && r.err == nil; j++ {
		r.name()
		r.name()
		switch kind := r.byte(); kind {
		case 0x00: // function
			r.u32()
		case 0x01: // table
			r.byte()
			r.limits()
			l.ImportedTables++
		case 0x02: // memory
			r.limits()
			l.ImportedMemories++
		case 0x03: // global
			r.byte()
			r.byte()
			l.ImportedGlobals++
		default:
			if r.err == nil {
				return fmt.Errorf("%w: import kind %d", ErrFormat, kind)
			}
		}
	}
	return r.end()
}

// ErrUnsupported is wrapped by errors about valid modules that a rewrite
// does not handle; such modules run without the rewrite.
var ErrUnsupported = errors.New("module shape not supported by this rewrite")
