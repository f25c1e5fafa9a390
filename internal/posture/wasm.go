package posture

import (
	"errors"
	"fmt"
	"sort"

	"github.com/pave-dev/pave/internal/wasmbin"
)

// This file gives the posture rules what they look at in a WebAssembly
// binary: the data segments (the module's initial memory, where a Go module
// keeps its strings) and the custom sections, as package wasmbin reads
// them. wasmbin never trusts a length, so a hostile module can make a scan
// fail but not panic, loop or allocate more than the module's own size.

// ErrMalformed is wrapped by every error about a module that is not a
// well-formed WebAssembly binary.
var ErrMalformed = errors.New("malformed WebAssembly module")

// A wasmModule is a parsed binary and its data segments.
type wasmModule struct {
	size     int // of the whole binary, in bytes
	mod      *wasmbin.Module
	segments []wasmbin.DataSegment
}

// parseModule splits b into sections and decodes its data section.
// Everything it returns aliases b.
func parseModule(b []byte) (*wasmModule, error) {
	mod, err := wasmbin.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	segs, err := mod.DataSegments()
	if err != nil {
		return nil, fmt.Errorf("%w: data section: %v", ErrMalformed, err)
	}
	return &wasmModule{size: len(b), mod: mod, segments: segs}, nil
}

// memory returns a view of the linear memory the module's active data
// segments initialise.
func (m *wasmModule) memory() *memoryImage {
	img := &memoryImage{limit: m.size}
	for _, s := range m.segments {
		// A segment that wraps around the address space cannot be
		// instantiated; it initialises nothing.
		if s.Placed && len(s.Data) > 0 && s.Addr+uint64(len(s.Data)) > s.Addr {
			img.segs = append(img.segs, s)
		}
	}
	sort.SliceStable(img.segs, func(i, j int) bool { return img.segs[i].Addr < img.segs[j].Addr })
	img.maxEnd = make([]uint64, len(img.segs))
	var end uint64
	for i, s := range img.segs {
		end = max(end, s.Addr+uint64(len(s.Data)))
		img.maxEnd[i] = end
	}
	return img
}

// A memoryImage is a module's initial linear memory: its placed data
// segments, with zeros in between.
type memoryImage struct {
	segs []wasmbin.DataSegment // sorted by addr
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
	hi := sort.Search(len(img.segs), func(i int) bool { return img.segs[i].Addr >= end })
	var hits []wasmbin.DataSegment
	for _, s := range img.segs[lo:max(lo, hi)] {
		if s.Addr+uint64(len(s.Data)) > addr {
			hits = append(hits, s)
		}
	}
	// Where segments overlap, instantiation writes them in section
	// order, so the last one wins.
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Index < hits[j].Index })
	for _, s := range hits {
		lo, hi := max(s.Addr, addr), min(s.Addr+uint64(len(s.Data)), end)
		copy(out[lo-addr:hi-addr], s.Data[lo-s.Addr:hi-s.Addr])
	}
	return out, true
}
