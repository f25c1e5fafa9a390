//go:build wasip1

package kv

import "unsafe"

// The imports of pave_kv_v1. See docs/ABI.md.

//go:wasmimport pave_kv_v1 get
func hostKVGet(bucketPtr unsafe.Pointer, bucketLen int32, keyPtr unsafe.Pointer, keyLen int32) int32

//go:wasmimport pave_kv_v1 put
func hostKVPut(bucketPtr unsafe.Pointer, bucketLen int32, keyPtr unsafe.Pointer, keyLen int32, valuePtr unsafe.Pointer, valueLen int32) int32

//go:wasmimport pave_kv_v1 cas
func hostKVCAS(bucketPtr unsafe.Pointer, bucketLen int32, keyPtr unsafe.Pointer, keyLen int32, valuePtr unsafe.Pointer, valueLen int32, revision int64) int32

//go:wasmimport pave_kv_v1 delete
func hostKVDelete(bucketPtr unsafe.Pointer, bucketLen int32, keyPtr unsafe.Pointer, keyLen int32) int32

//go:wasmimport pave_kv_v1 list
func hostKVList(bucketPtr unsafe.Pointer, bucketLen int32, prefixPtr unsafe.Pointer, prefixLen int32) int32

func str(s string) (unsafe.Pointer, int32) {
	return unsafe.Pointer(unsafe.StringData(s)), int32(len(s))
}

func hostGet(bucket, key string) int32 {
	bp, bn := str(bucket)
	kp, kn := str(key)
	return hostKVGet(bp, bn, kp, kn)
}

// The callers have checked that value is at most abi.MaxKVValue bytes.

func hostPut(bucket, key string, value []byte) int32 {
	bp, bn := str(bucket)
	kp, kn := str(key)
	return hostKVPut(bp, bn, kp, kn, unsafe.Pointer(unsafe.SliceData(value)), int32(len(value)))
}

func hostCAS(bucket, key string, value []byte, revision uint64) int32 {
	bp, bn := str(bucket)
	kp, kn := str(key)
	return hostKVCAS(bp, bn, kp, kn, unsafe.Pointer(unsafe.SliceData(value)), int32(len(value)), int64(revision))
}

func hostDelete(bucket, key string) int32 {
	bp, bn := str(bucket)
	kp, kn := str(key)
	return hostKVDelete(bp, bn, kp, kn)
}

func hostList(bucket, prefix string) int32 {
	bp, bn := str(bucket)
	pp, pn := str(prefix)
	return hostKVList(bp, bn, pp, pn)
}
