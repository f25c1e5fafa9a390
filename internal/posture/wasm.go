package posture

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
)

// This file reads the parts of a WebAssembly binary the posture rules look
// at: the data segments (the module's initial memory, where a Go module
// keeps its strings) and the custom sections. It follows the binary format
// of WebAssembly 2.0 (https://webassembly.github.io/spec/core/binary/) and
// never trusts a length: every read is checked against what is left of its
// enclosing section, so a hostile module can make it fail but not panic,
// loop or allocate more than the module's own size.

// ErrMalformed is wrapped by every error about a module that is not a
// well-formed WebAssembly binary.
var ErrMalformed = errors.New("malformed WebAssembly module")

var wasmHeader = []byte("\x00asm\x01\x00\x00\x00")

// Section ids this file cares about.
const (
	sectionCustom = 0
	sectionData   = 11
	maxSectionID  = 13 // tag, from the exception-handling proposal
)

// A dataSegment is one entry of the data section.
type dataSegment struct {
	index  int    // in the data section
	offset int    // of Data in the module file
	data   []byte // aliases the module
	// placed is true for an active segment whose offset is a constant;
	// addr is then where it is copied to in linear memory.
	placed bool
	addr   uint64
}

// A customSection is one custom section.
type customSection struct {
	name string
	body []byte // after the name; aliases the module
}

// A wasmModule is what parseModule extracts from a binary.
type wasmModule struct {
	size     int // of the whole binary, in bytes
	segments []dataSegment
	custom   []customSection
}

// parseModule splits b into sections and decodes its data section and the
// names of its custom sections. Everything it returns aliases b.
func parseModule(b []byte) (*wasmModule, error) {
	if !bytes.HasPrefix(b, wasmHeader) {
		return nil, fmt.Errorf("%w: no WebAssembly 1.0 header", ErrMalformed)
	}
	m := &wasmModule{size: len(b)}
	r := &reader{b: b, off: len(wasmHeader)}
	for !r.done() {
		id := r.byte()
		size := r.u32()
		start := r.off
		body := r.bytes(int64(size))
		if r.err != nil {
			return nil, r.err
		}
		switch {
		case id > maxSectionID:
			return nil, fmt.Errorf("%w: unknown section id %d at byte %d", ErrMalformed, id, start)
		case id == sectionCustom:
			s := &reader{b: body, base: start}
			name := s.name()
			if s.err != nil {
				return nil, s.err
			}
			m.custom = append(m.custom, customSection{name: name, body: body[s.off:]})
		case id == sectionData:
			segs, err := parseData(body, start, len(m.segments))
			if err != nil {
				return nil, err
			}
			m.segments = append(m.segments, segs...)
		}
	}
	return m, nil
}

// parseData decodes a data section whose body starts at byte base of the
// module. first is the index of its first segment.
func parseData(body []byte, base, first int) ([]dataSegment, error) {
	r := &reader{b: body, base: base}
	n := r.u32()
	// Do not allocate from n: every segment takes at least three bytes,
	// so the section's length bounds the slice, not the count.
	var segs []dataSegment
	for i := uint32(0); i < n && r.err == nil; i++ {
		seg := dataSegment{index: first + int(i)}
		switch flags := r.u32(); flags {
		case 0: // active, memory 0
			seg.addr, seg.placed = r.constExpr()
		case 1: // passive
		case 2: // active, explicit memory
			mem := r.u32()
			seg.addr, seg.placed = r.constExpr()
			seg.placed = seg.placed && mem == 0
		default:
			r.fail("unknown data segment flags %d", flags)
		}
		size := r.u32()
		seg.offset = r.base + r.off
		seg.data = r.bytes(int64(size))
		if r.err == nil {
			segs = append(segs, seg)
		}
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	return segs, nil
}

// customSection returns the body of the first custom section called name.
func (m *wasmModule) customSection(name string) ([]byte, bool) {
	for _, c := range m.custom {
		if c.name == name {
			return c.body, true
		}
	}
	return nil, false
}

// memory returns a view of the linear memory the module's active data
// segments initialise.
func (m *wasmModule) memory() *memoryImage {
	img := &memoryImage{limit: m.size}
	for _, s := range m.segments {
		// A segment that wraps around the address space cannot be
		// instantiated; it initialises nothing.
		if s.placed && len(s.data) > 0 && s.addr+uint64(len(s.data)) > s.addr {
			img.segs = append(img.segs, s)
		}
	}
	sort.SliceStable(img.segs, func(i, j int) bool { return img.segs[i].addr < img.segs[j].addr })
	img.maxEnd = make([]uint64, len(img.segs))
	var end uint64
	for i, s := range img.segs {
		end = max(end, s.addr+uint64(len(s.data)))
		img.maxEnd[i] = end
	}
	return img
}

// A memoryImage is a module's initial linear memory: its placed data
// segments, with zeros in between.
type memoryImage struct {
	segs []dataSegment // sorted by addr
	// maxEnd[i] is the highest end of segs[0..i], so that the segments
	// a read may touch are found by binary search.
	maxEnd []uint64
	// limit bounds every read: nothing the linker wrote can be longer
	// than the module that holds it.
	limit int
}

// read returns n bytes of memory from addr, zeros where no segment
// writes, or false if n is over the image's limit or the range wraps.
func (img *memoryImage) read(addr, n uint64) ([]byte, bool) {
	if n > uint64(img.limit) || addr+n < addr {
		return nil, false
	}
	out := make([]byte, n)
	end := addr + n
	// The segments that may overlap [addr, end): from the first whose
	// prefix reaches past addr to the last that starts before end.
	lo := sort.Search(len(img.segs), func(i int) bool { return img.maxEnd[i] > addr })
	hi := sort.Search(len(img.segs), func(i int) bool { return img.segs[i].addr >= end })
	var hits []dataSegment
	for _, s := range img.segs[lo:max(lo, hi)] {
		if s.addr+uint64(len(s.data)) > addr {
			hits = append(hits, s)
		}
	}
	// Where segments overlap, instantiation writes them in section
	// order, so the last one wins.
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].index < hits[j].index })
	for _, s := range hits {
		lo, hi := max(s.addr, addr), min(s.addr+uint64(len(s.data)), end)
		copy(out[lo-addr:hi-addr], s.data[lo-s.addr:hi-s.addr])
	}
	return out, true
}

