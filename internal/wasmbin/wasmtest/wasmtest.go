// Package wasmtest writes WebAssembly binaries by hand, for tests that
// need a module no compiler emits: a hostile guest with a huge table, an
// import of the wrong type, a sleep with no loop after it, a data section
// that runs past its end. Package wasmbin reads modules; this package only
// writes them, and only in tests.
//
// A [Module] assembles a module from types, imports, functions, tables,
// memories, exports, a start function, data segments and custom sections,
// and writes its sections in the order the binary format requires. The
// encoders below it ([ULEB], [SLEB], [Name], [Vec], [Section], [Binary]
// and the segment and instruction helpers) write any other shape,
// malformed ones included; section ids are package wasmbin's. Nothing is
// validated: a test says exactly which bytes it wants.
package wasmtest

import "github.com/pave-dev/pave/internal/wasmbin"

// Header starts every WebAssembly 1.0 binary: the magic and the version.
const Header = "\x00asm\x01\x00\x00\x00"

// Value and reference types.
const (
	I32     byte = 0x7f
	I64     byte = 0x7e
	F32     byte = 0x7d
	F64     byte = 0x7c
	FuncRef byte = 0x70
)

// Kinds of imports and exports.
const (
	KindFunc   byte = 0x00
	KindTable  byte = 0x01
	KindMemory byte = 0x02
	KindGlobal byte = 0x03
)

// End is the instruction that ends a function body, a block or a constant
// expression.
const End byte = 0x0b

// ULEB encodes v as an unsigned LEB128, the binary format's integer.
func ULEB(v uint64) []byte {
	var out []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(out, c)
		}
		out = append(out, c|0x80)
	}
}

// SLEB encodes v as a signed LEB128, the immediate of i32.const and
// i64.const.
func SLEB(v int64) []byte {
	var out []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(out, c)
		}
		out = append(out, c|0x80)
	}
}

// Cat joins byte strings.
func Cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// Sized prefixes b with its length, as names, section bodies and function
// bodies are.
func Sized(b []byte) []byte { return Cat(ULEB(uint64(len(b))), b) }

// Name encodes a name: its length, then its bytes.
func Name(s string) []byte { return Sized([]byte(s)) }

// Vec encodes a vector of already encoded items: their count, then the
// items.
func Vec(items ...[]byte) []byte { return Cat(ULEB(uint64(len(items))), Cat(items...)) }

// Section encodes a section: its id, the size of its body, the body.
func Section(id byte, body []byte) []byte { return Cat([]byte{id}, Sized(body)) }

// CustomSection encodes a custom section called name.
func CustomSection(name string, body []byte) []byte {
	return Section(wasmbin.SectionCustom, Cat(Name(name), body))
}

// Binary is a module: the header, then the encoded sections as given.
func Binary(sections ...[]byte) []byte { return Cat([]byte(Header), Cat(sections...)) }

// FuncType encodes the function type params -> results as the type
// section holds it.
func FuncType(params []byte, results ...byte) []byte {
	return Cat([]byte{0x60}, Sized(params), Sized(results))
}

// I32Const is the instruction i32.const v.
func I32Const(v int32) []byte { return Cat([]byte{0x41}, SLEB(int64(v))) }

// Active encodes an active data segment that places data at addr in
// memory 0 (its offset is i32.const addr, which reads addr as signed).
func Active(addr uint32, data []byte) []byte {
	return Cat([]byte{0x00}, I32Const(int32(addr)), []byte{End}, Sized(data))
}

// Passive encodes a passive data segment.
func Passive(data []byte) []byte { return Cat([]byte{0x01}, Sized(data)) }

// Local declares N locals of one type in a function body.
type Local struct {
	N    uint32
	Type byte
}

// Module is a module being assembled; the zero value has nothing in it.
// Each method that adds an item returns its index. Imports come first in
// the function index space, so functions are imported before any is
// defined.
type Module struct {
	types, imports, funcs, tables, memories, exports, codes, data [][]byte
	customs                                                       [][]byte
	importedFuncs                                                 uint32
	start                                                         []byte
}

// Type adds a function type, encoded as [FuncType] does (or as a test
// wants it), and returns its index.
func (m *Module) Type(typ []byte) uint32 {
	m.types = append(m.types, typ)
	return uint32(len(m.types) - 1)
}

