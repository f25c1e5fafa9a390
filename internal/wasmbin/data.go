package wasmbin

// Reading what a module carries rather than what it runs: its data
// segments and custom sections, for the posture checks that look for
// secrets and build information in a module before it is deployed.

// DataSegment is one entry of a module's data section.
type DataSegment struct {
	// Index is the segment's position in the data section.
	Index int
	// Data aliases the parsed binary, at byte Offset of it.
	Data   []byte
	Offset int
	// Placed is true for an active segment into memory 0 whose offset is
	// a single constant; Addr is then where instantiation copies Data.
	Placed bool
	Addr   uint64
}

// DataSegments decodes the data section, if there is one.
func (m *Module) DataSegments() ([]DataSegment, error) {
	at := m.section(SectionData)
	if at < 0 {
		return nil, nil
	}
	sec := m.Sections[at]
	r := &reader{b: sec.Body}
	n := r.u32()
	// Not allocated from n: every segment takes at least three bytes, so
	// the section's length bounds the slice, not the count it claims.
	var segs []DataSegment
	for i := 0; i < int(n) && r.err == nil; i++ {
		seg := DataSegment{Index: i}
		switch flags := r.u32(); flags {
		case 0: // active, memory 0
			seg.Addr, seg.Placed = r.offsetExpr()
		case 1: // passive
		case 2: // active, explicit memory
			mem := r.u32()
			seg.Addr, seg.Placed = r.offsetExpr()
			seg.Placed = seg.Placed && mem == 0
		default:
			r.fail("data segment flags %d", flags)
		}
		size := r.u32()
		seg.Offset = sec.Offset + r.off
		seg.Data = r.bytes(int(size))
		if r.err == nil {
			segs = append(segs, seg)
		}
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	return segs, nil
}

// offsetExpr reads an active segment's offset expression up to its end,
// and returns the address it computes when it is a single i32.const or
// i64.const; any other constant expression is skipped as unknown.
func (r *reader) offsetExpr() (addr uint64, known bool) {
	start := r.off
	switch r.byte() {
	case 0x41: // i32.const
		addr = uint64(uint32(r.sleb(32)))
	case 0x42: // i64.const
		addr = uint64(r.sleb(64))
	default:
		r.off = start
		r.initExpr()
		return 0, false
	}
	if r.err == nil && r.off < len(r.b) && r.b[r.off] == 0x0b {
		r.off++
		return addr, true
	}
	r.off = start
	r.initExpr()
	return 0, false
}

// CustomSection returns the contents, after the name, of the first custom
// section called name. Custom sections whose name cannot be read are
// skipped.
func (m *Module) CustomSection(name string) ([]byte, bool) {
	for _, s := range m.Sections {
		if s.ID != SectionCustom {
			continue
		}
		r := &reader{b: s.Body}
		if n := r.name(); r.err == nil && n == name {
			return s.Body[r.off:], true
		}
	}
	return nil, false
}

// Producer is one entry of the producers custom section
// (https://github.com/WebAssembly/tool-conventions/blob/main/ProducersSection.md):
// under Field ("language", "processed-by", "sdk"), a tool's Name and
// Version.
type Producer struct {
	Field, Name, Version string
}

// Producers decodes the producers section: none if there is none, and the
// entries read before the first malformed one.
func (m *Module) Producers() []Producer {
	body, ok := m.CustomSection("producers")
	if !ok {
		return nil
	}
	r := &reader{b: body}
	var out []Producer
	fields := r.u32()
	for i := uint32(0); i < fields && r.err == nil; i++ {
		field := r.name()
		values := r.u32()
		for j := uint32(0); j < values && r.err == nil; j++ {
			name, version := r.name(), r.name()
			if r.err == nil {
				out = append(out, Producer{Field: field, Name: name, Version: version})
			}
		}
	}
	return out
}
