//go:build wasip1

package pave

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"
)

// The host functions of the pave_v1 ABI. See docs/ABI.md.

//go:wasmimport pave_v1 request_size
func hostRequestSize() int32

//go:wasmimport pave_v1 request_read
func hostRequestRead(ptr unsafe.Pointer, size int32) int32

//go:wasmimport pave_v1 response_write
func hostResponseWrite(ptr unsafe.Pointer, size int32) int32

//go:wasmimport pave_v1 log
func hostLog(level int32, ptr unsafe.Pointer, size int32)

// handle is the module's entry point, called by the host once per
// invocation. It returns 0 when the response has been handed to the host,
// and 1, after logging why, when the invocation failed.
//
//go:wasmexport handle
func handle() int32 {
	if err := serve(); err != nil {
		Log(LevelError, err.Error())
		return 1
	}
	return 0
}

// beforeSnapshot is called by the host once, after package initialisation
// and before it captures the memory every invocation starts from; never
// in an invocation. It finishes a garbage collection. Initialisation
// leaves garbage behind and the heap somewhere short of the size at which
// the runtime starts its next collection; without this, a handler that
// allocates more than that margin starts a collection in every
// invocation, since every invocation starts from the same heap, and the
// marking of the whole heap is then part of every call. Collected here,
// the snapshot holds only live data, the next collection is at least
// 4 MiB away, and none is under way.
//
// The collection empties the allocator's per-thread caches, which every
// invocation would then refill, for each size class it uses, from the
// central lists, at a few thousand instructions each: warmAllocator
// fills them again before the snapshot.
//
//go:wasmexport before_snapshot
func beforeSnapshot() {
	runtime.GC()
	warmAllocator()
}

// warmSink keeps warmAllocator's allocations from being optimised away.
var warmSink []any

// warmAllocator allocates one object of every small size class, with and
// without pointers. The objects are garbage at once and take a few hundred
// kilobytes of the snapshot.
func warmAllocator() {
	src := make([]byte, 32<<10)
	for s := 1; s <= len(src); {
		b := append([]byte(nil), src[:s]...) // rounded up to its size class
		c := cap(b)
		warmSink = append(warmSink, b, make([]*byte, (c+7)/8))
		s = c + 1
	}
	warmSink = nil
}

// serve reads the request from the host, runs the handler and hands the
// response to the host.
func serve() error {
	size := hostRequestSize()
	if size <= 0 {
		return fmt.Errorf("pave: request_size returned %d", size)
	}
	wire := make([]byte, size)
	if n := hostRequestRead(unsafe.Pointer(unsafe.SliceData(wire)), size); n != size {
		return fmt.Errorf("pave: request_read returned %d, want %d", n, size)
	}
	out, err := invoke(wire)
	if err != nil {
		return err
	}
	// invoke has checked that out is at most abi.MaxResponseSize bytes.
	if hostResponseWrite(unsafe.Pointer(unsafe.SliceData(out)), int32(len(out))) != 0 {
		return errors.New("pave: response_write refused the response")
	}
	return nil
}

func writeLog(level Level, msg string) {
	hostLog(int32(level), unsafe.Pointer(unsafe.StringData(msg)), int32(len(msg)))
}
