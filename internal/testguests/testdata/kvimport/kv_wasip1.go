//go:build wasip1

package main

import "unsafe"

// hostKVGet has the signature docs/ABI.md gives, so that the only reason to
// refuse the guest is the missing grant.
//
//go:wasmimport pave_kv_v1 get
func hostKVGet(bucketPtr unsafe.Pointer, bucketLen int32, keyPtr unsafe.Pointer, keyLen int32) int32

func kvGet(key string) int32 {
	bucket := "notes"
	return hostKVGet(unsafe.Pointer(unsafe.StringData(bucket)), int32(len(bucket)), unsafe.Pointer(unsafe.StringData(key)), int32(len(key)))
}
