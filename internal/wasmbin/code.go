package wasmbin

import "fmt"

// CheckStateless reports whether everything an instance of m can change
// lives in its linear memory and its own globals, which is what a snapshot
// restores. It decodes every function body and refuses instructions that
// change other instance state (tables, element and data segments), imported
// globals and tables, and any instruction it does not know: a module it
// cannot vouch for runs fresh instead.
func (m *Module) CheckStateless() error {
	l, err := m.Inspect()
	if err != nil {
		return err
	}
	if l.ImportedGlobals > 0 {
		return fmt.Errorf("%w: imports globals", ErrUnsupported)
	}
	if l.ImportedMemories > 0 {
		return fmt.Errorf("%w: imports its memory", ErrUnsupported)
	}
	return m.eachBody(func(i uint32, body *reader) error {
		if err := checkBody(body); err != nil {
			return fmt.Errorf("function %d: %w", i, err)
		}
		return nil
	})
}

// eachBody calls fn with a reader over each function body of the code
// section, in order, with the function's index among the module's own
// functions, and stops at the first error fn returns or the section's
// encoding holds. A module without a code section has no bodies.
func (m *Module) eachBody(fn func(i uint32, body *reader) error) error {
	at := m.section(SectionCode)
	if at < 0 {
		return nil
	}
	r := &reader{b: m.Sections[at].Body}
	n := r.u32()
	for i := uint32(0); i < n && r.err == nil; i++ {
		size := r.u32()
		body := &reader{b: r.bytes(int(size))}
		if r.err != nil {
			break
		}
		if err := fn(i, body); err != nil {
			return err
		}
	}
	return r.end()
}

func checkBody(r *reader) error {
	groups := r.u32()
	for i := uint32(0); i < groups && r.err == nil; i++ {
		r.u32()  // count
		r.byte() // type
	}
	for !r.done() {
		if err := checkInstr(r); err != nil {
			return err
		}
	}
	return r.err
}

func checkInstr(r *reader) error {
	switch op := r.byte(); {
	case op == 0x00, op == 0x01, op == 0x05, op == 0x0b, op == 0x0f, op == 0x1a, op == 0x1b, op == 0xd1:
		// unreachable, nop, else, end, return, drop, select, ref.is_null
	case op >= 0x02 && op <= 0x04: // block, loop, if
		r.blockType()
	case op == 0x0c, op == 0x0d, op == 0x10, op == 0x12: // br, br_if, call, return_call
		r.u32()
	case op == 0x0e: // br_table
		n := r.u32()
		for i := uint32(0); i <= n && r.err == nil; i++ {
			r.u32()
		}
	case op == 0x11, op == 0x13: // call_indirect, return_call_indirect
		r.u32()
		r.u32()
	case op == 0x1c: // select t*
		n := r.u32()
		r.bytes(int(n))
	case op >= 0x20 && op <= 0x24: // local.get/set/tee, global.get/set
		r.u32()
	case op == 0x25: // table.get
		r.u32()
	case op == 0x26:
		return fmt.Errorf("%w: table.set", ErrUnsupported)
	case op >= 0x28 && op <= 0x3e: // loads and stores
		r.memarg()
	case op == 0x3f, op == 0x40: // memory.size, memory.grow
		r.u32()
	case op == 0x41:
		r.sleb(32)
	case op == 0x42:
		r.sleb(64)
	case op == 0x43:
		r.bytes(4)
	case op == 0x44:
		r.bytes(8)
	case op >= 0x45 && op <= 0xc4: // numeric, conversions, sign extension
	case op == 0xd0: // ref.null
		r.byte()
	case op == 0xd2: // ref.func
		r.u32()
	case op == 0xfc:
		return checkPrefixed(r)
	default:
		if r.err == nil {
			return fmt.Errorf("%w: opcode %#x", ErrUnsupported, op)
		}
	}
	return nil
}

// checkPrefixed handles the 0xfc group: saturating truncation and bulk
// memory and table operations.
func checkPrefixed(r *reader) error {
	switch sub := r.u32(); {
	case sub <= 7: // saturating truncations
	case sub == 10: // memory.copy
		r.u32()
		r.u32()
	case sub == 11: // memory.fill
		r.u32()
	case sub == 16: // table.size
		r.u32()
	case sub == 8, sub == 9:
		return fmt.Errorf("%w: memory.init or data.drop (data segments are replaced by the snapshot)", ErrUnsupported)
	case sub >= 12 && sub <= 17:
		return fmt.Errorf("%w: an instruction that changes tables or element segments (0xfc %d)", ErrUnsupported, sub)
	default:
		if r.err == nil {
			return fmt.Errorf("%w: opcode 0xfc %d", ErrUnsupported, sub)
		}
	}
	return nil
}

func (r *reader) blockType() {
	if r.err != nil || r.off >= len(r.b) {
		r.byte()
		return
	}
	switch r.b[r.off] {
	case 0x40, 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
		r.off++
	default:
		r.sleb(33) // a type index as s33
	}
}

func (r *reader) memarg() {
	align := r.u32()
	if align&0x40 != 0 { // multi-memory: a memory index follows
		r.u32()
	}
	r.u32() // offset
}
