//go:build wasip1

package invoke

import "unsafe"

// The import of pave_invoke_v1. See docs/ABI.md.

//go:wasmimport pave_invoke_v1 call
func hostInvokeCall(namePtr unsafe.Pointer, nameLen int32, reqPtr unsafe.Pointer, reqLen int32) int32

func hostCall(function string, req []byte) int32 {
	return hostInvokeCall(unsafe.Pointer(unsafe.StringData(function)), int32(len(function)),
		unsafe.Pointer(unsafe.SliceData(req)), int32(len(req)))
}
