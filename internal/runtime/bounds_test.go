package runtime_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/runtime"
)

// uleb appends v as an unsigned LEB128.
func uleb(b []byte, v uint64) []byte {
	for ; v >= 0x80; v >>= 7 {
		b = append(b, byte(v)|0x80)
	}
	return append(b, byte(v))
}

// sized prefixes b with its length.
func sized(b []byte) []byte { return append(uleb(nil, uint64(len(b))), b...) }

// command is a WASI command without imports whose _start declares locals
// i32 locals and runs body; table, when given, is its table section's body.
func command(locals uint64, body, table []byte) []byte {
	out := []byte("\x00asm\x01\x00\x00\x00")
	out = append(out, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00) // type () -> ()
	out = append(out, 0x03, 0x02, 0x01, 0x00)             // one function
	if table != nil {
		out = append(append(out, 0x04), sized(table)...)
	}
	out = append(out, 0x05, 0x03, 0x01, 0x00, 0x01) // memory, 1 page
	out = append(append(out, 0x07), sized(append(append([]byte{0x01}, sized([]byte("_start"))...), 0x00, 0x00))...)
	fn := []byte{0x00}
	if locals > 0 {
		fn = uleb([]byte{0x01}, locals)
		fn = append(fn, 0x7f)
	}
	fn = append(append(fn, body...), 0x0b)
	return append(append(out, 0x0a), sized(append([]byte{0x01}, sized(fn)...))...)
}

// TestPrepareRefusesWhatTheHostWouldAllocate deploys modules that declare
// more than the host allocates for a module: each is refused with a
// message naming the bound, before wazero decodes it.
func TestPrepareRefusesWhatTheHostWouldAllocate(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		wasm []byte
		want string
	}{
		{"a table of 2 Mi elements", command(0, nil, uleb([]byte{0x01, 0x70, 0x00}, 1<<21)), "tables of 2097152 elements"},
		{"an imported table", []byte("\x00asm\x01\x00\x00\x00\x02\x0b\x01\x03env\x01t\x01\x70\x00\x00"), "imports a table"},
		{"60000 locals", command(60000, nil, nil), "more than 50000 locals"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := engine.Prepare(ctx, "test:bounds-"+tc.name, tc.wasm, nil, limits)
			var bad *runtime.InvalidModuleError
			if !errors.As(err, &bad) || !strings.Contains(bad.Reason, tc.want) {
				t.Fatalf("Prepare = %v, want an invalid module naming %q", err, tc.want)
			}
		})
	}
}

// TestTableGrowStopsAtTheBound grows the table of a module that declared
// none of its own maximum: table.grow past the bound returns -1, as the
// spec says for a table at its maximum, and growing to it works.
func TestTableGrowStopsAtTheBound(t *testing.T) {
	ctx := context.Background()
	grow := func(n int32) []byte { // ref.null func; i32.const n; table.grow 0
		b := []byte{0xd0, 0x70, 0x41}
		for v := int64(n); ; v >>= 7 {
			c := byte(v & 0x7f)
			if (v>>7 == 0 && c&0x40 == 0) || (v>>7 == -1 && c&0x40 != 0) {
				b = append(b, c)
				break
			}
			b = append(b, c|0x80)
		}
		return append(b, 0xfc, 0x0f, 0x00)
	}
	unlessMinus1 := []byte{0x41, 0x7f, 0x47, 0x04, 0x40, 0x00, 0x0b} // i32.const -1; i32.ne; if unreachable end
	unless0 := []byte{0x04, 0x40, 0x00, 0x0b}                        // if unreachable end
	// Grow 16 Mi: -1. Grow to the bound: the old size, 0. One more: -1.
	body := append(grow(1<<24), unlessMinus1...)
	body = append(append(body, grow(1<<20)...), unless0...)
	body = append(append(body, grow(1)...), unlessMinus1...)
	wasm := command(0, body, []byte{0x01, 0x70, 0x00, 0x00})
	m, err := engine.Prepare(ctx, "test:table-grow", wasm, nil, limits)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Invoke(ctx, m, limits, &abi.Request{Method: "GET", Path: "/"}); err != nil {
		t.Fatalf("table.grow did not stop at the bound: %v", err)
	}
}
