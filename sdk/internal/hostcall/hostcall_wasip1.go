//go:build wasip1

package hostcall

import "unsafe"

const available = true

//go:wasmimport pave_v1 result_read
func hostResultRead(ptr unsafe.Pointer, size int32) int32

func readResult(buf []byte) int32 {
	return hostResultRead(unsafe.Pointer(unsafe.SliceData(buf)), int32(len(buf)))
}
