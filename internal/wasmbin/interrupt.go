package wasmbin

import "fmt"

// InterruptFuel is how many checks a guest passes between two exits to the
// host (see AddInterrupt): about a tenth of a millisecond of a tight loop.
const InterruptFuel = 1 << 16

// AddInterrupt returns a copy of m with an interrupt flag: a new mutable
// i32 global, zero at instantiation, that the host sets from another
// goroutine to stop the guest, which then traps (unreachable). It returns
// the flag's index, which is the last global of the module. Both new
// globals are exported under GlobalExportName, so that the host can set
// the flag and reset both; apply it after Preinitialize, whose exports
// would otherwise collide with these.
//
// Every function entry and the top of every loop iteration counts down a
// second new global, the fuel; every InterruptFuel checks the guest
// refills it, exits to the host with memory.grow 0 (which changes nothing
// but runs the host's Go code, where the Go scheduler may preempt the
// goroutine, so that the goroutine that sets the flag gets to run even
// when guests occupy every thread) and then tests the flag. A guest cannot
// run on without reaching a check: every unbounded execution loops or
// calls. The guest cannot clear the flag or refill the fuel itself: no
// instruction of the original module names the new globals. A check costs
// a global decrement and a branch, where wazero's own termination check is
// a call into the runtime at every loop iteration.
//
// Custom sections other than the name section, which names functions in
// stack traces, are dropped: DWARF sections point into the code section,
// whose bytes move, and the others mean nothing to running the module,
// while wazero would keep them in memory for as long as it is loaded.
// Modules that differ only in those sections then compile to one module,
// whose machine code wazero shares. AddInterrupt decodes instructions with the decoder
// CheckStateless uses and refuses the same ones; the module must have a
// memory of its own.
func AddInterrupt(m *Module) (*Module, int, error) {
	l, err := m.Inspect()
	if err != nil {
		return nil, 0, err
	}
	if !l.HasMemory {
		return nil, 0, fmt.Errorf("%w: no memory of its own", ErrUnsupported)
	}
	fuel := l.ImportedGlobals + len(l.Globals)
	flag := fuel + 1
	for _, i := range []int{fuel, flag} {
		if l.Exports[GlobalExportName(i)] {
			return nil, 0, fmt.Errorf("%w: export name %q already used", ErrUnsupported, GlobalExportName(i))
		}
	}
	getFuel := appendU32([]byte{0x23}, uint32(fuel))
	setFuel := appendU32([]byte{0x24}, uint32(fuel))
	var check []byte
	check = append(check, getFuel...)
	check = append(check, 0x41, 0x01, 0x6b) // i32.const 1; i32.sub
	check = append(check, setFuel...)
	check = append(check, getFuel...)
	check = append(check, 0x45, 0x04, 0x40) // i32.eqz; if
	check = appendS64(append(check, 0x41), InterruptFuel)
	check = append(check, setFuel...)
	check = append(check, 0x41, 0x00, 0x40, 0x00, 0x1a) // i32.const 0; memory.grow 0; drop
	check = appendU32(append(check, 0x23), uint32(flag))
	check = append(check, 0x04, 0x40, 0x00, 0x0b) // if; unreachable; end
	check = append(check, 0x0b)                   // end

	out := &Module{}
	for _, s := range m.Sections {
		if s.ID == SectionCustom && !isNameSection(s.Body) {
			continue
		}
		out.Sections = append(out.Sections, s)
	}
	globals := appendS64([]byte{byte(I32), 0x01, 0x41}, InterruptFuel) // mut i32 fuel
	globals = append(globals, 0x0b, byte(I32), 0x01, 0x41, 0x00, 0x0b) // mut i32 flag = 0
	if at := out.section(SectionGlobal); at >= 0 {
		r := &reader{b: out.Sections[at].Body}
		n := r.u32()
		if r.err != nil {
			return nil, 0, r.err
		}
		body := appendU32(nil, n+2)
		body = append(body, out.Sections[at].Body[r.off:]...)
		out.Sections[at].Body = append(body, globals...)
	} else {
		out.insert(Section{ID: SectionGlobal, Body: append(appendU32(nil, 2), globals...)})
	}
	if at := out.section(SectionCode); at >= 0 {
		body, err := addChecks(out.Sections[at].Body, check)
		if err != nil {
			return nil, 0, err
		}
		out.Sections[at].Body = body
	}
	if err := out.addGlobalExports([]int{fuel, flag}); err != nil {
		return nil, 0, err
	}
	return out, flag, nil
}

// isNameSection reports whether a custom section's body is the name
// section's.
func isNameSection(body []byte) bool {
	r := &reader{b: body}
	name := r.name()
	return r.err == nil && name == "name"
}

// addChecks returns the code section body with check inserted at the start
// of every function and of every loop, once where a function starts with a
// loop.
func addChecks(code, check []byte) ([]byte, error) {
	r := &reader{b: code}
	n := r.u32()
	out := appendU32(make([]byte, 0, len(code)+len(code)/8), n)
	var fn []byte
	for i := uint32(0); i < n && r.err == nil; i++ {
		size := r.u32()
		body := &reader{b: r.bytes(int(size))}
		if r.err != nil {
			break
		}
		var err error
		if fn, err = addBodyChecks(fn[:0], body, check); err != nil {
			return nil, fmt.Errorf("function %d: %w", i, err)
		}
		out = append(appendU32(out, uint32(len(fn))), fn...)
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	return out, nil
}

func addBodyChecks(out []byte, r *reader, check []byte) ([]byte, error) {
	groups := r.u32()
	for i := uint32(0); i < groups && r.err == nil; i++ {
		r.u32()  // count
		r.byte() // type
	}
	if r.err != nil {
		return nil, r.err
	}
	out = append(out, r.b[:r.off]...)
	if r.off >= len(r.b) || r.b[r.off] != 0x03 {
		// A body that starts with a loop (every function the Go compiler
		// emits) is checked at the loop's top already.
		out = append(out, check...)
	}
	for !r.done() {
		start := r.off
		loop := r.b[start] == 0x03
		if err := checkInstr(r); err != nil {
			return nil, err
		}
		out = append(out, r.b[start:r.off]...)
		if loop && r.err == nil {
			out = append(out, check...)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return out, nil
}
