//go:build wasip1

package main

import "unsafe"

// currentMemory returns the size of linear memory in 64 KiB pages.
func currentMemory() int32

// linearMemory is the whole of linear memory but its first byte (address
// 0 is the nil pointer to Go).
func linearMemory() []byte {
	size := uintptr(currentMemory()) * 65536
	return unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(nil), 1)), size-1)
}
