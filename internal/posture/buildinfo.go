package posture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime/debug"
)

// This file reads the Go build information embedded in a WebAssembly
// module: the Go version and the modules it was built from.
//
// The standard library cannot do it: debug/buildinfo knows ELF, PE,
// Mach-O, XCOFF and Plan 9 binaries, not WebAssembly. Nor can the format
// it reads be found in a wasm module built by Go 1.26: the linker writes the
// "\xff Go buildinf:" blob into its own data section, and the wasm linker
// copies only rodata, typelink, itablink, moduledata, pclntab, noptrdata and
// data into the module's data segments. So the information is found the
// way it reaches the module:
//
//   - the Go version from the "producers" custom section the wasm linker
//     writes (language: Go <version>);
//   - the module list from runtime.modinfo, a string in rodata that the go
//     command frames with two fixed 16-byte sentinels;
//   - and, first, the "\xff Go buildinf:" blob itself, decoded exactly as
//     debug/buildinfo decodes it, from the module's initial memory, in case
//     a linker does write it.

// ErrNoBuildInfo is returned by ReadBuildInfo for a well-formed module in
// which it finds no Go build information: one not built by the go command.
var ErrNoBuildInfo = errors.New("no Go build information in the module")

var (
	buildInfoMagic = []byte("\xff Go buildinf:")
	// The framing of runtime.modinfo: cmd/go/internal/modload's
	// infoStart and infoEnd.
	modInfoStart = []byte("\x30\x77\xaf\x0c\x92\x74\x08\x02\x41\xe1\xc1\x07\xe6\xd6\x18\xe6")
	modInfoEnd   = []byte("\xf9\x32\x43\x31\x86\x18\x20\x72\x00\x82\x42\x10\x41\x16\xd8\xf2")
)

const (
	buildInfoAlign      = 16
	buildInfoHeaderSize = 32
	// maxBuildInfoString bounds the version and module strings; a real
	// module list is a few kilobytes.
	maxBuildInfoString = 1 << 20
	// maxCandidates bounds how many occurrences of a magic or sentinel
	// are tried, so a module full of them costs little.
	maxCandidates = 16
)

// ReadBuildInfo returns the Go build information embedded in a
// WebAssembly module built by the go command (GOOS=wasip1 or js,
// GOARCH=wasm): GoVersion (such as "go1.26.8"), Path, Main, Deps and
// Settings, as runtime/debug.ParseBuildInfo returns them. GoVersion is ""
// when the module carries a module list but no version.
//
// It returns an error wrapping ErrMalformed for a module that is not a
// well-formed binary, and ErrNoBuildInfo for one without Go build
// information.
func ReadBuildInfo(module []byte) (*debug.BuildInfo, error) {
	m, err := parseModule(module)
	if err != nil {
		return nil, err
	}
	return m.buildInfo()
}

func (m *wasmModule) buildInfo() (*debug.BuildInfo, error) {
	vers, mod, ok := m.buildInfoBlob()
	if !ok {
		vers = m.producersGoVersion()
		mod, ok = m.framedModInfo()
		if !ok && vers == "" {
			return nil, ErrNoBuildInfo
		}
	}
	bi := &debug.BuildInfo{}
	if mod != "" {
		var err error
		if bi, err = debug.ParseBuildInfo(mod); err != nil {
			return nil, fmt.Errorf("%w: the module list: %v", ErrNoBuildInfo, err)
		}
	}
	bi.GoVersion = vers
	return bi, nil
}

// buildInfoBlob finds and decodes the linker's build info blob in the
// module's initial memory, as debug/buildinfo does in an executable's data:
// a 16-byte aligned header of 32 bytes, then, since Go 1.18, the version
// and the module list as uvarint-prefixed strings; before, pointers to two
// Go string headers.
func (m *wasmModule) buildInfoBlob() (vers, mod string, ok bool) {
	img := m.memory()
	tried := 0
	for _, s := range img.segs {
		for i := 0; tried < maxCandidates; {
			j := bytes.Index(s.Data[i:], buildInfoMagic)
			if j < 0 {
				break
			}
			at := s.Addr + uint64(i+j)
			i += j + 1
			if at%buildInfoAlign != 0 {
				continue
			}
			tried++
			if vers, mod, ok := img.decodeBlob(at); ok {
				return vers, mod, true
			}
		}
	}
	return "", "", false
}

