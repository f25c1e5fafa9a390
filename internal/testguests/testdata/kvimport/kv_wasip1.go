//go:build wasip1

package main

import "unsafe"

//go:wasmimport pave_kv_v1 get
func hostKVGet(keyPtr unsafe.Pointer, keyLen int32) int32

func kvGet(key string) int32 {
	return hostKVGet(unsafe.Pointer(unsafe.StringData(key)), int32(len(key)))
}
