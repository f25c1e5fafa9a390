package wasmbin

import (
	"fmt"
)

// reader decodes the binary format. The first error sticks: later reads
// return zero values, so decoders can check once at the end.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format+" at byte %d", append([]any{ErrFormat}, append(args, r.off)...)...)
	}
}

func (r *reader) done() bool { return r.err != nil || r.off >= len(r.b) }

// end reports an error unless everything was read.
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

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.fail("length %d past the end", n)
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

// u32 reads an unsigned LEB128 of at most 5 bytes.
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
	r.fail("u32 too long")
	return 0
}

// sleb reads a signed LEB128 of a bits-wide integer (32, 33 or 64), which
// takes at most ceil(bits/7) bytes, and returns it sign-extended. Encodings
// that are too long, or whose last byte holds more than the value's bits
// and their sign, are malformed.
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
				r.fail("signed integer too long")
				return 0
			}
			rest := c & 0x7f >> (used - 1) // the sign bit and the unused bits
			if rest != 0 && rest != 0x7f>>(used-1) {
				r.fail("signed integer overflows")
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
	r.fail("signed integer too long")
	return 0
}

func (r *reader) name() string { return string(r.bytes(int(r.u32()))) }

func (r *reader) limits() Limits {
	switch flag := r.byte(); flag {
	case 0x00:
		return Limits{Min: r.u32()}
	case 0x01:
		return Limits{Min: r.u32(), Max: r.u32(), HasMax: true}
	default:
		if r.err == nil {
			// Shared and 64-bit memories are valid wasm, but not ours to
			// rewrite.
			r.err = fmt.Errorf("%w: limits flag %#x", ErrUnsupported, flag)
		}
		return Limits{}
	}
}

// initExpr skips a constant expression up to and including its end.
func (r *reader) initExpr() {
	for r.err == nil {
		switch op := r.byte(); op {
		case 0x0b: // end
			return
		case 0x41: // i32.const
			r.sleb(32)
		case 0x42: // i64.const
			r.sleb(64)
		case 0x43: // f32.const
			r.bytes(4)
		case 0x44: // f64.const
			r.bytes(8)
		case 0x23, 0xd2: // global.get, ref.func
			r.u32()
		case 0xd0: // ref.null
			r.byte()
		case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e: // extended-const add/sub/mul
		default:
			if r.err == nil {
				r.err = fmt.Errorf("%w: opcode %#x in a constant expression", ErrUnsupported, op)
			}
		}
	}
}

func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func appendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendName(b []byte, s string) []byte {
	return append(appendU32(b, uint32(len(s))), s...)
}
