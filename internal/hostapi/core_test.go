package hostapi

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/pave-dev/pave/abi"
)

// section encodes a section of a module short enough for one-byte
// lengths.
func section(id byte, count int, items ...string) string {
	body := string(rune(count))
	for _, it := range items {
		body += it
	}
	return string([]byte{id, byte(len(body))}) + body
}

// name encodes a short name.
func name(s string) string { return string([]byte{byte(len(s))}) + s }

// rangeGuest imports request_read, result_read (both (i32, i32) -> i32)
// and log, and exports functions of the same names that pass their
// arguments on, with one page of memory.
var rangeGuest = []byte("\x00asm\x01\x00\x00\x00" +
	section(1, 2, "\x60\x02\x7f\x7f\x01\x7f", "\x60\x03\x7f\x7f\x7f\x00") +
	section(2, 3, name(abi.ImportModule)+name(abi.FuncRequestRead)+"\x00\x00",
		name(abi.ImportModule)+name(abi.FuncResultRead)+"\x00\x00",
		name(abi.ImportModule)+name(abi.FuncLog)+"\x00\x01") +
	section(3, 3, "\x00", "\x00", "\x01") +
	section(5, 1, "\x00\x01") +
	section(7, 3, name("request_read")+"\x00\x03", name("result_read")+"\x00\x04", name("log")+"\x00\x05") +
	section(10, 3,
		"\x08\x00\x20\x00\x20\x01\x10\x00\x0b",
		"\x08\x00\x20\x00\x20\x01\x10\x01\x0b",
		"\x0a\x00\x20\x00\x20\x01\x20\x02\x10\x02\x0b"))

// TestRangesMustBeInsideMemory calls the core functions with ranges that
// hold what the host writes or reads but run past the end of memory:
// docs/ABI.md says such a range is an error (-1, or a dropped log line),
// whatever part of it the host would touch.
func TestRangesMustBeInsideMemory(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	if err := InstantiateCore(ctx, rt); err != nil {
		t.Fatal(err)
	}
	g, err := rt.Instantiate(ctx, rangeGuest)
	if err != nil {
		t.Fatal(err)
	}
	const page = 65536
	for _, tc := range []struct {
		fn        string
		ptr, n    uint32
		want      int32
		wantLines int
	}{
		{"request_read", 0, page, 5, 0},
		{"request_read", 0, page + 1, -1, 0},
		{"request_read", 16, 0xFFFFFFFF, -1, 0},
		{"request_read", page - 5, 5, 5, 0},
		{"request_read", page - 4, 5, -1, 0},
		{"result_read", 0, page, 6, 0},
		{"result_read", 0, 0xFFFFFFFF, -1, 0},
		{"result_read", 0xFFFFFFFF, 6, -1, 0},
		{"log", 0, 10, 0, 1},
		{"log", 0, page, 0, 1},
		{"log", 0, 0xFFFFFFFF, 0, 0},
		{"log", page - 1, 2, 0, 0},
		{"log", 0xFFFFFFFF, 1, 0, 0},
	} {
		c := &Call{Request: []byte("hello")}
		c.setResult([]byte("result"))
		args := []uint64{uint64(tc.ptr), uint64(tc.n)}
		if tc.fn == "log" {
			args = append([]uint64{1}, args...)
		}
		out, err := g.ExportedFunction(tc.fn).Call(WithCall(ctx, c), args...)
		if err != nil {
			t.Fatalf("%s(%#x, %#x) trapped: %v", tc.fn, tc.ptr, tc.n, err)
		}
		if tc.fn != "log" && int32(out[0]) != tc.want {
			t.Errorf("%s(%#x, %#x) = %d, want %d", tc.fn, tc.ptr, tc.n, int32(out[0]), tc.want)
		}
		if len(c.Logs) != tc.wantLines {
			t.Errorf("%s(%#x, %#x) logged %d lines, want %d", tc.fn, tc.ptr, tc.n, len(c.Logs), tc.wantLines)
		}
	}
}