// reader decodes the binary format. The first error sticks: later reads
// return zero values, so callers check once.
type reader struct {
	b    []byte
	off  int
	base int // offset of b in the module, for messages
	err  error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at byte %d", ErrMalformed, fmt.Sprintf(format, args...), r.base+r.off)
	}
}

func (r *reader) done() bool { return r.err != nil || r.off >= len(r.b) }

// end reports an error unless all of b was read.
func (r *reader) end() error {
	if r.err == nil && r.off != len(r.b) {
		r.fail("%d unexpected trailing bytes", len(r.b)-r.off)
	}
	return r.err
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.fail("unexpected end")
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

// bytes returns the next n bytes, aliasing b.
func (r *reader) bytes(n int64) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > int64(len(r.b)-r.off) {
		r.fail("length %d past the end", n)
		return nil
	}
	s := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return s
}

func (r *reader) name() string {
	return string(r.bytes(int64(r.u32())))
}

// u32 reads an unsigned LEB128 of at most 5 bytes, padded or not.
func (r *reader) u32() uint32 {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		if shift == 28 && c > 0x0f {
			r.fail("u32 overflows")
			return 0
		}
		v |= uint32(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.fail("u32 longer than 5 bytes")
	return 0
}

// sleb reads a signed LEB128 of a bits-wide integer (32 or 64), which
// takes at most ceil(bits/7) bytes.
func (r *reader) sleb(bits int) int64 {
	maxBytes := (bits + 6) / 7
	var v int64
	shift := 0
	for i := 0; i < maxBytes; i++ {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		if i == maxBytes-1 {
			// The last byte holds bits-shift value bits; the rest of it
			// must repeat the sign bit, and it must not continue.
			used := bits - shift
			if c&0x80 != 0 {
				r.fail("signed LEB128 too long")
				return 0
			}
			rest := c & 0x7f >> (used - 1) // the sign bit and the unused bits
			if rest != 0 && rest != 0x7f>>(used-1) {
				r.fail("signed LEB128 overflows")
				return 0
			}
		}
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			if bits == 32 {
				v = int64(int32(v))
			}
			return v
		}
	}
	r.fail("signed LEB128 too long")
	return 0
}

// constExpr reads a constant expression up to its end opcode. It returns
// the address an active segment's offset expression computes when the
// expression is a single i32.const or i64.const; any other valid constant
// expression (global.get, extended arithmetic) is skipped and reported as
// unknown.
func (r *reader) constExpr() (addr uint64, known bool) {
	instrs := 0
	for r.err == nil {
		op := r.byte()
		if r.err != nil {
			break
		}
		if op == 0x0b { // end
			if known && instrs == 1 {
				return addr, true
			}
			return 0, false
		}
		instrs++
		switch op {
		case 0x41: // i32.const
			addr, known = uint64(uint32(r.sleb(32))), true
		case 0x42: // i64.const
			addr, known = uint64(r.sleb(64)), true
		case 0x23, 0xd2: // global.get, ref.func
			r.u32()
		case 0xd0: // ref.null
			r.byte()
		case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e: // i32/i64 add, sub, mul
		default:
			r.fail("opcode 0x%02x in a constant expression", op)
		}
	}
	return 0, false
}
