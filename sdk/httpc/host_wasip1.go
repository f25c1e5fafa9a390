//go:build wasip1

package httpc

import "unsafe"

// The import of pave_http_v1. See docs/ABI.md.

//go:wasmimport pave_http_v1 fetch
func hostHTTPFetch(reqPtr unsafe.Pointer, reqLen int32) int32

// hostFetch passes an encoded abi.Outbound, which the caller has checked
// is at most abi.MaxOutboundSize bytes.
func hostFetch(req []byte) int32 {
	return hostHTTPFetch(unsafe.Pointer(unsafe.SliceData(req)), int32(len(req)))
}