// ImportFunc imports module.name as a function of type typ and returns
// its function index.
func (m *Module) ImportFunc(module, name string, typ uint32) uint32 {
	if len(m.funcs) > 0 {
		panic("wasmtest: a function imported after one was defined")
	}
	m.imports = append(m.imports, Cat(Name(module), Name(name), []byte{KindFunc}, ULEB(uint64(typ))))
	m.importedFuncs++
	return m.importedFuncs - 1
}

// ImportTable imports module.name as a table of the given table type (a
// reference type, then limits).
func (m *Module) ImportTable(module, name string, table []byte) {
	m.imports = append(m.imports, Cat(Name(module), Name(name), []byte{KindTable}, table))
}

// Func defines a function of type typ without locals whose body is code
// followed by [End], and returns its function index.
func (m *Module) Func(typ uint32, code ...[]byte) uint32 {
	return m.FuncLocals(typ, nil, code...)
}

// FuncLocals defines a function of type typ with locals whose body is
// code followed by [End], and returns its function index.
func (m *Module) FuncLocals(typ uint32, locals []Local, code ...[]byte) uint32 {
	decl := ULEB(uint64(len(locals)))
	for _, l := range locals {
		decl = Cat(decl, ULEB(uint64(l.N)), []byte{l.Type})
	}
	m.funcs = append(m.funcs, ULEB(uint64(typ)))
	m.codes = append(m.codes, Sized(Cat(decl, Cat(code...), []byte{End})))
	return m.importedFuncs + uint32(len(m.funcs)) - 1
}

// Table adds a table of the given table type (a reference type, then
// limits: 0x00 and a minimum, or 0x01, a minimum and a maximum), written
// as given so that a test can claim any size.
func (m *Module) Table(table []byte) uint32 {
	m.tables = append(m.tables, table)
	return uint32(len(m.tables) - 1)
}

// Memory adds a memory of at least pages pages and no maximum.
func (m *Module) Memory(pages uint32) uint32 {
	m.memories = append(m.memories, Cat([]byte{0x00}, ULEB(uint64(pages))))
	return uint32(len(m.memories) - 1)
}

// Export exports the item of the given kind and index as name.
func (m *Module) Export(name string, kind byte, index uint32) {
	m.exports = append(m.exports, Cat(Name(name), []byte{kind}, ULEB(uint64(index))))
}

// Start makes fn the start function.
func (m *Module) Start(fn uint32) { m.start = ULEB(uint64(fn)) }

// Data adds an active data segment that places data at addr in memory 0.
func (m *Module) Data(addr uint32, data []byte) { m.data = append(m.data, Active(addr, data)) }

// Custom adds a custom section called name, written after all the others.
func (m *Module) Custom(name string, body []byte) {
	m.customs = append(m.customs, CustomSection(name, body))
}

// Bytes encodes the module. A section with nothing in it is left out.
func (m *Module) Bytes() []byte {
	var sections [][]byte
	vec := func(id byte, items [][]byte) {
		if len(items) > 0 {
			sections = append(sections, Section(id, Vec(items...)))
		}
	}
	vec(wasmbin.SectionType, m.types)
	vec(wasmbin.SectionImport, m.imports)
	vec(wasmbin.SectionFunction, m.funcs)
	vec(wasmbin.SectionTable, m.tables)
	vec(wasmbin.SectionMemory, m.memories)
	vec(wasmbin.SectionExport, m.exports)
	if m.start != nil {
		sections = append(sections, Section(wasmbin.SectionStart, m.start))
	}
	vec(wasmbin.SectionCode, m.codes)
	vec(wasmbin.SectionData, m.data)
	return Binary(append(sections, m.customs...)...)
}

// Importing is a WASI command that imports module.name as a function of
// type typ (encoded as [FuncType] does) and never calls it: a page of
// memory and an empty _start, to see whether a host grants the import.
func Importing(module, name string, typ []byte) []byte {
	var m Module
	fn := m.Type(typ)
	start := m.Type(FuncType(nil))
	m.ImportFunc(module, name, fn)
	m.Memory(1)
	m.Export("_start", KindFunc, m.Func(start))
	return m.Bytes()
}