func (img *memoryImage) decodeBlob(at uint64) (vers, mod string, ok bool) {
	const (
		ptrSizeOffset    = 14
		flagsOffset      = 15
		versPtrOffset    = 16
		flagsEndianBig   = 0x1
		flagsVersionMask = 0x2
		flagsVersionInl  = 0x2
	)
	header, ok := img.read(at, buildInfoHeaderSize)
	if !ok {
		return "", "", false
	}
	flags := header[flagsOffset]
	if flags&flagsVersionMask == flagsVersionInl {
		next := at + buildInfoHeaderSize
		if vers, next, ok = img.uvarintString(next); !ok {
			return "", "", false
		}
		if mod, _, ok = img.uvarintString(next); !ok {
			return "", "", false
		}
	} else {
		ptrSize := int(header[ptrSizeOffset])
		var bo binary.ByteOrder = binary.LittleEndian
		if flags&flagsEndianBig != 0 {
			bo = binary.BigEndian
		}
		var readPtr func([]byte) uint64
		switch ptrSize {
		case 4:
			readPtr = func(b []byte) uint64 { return uint64(bo.Uint32(b)) }
		case 8:
			readPtr = bo.Uint64
		default:
			return "", "", false
		}
		vers = img.goString(ptrSize, readPtr, readPtr(header[versPtrOffset:]))
		mod = img.goString(ptrSize, readPtr, readPtr(header[versPtrOffset+ptrSize:]))
	}
	if vers == "" {
		return "", "", false
	}
	return vers, unframe(mod), true
}

// uvarintString reads a uvarint length and that many bytes at addr.
func (img *memoryImage) uvarintString(addr uint64) (string, uint64, bool) {
	b, ok := img.read(addr, binary.MaxVarintLen64)
	if !ok {
		return "", 0, false
	}
	n, size := binary.Uvarint(b)
	if size <= 0 || n > maxBuildInfoString {
		return "", 0, false
	}
	addr += uint64(size)
	s, ok := img.read(addr, n)
	if !ok {
		return "", 0, false
	}
	return string(s), addr + n, true
}

// goString reads the Go string whose header (pointer, length) is at addr.
func (img *memoryImage) goString(ptrSize int, readPtr func([]byte) uint64, addr uint64) string {
	hdr, ok := img.read(addr, uint64(2*ptrSize))
	if !ok {
		return ""
	}
	data, n := readPtr(hdr), readPtr(hdr[ptrSize:])
	if n > maxBuildInfoString {
		return ""
	}
	s, ok := img.read(data, n)
	if !ok {
		return ""
	}
	return string(s)
}

// unframe strips the sentinels around a module list, or returns "" if it
// is not framed, as debug/buildinfo does.
func unframe(mod string) string {
	if len(mod) >= 33 && mod[len(mod)-17] == '\n' {
		return mod[16 : len(mod)-16]
	}
	return ""
}

// framedModInfo finds runtime.modinfo in the module's data by its framing.
// The module list holds no NUL bytes, so the linker never splits it
// between segments.
func (m *wasmModule) framedModInfo() (string, bool) {
	tried := 0
	for _, s := range m.segments {
		for i := 0; tried < maxCandidates; {
			j := bytes.Index(s.Data[i:], modInfoStart)
			if j < 0 {
				break
			}
			start := i + j
			i = start + 1
			tried++
			rest := s.Data[start+len(modInfoStart):]
			rest = rest[:min(len(rest), maxBuildInfoString+len(modInfoEnd))]
			k := bytes.Index(rest, modInfoEnd)
			if k < 0 {
				continue
			}
			mod := s.Data[start : start+len(modInfoStart)+k+len(modInfoEnd)]
			if u := unframe(string(mod)); u != "" {
				return u, true
			}
		}
	}
	return "", false
}

// producersGoVersion returns the Go version in the module's producers
// section (https://github.com/WebAssembly/tool-conventions/blob/main/ProducersSection.md),
// which Go's wasm linker writes as language: Go <version> and
// processed-by: Go cmd/compile <version>; or "".
func (m *wasmModule) producersGoVersion() string {
	var compiler string
	for _, p := range m.mod.Producers() {
		switch {
		case p.Field == "language" && p.Name == "Go":
			if validGoVersion(p.Version) {
				return p.Version
			}
		case p.Field == "processed-by" && p.Name == "Go cmd/compile":
			if validGoVersion(p.Version) {
				compiler = p.Version
			}
		}
	}
	return compiler
}

// validGoVersion accepts what a toolchain reports as its version: printable
// ASCII starting with "go" or "devel", at most 128 bytes.
func validGoVersion(v string) bool {
	if len(v) < 3 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return false
		}
	}
	return v[:2] == "go" || len(v) >= 5 && v[:5] == "devel"
}
